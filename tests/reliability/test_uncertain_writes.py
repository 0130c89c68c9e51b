"""A create whose answer is lost is looked up, never sent a second time.

Stash applies a `tagCreate`, then its answer is lost: a proxy's 502, a dropped connection,
or an answer later than the client's timeout (the simulator's `after_applying` faults). The
plugin (`create_tags`, run as Stash runs it, over real HTTP) must find the tag it created
and report it created, with one `tagCreate` sent; when the create did not land, it must say
so and still not send it again.
"""
from __future__ import annotations

import time

import pytest

from tests.reliability.runs import TEST_TIMEOUT, PluginProcess, wait_for_quiet
from tests.simulators import generate_library, start_simulators
from tests.simulators.faults import DROP, HANG, HTTP_502_HTML

CREATE_OPERATION = "TagManagerTagCreate"
LOST_ANSWERS = {
    "502 after Stash applied it": dict(kind=HTTP_502_HTML),
    "connection dropped after Stash applied it": dict(kind=DROP),
    "answered after the client's timeout": dict(kind=HANG, seconds=TEST_TIMEOUT + 1.5, then="close"),
}


@pytest.fixture(scope="module")
def library():
    return generate_library(40, seed=3)


def unmatched_tag_with_new_category(library):
    """A StashDB tag no local tag matches, whose category no local tag is named."""
    held = {text.lower() for tag in library.local_tags for text in (tag.name, *tag.aliases)}
    by_name = {tag.name: tag for tag in library.stashdb_tags}
    return next(by_name[name] for name in library.expected_summary.unmatched_tag_counts
                if by_name[name].category and by_name[name].category.lower() not in held)


def create(sims, folder, stashdb_id: str, **args) -> dict:
    run = PluginProcess(sims, folder, args={"mode": "create_tags", "stashdb_ids": stashdb_id, **args}).wait()
    wait_until_faulted_requests_are_logged(sims)
    wait_for_quiet(sims)
    assert run.code == 0, run.stderr
    return run.result["output"]


def wait_until_faulted_requests_are_logged(sims, limit: float = 30.0) -> None:
    """A request is logged when the server is done with it: a hung one only after its hang."""
    deadline = time.monotonic() + limit
    while sum(entry.fault is not None for entry in sims.stash.request_log.entries()) < len(sims.stash.faults.fired()):
        assert time.monotonic() < deadline, "a faulted request was never logged"
        time.sleep(0.1)


def creates_sent(sims) -> int:
    return sum(entry.operation_name == CREATE_OPERATION for entry in sims.stash.request_log.entries())


def tags_named(sims, name: str) -> list:
    return [tag for tag in sims.stash.local_tags() if tag.name == name]


@pytest.mark.parametrize("fault", LOST_ANSWERS.values(), ids=list(LOST_ANSWERS))
def test_a_create_whose_answer_is_lost_is_found_and_reported_created(library, tmp_path, fault):
    tag = unmatched_tag_with_new_category(library)
    with start_simulators(library) as sims:
        rule = dict(fault)
        sims.stash.add_fault(rule.pop("kind"), nth=1, operation=CREATE_OPERATION, after_applying=True, **rule)

        output = create(sims, tmp_path, tag.id)

        (made,) = tags_named(sims, tag.name)
        assert [sid.stash_id for sid in made.stash_ids] == [tag.id]
        assert output["created"] == 1 and output["failed"] == 0
        (result,) = output["tags"]
        assert result["status"] == "created" and result["tag_id"] == str(made.id)
        assert "answer was lost" in result["reason"]
        assert creates_sent(sims) == 1


def test_a_lost_answer_for_the_category_tag_finds_it_by_name(library, tmp_path):
    tag = unmatched_tag_with_new_category(library)
    with start_simulators(library) as sims:
        sims.stash.add_fault(HTTP_502_HTML, nth=1, operation=CREATE_OPERATION, after_applying=True)

        output = create(sims, tmp_path, tag.id, parent_from_category="true")

        (category,) = tags_named(sims, tag.category)
        (made,) = tags_named(sims, tag.name)
        assert made.parent_ids == (category.id,)
        (result,) = output["tags"]
        assert result["status"] == "created"
        assert result["parent"] == {"tag_id": str(category.id), "name": tag.category, "created": True}
        assert creates_sent(sims) == 2   # the category once, the tag once


def test_a_create_that_did_not_land_is_reported_failed_and_not_sent_again(library, tmp_path):
    tag = unmatched_tag_with_new_category(library)
    with start_simulators(library) as sims:
        sims.stash.add_fault(HTTP_502_HTML, nth=1, operation=CREATE_OPERATION)   # before applying

        output = create(sims, tmp_path, tag.id)

        assert tags_named(sims, tag.name) == []
        (result,) = output["tags"]
        assert result["status"] == "failed" and result["tag_id"] is None
        assert "answer was lost" in result["reason"] and "Stash has no such tag" in result["reason"]
        assert creates_sent(sims) == 1
