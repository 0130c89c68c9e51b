"""A simulated StashDB (stash-box) GraphQL server.

Behaviour, as read in the stash-box sources:

* ``ApiKey`` header: a wrong key gets HTTP 401 with an empty body. Without a
  key the request runs anonymously, and every field that needs the READ role
  (all but ``me``, which needs a user) fails with ``not authorized``: a
  nullable field becomes null, a non-null one nulls ``data``.
* Arguments are read before the role check, as gqlgen does: an ``ID`` that is
  not a UUID or a fingerprint hash that is not hex fails its field alone, at
  the path [alias, argument, ...], with stash-box's own words
  (:mod:`stashbox_scalars`), key or no key.
* ``findScene(id)``: unknown id -> null, deleted scenes returned as they are.
* ``findScenesBySceneFingerprints``: more than 40 lists -> the field fails
  with ``too many scenes``; otherwise one list per input list, in order (see
  :mod:`stashdb_data` for the matching rules).
* ``queryScenes`` sorted by CREATED_AT or UPDATED_AT, paged, and each scene's
  ``created``/``updated``, as :mod:`scene_changes` describes (``scene_times``
  holds the times; its functions change tags and scenes as editors do).
* ``queryTags`` lists only tags not deleted (internal/service/tag/query.go), so
  a merged-away or destroyed tag is missing from it; ``per_page`` below 1 is 25.

tests/stashbox/test_simulator_matches_stashbox.py holds these answers against a
real stash-box.
* Optional requests-per-minute limit (not in stash-box itself; a proxy in
  front of StashDB): 429 with ``Retry-After`` in whole seconds.
"""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from graphql import GraphQLError, GraphQLResolveInfo

from .faults import REQUEST_KINDS
from .http_server import HTTPAnswer
from .rate_limit import SlidingWindowLimit
from .records import StashDBScene, StashDBTag
from .request_log import RequestLogEntry
from .scene_changes import DEFAULT_PER_PAGE, SceneTimes, UnsimulatedSort, scene_page
from .schema_files import STASHDB_SUBSET_FILE, subset_schema
from .served import ServedSimulator
from .stashbox_scalars import ScalarError, parse_fingerprint_hash_text, parse_stashbox_id
from .stashdb_data import MD5_ALGORITHM, StashDBData
from .text_rules import ascii_fold

MAX_FINGERPRINT_LISTS = 40
TOO_MANY_SCENES = "too many scenes"
NOT_AUTHORIZED = "not authorized"
DEFAULT_API_KEY = "stashdb-simulator-key"
DEFAULT_SEARCH_LIMIT = 10


@dataclass
class StashDBRequestContext:
    sim: "StashDBSimulator"
    request: RequestLogEntry
    authorized: bool


def _data(info: GraphQLResolveInfo) -> StashDBData:
    context: StashDBRequestContext = info.context
    if not context.authorized:
        raise GraphQLError(NOT_AUTHORIZED)
    return context.sim.data


def _argument_error(info: GraphQLResolveInfo, error: ScalarError, *path: str | int) -> GraphQLError:
    """An argument stash-box could not read: the field's error, at [alias, argument, ...]."""
    return GraphQLError(str(error), path=[info.path.key, *path])


def _parse_id(info: GraphQLResolveInfo, value: str) -> str:
    try:
        return parse_stashbox_id(value)
    except ScalarError as error:
        raise _argument_error(info, error, "id") from None


def resolve_find_scene(_root: Any, info: GraphQLResolveInfo, id: str) -> dict | None:
    scene_id = _parse_id(info, id)
    data = _data(info)
    scene = data.scene(scene_id)
    return data.scene_view(scene) if scene else None


def _parsed_fingerprint_lists(info: GraphQLResolveInfo, fingerprints: list[list[dict]]) -> list[list[tuple[str, int]]]:
    """Every (algorithm, number), MD5 ones too: stash-box reads every hash before it looks
    at the algorithm (an MD5 is longer than 16 digits, so it reads as 0)."""
    groups = []
    for list_index, group in enumerate(fingerprints):
        parsed = []
        for index, fingerprint in enumerate(group):
            try:
                parsed.append((fingerprint["algorithm"], parse_fingerprint_hash_text(fingerprint["hash"])))
            except ScalarError as error:
                raise _argument_error(info, error, "fingerprints", list_index, index, "hash") from None
        groups.append(parsed)
    return groups


def resolve_find_scenes_by_fingerprints(
    _root: Any, info: GraphQLResolveInfo, fingerprints: list[list[dict]]
) -> list[list[dict]]:
    groups = _parsed_fingerprint_lists(info, fingerprints)
    data = _data(info)
    if len(groups) > MAX_FINGERPRINT_LISTS:
        raise GraphQLError(TOO_MANY_SCENES)
    numbers = [[number for algorithm, number in group if algorithm != MD5_ALGORITHM] for group in groups]
    return [[data.scene_view(s) for s in data.live_scenes_for_hashes(group)] for group in numbers]


def resolve_query_scenes(_root: Any, info: GraphQLResolveInfo, input: dict[str, Any]) -> dict:
    data = _data(info)
    try:
        return scene_page(data, info.context.sim.scene_times, input)
    except UnsimulatedSort as error:
        raise GraphQLError(str(error)) from None


def _scene_time(which: str) -> Callable[..., str]:
    def resolve(scene: dict, info: GraphQLResolveInfo) -> str:
        return info.context.sim.scene_times.text(scene["id"], which)

    return resolve


def resolve_search_scene(_root: Any, info: GraphQLResolveInfo, term: str, limit: int | None = None) -> list[dict]:
    data = _data(info)
    term = term.strip()
    try:
        scene = data.scene(str(uuid.UUID(term)))
        return [data.scene_view(scene)] if scene else []
    except ValueError:
        pass
    wanted = ascii_fold(term)
    hits = [s for s in data.scenes() if not s.deleted and wanted in ascii_fold(s.title)]
    return [data.scene_view(s) for s in hits[: limit if limit and limit > 0 else DEFAULT_SEARCH_LIMIT]]


def resolve_find_tag(_root: Any, info: GraphQLResolveInfo, id: str | None = None, name: str | None = None) -> dict | None:
    tag_id = _parse_id(info, id) if id is not None else None
    data = _data(info)
    if tag_id is not None:
        tag = data.tag(tag_id)
        return data.tag_view(tag) if tag else None
    if name is not None:
        named = data.tags_named(name)
        return data.tag_view(named[0]) if named else None
    return None


def _tag_query_hits(tags: Iterable[StashDBTag], query: dict[str, Any]) -> list[StashDBTag]:
    def contains(haystacks: Iterable[str | None], needle: str) -> bool:
        folded = ascii_fold(needle)
        return any(h is not None and folded in ascii_fold(h) for h in haystacks)

    hits = []
    for tag in tags:
        if query.get("name") and not contains([tag.name], query["name"]):
            continue
        if query.get("names") and not contains([tag.name, *tag.aliases], query["names"]):
            continue
        if query.get("text") and not contains([tag.name, tag.description, *tag.aliases], query["text"]):
            continue
        hits.append(tag)
    return hits


def resolve_query_tags(_root: Any, info: GraphQLResolveInfo, input: dict[str, Any]) -> dict:
    data = _data(info)
    live = [tag for tag in data.tags() if not tag.deleted]   # stash-box lists no deleted (merged-away) tag
    hits = sorted(_tag_query_hits(live, input), key=lambda t: ascii_fold(t.name))
    if input["direction"] == "DESC":
        hits.reverse()
    per_page = input["per_page"] if input["per_page"] > 0 else DEFAULT_PER_PAGE
    start = (max(input["page"], 1) - 1) * per_page
    page = hits[start:start + per_page]
    return {"count": len(hits), "tags": [data.tag_view(t) for t in page]}


def resolve_me(_root: Any, info: GraphQLResolveInfo) -> dict:
    context: StashDBRequestContext = info.context
    if not context.authorized:
        raise GraphQLError(NOT_AUTHORIZED)
    return {"id": context.sim.user_id, "name": context.sim.user_name}


def resolve_version(_root: Any, info: GraphQLResolveInfo) -> dict:
    _data(info)
    return {"hash": "0000000", "build_time": "2024-12-01 00:00:00", "build_type": "SIMULATOR", "version": "v0.6.0-sim"}


def _read_nothing(result: Any) -> Callable[..., Any]:
    def resolve(_root: Any, info: GraphQLResolveInfo, **_args: Any) -> Any:
        _data(info)
        return result() if callable(result) else result

    return resolve


STASHDB_RESOLVERS = {
    "Query": {
        "findPerformer": _read_nothing(None),
        "findStudio": _read_nothing(None),
        "findTag": resolve_find_tag,
        "queryTags": resolve_query_tags,
        "findScene": resolve_find_scene,
        "findScenesBySceneFingerprints": resolve_find_scenes_by_fingerprints,
        "queryScenes": resolve_query_scenes,
        "me": resolve_me,
        "searchPerformer": _read_nothing(list),
        "searchScene": resolve_search_scene,
        "version": resolve_version,
    },
    "Scene": {"created": _scene_time("created"), "updated": _scene_time("updated")},
}


class StashDBSimulator(ServedSimulator):
    """The simulated stash-box. ``data`` may be changed while it runs."""

    name = "stashdb-sim"

    def __init__(
        self,
        data: StashDBData | None = None,
        *,
        api_key: str = DEFAULT_API_KEY,
        requests_per_minute: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        user_name: str = "simulated-user",
    ) -> None:
        super().__init__(subset_schema(STASHDB_SUBSET_FILE, STASHDB_RESOLVERS), REQUEST_KINDS)
        self.data = data if data is not None else StashDBData()
        self.scene_times = SceneTimes()
        self.api_key = api_key
        self.rate_limit = SlidingWindowLimit(requests_per_minute, clock)
        self.user_name = user_name
        self.user_id = str(uuid.uuid5(uuid.NAMESPACE_URL, "stashdb-sim-user:" + user_name))

    @classmethod
    def from_records(
        cls, tags: Iterable[StashDBTag], scenes: Iterable[StashDBScene], **options: Any
    ) -> "StashDBSimulator":
        return cls(StashDBData(tags, scenes), **options)

    def admit(self, request: RequestLogEntry) -> HTTPAnswer | None:
        retry_after = self.rate_limit.admit()
        if retry_after is not None:
            return HTTPAnswer.empty(429, {"Retry-After": str(retry_after)})
        if self.faults.auth_revoked:
            return HTTPAnswer.empty(401)
        if request.api_key and request.api_key != self.api_key:
            return HTTPAnswer.empty(401)
        return None

    def context_for(self, request: RequestLogEntry) -> StashDBRequestContext:
        return StashDBRequestContext(self, request, request.api_key == self.api_key)
