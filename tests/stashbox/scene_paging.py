"""`queryScenes` sorted by time, for the differential test: the requests, and the times.

The simulator cannot know when the real server wrote each scene, so a simulator that is to
answer `queryScenes` like the server is given each scene's `created` and `updated` as the
server reports them through `findScene` (aliased, 40 a request) — never through
`queryScenes`, the request under test. What the simulator must then get right is which
scenes a page holds, in which order, the count, and how `page` and `per_page` are read.
"""
from __future__ import annotations

from typing import Iterable

from stashdb_api import chunks
from tests.simulators.scene_changes import SceneTimes, parse_stashbox_time
from tests.stashbox.differential import NO_KEY, Case
from tests.stashbox.stashbox_changes import SCENES_BY_UPDATED
from tests.stashbox.stashbox_server import RealStashBox

PER_REQUEST = 40
INT_MAX = 2**31 - 1


def scene_times_query(count: int) -> str:
    variables = ", ".join(f"$id{index}: ID!" for index in range(count))
    fields = "\n".join(f"  s{index}: findScene(id: $id{index}) {{ id created updated }}" for index in range(count))
    return f"query TierSceneTimes({variables}) {{\n{fields}\n}}\n"


def copy_scene_times(server: RealStashBox, scene_ids: Iterable[str], times: SceneTimes) -> None:
    """Each scene's `created` and `updated`, read from the server by id, into `times`."""
    for chunk in chunks(list(scene_ids), PER_REQUEST):
        data = server.graphql(scene_times_query(len(chunk)), {f"id{i}": scene_id for i, scene_id in enumerate(chunk)})
        for answer in data.values():
            times.set(answer["id"], created=parse_stashbox_time(answer["created"]),
                      updated=parse_stashbox_time(answer["updated"]))


def page_case(name: str, key: str = "admin", **page_input) -> Case:
    return Case(name, SCENES_BY_UPDATED, {"input": page_input}, key)


def scenes_by_time_cases(live_count: int) -> list[Case]:
    """Every page newest first at 25 and oldest first at 100, the edges of page and per_page."""
    newest = [page_case(f"UPDATED_AT DESC 25 #{page}", sort="UPDATED_AT", direction="DESC", page=page, per_page=25)
              for page in range(1, live_count // 25 + 3)]
    oldest = [page_case(f"UPDATED_AT ASC 100 #{page}", sort="UPDATED_AT", direction="ASC", page=page, per_page=100)
              for page in range(1, live_count // 100 + 2)]
    edges = [
        page_case("every scene in one page", sort="UPDATED_AT", direction="DESC", page=1, per_page=live_count + 10),
        page_case("per_page at the Int limit", sort="UPDATED_AT", direction="DESC", page=1, per_page=INT_MAX),
        page_case("page 0", sort="UPDATED_AT", direction="DESC", page=0, per_page=7),
        page_case("page -3", sort="UPDATED_AT", direction="DESC", page=-3, per_page=7),
        page_case("per_page 0", sort="UPDATED_AT", direction="DESC", page=2, per_page=0),
        page_case("per_page -5", sort="UPDATED_AT", direction="DESC", page=1, per_page=-5),
        page_case("the last scene alone", sort="UPDATED_AT", direction="DESC", page=live_count, per_page=1),
        page_case("a page far past the end", sort="UPDATED_AT", direction="DESC", page=1_000_000, per_page=100),
        page_case("direction left to its default", sort="UPDATED_AT", page=1, per_page=30),
        page_case("CREATED_AT DESC", sort="CREATED_AT", direction="DESC", page=1, per_page=60),
        page_case("no key", NO_KEY, sort="UPDATED_AT", direction="DESC", page=1, per_page=5),
    ]
    return newest + oldest + edges
