"""Kills and concurrent edits during live runs against the simulators.

Kill: Stash's Stop SIGKILLs the plugin. 20 kills at seeded random moments of live runs:
4 rounds of 5 kills, each round on a fresh 1,000-scene library, every kill interrupting a
new run that picks up where the killed one stopped. Each round's first kill lands on a
random request of one brief phase (a write, a local-tag page, a pass-1 or a pass-2 StashDB
request); the 16 others at times spread evenly over a run's length. After each kill, every
scene holds either its tags from before the first run or exactly its expected tags (the
simulator applies one scene's ADD at once, so a scene is never between the two unless
the plugin wrote it in pieces or removed something). Then a run without a kill must
bring every scene to its expected tags, and one more run must send no write at all.

Concurrent edits: while a slowed live run goes on, another client adds and removes tags
on the scenes being synced, with real bulkSceneUpdate requests. With server-side ADD the
sync never removes anything, so an addition always survives. It can undo a removal only
by adding that very tag, which it does only for a tag StashDB has for the scene (a
matched tag) that was missing when it read the scene, i.e. when the removal came before
the sync reached the scene: the same as removing it before the run. The property asserted:

* a tag the other client added is there at the end;
* a tag the other client removed is absent at the end, unless it is one of the scene's
  matched StashDB tags, the sync's read of that scene ended after the removal was sent,
  and a sync write adding the tag to that scene followed the removal (counted apart). So
  a removal made after the sync read the scene always survives, and so does any removal
  of a tag StashDB does not have for the scene;
* apart from those edits, every scene ends with exactly its expected tags.
"""
from __future__ import annotations

import random
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import pytest
import requests

from tests.reliability.runs import PluginProcess, run_plugin, wait_for_quiet
from tests.simulators.expectations import NO_STASH_ID, UNCHANGED, UPDATED
from tests.simulators.launch import start_simulators
from tests.simulators.library import generate_library
from tests.simulators.served import Latency

LIBRARY_SCENES = 1000
LIBRARY_SEED = 8
KILL_SEED = 20241
KILL_ROUNDS, KILLS_PER_ROUND = 4, 5
KILLS = KILL_ROUNDS * KILLS_PER_ROUND
# Simulated answer times that make a 1,000-scene run last a few seconds, writes included
# (a 40-scene write costs ~0.13 s), so kills and edits land inside every phase.
STASH_LATENCY = Latency(per_request=0.01, per_root_field=0.003)
STASHDB_LATENCY = Latency(per_request=0.02)
QUIET_SECONDS = 0.25  # longer than any simulated answer

KILL_SECTION = (f"Kills (SIGKILL at {KILLS} seeded moments of live {LIBRARY_SCENES}-scene runs; after each: no tag "
                "lost, no scene half-written; then every round converged and a further run wrote nothing)")
EDIT_SECTION = "Concurrent edits (another client's bulkSceneUpdate ADD/REMOVE during a live run)"
WRITE_OPERATION = "TagManagerAddTags"
PLUGIN_WRITE_ALIAS = re.compile(r"^s\d+$")


def live_simulators(library):
    sims = start_simulators(library)
    sims.stash.latency, sims.stashdb.latency = STASH_LATENCY, STASHDB_LATENCY
    return sims


@pytest.fixture(scope="module")
def library():
    return generate_library(LIBRARY_SCENES, seed=LIBRARY_SEED)


# -- kills ------------------------------------------------------------------------------

@dataclass
class Kill:
    round: int
    delay: float                       # seconds after the process started
    activities: tuple[str, ...]        # what the plugin was doing (see kill_activities)
    tags_after: dict                   # every scene's tag ids once the servers were quiet
    writes_applied_after_kill: int     # scene writes of a request in flight at the kill


@dataclass
class KillRound:
    before: dict
    kills: list[Kill] = field(default_factory=list)
    converge_run: object = None
    tags_after_converge: dict = field(default_factory=dict)
    further_run: object = None
    further_mutations: list = field(default_factory=list)


@dataclass(frozen=True)
class KillMoment:
    """When to kill: `seconds` after the process started, or the moment the run's n-th
    request (or n-th write: a request of several aliased root fields) reaches `server`."""

    seconds: float | None = None
    server: str = ""                   # "stash" or "stashdb"
    nth: int = 0
    writes_only: bool = False


class RequestArrivals(Latency):
    """A simulator's answer time; it asks for it as each request starts, which tells when
    each request arrives and how many root fields it has."""

    def __init__(self, latency: Latency):
        super().__init__(latency.per_request, latency.per_root_field)
        self.arrivals: list[tuple[float, int]] = []  # monotonic, root fields
        self.changed = threading.Condition()

    def seconds_for(self, root_fields: int) -> float:
        with self.changed:
            self.arrivals.append((time.monotonic(), root_fields))
            self.changed.notify_all()
        return super().seconds_for(root_fields)

    def wait_for(self, moment: KillMoment, since: float, process: PluginProcess) -> bool:
        """Wait for the moment's request; False if the process ended first."""
        def seen() -> int:
            return sum(1 for t, fields in self.arrivals if t >= since and (fields > 1 or not moment.writes_only))

        with self.changed:
            while seen() < moment.nth:
                if process.process.poll() is not None:
                    return False
                self.changed.wait(0.01)
        return True


@dataclass(frozen=True)
class RunShape:
    """Where things happen in an uninterrupted run on a fresh library."""

    seconds: float
    write_requests: int
    tag_requests: list[int]            # positions among the Stash requests (its start is sequential)
    fingerprint_requests: list[int]    # positions among the StashDB requests (one fetcher thread)
    by_id_requests: list[int]


def run_shape(run, sims) -> RunShape:
    stash = sorted(sims.stash.request_log.entries(), key=lambda entry: entry.monotonic)
    stashdb = sorted(sims.stashdb.request_log.entries(), key=lambda entry: entry.monotonic)

    def positions(entries, operation):
        return [n for n, entry in enumerate(entries, 1) if entry.operation_name == operation]

    return RunShape(run.ended - run.started, len(positions(stash, WRITE_OPERATION)),
                    positions(stash, "TagManagerFindTags"), positions(stashdb, "TagManagerFindScenesByFingerprints"),
                    positions(stashdb, "TagManagerFindScenesByIds"))


def kill_moments(rng: random.Random, shape: RunShape) -> list[KillMoment]:
    """Each round's first kill, on its fresh library, at a random request of one brief
    phase (a write, a local-tag page, a pass-1 and a pass-2 StashDB request: a random time
    could miss them); the other kills at moments drawn one in each of as many equal strata
    of the run's length, shuffled across the rounds."""
    targeted = [KillMoment(server="stash", nth=rng.randint(1, shape.write_requests - 1), writes_only=True),
                KillMoment(server="stash", nth=rng.choice(shape.tag_requests)),
                KillMoment(server="stashdb", nth=rng.choice(shape.fingerprint_requests)),
                KillMoment(server="stashdb", nth=rng.choice(shape.by_id_requests))]
    per_round = KILLS_PER_ROUND - 1
    strata = list(range(per_round * KILL_ROUNDS))
    rng.shuffle(strata)
    timed = [KillMoment(seconds=(stratum + rng.random()) / len(strata) * shape.seconds) for stratum in strata]
    return [moment for number in range(KILL_ROUNDS)
            for moment in [targeted[number % len(targeted)], *timed[number * per_round:(number + 1) * per_round]]]


IN_FLIGHT = (  # what a request in flight at the kill says the plugin was doing
    ("stash", WRITE_OPERATION, "mid-write (a write request in flight)"),
    ("stashdb", "TagManagerFindScenesByFingerprints", "pass 1 (a StashDB fingerprint request in flight)"),
    ("stashdb", "TagManagerFindScenesByIds", "pass 2 (a StashDB by-id request in flight)"),
    ("stash", "TagManagerScenesByIds", "reading a batch of scenes from Stash"),
)


def kill_activities(moment: float, requests: dict[str, list]) -> tuple[str, ...]:
    """What the plugin was doing at `moment`, from the requests the servers saw; both of
    its threads may have had a request in flight."""
    def arrived(operation: str) -> bool:
        return any(e.operation_name == operation and e.monotonic <= moment for e in requests["stash"])

    if not arrived("TagManagerFindTags"):
        return ("start-up (connect, configuration, key check)",)
    if not arrived("TagManagerSceneIds"):
        return ("loading local tags",)
    doing = tuple(activity for server, operation, activity in IN_FLIGHT
                  if any(e.operation_name == operation and e.monotonic <= moment < e.monotonic + e.duration
                         for e in requests[server]))
    return doing or ("between requests (reading an answer, rate-limit wait, planning, summary)",)


def kill_once(sims, folder, round_number: int, moment: KillMoment, rng: random.Random) -> Kill:
    stash_before, stashdb_before = len(sims.stash.request_log), len(sims.stashdb.request_log)
    mutations_before = len(sims.stash.mutation_log)
    while True:
        process = PluginProcess(sims, folder, name=f"round{round_number}-kill")
        if moment.seconds is None:
            arrivals = getattr(sims, moment.server).latency
            killed = arrivals.wait_for(moment, process.started, process) and process.kill_now()
        else:
            killed = process.kill_at(process.started + moment.seconds)
        if killed:
            break
        run = process.wait()  # ended before the moment: kill the next run earlier
        wait_for_quiet(sims, QUIET_SECONDS)
        moment = KillMoment(seconds=rng.uniform(0.0, 0.9 * (run.ended - run.started)))
    wait_for_quiet(sims, QUIET_SECONDS)
    killed_at = process.killed_at
    late_writes = [m for m in sims.stash.mutation_log.entries()[mutations_before:] if m.monotonic > killed_at]
    activities = kill_activities(killed_at, {"stash": sims.stash.request_log.entries()[stash_before:],
                                             "stashdb": sims.stashdb.request_log.entries()[stashdb_before:]})
    return Kill(round_number, killed_at - process.started, activities, sims.stash.tags_snapshot(), len(late_writes))


def kill_round(library, folder, round_number: int, moments: list[KillMoment], rng: random.Random) -> KillRound:
    with live_simulators(library) as sims:
        sims.stash.latency, sims.stashdb.latency = RequestArrivals(STASH_LATENCY), RequestArrivals(STASHDB_LATENCY)
        record = KillRound(before=sims.stash.tags_snapshot())
        for moment in moments:
            record.kills.append(kill_once(sims, folder, round_number, moment, rng))
        sims.stash.latency, sims.stashdb.latency = Latency(), Latency()  # the rest needs no slowing
        record.converge_run = run_plugin(sims, folder, name=f"round{round_number}-converge")
        wait_for_quiet(sims, QUIET_SECONDS)
        record.tags_after_converge = sims.stash.tags_snapshot()
        mutations_before = len(sims.stash.mutation_log)
        record.further_run = run_plugin(sims, folder, name=f"round{round_number}-further")
        wait_for_quiet(sims, QUIET_SECONDS)
        record.further_mutations = sims.stash.mutation_log.entries()[mutations_before:]
    return record


@pytest.fixture(scope="module")
def kill_rounds(library, tmp_path_factory):
    folder = tmp_path_factory.mktemp("kills")
    with live_simulators(library) as sims:  # an uninterrupted run shows where things happen
        calibration = run_plugin(sims, folder, name="calibration")
        shape = run_shape(calibration, sims)
    assert calibration.code == 0, calibration.stderr[-2000:]
    rng = random.Random(KILL_SEED)
    moments = kill_moments(rng, shape)
    rounds = [kill_round(library, folder, number, moments[number * KILLS_PER_ROUND:(number + 1) * KILLS_PER_ROUND], rng)
              for number in range(KILL_ROUNDS)]
    return {"rounds": rounds, "run_seconds": shape.seconds}


def all_kills(kill_rounds) -> list[Kill]:
    return [kill for record in kill_rounds["rounds"] for kill in record.kills]


def test_twenty_kills_landed_during_live_runs(kill_rounds, reliability_figures):
    kills = all_kills(kill_rounds)
    assert len(kills) == KILLS
    activities = Counter(activity for kill in kills for activity in kill.activities)
    for activity, count in sorted(activities.items(), key=lambda item: -item[1]):
        reliability_figures.add(KILL_SECTION, {
            "what the plugin was doing (a kill can be in two rows)": activity, "kills": count,
            "scene writes applied after the kill": sum(k.writes_applied_after_kill for k in kills
                                                       if activity in k.activities)})
    for activity in ("mid-write (a write request in flight)", "loading local tags",
                     "pass 1 (a StashDB fingerprint request in flight)", "pass 2 (a StashDB by-id request in flight)"):
        assert activities[activity] >= 1, activity


def test_no_kill_ever_removes_a_tag(kill_rounds):
    for record in kill_rounds["rounds"]:
        for kill in record.kills:
            for scene_id, tags_before in record.before.items():
                lost = set(tags_before) - set(kill.tags_after[scene_id])
                assert not lost, f"kill at {kill.delay:.2f} s {kill.activities}: scene {scene_id} lost tags {lost}"


def test_no_scene_is_ever_half_written(kill_rounds, library):
    for record in kill_rounds["rounds"]:
        for kill in record.kills:
            for scene_id, tags_now in kill.tags_after.items():
                now, expected = set(tags_now), set(library.expected_tag_ids(scene_id))
                assert now in (set(record.before[scene_id]), expected), (
                    f"kill at {kill.delay:.2f} s {kill.activities}: scene {scene_id} has {sorted(now)}, "
                    f"neither its tags before {sorted(record.before[scene_id])} nor expected {sorted(expected)}")


def test_a_run_after_the_kills_converges(kill_rounds, library):
    for record in kill_rounds["rounds"]:
        assert record.converge_run.code == 0, record.converge_run.stderr[-2000:]
        for scene_id, tags_now in record.tags_after_converge.items():
            assert set(tags_now) == set(library.expected_tag_ids(scene_id)), f"scene {scene_id}"


def test_a_further_run_writes_nothing(kill_rounds):
    for record in kill_rounds["rounds"]:
        assert record.further_run.code == 0, record.further_run.stderr[-2000:]
        assert record.further_mutations == []
        assert record.further_run.summary["outcomes"]["updated"] == 0


# -- concurrent edits -------------------------------------------------------------------

EDIT_SEED = 4242
EDIT_INTERVAL = 0.002  # seconds between the other client's requests
OTHER_CLIENT_EDIT = """
mutation OtherClientEdit($input: BulkSceneUpdateInput!) {
  edit: bulkSceneUpdate(input: $input) { id }
}
"""


@dataclass(frozen=True)
class Edit:
    scene_id: int
    tag_id: int
    mode: str       # ADD or REMOVE
    kind: str       # why this edit was chosen
    sent: float     # monotonic, before the request went out


class OtherClient:
    """Another Stash client: one tag added or removed per real bulkSceneUpdate request.

    Each (scene, tag) pair is edited at most once, so an edit's effect is unambiguous.
    """

    def __init__(self, sims, library, rng: random.Random):
        self.sims, self.library, self.rng = sims, library, rng
        self.session = requests.Session()
        self.session.cookies.set("session", sims.stash.session_cookie)
        self.in_scope = [s.id for s in library.local_scenes if library.expected_outcome(s.id).category != NO_STASH_ID]
        self.tag_ids = [tag.id for tag in library.local_tags]
        self.holding_matched_tags = [
            scene_id for scene_id in self.in_scope
            if set(library.expected_outcome(scene_id).existing_tag_ids) & self.matched(scene_id)]
        self.edits: list[Edit] = []
        self.touched: set[tuple[int, int]] = set()
        self.failure: Exception | None = None

    def send(self, scene_id: int, tag_id: int, mode: str, kind: str) -> None:
        self.touched.add((scene_id, tag_id))
        sent = time.monotonic()
        variables = {"input": {"ids": [str(scene_id)], "tag_ids": {"ids": [str(tag_id)], "mode": mode}}}
        response = self.session.post(self.sims.stash.url, json={"query": OTHER_CLIENT_EDIT, "variables": variables},
                                     timeout=10)
        assert response.status_code == 200 and not response.json().get("errors"), response.text[:300]
        self.edits.append(Edit(scene_id, tag_id, mode, kind, sent))

    def edit_until(self, done: threading.Event) -> None:
        choices = (self.remove_a_matched_tag_the_sync_has_not_read, self.add_a_tag,
                   self.remove_a_tag_the_sync_just_added, self.remove_an_unmatched_tag, self.remove_a_matched_tag)
        turn = 0
        try:
            while not done.is_set():
                choices[turn % len(choices)]()
                turn += 1
                done.wait(EDIT_INTERVAL)
        except Exception as exc:  # noqa: BLE001 - reported by the test, not lost in this thread
            self.failure = exc

    def matched(self, scene_id: int) -> set[int]:
        return set(self.library.expected_outcome(scene_id).matched_tag_ids)

    def add_a_tag(self) -> None:
        scene_id = self.rng.choice(self.in_scope)
        present = set(self.sims.stash.scene_tag_ids(scene_id))
        tag_id = self.rng.choice(self.tag_ids)
        if tag_id not in present and (scene_id, tag_id) not in self.touched:
            self.send(scene_id, tag_id, "ADD", "add any tag")

    def remove_a_tag_the_sync_just_added(self) -> None:
        writes = [m for m in self.sims.stash.mutation_log.applied()[-5:] if PLUGIN_WRITE_ALIAS.match(m.alias)]
        if writes:
            write = self.rng.choice(writes)
            self._remove_one(write.scene_ids[0], set(write.tag_ids), "remove a tag the sync just added")

    def remove_an_unmatched_tag(self) -> None:
        scene_id = self.rng.choice(self.in_scope)
        present = set(self.sims.stash.scene_tag_ids(scene_id))
        self._remove_one(scene_id, present - self.matched(scene_id), "remove a tag StashDB does not have")

    def remove_a_matched_tag(self) -> None:
        scene_id = self.rng.choice(self.in_scope)
        present = set(self.sims.stash.scene_tag_ids(scene_id))
        self._remove_one(scene_id, present & self.matched(scene_id), "remove a matched tag the scene had")

    def remove_a_matched_tag_the_sync_has_not_read(self) -> None:
        read = {int(scene_id) for entry in self.sims.stash.request_log.entries()
                if entry.operation_name == "TagManagerScenesByIds" for scene_id in entry.variables["ids"]}
        unread = [scene_id for scene_id in self.holding_matched_tags if scene_id not in read]
        if unread:
            scene_id = self.rng.choice(unread)
            present = set(self.sims.stash.scene_tag_ids(scene_id))
            self._remove_one(scene_id, present & self.matched(scene_id),
                             "remove a matched tag before the sync reads it")

    def _remove_one(self, scene_id: int, candidates: set[int], kind: str) -> None:
        candidates = sorted(t for t in candidates if (scene_id, t) not in self.touched)
        present = set(self.sims.stash.scene_tag_ids(scene_id))
        candidates = [t for t in candidates if t in present]
        if candidates:
            self.send(scene_id, self.rng.choice(candidates), "REMOVE", kind)


@pytest.fixture(scope="module")
def edited_run(library, tmp_path_factory):
    folder = tmp_path_factory.mktemp("edits")
    with live_simulators(library) as sims:
        before = sims.stash.tags_snapshot()
        client = OtherClient(sims, library, random.Random(EDIT_SEED))
        process = PluginProcess(sims, folder, name="edited")
        done = threading.Event()
        editor = threading.Thread(target=client.edit_until, args=(done,), name="other-client")
        editor.start()
        try:
            run = process.wait()
        finally:
            done.set()
            editor.join(timeout=30)
        wait_for_quiet(sims, QUIET_SECONDS)
        sync_writes = [m for m in sims.stash.mutation_log.applied() if PLUGIN_WRITE_ALIAS.match(m.alias)]
        sync_reads = [(entry.monotonic + entry.duration, {int(i) for i in entry.variables["ids"]})
                      for entry in sims.stash.request_log.entries() if entry.operation_name == "TagManagerScenesByIds"]
        yield {"run": run, "before": before, "after": sims.stash.tags_snapshot(), "edits": client.edits,
               "editor_failure": client.failure, "sync_writes": sync_writes, "sync_reads": sync_reads}


def added_back_by_the_sync(edit: Edit, edited_run: dict) -> bool:
    """The sync read the scene after the removal (its read ended later) and then wrote the tag."""
    read_after = any(edit.scene_id in ids and ended > edit.sent for ended, ids in edited_run["sync_reads"])
    written_after = any(edit.scene_id in w.scene_ids and edit.tag_id in w.tag_ids and w.monotonic > edit.sent
                        for w in edited_run["sync_writes"])
    return read_after and written_after


def test_the_run_completes_while_another_client_edits(edited_run):
    run, edits = edited_run["run"], edited_run["edits"]
    assert edited_run["editor_failure"] is None
    assert run.code == 0, run.stderr[-2000:]
    summary = run.summary
    assert summary["outcomes"]["error"] == 0
    assert summary["scenes_processed"] == summary["scenes_total"]
    kinds = Counter(edit.kind for edit in edits)
    assert len(edits) >= 100 and len(kinds) == 5, kinds
    edit_times, writes = sorted(edit.sent for edit in edits), edited_run["sync_writes"]
    assert edit_times[0] < writes[0].monotonic < writes[-1].monotonic < edit_times[-1]  # edits span the writes


def test_every_edit_of_the_other_client_survives(edited_run, library, reliability_figures):
    after = edited_run["after"]
    preserved, re_added = Counter(), Counter()
    for edit in edited_run["edits"]:
        present = edit.tag_id in after[edit.scene_id]
        matched = edit.tag_id in library.expected_outcome(edit.scene_id).matched_tag_ids
        if edit.mode == "ADD":
            assert present, f"{edit}: the added tag is gone"
            preserved[edit.kind] += 1
        elif not present:
            preserved[edit.kind] += 1
        else:
            assert matched and added_back_by_the_sync(edit, edited_run), f"{edit}: the removed tag is back"
            re_added[edit.kind] += 1
    for kind in sorted(set(preserved) | set(re_added)):
        reliability_figures.add(EDIT_SECTION, {
            "edit": kind, "made": preserved[kind] + re_added[kind], "preserved": preserved[kind],
            "removed before the sync read the scene, so added back (StashDB has it)": re_added[kind]})
    assert re_added["remove a matched tag before the sync reads it"] >= 1  # that branch was exercised


def test_apart_from_the_edits_every_scene_ends_as_expected(edited_run, library):
    added, removed = {}, {}
    for edit in edited_run["edits"]:
        (added if edit.mode == "ADD" else removed).setdefault(edit.scene_id, set()).add(edit.tag_id)
    for scene_id, tags_after in edited_run["after"].items():
        outcome = library.expected_outcome(scene_id)
        edited = added.get(scene_id, set()) | removed.get(scene_id, set())
        untouched_after = set(tags_after) - edited
        expected = set(outcome.expected_tag_ids) if outcome.category in (UPDATED, UNCHANGED) \
            else set(edited_run["before"][scene_id])
        assert untouched_after == expected - edited, f"scene {scene_id}"
