"""The page's write operations at once, and a user editing in Stash meanwhile: nothing lost.

Every operation is the plugin as Stash runs it (its own process, stdin JSON, real HTTP to
the Stash simulator). The simulator's request hooks decide the interleaving instead of
luck: a rendezvous answers two processes' reads together, so that neither has written
before the other has read; an edit runs at an exact moment between two requests.

- Two `exclude_tag` at once, and two `link_tag` of one tag at once: each answer that says
  `written` is true in Stash afterwards; a link the other one made first is refused by name.
- A user adds an exclude pattern after the plugin read the settings, or saves the tag's
  edit form (opened before the plugin linked it) right after the plugin's write: the user's
  entry and the plugin's both survive.
- The write operations run one at a time under a lock in the plugin's data folder: a second
  one waits its bound and is then refused naming the holder; a holder killed with SIGKILL
  (Stash's Stop) leaves a lock file that blocks no one.
"""
from __future__ import annotations

import threading

import pytest

from tests.reliability.runs import PluginProcess, wait_for_quiet
from tests.simulators import generate_library, start_simulators
from tests.simulators.request_hooks import BEFORE, Rendezvous

OTHER_ENDPOINT = "https://fansdb.example/graphql"
WAITING_LINE = "is writing; waiting up to"
LOCK_FILE = "plugin_data/tagManager/operations.lock"


@pytest.fixture(scope="module")
def library():
    return generate_library(40, seed=3)


@pytest.fixture
def sims(library):
    with start_simulators(library) as running:
        yield running


def operation(sims, folder, run_name: str, args: dict, env: dict | None = None) -> PluginProcess:
    """One operation's process; `run_name` names its output files in `folder` (Stash's
    config dir, shared by the processes of a test: one plugin data folder, one lock)."""
    return PluginProcess(sims, folder, name=run_name, args=args, env=env)


def exclude(name: str) -> dict:
    return {"mode": "exclude_tag", "name": name}


def link(stashdb_id: str, tag_id: int) -> dict:
    return {"mode": "link_tag", "stashdb_id": stashdb_id, "tag_id": str(tag_id)}


def finished(*processes: PluginProcess) -> list:
    return [process.wait() for process in processes]


def waited_for_the_lock(run) -> bool:
    return any(line.startswith("\x01i\x02") and WAITING_LINE in line for line in run.stderr.splitlines())


def unmatched_stashdb_tags(library, count: int) -> list:
    by_name = {tag.name: tag for tag in library.stashdb_tags}
    return [by_name[name] for name in list(library.expected_summary.unmatched_tag_counts)[:count]]


def unlinked_local_tag(sims):
    return next(tag for tag in sims.stash.local_tags() if not tag.stash_ids)


def tag_now(sims, tag_id: int):
    return next(tag for tag in sims.stash.local_tags() if tag.id == tag_id)


def links(tag) -> set[tuple[str, str]]:
    return {(sid.endpoint, sid.stash_id) for sid in tag.stash_ids}


# -- two operations at once -----------------------------------------------------------

def test_two_excludes_at_once_keep_both_patterns(sims, tmp_path):
    before = list(sims.stash.exclude_tag_patterns)
    sims.stash.add_hook("TagManagerConfiguration", Rendezvous(2, timeout=10))

    runs = finished(operation(sims, tmp_path, "a", exclude("Alpha Scratch")),
                    operation(sims, tmp_path, "b", exclude("Beta Scratch")))

    assert [run.code for run in runs] == [0, 0], [run.stderr for run in runs]
    assert [run.result["output"]["written"] for run in runs] == [True, True]
    patterns = sims.stash.exclude_tag_patterns
    assert r"^Alpha Scratch$" in patterns and r"^Beta Scratch$" in patterns
    assert set(before) <= set(patterns)


def test_two_links_of_one_tag_at_once_lose_nothing(sims, library, tmp_path):
    first, second = unmatched_stashdb_tags(library, 2)
    local = unlinked_local_tag(sims)
    endpoint = sims.stashdb.url
    sims.stash.add_hook("TagManagerFindTag", Rendezvous(2, timeout=3))

    runs = finished(operation(sims, tmp_path, "a", link(first.id, local.id)),
                    operation(sims, tmp_path, "b", link(second.id, local.id)))

    after = tag_now(sims, local.id)
    linked = [run for run in runs if run.code == 0]
    assert len(linked) == 1, [run.result for run in runs]   # the other one is refused, by name
    answer = linked[0].result["output"]
    assert answer["written"] is True and (endpoint, answer["stashdb_id"]) in links(after)
    assert answer["alias_added"] in after.aliases
    (refused,) = [run for run in runs if run.code != 0]
    assert f"already linked to StashDB tag {answer['stashdb_id']}" in refused.result["error"]
    assert [sid for sid in links(after) if sid[0] == endpoint] == [(endpoint, answer["stashdb_id"])]
    assert set(local.aliases) <= set(after.aliases)


# -- a user editing in Stash meanwhile --------------------------------------------------

def test_a_pattern_the_user_adds_after_the_plugin_read_the_settings_survives(sims, tmp_path):
    sims.stash.add_hook("TagManagerConfiguration", lambda: sims.stash.exclude_tag_patterns.append("^user added$"),
                        nth=1)

    (run,) = finished(operation(sims, tmp_path, "a", exclude("Alpha Scratch")))

    assert run.code == 0 and run.result["output"]["written"] is True
    assert {"^user added$", r"^Alpha Scratch$"} <= set(sims.stash.exclude_tag_patterns)


def test_a_user_save_from_an_older_read_right_after_the_link_loses_neither_edit(sims, library, tmp_path):
    (stashdb_tag,) = unmatched_stashdb_tags(library, 1)
    local = unlinked_local_tag(sims)
    form = sims.stash.tag_input_now(local.id)            # the user opens the tag's edit form now
    form["stash_ids"].append({"endpoint": OTHER_ENDPOINT, "stash_id": "user-linked-1"})
    form["aliases"].append("User Alias")
    sims.stash.add_hook("TagManagerTagUpdate", lambda: sims.stash.edit_tag(form), nth=1)  # ... and saves it now

    (run,) = finished(operation(sims, tmp_path, "a", link(stashdb_tag.id, local.id)))

    assert run.code == 0, run.stderr
    answer = run.result["output"]
    after = tag_now(sims, local.id)
    assert answer["written"] is True
    assert {(sims.stashdb.url, stashdb_tag.id), (OTHER_ENDPOINT, "user-linked-1")} <= links(after)
    assert {"User Alias", answer["alias_added"]} <= set(after.aliases)
    assert links(after) == {(s["endpoint"], s["stash_id"]) for s in answer["stash_ids"]}


def test_a_link_the_user_adds_after_the_plugin_read_its_tag_list_survives(sims, library, tmp_path):
    """A guard (this held before the lock too): the write merges the tag as read right
    before it, not the tag list the operation read first."""
    (stashdb_tag,) = unmatched_stashdb_tags(library, 1)
    local = unlinked_local_tag(sims)

    def user_links_another_endpoint():
        edit = sims.stash.tag_input_now(local.id)
        edit["stash_ids"].append({"endpoint": OTHER_ENDPOINT, "stash_id": "user-linked-2"})
        sims.stash.edit_tag(edit)

    sims.stash.add_hook("TagManagerFindTags", user_links_another_endpoint, nth=1)

    (run,) = finished(operation(sims, tmp_path, "a", link(stashdb_tag.id, local.id)))

    assert run.code == 0, run.stderr
    assert {(sims.stashdb.url, stashdb_tag.id), (OTHER_ENDPOINT, "user-linked-2")} <= links(tag_now(sims, local.id))


# -- the lock ---------------------------------------------------------------------------

class HeldRead:
    """Holds the first operation's fresh read of the exclude patterns (made under the lock)
    until released, so that it holds the lock as long as a test needs."""

    def __init__(self, sims):
        self.entered, self.release = threading.Event(), threading.Event()
        sims.stash.add_hook("TagManagerExcludePatterns", self, stage=BEFORE, nth=1)

    def __call__(self) -> None:
        self.entered.set()
        self.release.wait(60)


def test_a_second_operation_waits_its_bound_then_is_refused_naming_the_holder(sims, tmp_path):
    held = HeldRead(sims)
    holder = operation(sims, tmp_path, "holder", exclude("Alpha Scratch"))
    assert held.entered.wait(60)

    (waiter,) = finished(operation(sims, tmp_path, "waiter", exclude("Beta Scratch"),
                                   env={"TAGMANAGER_TEST_LOCK_WAIT_SECONDS": "2"}))
    held.release.set()
    (first,) = finished(holder)

    error = waiter.result["error"]
    assert waiter.code == 1 and waiter.result["output"] is None
    assert f"(exclude_tag, process {holder.process.pid}, since " in error
    assert "for the whole 2 s" in error and "nothing was written" in error
    assert waited_for_the_lock(waiter)
    assert first.code == 0
    wait_for_quiet(sims)
    assert r"^Alpha Scratch$" in sims.stash.exclude_tag_patterns
    assert r"^Beta Scratch$" not in sims.stash.exclude_tag_patterns


def test_a_holder_killed_mid_operation_blocks_no_one(sims, tmp_path):
    held = HeldRead(sims)
    holder = operation(sims, tmp_path, "holder", exclude("Alpha Scratch"))
    assert held.entered.wait(60)
    assert holder.kill_now()                       # Stash's Stop: SIGKILL, no clean-up
    held.release.set()

    (next_one,) = finished(operation(sims, tmp_path, "next", exclude("Beta Scratch")))

    assert (tmp_path / LOCK_FILE).is_file()        # left behind, and no obstacle
    assert next_one.code == 0 and next_one.result["output"]["written"] is True
    assert not waited_for_the_lock(next_one)
    assert r"^Beta Scratch$" in sims.stash.exclude_tag_patterns
