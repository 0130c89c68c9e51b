"""A simulated Stash v0.30.1 GraphQL server (the part the sync uses).

Enough for stashapp-tools' ``StashInterface`` constructor (version, apiKey,
introspection) and for the plugin: configuration, findTag(s), findScenes,
sceneUpdate, bulkSceneUpdate, the tag writes of :mod:`stash_tag_writes`
(tagCreate, tagUpdate, configureScraping), and runPluginTask (recorded, not run:
the simulator has no job queue and runs no hooks). Library semantics live in
:mod:`stash_store`; authentication as Stash does it:

* a non-empty ``ApiKey`` header must equal the configured key, else HTTP 401
  with an empty body (also when no key is configured);
* when a key is configured (Stash has credentials), a request without a key
  needs the ``session`` cookie, else 401; without credentials anyone may ask.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

from graphql import GraphQLError, GraphQLResolveInfo

from .faults import FK_ERROR, REQUEST_KINDS, SCENE_KINDS
from .http_server import HTTPAnswer
from .mutation_log import MutationLog, MutationLogEntry
from .records import LocalScene, LocalTag
from .request_log import RequestLogEntry
from .schema_files import STASH_SUBSET_FILE, subset_schema
from .served import ServedSimulator
from .stash_store import SET, LocalStore, Page, StoreError, foreign_key_error
from .stash_tag_writes import checked_patterns, create_tag, update_tag
from .stash_views import SceneView, tag_view

STASH_VERSION = "v0.30.1"
DEFAULT_SESSION_COOKIE = "simulated-session-cookie"
_UNAUTHORIZED_HEADERS = {"WWW-Authenticate": "FormBased"}


@dataclass(frozen=True)
class StashBoxConfig:
    endpoint: str
    api_key: str
    name: str = "StashDB"
    max_requests_per_minute: int = 0


@dataclass(frozen=True)
class PluginTaskRequest:
    """One `runPluginTask` as the simulator received it."""

    plugin_id: str
    task_name: str | None
    description: str | None
    args_map: dict


@dataclass
class StashRequestContext:
    sim: "StashSimulator"
    request: RequestLogEntry


def _sim(info: GraphQLResolveInfo) -> "StashSimulator":
    return info.context.sim


def _ids(values: Iterable[Any] | None, field: str) -> list[int]:
    try:
        return [int(v) for v in values or ()]
    except (TypeError, ValueError):
        raise GraphQLError(f"converting {field}: ids must be integers") from None


def _page(find_filter: dict[str, Any]) -> Page:
    per_page = find_filter.get("per_page")
    return Page(find_filter.get("page") or 1, 25 if per_page is None else per_page)


def _store_call(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except StoreError as error:
        raise GraphQLError(str(error)) from None


def resolve_find_scene(
    _root: Any, info: GraphQLResolveInfo, id: str | None = None, checksum: str | None = None
) -> SceneView | None:
    sim = _sim(info)
    scene_ids = _ids([id] if id is not None else [], "id")
    scene = sim.store.scenes.get(scene_ids[0]) if scene_ids else None
    return sim.scene_view(scene) if scene else None


def resolve_find_scenes(
    _root: Any,
    info: GraphQLResolveInfo,
    scene_filter: dict | None = None,
    scene_ids: list[int] | None = None,
    ids: list[str] | None = None,
    filter: dict | None = None,
) -> dict:
    sim, store = _sim(info), _sim(info).store
    wanted = _ids(ids, "ids") if ids else list(scene_ids or [])
    if wanted:
        scenes = _store_call(lambda: store.scenes_by_ids(wanted))
        return _scenes_result(sim, len(scenes), scenes)
    scene_filter, find_filter = scene_filter or {}, filter or {}
    count, page_ids = _store_call(lambda: store.query_scene_ids(
        scene_filter.get("stash_id_endpoint"),
        scene_filter.get("id"),
        find_filter.get("q"),
        find_filter.get("sort") or "title",
        find_filter.get("direction") or "ASC",
        _page(find_filter),
    ))
    return _scenes_result(sim, count, [store.scenes[i] for i in page_ids])


def _scenes_result(sim: "StashSimulator", count: int, scenes: list[LocalScene]) -> dict:
    return {"count": count, "duration": 0.0, "filesize": 0.0, "scenes": [sim.scene_view(s) for s in scenes]}


def resolve_find_tag(_root: Any, info: GraphQLResolveInfo, id: str) -> dict | None:
    sim = _sim(info)
    tag = sim.store.tags.get(_ids([id], "id")[0])
    return sim.tag_view(tag) if tag else None


def resolve_find_tags(
    _root: Any, info: GraphQLResolveInfo, tag_filter: dict | None = None, filter: dict | None = None, ids: list[str] | None = None
) -> dict:
    sim = _sim(info)
    find_filter = filter or {}
    count, tags = _store_call(lambda: sim.store.query_tags(
        _ids(ids, "ids") if ids else None,
        tag_filter,
        find_filter.get("q"),
        find_filter.get("sort") or "name",
        find_filter.get("direction") or "ASC",
        _page(find_filter),
    ))
    return {"count": count, "tags": [sim.tag_view(t) for t in tags]}


def resolve_configuration(_root: Any, info: GraphQLResolveInfo) -> dict:
    sim = _sim(info)
    boxes = [
        {"endpoint": b.endpoint, "api_key": b.api_key, "name": b.name,
         "max_requests_per_minute": b.max_requests_per_minute}
        for b in sim.stash_boxes
    ]
    return {
        "general": {"apiKey": sim.api_key or "", "username": "admin" if sim.api_key else "",
                    "maxSessionAge": sim.max_session_age, "stashBoxes": boxes},
        "scraping": {"excludeTagPatterns": list(sim.exclude_tag_patterns)},
    }


def resolve_plugins(_config: Any, info: GraphQLResolveInfo, include: list[str] | None = None) -> dict:
    settings = _sim(info).plugin_settings
    chosen = include if include else list(settings)
    return {plugin: dict(settings[plugin]) for plugin in chosen if settings.get(plugin)}


def resolve_version(_root: Any, _info: GraphQLResolveInfo) -> dict:
    return {"version": STASH_VERSION, "hash": "5e8a7d1c9", "build_time": "2025-01-01 00:00:00"}


def resolve_scene_update(_root: Any, info: GraphQLResolveInfo, input: dict[str, Any]) -> SceneView:
    scene_ids = _ids([input["id"]], "id")
    tag_ids = input.get("tag_ids")
    mode = SET if tag_ids is not None else None
    return _write(info, scene_ids, mode, _ids(tag_ids, "tag_ids"), single=True)


def resolve_bulk_scene_update(_root: Any, info: GraphQLResolveInfo, input: dict[str, Any]) -> list[SceneView]:
    scene_ids = _ids(input.get("ids"), "ids")
    update = input.get("tag_ids")
    mode = update["mode"] if update else None
    tag_ids = _ids(update.get("ids"), "tag_ids") if update else []
    return _write(info, scene_ids, mode, tag_ids, single=False)


def _write(info: GraphQLResolveInfo, scene_ids: list[int], mode: str | None, tag_ids: list[int], single: bool) -> Any:
    sim = _sim(info)
    request: RequestLogEntry = info.context.request

    def before_write(scene_id: int) -> None:
        rule = sim.faults.for_scene_update(request.number, scene_id, request.root_fields, request.operation_name)
        if rule is None:
            return
        if rule.kind == FK_ERROR:
            raise foreign_key_error(scene_id, tag_ids[0] if tag_ids else 0)
        raise StoreError(f"simulated failure updating scene {scene_id}")

    def log(applied: bool, error: str | None) -> None:
        sim.mutation_log.append(MutationLogEntry(
            request.number, time.monotonic(), info.field_name, str(info.path.key),
            tuple(scene_ids), mode, tuple(tag_ids), applied, error,
        ))

    try:
        sim.store.write_scene_tags(scene_ids, mode, tag_ids, before_write)
    except StoreError as error:
        log(False, str(error))
        raise GraphQLError(str(error)) from None
    log(True, None)
    views = [sim.scene_view(sim.store.scenes[i]) for i in scene_ids]
    return views[0] if single else views


def resolve_tag_create(_root: Any, info: GraphQLResolveInfo, input: dict[str, Any]) -> dict:
    sim = _sim(info)
    tag = _store_call(lambda: create_tag(sim.store, input))
    sim.tag_log.append(("tagCreate", dict(input)))
    return sim.refresh_tag_view(tag)


def resolve_tag_update(_root: Any, info: GraphQLResolveInfo, input: dict[str, Any]) -> dict:
    sim = _sim(info)
    tag = _store_call(lambda: update_tag(sim.store, input))
    sim.tag_log.append(("tagUpdate", dict(input)))
    return sim.refresh_tag_view(tag)


def resolve_configure_scraping(_root: Any, info: GraphQLResolveInfo, input: dict[str, Any]) -> dict:
    sim = _sim(info)
    if input.get("excludeTagPatterns") is not None:
        sim.exclude_tag_patterns = _store_call(lambda: checked_patterns(input["excludeTagPatterns"]))
        sim.tag_log.append(("configureScraping", dict(input)))
    return {"excludeTagPatterns": list(sim.exclude_tag_patterns)}


def resolve_run_plugin_task(_root: Any, info: GraphQLResolveInfo, plugin_id: str, task_name: str | None = None,
                            description: str | None = None, args_map: dict | None = None) -> str:
    """Queues nothing: records the request (the test runs the task as Stash would) and
    answers a job id."""
    sim = _sim(info)
    sim.plugin_tasks.append(PluginTaskRequest(plugin_id, task_name, description, dict(args_map or {})))
    return str(len(sim.plugin_tasks))


STASH_RESOLVERS = {
    "Query": {
        "findScene": resolve_find_scene,
        "findScenes": resolve_find_scenes,
        "findTag": resolve_find_tag,
        "findTags": resolve_find_tags,
        "configuration": resolve_configuration,
        "version": resolve_version,
    },
    "Mutation": {
        "sceneUpdate": resolve_scene_update,
        "bulkSceneUpdate": resolve_bulk_scene_update,
        "tagCreate": resolve_tag_create,
        "tagUpdate": resolve_tag_update,
        "configureScraping": resolve_configure_scraping,
        "runPluginTask": resolve_run_plugin_task,
    },
    "ConfigResult": {"plugins": resolve_plugins},
}


class StashSimulator(ServedSimulator):
    """The simulated Stash. Test helpers read and edit the library directly."""

    name = "stash-sim"
    # Stash v0.30.1 (gqlgen) answers GraphQL with this type and no charset, which requests
    # does not take for JSON: `response.text` then guesses the charset over the whole body.
    json_content_type = "application/graphql-response+json"

    def __init__(
        self,
        tags: Iterable[LocalTag] = (),
        scenes: Iterable[LocalScene] = (),
        *,
        api_key: str | None = None,
        session_cookie: str = DEFAULT_SESSION_COOKIE,
        stash_boxes: Sequence[StashBoxConfig] = (),
        exclude_tag_patterns: Sequence[str] = (),
        plugin_settings: dict[str, dict[str, Any]] | None = None,
        clock: Callable[[], float] = time.time,
        endpoint_aliases: dict[str, str] | None = None,
    ) -> None:
        super().__init__(subset_schema(STASH_SUBSET_FILE, STASH_RESOLVERS), REQUEST_KINDS | SCENE_KINDS)
        self.store = LocalStore(tags, scenes, clock, endpoint_aliases)
        self.api_key = api_key
        self.session_cookie = session_cookie
        self.session_valid = True
        self.max_session_age = 3600  # Stash's default, in seconds
        self.stash_boxes = list(stash_boxes)
        self.exclude_tag_patterns = list(exclude_tag_patterns)
        self.plugin_settings: dict[str, dict[str, Any]] = dict(plugin_settings or {})
        self.mutation_log = MutationLog()
        self.tag_log: list[tuple[str, dict]] = []   # tag and settings writes, in order
        self.plugin_tasks: list[PluginTaskRequest] = []   # runPluginTask requests, in order
        self._tag_views = {tag.id: tag_view(self.store, tag) for tag in self.store.tags.values()}

    # -- GraphQLService ----------------------------------------------------
    def admit(self, request: RequestLogEntry) -> HTTPAnswer | None:
        if self.faults.auth_revoked:
            return HTTPAnswer.empty(401, dict(_UNAUTHORIZED_HEADERS))
        if request.api_key:
            if request.api_key == self.api_key:
                return None
            return HTTPAnswer.empty(401, dict(_UNAUTHORIZED_HEADERS))
        if self.api_key and not self._session_ok(request.session_cookie):
            return HTTPAnswer.empty(401, dict(_UNAUTHORIZED_HEADERS))
        return None

    def _session_ok(self, cookie: str | None) -> bool:
        return self.session_valid and cookie is not None and cookie == self.session_cookie

    def context_for(self, request: RequestLogEntry) -> StashRequestContext:
        return StashRequestContext(self, request)

    # -- views -------------------------------------------------------------
    def tag_view(self, tag: LocalTag) -> dict[str, Any]:
        return self._tag_views[tag.id]

    def refresh_tag_view(self, tag: LocalTag) -> dict[str, Any]:
        """The view of a created or changed tag (scenes show tags through these views)."""
        self._tag_views[tag.id] = tag_view(self.store, tag)
        return self._tag_views[tag.id]

    def local_tags(self) -> list[LocalTag]:
        """The library's tags as they are now (after the plugin's writes)."""
        return list(self.store.tags.values())

    def scene_view(self, scene: LocalScene) -> SceneView:
        return SceneView(self.store, self._tag_views, scene)

    # -- helpers for tests -------------------------------------------------
    def scene_tag_ids(self, scene_id: int) -> list[int]:
        return self.store.scene_tag_ids(scene_id)

    def scene_updated_at(self, scene_id: int) -> int:
        """Epoch seconds of the scene's last write."""
        return self.store.updated_at(scene_id)

    def tags_snapshot(self) -> dict[int, tuple[int, ...]]:
        """Every scene's current tag ids."""
        return self.store.all_scene_tags()

    def add_tags(self, scene_id: int, tag_ids: Iterable[int]) -> None:
        """Another client adds tags (bumps updated_at; not in the mutation log)."""
        self.store.write_scene_tags([scene_id], "ADD", list(tag_ids))

    def remove_tags(self, scene_id: int, tag_ids: Iterable[int]) -> None:
        """Another client removes tags (bumps updated_at; not in the mutation log)."""
        self.store.write_scene_tags([scene_id], "REMOVE", list(tag_ids))

    def edit_tag(self, values: dict[str, Any]) -> dict[str, Any]:
        """Another client's tagUpdate (`values` as TagUpdateInput: each list given replaces
        the tag's); not in the tag log. Returns the tag's view."""
        return self.refresh_tag_view(update_tag(self.store, values))

    def tag_input_now(self, tag_id: int) -> dict[str, Any]:
        """The tag's lists as a client that opened its edit form now would send them back."""
        view = self.tag_view(self.store.tags[tag_id])
        return {"id": str(tag_id), "aliases": list(view["aliases"]),
                "stash_ids": [{"endpoint": s["endpoint"], "stash_id": s["stash_id"]} for s in view["stash_ids"]]}

    def set_plugin_settings(self, plugin_id: str, settings: dict[str, Any]) -> None:
        self.plugin_settings[plugin_id] = dict(settings)

    def expire_session(self) -> None:
        """The session cookie stops working (an expired login)."""
        self.session_valid = False
