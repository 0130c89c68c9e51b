"""Reliability: faults on either side, a rejected or revoked key, an outage, and secrets.

Each run is the real plugin in its own process (tests/reliability/plugin_process.py)
against fresh simulators over a seeded 2,000-scene library, with distinctive Stash and
StashDB keys and session cookie. After every faulty run, a second run with the faults
lifted must bring the library to exactly the fault-free result.

What is provable after a faulty run, and asserted:
- no scene lost a tag, and no scene is half-written: each is as before or exactly as
  expected (writes are one server-side ADD per scene, all or nothing);
- the scenes that failed are known from the simulators' own records: a failed request
  (a by-id StashDB request, a scene read or a write request none of whose tries got a
  good answer) defers its scenes to a second attempt, so a scene fails for good
  when two such requests hit it, or when Stash refused its own write, or StashDB failed its
  own id (an error naming its alias): exactly those are counted as errors, they are
  untouched, and every other scene is exactly right (fault matrix); when a run stops
  early, the scenes not exactly right are at most the errors plus the scenes not processed;
- a burst of StashDB errors or timeouts of 5 to 30 seconds costs no scene in that run;
- the summary adds up to the scenes in scope.
"""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest

from scene_fetcher import MAX_REQUESTS_IN_FLIGHT
from tests.reliability.conftest import (
    SECRETS,
    PluginRun,
    run_plugin_process,
    start_simulators_with_secrets,
)
from tests.simulators import faults
from tests.simulators.expectations import STASHDB_DELETED, STASHDB_NOT_FOUND, UNCHANGED, UPDATED
from tests.simulators.launch import RunningSimulators
from tests.simulators.library import Library, generate_library

SCENE_COUNT = 2000
LIBRARY_SEED = 11
FAULT_SHARE = 0.1
HANG_SECONDS = 2.0
SHORT_TIMEOUT = 1.0
NORMAL_TIMEOUT = 10.0
SHORT_OUTAGE_SECONDS = 3.0     # the outage window the wrapper gives most outage runs
REAL_OUTAGE_SECONDS = 120.0    # run_health.OUTAGE_SECONDS, for the one run that keeps it
TRIES_PER_REQUEST = 4          # stashdb_api: the first try and 3 retries
REVOKED_AFTER_REQUESTS = 20
WRONG_STASHDB_KEY = "stashdb-wrongkey-5e7a9c1b3d5f7a9c1e3b5d7f9a1c3e5b"

FINGERPRINT_ROOT = "findScenesBySceneFingerprints"
BY_ID_ROOT = "findScene"
SCENE_READ_OPERATION = "TagManagerScenesByIds"
SCENE_WRITE_OPERATION = "TagManagerAddTags"
EXIT_OK, EXIT_STOPPED, EXIT_SCENE_ERRORS = 0, 1, 2

SUMMARY_KEY_OF_CATEGORY = {
    UPDATED: "updated", UNCHANGED: "unchanged",
    STASHDB_DELETED: "stale_stash_id", STASHDB_NOT_FOUND: "not_found",
}

Snapshot = dict[int, tuple[int, ...]]


# -- what a run did, as the simulators saw it -------------------------------------------

@dataclass
class Observed:
    library: Library
    before: Snapshot
    after: Snapshot
    after_rerun: Snapshot
    run: PluginRun
    rerun: PluginRun
    stashdb_requests: list = field(default_factory=list)
    stash_requests: list = field(default_factory=list)
    mutations: list = field(default_factory=list)
    faults_fired: int = 0


def observe(library: Library, cwd: Path, inject: Callable[[RunningSimulators], None], *,
            timeout: float = NORMAL_TIMEOUT, settle_seconds: float = 0.0,
            outage_seconds: float | None = None) -> Observed:
    """A run with `inject`'s faults, then a re-run with every fault lifted."""
    with start_simulators_with_secrets(library) as sims:
        stash_boxes = list(sims.stash.stash_boxes)
        before = sims.stash.tags_snapshot()
        inject(sims)
        run = run_plugin_process(sims, cwd / "faulty-run", timeout=timeout, outage_seconds=outage_seconds)
        wait_for_hung_answers(settle_seconds)
        after = sims.stash.tags_snapshot()
        fired = sum(rule.fired for sim in (sims.stash, sims.stashdb) for rule in sim.faults.rules())
        logs = (sims.stashdb.request_log.entries(), sims.stash.request_log.entries(), sims.stash.mutation_log.entries())
        sims.stashdb.clear_faults()
        sims.stash.clear_faults()
        sims.stash.stash_boxes = stash_boxes
        rerun = run_plugin_process(sims, cwd / "rerun")
        return Observed(library, before, after, sims.stash.tags_snapshot(), run, rerun, *logs, faults_fired=fired)


def wait_for_hung_answers(seconds: float) -> None:
    """A hung request enters the simulator's log when its late answer is sent."""
    if seconds:
        time.sleep(seconds + 0.5)


def add_rules(target, kind: str, rules: tuple[dict, ...]) -> Callable[[RunningSimulators], None]:
    def inject(sims: RunningSimulators) -> None:
        for rule in rules:
            getattr(sims, target).add_fault(kind, **rule)
    return inject


# -- what is provable about the library ------------------------------------------------

def lost_tags(before: Snapshot, after: Snapshot) -> dict[int, set[int]]:
    return {scene: set(tags) - set(after[scene]) for scene, tags in before.items() if set(tags) - set(after[scene])}


def half_written(observed: Observed) -> list[int]:
    """Scenes neither as they were nor exactly as expected."""
    expected = observed.library.expected_tag_ids
    return [scene for scene, tags in observed.after.items()
            if set(tags) != set(observed.before[scene]) and set(tags) != set(expected(scene))]


def not_exactly_right(library: Library, snapshot: Snapshot) -> set[int]:
    return {scene for scene, tags in snapshot.items() if set(tags) != set(library.expected_tag_ids(scene))}


def summary_problems(summary: dict | None, library: Library) -> list[str]:
    if summary is None:
        return ["no summary"]
    outcomes, problems = summary["outcomes"], []
    if summary["scenes_total"] != library.expected_summary.scenes_in_scope:
        problems.append(f"scenes_total {summary['scenes_total']} != {library.expected_summary.scenes_in_scope} in scope")
    if sum(outcomes.values()) != summary["scenes_processed"]:
        problems.append(f"outcomes {outcomes} do not add up to scenes_processed {summary['scenes_processed']}")
    if summary["scenes_processed"] + summary["scenes_not_processed"] != summary["scenes_total"]:
        problems.append("processed + not processed != total")
    if outcomes.get("would_update"):
        problems.append("a live run counted would_update")
    return problems


def uncounted_wrong_scenes(observed: Observed) -> int:
    """Scenes not exactly right beyond what the summary admits (errors + not processed).
    Without a summary the run never started: then every scene must be untouched."""
    summary = observed.run.summary
    if summary is None:
        return sum(observed.after[scene] != tags for scene, tags in observed.before.items())
    admitted = summary["outcomes"]["error"] + summary["scenes_not_processed"]
    return max(0, len(not_exactly_right(observed.library, observed.after)) - admitted)


def failed_requests(entries: list, key: Callable) -> list[list]:
    """The requests none of whose tries got a fault-free answer, as lists of their tries.

    The tries of one request are consecutive entries with the same key, at most
    TRIES_PER_REQUEST of them, ending at the first fault-free one."""
    groups: list[list] = []
    for entry in entries:
        last = groups[-1] if groups else None
        if last and key(last[-1]) == key(entry) and last[-1].fault and len(last) < TRIES_PER_REQUEST:
            last.append(entry)
        else:
            groups.append([entry])
    return [group for group in groups if all(entry.fault for entry in group)]


def write_request_scenes(entry) -> list[int]:
    return [int(scene) for value in (entry.variables or {}).values() for scene in value["ids"]]


def failed_scene_ids(observed: Observed) -> set[int]:
    """Scenes the simulators' records show failing for good (see the module docstring)."""
    local_ids = {o.stashdb_id: o.scene_id for o in observed.library.outcomes.values() if o.stashdb_id}
    by_id = [entry for entry in observed.stashdb_requests if BY_ID_ROOT in entry.root_fields]
    hits: Counter = Counter()
    for group in failed_requests(by_id, key=lambda entry: sorted((entry.variables or {}).values())):
        hits.update(local_ids[stashdb_id] for stashdb_id in group[0].variables.values())
    reads = [entry for entry in observed.stash_requests if entry.operation_name == SCENE_READ_OPERATION]
    for group in failed_requests(reads, key=lambda entry: entry.variables["ids"]):
        hits.update(int(scene) for scene in group[0].variables["ids"])
    writes = [entry for entry in observed.stash_requests if entry.operation_name == SCENE_WRITE_OPERATION]
    for group in failed_requests(writes, key=write_request_scenes):
        hits.update(write_request_scenes(group[0]))
    failed = {scene for scene, count in hits.items() if count >= 2}
    failed |= {scene for entry in observed.mutations if not entry.applied for scene in entry.scene_ids}
    failed |= {local_ids[entry.variables[f"id{len(entry.variables) - 1}"]] for entry in by_id
               if entry.fault == faults.PARTIAL_ERRORS}  # the simulator nulls the last alias
    return failed


def secret_leaks(observed: Observed, extra: tuple[str, ...] = ()) -> list[str]:
    secrets = SECRETS.values() + extra
    return observed.run.secret_leaks(secrets) + observed.rerun.secret_leaks(secrets)


def figure_row(label: str, side: str, injected_into: str, observed: Observed, expected_exit: int,
               extra_secrets: tuple[str, ...] = ()) -> dict[str, Any]:
    run, summary = observed.run, observed.run.summary if observed.run.ended_on_its_own else None
    survived = (run.ended_on_its_own and run.code == expected_exit and not lost_tags(observed.before, observed.after)
                and not half_written(observed) and uncounted_wrong_scenes(observed) == 0
                and (summary is None or not summary_problems(summary, observed.library)))
    leaks = secret_leaks(observed, extra_secrets)
    return {
        "fault": label, "side": side, "injected into": injected_into, "runs": 1, "survived": int(survived),
        "exit code (expected)": f"{run.code} ({expected_exit})",
        "scenes counted as failed": summary["outcomes"]["error"] if summary else "-",
        "scenes not processed": summary["scenes_not_processed"] if summary else "-",
        "tags lost": sum(map(len, lost_tags(observed.before, observed.after).values())),
        "re-run converged": observed.rerun.code == EXIT_OK and not not_exactly_right(observed.library, observed.after_rerun),
        "secret leaks": len(leaks),
        "seconds": round(run.seconds, 1),
    }


# -- the fault matrix ------------------------------------------------------------------

@dataclass(frozen=True)
class FaultCase:
    id: str
    label: str
    side: str                  # which simulator: "stashdb" or "stash"
    kind: str
    injected_into: str
    rules: tuple[dict, ...]
    timeout: float = NORMAL_TIMEOUT
    retried: bool = False      # the client retries it, so no scene may fail

    @property
    def settle_seconds(self) -> float:
        return HANG_SECONDS if self.kind == faults.HANG else 0.0


def stashdb_case(case_id: str, label: str, kind: str, *, roots=(FINGERPRINT_ROOT, BY_ID_ROOT),
                 timeout: float = NORMAL_TIMEOUT, retried: bool = False, **options) -> FaultCase:
    rules = tuple({"root_field": root, "fraction": FAULT_SHARE, "seed": seed, **options}
                  for seed, root in enumerate(roots, start=1))
    into = f"10% of {' and '.join(roots)} requests"
    return FaultCase(case_id, label, "stashdb", kind, into, rules, timeout, retried)


def stash_case(case_id: str, label: str, kind: str, into: str, *, timeout: float = NORMAL_TIMEOUT,
               **selection) -> FaultCase:
    rule = {"fraction": FAULT_SHARE, "seed": 1, **selection}
    return FaultCase(case_id, label, "stash", kind, into, (rule,), timeout)


MATRIX = (
    stashdb_case("429-retry-after", "429 with Retry-After", faults.HTTP_429, retried=True, retry_after="1"),
    stashdb_case("429-no-retry-after", "429 without Retry-After", faults.HTTP_429, retried=True, retry_after=None),
    stashdb_case("500", "500", faults.HTTP_500, retried=True),
    stashdb_case("502-html", "502 with an HTML body", faults.HTTP_502_HTML, retried=True),
    stashdb_case("503", "503 (Retry-After: 1)", faults.HTTP_503, retried=True, retry_after="1"),
    stashdb_case("504", "504", faults.HTTP_504, retried=True),
    stashdb_case("hang", f"no answer for {HANG_SECONDS:g} s (timeout {SHORT_TIMEOUT:g} s)", faults.HANG,
                 timeout=SHORT_TIMEOUT, retried=True, seconds=HANG_SECONDS),
    stashdb_case("drop", "connection dropped", faults.DROP, retried=True),
    stashdb_case("invalid-json", "invalid JSON", faults.INVALID_JSON),
    # Only the fingerprint answer is a list whose length the client can check; on the
    # aliased findScene answer the simulator would drop a tag, which no client can notice.
    stashdb_case("wrong-length", "result list one short", faults.WRONG_LENGTH, roots=(FINGERPRINT_ROOT,)),
    stashdb_case("partial-errors", "errors[] with partial data", faults.PARTIAL_ERRORS),
    stash_case("mutation-error", "an update fails for some scenes", faults.MUTATION_ERROR, "10% of scene updates"),
    stash_case("fk-error", "foreign-key error on an update", faults.FK_ERROR, "10% of scene updates"),
    stash_case("read-500", "500 on a scene read", faults.HTTP_500, "10% of scene reads",
               operation=SCENE_READ_OPERATION),
    stash_case("read-timeout", f"scene read hangs {HANG_SECONDS:g} s (timeout {SHORT_TIMEOUT:g} s)", faults.HANG,
               "10% of scene reads", timeout=SHORT_TIMEOUT, operation=SCENE_READ_OPERATION, seconds=HANG_SECONDS),
)


@dataclass
class MatrixRun:
    case: FaultCase
    observed: Observed
    failed: set[int]


@pytest.fixture(scope="module", params=MATRIX, ids=lambda case: case.id)
def matrix_run(request, tmp_path_factory, reliability_figures) -> MatrixRun:
    case: FaultCase = request.param
    library = generate_library(SCENE_COUNT, seed=LIBRARY_SEED)
    observed = observe(library, tmp_path_factory.mktemp(f"fault-{case.id}"), add_rules(case.side, case.kind, case.rules),
                       timeout=case.timeout, settle_seconds=case.settle_seconds)
    failed = failed_scene_ids(observed)
    expected_exit = EXIT_SCENE_ERRORS if failed else EXIT_OK
    side = "StashDB" if case.side == "stashdb" else "Stash"
    reliability_figures.add("Fault matrix: one fault kind per run, 2,000 scenes",
                            figure_row(case.label, side, case.injected_into, observed, expected_exit))
    return MatrixRun(case, observed, failed)


def test_the_fault_was_injected(matrix_run):
    assert matrix_run.observed.faults_fired > 0


def test_the_run_ends_on_its_own_with_the_right_exit_code(matrix_run):
    """Retried faults (429, 5xx, timeouts, dropped connections) cost no scene: exit 0. The
    others cost a scene only when they hit it in both attempts, or hit its own write or
    id: exit 2 exactly when some scene failed."""
    run = matrix_run.observed.run
    assert run.ended_on_its_own, run.stderr[-3000:]
    if matrix_run.case.retried:
        assert matrix_run.failed == set()
    expected = EXIT_SCENE_ERRORS if matrix_run.failed else EXIT_OK
    assert run.code == expected, (run.result["error"], run.lines("e")[:20])
    assert run.summary["aborted"] is None  # 10% faults never make a 2-minute outage
    assert run.stdout.count("\n") == 1  # one JSON object, nothing else


def test_no_tag_is_removed_and_no_scene_is_half_written(matrix_run):
    observed = matrix_run.observed
    assert lost_tags(observed.before, observed.after) == {}
    assert half_written(observed) == []


def test_every_scene_is_exactly_right_or_counted_as_failed_and_untouched(matrix_run):
    observed, failed = matrix_run.observed, matrix_run.failed
    summary = observed.run.summary
    assert summary["outcomes"]["error"] == len(failed)
    assert not_exactly_right(observed.library, observed.after) <= failed
    touched = sorted(scene for scene in failed if observed.after[scene] != observed.before[scene])
    assert touched == [], "scenes counted as failed were written"
    assert uncounted_wrong_scenes(observed) == 0


def test_the_summary_adds_up_and_matches_the_expectation_less_the_failed_scenes(matrix_run):
    observed, failed = matrix_run.observed, matrix_run.failed
    summary, library = observed.run.summary, observed.library
    assert summary_problems(summary, library) == []
    assert summary["scenes_not_processed"] == 0
    outcomes = [library.expected_outcome(scene) for scene in library.outcomes if scene not in failed]
    counts = Counter(SUMMARY_KEY_OF_CATEGORY[o.category] for o in outcomes if o.category in SUMMARY_KEY_OF_CATEGORY)
    for key in SUMMARY_KEY_OF_CATEGORY.values():
        assert summary["outcomes"][key] == counts[key], key
    assert summary["tags_added"] == sum(len(o.new_tag_ids) for o in outcomes if o.category == UPDATED)


def test_a_rerun_without_faults_converges(matrix_run):
    assert_rerun_converges(matrix_run.observed)


def test_no_secret_leaks(matrix_run):
    assert secret_leaks(matrix_run.observed) == []


def assert_rerun_converges(observed: Observed) -> None:
    rerun = observed.rerun
    assert rerun.code == EXIT_OK, (rerun.result["error"], rerun.lines("e")[:20])
    assert rerun.summary["outcomes"]["error"] == 0
    assert not_exactly_right(observed.library, observed.after_rerun) == set()


# -- refused at start: a rejected key, StashDB down ------------------------------------

def reject_the_stashdb_key(sims: RunningSimulators) -> None:
    """Stash's stash-box key is one StashDB does not know: HTTP 401."""
    box = sims.stash.stash_boxes[0]
    sims.stash.stash_boxes = [type(box)(box.endpoint, WRONG_STASHDB_KEY, box.name, box.max_requests_per_minute)]


REFUSED_AT_START = {
    "rejected-key": ("StashDB rejects the key at start", reject_the_stashdb_key, "API key"),
    "stashdb-down": ("StashDB answers 500 to every try of the key check",
                     add_rules("stashdb", faults.HTTP_500, ({"root_field": "me"},)), "HTTP 500"),
}


@pytest.fixture(scope="module", params=sorted(REFUSED_AT_START))
def refused_run(request, tmp_path_factory, reliability_figures) -> tuple[Observed, str]:
    label, inject, message = REFUSED_AT_START[request.param]
    library = generate_library(SCENE_COUNT, seed=LIBRARY_SEED)
    observed = observe(library, tmp_path_factory.mktemp(f"refused-{request.param}"), inject)
    reliability_figures.add("Auth and outage", figure_row(label, "StashDB", "the key check (first request)",
                                                          observed, EXIT_STOPPED, (WRONG_STASHDB_KEY,)))
    return observed, message


def test_a_run_refused_at_start_stops_after_its_first_request_with_one_error(refused_run):
    observed, message = refused_run
    run = observed.run
    assert run.ended_on_its_own and run.code == EXIT_STOPPED
    assert [entry.status for entry in observed.stashdb_requests] in ([401], [500] * TRIES_PER_REQUEST)
    errors = run.lines("e")
    assert len(errors) == 1 and message in errors[0], errors
    assert message in run.result["error"]


def test_a_run_refused_at_start_reads_and_writes_no_scene(refused_run):
    observed, _ = refused_run
    assert not [entry for entry in observed.stash_requests if entry.operation_name == SCENE_READ_OPERATION]
    assert observed.mutations == []
    assert observed.after == observed.before
    summary = observed.run.summary
    assert summary is None or summary["scenes_processed"] == 0


def test_a_run_refused_at_start_leaks_no_secret_and_a_fixed_key_converges(refused_run):
    observed, _ = refused_run
    assert secret_leaks(observed, (WRONG_STASHDB_KEY,)) == []
    assert_rerun_converges(observed)


# -- a key revoked in the middle of a run -----------------------------------------------

@pytest.fixture(scope="module")
def revoked_run(tmp_path_factory, reliability_figures) -> Observed:
    library = generate_library(SCENE_COUNT, seed=LIBRARY_SEED)
    inject = add_rules("stashdb", faults.AUTH_REVOKED, ({"after": REVOKED_AFTER_REQUESTS},))
    observed = observe(library, tmp_path_factory.mktemp("revoked"), inject)
    reliability_figures.add("Auth and outage", figure_row(
        "key revoked mid-run", "StashDB", f"every request after the {REVOKED_AFTER_REQUESTS}th", observed, EXIT_STOPPED))
    return observed


def test_a_revoked_key_stops_the_run_at_the_first_rejected_request(revoked_run):
    """Nothing is sent after the first 401 is seen; the requests already on their way
    (at most MAX_REQUESTS_IN_FLIGHT) get theirs too.

    The log is in the order the answers went out, and a quick 401 can overtake a 200
    that was slower to answer, so this counts rather than reads the order."""
    statuses = [entry.status for entry in revoked_run.stashdb_requests]
    assert statuses.count(200) == REVOKED_AFTER_REQUESTS, statuses
    rejected = [status for status in statuses if status != 200]
    assert 1 <= len(rejected) <= MAX_REQUESTS_IN_FLIGHT and set(rejected) == {401}, statuses


def test_a_revoked_key_gives_one_error_line_and_exit_1(revoked_run):
    run = revoked_run.run
    assert run.ended_on_its_own and run.code == EXIT_STOPPED
    errors = run.lines("e")
    assert len(errors) == 1 and "API key" in errors[0], errors
    assert "API key" in run.result["error"] and "API key" in run.summary["aborted"]


def test_a_revoked_key_run_keeps_every_tag_and_its_summary_adds_up(revoked_run):
    assert_stopped_run_is_consistent(revoked_run)


def test_a_revoked_key_run_leaks_no_secret_and_a_rerun_converges(revoked_run):
    assert secret_leaks(revoked_run) == []
    assert_rerun_converges(revoked_run)


def assert_stopped_run_is_consistent(observed: Observed) -> None:
    summary = observed.run.summary
    assert summary_problems(summary, observed.library) == []
    assert summary["aborted"] and summary["scenes_not_processed"] > 0
    assert lost_tags(observed.before, observed.after) == {}
    assert half_written(observed) == []
    assert uncounted_wrong_scenes(observed) == 0


# -- an outage: nothing usable for the outage window stops the run ------------------------

@dataclass(frozen=True)
class Outage:
    label: str
    side: str
    rule: dict
    what: str                 # how the stop message names what kept failing
    window: float = SHORT_OUTAGE_SECONDS
    real_window: bool = False  # keep the real 2-minute window

    def failing_requests(self, observed: Observed) -> list:
        entries = observed.stashdb_requests if self.side == "stashdb" else observed.stash_requests
        operation = self.rule.get("operation")
        return [entry for entry in entries if operation is None or entry.operation_name == operation]


OUTAGES = {
    "stashdb": Outage("StashDB fails every request after the 5th", "stashdb", {"after": 5}, "StashDB"),
    "stashdb-real-window": Outage("StashDB fails every request after the 5th", "stashdb",
                                  {"after": 5}, "StashDB", REAL_OUTAGE_SECONDS, real_window=True),
    "stash-reads": Outage("Stash fails every scene read after the 2nd", "stash",
                          {"after": 2, "operation": SCENE_READ_OPERATION}, "Stash reads"),
    "stash-writes": Outage("Stash fails every write request after the 2nd", "stash",
                           {"after": 2, "operation": SCENE_WRITE_OPERATION}, "Stash writes"),
}


@pytest.fixture(scope="module", params=sorted(OUTAGES))
def outage_run(request, tmp_path_factory, reliability_figures) -> tuple[Outage, Observed]:
    outage = OUTAGES[request.param]
    library = generate_library(SCENE_COUNT, seed=LIBRARY_SEED)
    inject = add_rules(outage.side, faults.HTTP_500, (outage.rule,))
    observed = observe(library, tmp_path_factory.mktemp(f"outage-{request.param}"), inject,
                       outage_seconds=None if outage.real_window else outage.window)
    side = "StashDB" if outage.side == "stashdb" else "Stash"
    window = f"{outage.window:g} s window" if not outage.real_window else "the real 120 s window"
    reliability_figures.add("Auth and outage", figure_row(f"{outage.label} ({window})", side,
                                                          "HTTP 500 from then on", observed, EXIT_STOPPED))
    return outage, observed


def test_an_outage_stops_the_run_once_it_has_lasted_the_window_and_not_before(outage_run):
    outage, observed = outage_run
    requests = outage.failing_requests(observed)
    failed = [entry for entry in requests if entry.status == 500]
    assert failed and requests[-1].status == 500, "a request of this kind succeeded after the outage began"
    started = [entry.monotonic for entry in failed]  # the log is in answer order, not start order
    lasted = max(started) - min(started)
    assert outage.window <= lasted <= outage.window + 20.0, lasted  # at most two failed calls more


def test_an_outage_ends_with_a_clear_message_exit_1_and_its_summary(outage_run):
    outage, observed = outage_run
    run = observed.run
    assert run.ended_on_its_own and run.code == EXIT_STOPPED
    expected = f"{outage.what} gave nothing usable for "
    assert expected in run.result["error"] and run.summary["aborted"].startswith(expected)
    assert any(expected in line for line in run.lines("e"))


def test_an_outage_run_keeps_every_tag_and_its_summary_adds_up(outage_run):
    assert_stopped_run_is_consistent(outage_run[1])


def test_an_outage_run_leaks_no_secret_and_a_rerun_converges(outage_run):
    assert secret_leaks(outage_run[1]) == []
    assert_rerun_converges(outage_run[1])


# -- a burst: StashDB trouble for 5 to 30 seconds mid-run costs no scene ------------------

BURSTS = {
    "502-5s": ("502 for 5 s", faults.HTTP_502_HTML, 5.0, NORMAL_TIMEOUT, {}),
    "504-15s": ("504 for 15 s", faults.HTTP_504, 15.0, NORMAL_TIMEOUT, {}),
    "timeout-30s": (f"no answer (timeout {SHORT_TIMEOUT:g} s) for 30 s", faults.HANG, 30.0, SHORT_TIMEOUT,
                    {"seconds": HANG_SECONDS}),
}


@pytest.fixture(scope="module", params=sorted(BURSTS))
def burst_run(request, tmp_path_factory, reliability_figures) -> Observed:
    label, kind, seconds, timeout, options = BURSTS[request.param]
    library = generate_library(SCENE_COUNT, seed=LIBRARY_SEED)
    inject = add_rules("stashdb", kind, ({"after": 10, "for_seconds": seconds, **options},))
    observed = observe(library, tmp_path_factory.mktemp(f"burst-{request.param}"), inject, timeout=timeout,
                       settle_seconds=HANG_SECONDS if kind == faults.HANG else 0.0)
    reliability_figures.add("Bursts: every StashDB request fails for a while, mid-run (2,000 scenes)",
                            figure_row(label, "StashDB", "every request from the 11th on, for the burst",
                                       observed, EXIT_OK))
    return observed


def test_a_burst_mid_run_costs_no_scene_in_that_run(burst_run):
    run = burst_run.run
    assert burst_run.faults_fired >= 3
    assert run.ended_on_its_own and run.code == EXIT_OK, (run.result["error"], run.lines("e")[:10])
    assert run.summary["outcomes"]["error"] == 0 and run.summary["aborted"] is None
    assert not_exactly_right(burst_run.library, burst_run.after) == set()


def test_a_burst_run_leaks_no_secret(burst_run):
    assert secret_leaks(burst_run) == []
