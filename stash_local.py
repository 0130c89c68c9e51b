"""The local Stash, reached through stashapp-tools' connection.

stashapi (`StashInterface`) handles what it is good at: the URL, `0.0.0.0`, the session
cookie and switching to the API key. Every query the sync sends is our own constant with
explicit fields, posted on stashapi's session with a timeout, and answered through one
error path (`StashLocalError`) so a failed write can be attributed to its scene.
"""
from __future__ import annotations

import contextlib
import functools
import ipaddress
import logging
import time
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import requests
from requests.adapters import HTTPAdapter

from own_tag_writes import OwnTagWrites
from short_text import shorten

log = logging.getLogger("tagManager.stash")

DEFAULT_TIMEOUT = 60.0
TAG_PAGE_SIZE = 1000
ERROR_BODY_EXCERPT = 200
RETRY_WAITS_SECONDS = (1.0, 2.0, 4.0)  # a timeout, a dropped connection or a 5xx is tried 3 more times
RETRYABLE_STATUSES = frozenset({500, 502, 503, 504})

FIND_TAGS_QUERY = """
query TagManagerFindTags($filter: FindFilterType) {
  findTags(filter: $filter) {
    count
    tags { id name sort_name aliases stash_ids { endpoint stash_id } }
  }
}
"""

SCENE_IDS_WITH_STASH_ID_QUERY = """
query TagManagerSceneIds($scene_filter: SceneFilterType, $filter: FindFilterType) {
  findScenes(scene_filter: $scene_filter, filter: $filter) {
    count
    scenes { id }
  }
}
"""

SCENES_BY_IDS_QUERY = """
query TagManagerScenesByIds($ids: [ID!], $filter: FindFilterType) {
  findScenes(ids: $ids, filter: $filter) {
    scenes {
      id
      title
      organized
      tags { id }
      stash_ids { endpoint stash_id }
      files { fingerprints { type value } }
    }
  }
}
"""

ADD_TAGS_OPERATION = "TagManagerAddTags"
REMOVE_TAGS_OPERATION = "TagManagerRemoveTags"   # undo_run's alone (run_undo.py)
WRITE_ALIAS_PREFIX = "s"
INPUT_VARIABLE_PREFIX = "input"
MAX_WRITES_PER_REQUEST = 40


def build_add_tags_mutation(count: int) -> str:
    return build_scene_tags_mutation(count, ADD_TAGS_OPERATION)


@functools.lru_cache(maxsize=2 * MAX_WRITES_PER_REQUEST)
def build_scene_tags_mutation(count: int, operation: str) -> str:
    """`count` aliased bulkSceneUpdate mutations, one per scene, inputs as variables only.

    Stash runs aliased mutations one after another, each in its own transaction: one
    failing returns null for its alias and leaves the others applied.
    """
    if not 1 <= count <= MAX_WRITES_PER_REQUEST:
        raise ValueError(f"between 1 and {MAX_WRITES_PER_REQUEST} writes per request, not {count}")
    variables = ", ".join(f"${INPUT_VARIABLE_PREFIX}{i}: BulkSceneUpdateInput!" for i in range(count))
    fields = "\n".join(f"  {WRITE_ALIAS_PREFIX}{i}: bulkSceneUpdate(input: ${INPUT_VARIABLE_PREFIX}{i}) {{ id }}"
                        for i in range(count))
    return f"mutation {operation}({variables}) {{\n{fields}\n}}\n"


STASH_ID_ENDPOINTS_QUERY = """
query TagManagerStashIdEndpoints($scene_filter: SceneFilterType, $filter: FindFilterType) {
  findScenes(scene_filter: $scene_filter, filter: $filter) {
    scenes { stash_ids { endpoint } }
  }
}
"""

CONFIGURATION_QUERY = """
query TagManagerConfiguration($plugin_ids: [ID!]) {
  configuration {
    general {
      apiKey
      username
      maxSessionAge
      stashBoxes { endpoint api_key name max_requests_per_minute }
    }
    scraping { excludeTagPatterns }
    plugins(include: $plugin_ids)
  }
}
"""

EXCLUDE_PATTERNS_QUERY = """
query TagManagerExcludePatterns {
  configuration { scraping { excludeTagPatterns } }
}
"""

# Everything a merge-safe tag update must keep, read back from each tag read or write.
LOCAL_TAG_FRAGMENT = """
fragment TagManagerLocalTagFields on Tag {
  id name sort_name description aliases stash_ids { endpoint stash_id updated_at } parents { id }
}
"""

FIND_TAG_QUERY = """
query TagManagerFindTag($id: ID!) {
  findTag(id: $id) { ...TagManagerLocalTagFields }
}
""" + LOCAL_TAG_FRAGMENT

TAG_LOOKUP_QUERY = """
query TagManagerTagLookup($tag_filter: TagFilterType, $filter: FindFilterType) {
  findTags(tag_filter: $tag_filter, filter: $filter) { tags { ...TagManagerLocalTagFields } }
}
""" + LOCAL_TAG_FRAGMENT
TAG_LOOKUP_PAGE_SIZE = 25   # a name or a StashID is held by one tag; a few more if legacy duplicates exist

TAG_CREATE_MUTATION = """
mutation TagManagerTagCreate($input: TagCreateInput!) {
  tagCreate(input: $input) { ...TagManagerLocalTagFields }
}
""" + LOCAL_TAG_FRAGMENT

TAG_UPDATE_MUTATION = """
mutation TagManagerTagUpdate($input: TagUpdateInput!) {
  tagUpdate(input: $input) { ...TagManagerLocalTagFields }
}
""" + LOCAL_TAG_FRAGMENT

CONFIGURE_SCRAPING_MUTATION = """
mutation TagManagerConfigureScraping($input: ConfigScrapingInput!) {
  configureScraping(input: $input) { excludeTagPatterns }
}
"""

# Every tag Stash's Tagger could pick for one StashDB tag (pkg/match/scraped.go): its three
# lookups are `findTags` with these very filters (pkg/tag/query.go ByName, ByAlias: EQUALS,
# which is SQL LIKE; the StashID filter's LIKE is wider than the exact match, never
# narrower), all rows instead of the first. tag_matching.py then picks among them exactly
# as it does among all tags: no tag outside these three sets can win.
TAGS_MATCHING_QUERY = """
query TagManagerTagsMatching($name: String!, $endpoint: String!, $stash_id: String!, $all: FindFilterType) {
  by_name: findTags(tag_filter: {name: {value: $name, modifier: EQUALS}}, filter: $all) {
    tags { ...TagManagerMatchFields }
  }
  by_alias: findTags(tag_filter: {aliases: {value: $name, modifier: EQUALS}}, filter: $all) {
    tags { ...TagManagerMatchFields }
  }
  by_stash_id: findTags(tag_filter: {stash_id_endpoint: {endpoint: $endpoint, stash_id: $stash_id, modifier: EQUALS}},
                        filter: $all) {
    tags { ...TagManagerMatchFields }
  }
}
fragment TagManagerMatchFields on Tag { id name sort_name aliases stash_ids { endpoint stash_id } }
"""

RUN_PLUGIN_TASK_MUTATION = """
mutation TagManagerQueueTask($plugin_id: ID!, $task_name: String!, $description: String, $args_map: Map) {
  runPluginTask(plugin_id: $plugin_id, task_name: $task_name, description: $description, args_map: $args_map)
}
"""

ALL_QUERY_DOCUMENTS = (
    FIND_TAG_QUERY,
    TAG_LOOKUP_QUERY,
    TAG_CREATE_MUTATION,
    TAG_UPDATE_MUTATION,
    CONFIGURE_SCRAPING_MUTATION,
    EXCLUDE_PATTERNS_QUERY,
    FIND_TAGS_QUERY,
    SCENE_IDS_WITH_STASH_ID_QUERY,
    SCENES_BY_IDS_QUERY,
    STASH_ID_ENDPOINTS_QUERY,
    build_add_tags_mutation(1),
    build_add_tags_mutation(MAX_WRITES_PER_REQUEST),
    CONFIGURATION_QUERY,
    TAGS_MATCHING_QUERY,
    RUN_PLUGIN_TASK_MUTATION,
)


class StashLocalError(Exception):
    """A request to the local Stash failed; the message is safe to log (no secrets)."""


class StashAuthError(StashLocalError):
    """Stash answered HTTP 401: the plugin's session or API key is no longer accepted."""


class StashUnavailable(StashLocalError):
    """No usable answer that a later try may get: a timeout, a dropped connection, a 5xx."""


class StashWriteUncertain(StashUnavailable):
    """A write whose answer was lost (a timeout, a dropped connection, a 5xx): Stash may or
    may not have applied it. Not retried: the caller looks at Stash to find out."""


class TimeoutHTTPAdapter(HTTPAdapter):
    """Gives every request on a session a timeout unless the caller set one."""

    def __init__(self, timeout: float, **kwargs: Any) -> None:
        self.timeout = timeout
        super().__init__(**kwargs)

    def send(self, request, **kwargs):  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().send(request, **kwargs)


def mount_timeouts(session: requests.Session, timeout: float) -> requests.Session:
    adapter = TimeoutHTTPAdapter(timeout)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def connect_stash(connection: Mapping[str, Any], *, timeout: float = DEFAULT_TIMEOUT):
    """Build stashapi's StashInterface once, with timeouts on its session from the start.

    `connection` is Stash's `server_connection` (or an equivalent built from a URL).
    The API key, when Stash has one, replaces the session cookie, which can expire
    during a run of several hours.
    """
    from stashapi.stashapp import StashInterface

    loopback = is_loopback_host(connection.get("Host"))

    class TimedStashInterface(StashInterface):
        # stashapi creates its session in its constructor and sends three requests at
        # once; intercepting the attribute gives those requests a timeout too.
        @property
        def s(self) -> requests.Session:
            return self._timed_session

        @s.setter
        def s(self, session: requests.Session) -> None:
            # Stash on this machine: no proxy, .netrc or CA bundle from the environment
            # applies. requests would read them again for every request (5.8 % of the sync's
            # CPU in the headroom profile), and a proxy variable without NO_PROXY would
            # send Stash's traffic to the proxy.
            session.trust_env = not loopback
            self._timed_session = mount_timeouts(session, timeout)

    conn = dict(connection)
    conn["Logger"] = logging.getLogger("tagManager.stashapi")
    url = stash_graphql_url(connection)
    with _quiet(conn["Logger"]):  # stashapi logs each failure twice; ours is one line, below
        try:
            return TimedStashInterface(conn, force_api_key=True)
        except requests.RequestException as exc:
            raise StashUnavailable(f"Could not reach Stash at {url} ({_reason(exc)})") from None
        except Exception as exc:  # noqa: BLE001 - stashapi raises a bare Exception for HTTP errors
            if "401" in str(exc):
                raise StashAuthError(f"Stash at {url} answered HTTP 401: it rejected the API key "
                                     "(or the session)") from None
            raise


def plain_local_stash(connection: Mapping[str, Any], *, timeout: float) -> "LocalStash":
    """LocalStash on a plain requests session, without stashapi (whose constructor sends three
    requests, one a 0.5 MB schema introspection): for the tag-change hook, which Stash waits
    for. Stash's session cookie (or API key) from `server_connection`; no retries."""
    session = requests.Session()
    session.trust_env = not is_loopback_host(connection.get("Host"))
    cookie = connection.get("SessionCookie") or {}
    if isinstance(cookie, Mapping) and cookie.get("Value"):
        session.cookies.set(str(cookie.get("Name") or "session"), str(cookie["Value"]))
    if connection.get("ApiKey"):
        session.headers["ApiKey"] = str(connection["ApiKey"])
    return LocalStash(mount_timeouts(session, timeout), stash_graphql_url(connection), timeout=timeout,
                      retry_waits=())


def stash_graphql_url(connection: Mapping[str, Any]) -> str:
    """The GraphQL URL stashapi builds from Stash's `server_connection`."""
    host = connection.get("Host") or "localhost"
    host = "127.0.0.1" if host == "0.0.0.0" else host
    return f"{connection.get('Scheme') or 'http'}://{host}:{connection.get('Port') or 9999}/graphql"


def _reason(exc: requests.RequestException) -> str:
    if isinstance(exc, requests.Timeout):
        return "no answer in time"
    return "connection refused or failed" if isinstance(exc, requests.ConnectionError) else type(exc).__name__


@contextlib.contextmanager
def _quiet(logger: logging.Logger):
    previous = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(previous)


def is_loopback_host(host: str | None) -> bool:
    """Stash's own `Host` (0.0.0.0: Stash listens everywhere, stashapi then uses localhost)."""
    host = (host or "").strip("[]")
    if host in ("localhost", "0.0.0.0"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class LocalStash:
    """What the sync needs from the local Stash, and nothing more."""

    def __init__(self, session: requests.Session, graphql_url: str, *, timeout: float = DEFAULT_TIMEOUT,
                 sleep=time.sleep, retry_waits: Sequence[float] = RETRY_WAITS_SECONDS):
        self.session = session
        self.graphql_url = graphql_url
        self.timeout = timeout
        self.sleep = sleep
        self.retry_waits = tuple(retry_waits)
        self.request_count = 0
        self.own_tag_writes = OwnTagWrites(None)   # set to the plugin's marker folder (own_tag_writes.py)

    @classmethod
    def from_stash_interface(cls, stash, *, timeout: float = DEFAULT_TIMEOUT, sleep=time.sleep) -> "LocalStash":
        return cls(stash.s, stash.url, timeout=timeout, sleep=sleep)

    # -- reads -------------------------------------------------------------------------

    def configuration(self, plugin_id: str) -> dict:
        data = self._graphql("configuration", CONFIGURATION_QUERY, {"plugin_ids": [plugin_id]})
        return data["configuration"]

    def all_tags(self) -> list[dict]:
        tags: list[dict] = []
        page = 1
        while True:
            variables = {"filter": {"page": page, "per_page": TAG_PAGE_SIZE, "sort": "id", "direction": "ASC"}}
            result = self._graphql("findTags", FIND_TAGS_QUERY, variables)["findTags"]
            tags.extend(result["tags"])
            if len(result["tags"]) < TAG_PAGE_SIZE or len(tags) >= result["count"]:
                return tags
            page += 1

    def scene_ids_with_stash_id(self, endpoint: str) -> list[str]:
        """Every scene with a StashID for `endpoint`, oldest `updated_at` first.

        Taken in one request as a snapshot of ids: the run's own writes bump `updated_at`,
        so paging over that order while writing would skip scenes.
        """
        variables = {
            "scene_filter": {"stash_id_endpoint": {"endpoint": endpoint, "modifier": "NOT_NULL"}},
            "filter": {"per_page": -1, "sort": "updated_at", "direction": "ASC"},
        }
        result = self._graphql("findScenes", SCENE_IDS_WITH_STASH_ID_QUERY, variables)["findScenes"]
        return [scene["id"] for scene in result["scenes"]]

    def stash_id_endpoint_counts(self) -> dict[str, int]:
        """For every endpoint any scene has a StashID for: how many scenes do."""
        variables = {"scene_filter": {"stash_id_endpoint": {"modifier": "NOT_NULL"}}, "filter": {"per_page": -1}}
        scenes = self._graphql("findScenes", STASH_ID_ENDPOINTS_QUERY, variables)["findScenes"]["scenes"]
        counts: dict[str, int] = {}
        for scene in scenes:
            for endpoint in {sid["endpoint"] for sid in scene.get("stash_ids") or []}:
                counts[endpoint] = counts.get(endpoint, 0) + 1
        return counts

    def scenes_by_ids(self, scene_ids: Iterable[str]) -> list[dict]:
        ids = list(scene_ids)
        if not ids:
            return []
        variables = {"ids": ids, "filter": {"per_page": -1}}
        return self._graphql("findScenes", SCENES_BY_IDS_QUERY, variables)["findScenes"]["scenes"]

    # -- writes ------------------------------------------------------------------------

    def add_tags_to_scenes(self, additions: Sequence[tuple[str, list[str]]]) -> dict[str, str | None]:
        """Add tags to several scenes, 40 writes a request: scene id -> None or its error.

        Each write is `bulkSceneUpdate` with mode ADD for one scene: server-side, one
        transaction, nothing removed, and a tag someone else added meanwhile stays. A
        request that fails as a whole raises StashLocalError.
        """
        return self._scene_tag_writes(additions, "ADD", ADD_TAGS_OPERATION)

    def remove_tags_from_scenes(self, removals: Sequence[tuple[str, list[str]]]) -> dict[str, str | None]:
        """The one write that removes tags, for undo_run alone: mode REMOVE per scene, which
        takes away only the tags named (a scene without one of them keeps the rest)."""
        return self._scene_tag_writes(removals, "REMOVE", REMOVE_TAGS_OPERATION)

    def _scene_tag_writes(self, writes: Sequence[tuple[str, list[str]]], mode: str,
                          operation: str) -> dict[str, str | None]:
        outcome: dict[str, str | None] = {}
        for start in range(0, len(writes), MAX_WRITES_PER_REQUEST):
            outcome.update(self._write_chunk(writes[start:start + MAX_WRITES_PER_REQUEST], mode, operation))
        return outcome

    def _write_chunk(self, chunk: Sequence[tuple[str, list[str]]], mode: str, operation: str) -> dict[str, str | None]:
        variables = {
            f"{INPUT_VARIABLE_PREFIX}{i}": {"ids": [scene_id], "tag_ids": {"ids": tag_ids, "mode": mode}}
            for i, (scene_id, tag_ids) in enumerate(chunk)
        }
        body = self._post("bulkSceneUpdate", build_scene_tags_mutation(len(chunk), operation), variables)
        data = body.get("data") if isinstance(body.get("data"), dict) else {}
        errors = [e for e in body.get("errors") or [] if isinstance(e, dict)]
        return {scene_id: _write_error(f"{WRITE_ALIAS_PREFIX}{i}", data, errors)
                for i, (scene_id, _) in enumerate(chunk)}

    # -- tags and settings -------------------------------------------------------------

    def find_tag(self, tag_id: str) -> dict | None:
        """One tag with everything a merge-safe update must keep, or None if Stash has no such tag."""
        return self._graphql("findTag", FIND_TAG_QUERY, {"id": tag_id})["findTag"]

    def create_tag(self, tag_input: dict) -> dict:
        """`tagCreate`: one transaction; Stash's refusal (a name or alias another tag holds)
        raises StashLocalError with Stash's own message. Sent once: a lost answer raises
        StashWriteUncertain, since Stash may have created the tag (a second create would be
        refused as a duplicate, or worse, succeed twice)."""
        try:
            return self._tag_write("tagCreate", TAG_CREATE_MUTATION, tag_input, retry_waits=())
        except StashUnavailable as exc:
            raise StashWriteUncertain(f"{exc}; Stash may have created the tag") from None

    def tags_with_stash_id(self, endpoint: str, stash_id: str) -> list[dict]:
        """The tags holding the StashID {endpoint, stash_id} (Stash compares the id with
        LIKE: only exact holders are returned)."""
        criterion = {"endpoint": endpoint, "stash_id": stash_id, "modifier": "EQUALS"}
        tags = self._tag_lookup({"stash_id_endpoint": criterion})
        return [tag for tag in tags if any(sid.get("endpoint") == endpoint and sid.get("stash_id") == stash_id
                                           for sid in tag.get("stash_ids") or [])]

    def tags_named(self, name: str) -> list[dict]:
        """The tags Stash finds by this name (SQLite LIKE: ASCII case aside, `%` and `_`
        wildcards); the caller decides which of them is the one it means."""
        return self._tag_lookup({"name": {"value": name, "modifier": "EQUALS"}})

    def _tag_lookup(self, tag_filter: dict) -> list[dict]:
        variables = {"tag_filter": tag_filter,
                     "filter": {"per_page": TAG_LOOKUP_PAGE_SIZE, "sort": "id", "direction": "ASC"}}
        return self._graphql("findTags", TAG_LOOKUP_QUERY, variables)["findTags"]["tags"]

    def update_tag(self, tag_input: dict) -> dict:
        """`tagUpdate`. Every list it is given (aliases, stash_ids, parent_ids) REPLACES the
        tag's list: callers send the merged lists."""
        return self._tag_write("tagUpdate", TAG_UPDATE_MUTATION, tag_input)

    def tags_matching(self, endpoint: str, stashdb_id: str, name: str) -> list[dict]:
        """Every local tag Stash's Tagger could pick for the StashDB tag {stashdb_id, name}
        (TAGS_MATCHING_QUERY), each once."""
        variables = {"name": name, "endpoint": endpoint, "stash_id": stashdb_id, "all": {"per_page": -1}}
        data = self._graphql("findTags", TAGS_MATCHING_QUERY, variables)
        found = {str(tag["id"]): tag for lookup in ("by_name", "by_alias", "by_stash_id")
                 for tag in (data.get(lookup) or {}).get("tags") or []}
        return list(found.values())

    def queue_plugin_task(self, plugin_id: str, task_name: str, description: str, args: dict) -> str:
        """`runPluginTask`: Stash queues the task as a job (shown in its task list) and
        answers the job's id at once."""
        variables = {"plugin_id": plugin_id, "task_name": task_name, "description": description, "args_map": args}
        return str(self._graphql("runPluginTask", RUN_PLUGIN_TASK_MUTATION, variables)["runPluginTask"])

    def _tag_write(self, operation: str, mutation: str, tag_input: dict,
                   retry_waits: Sequence[float] | None = None) -> dict:
        creating = operation == "tagCreate"
        with self.own_tag_writes.writing(tag_id=None if creating else tag_input["id"],
                                         name=tag_input.get("name") if creating else None):
            body = self._post(operation, mutation, {"input": tag_input}, retry_waits)
        tag = _graphql_data(operation, body)[operation]
        if not isinstance(tag, dict) or tag.get("id") is None:
            raise StashLocalError(f"Stash {operation}: no tag in answer")
        return tag

    def exclude_tag_patterns(self) -> list[str]:
        """Stash's exclude tag patterns as they are now (a read just before a write)."""
        scraping = self._graphql("configuration", EXCLUDE_PATTERNS_QUERY, {})["configuration"].get("scraping") or {}
        return [p for p in scraping.get("excludeTagPatterns") or [] if isinstance(p, str)]

    def set_exclude_tag_patterns(self, patterns: Sequence[str]) -> list[str]:
        """`configureScraping` with the whole list (it replaces it); returns the list Stash kept."""
        variables = {"input": {"excludeTagPatterns": list(patterns)}}
        result = self._graphql("configureScraping", CONFIGURE_SCRAPING_MUTATION, variables)["configureScraping"]
        return list(result["excludeTagPatterns"])

    # -- transport ---------------------------------------------------------------------

    def _graphql(self, operation: str, query: str, variables: dict) -> dict:
        return _graphql_data(operation, self._post(operation, query, variables))

    def _post(self, operation: str, query: str, variables: dict,
              retry_waits: Sequence[float] | None = None) -> dict:
        """The decoded answer of an HTTP 200, retried while Stash is unavailable after the
        call's `retry_waits`, else the client's (1, 2 and 4 s; none for the hook's client);
        StashLocalError for anything else. Safe for the writes that repeat without harm (adding tags to scenes, replacing a
        tag's lists or the exclude patterns with the same lists); a create passes no waits."""
        for wait in (*(self.retry_waits if retry_waits is None else retry_waits), None):
            try:
                return self._post_once(operation, query, variables)
            except StashUnavailable as exc:
                if wait is None:
                    raise
                log.warning("%s; retrying in %g s", exc, wait)
                self.sleep(wait)
        raise AssertionError("unreachable")

    def _post_once(self, operation: str, query: str, variables: dict) -> dict:
        self.request_count += 1
        try:
            response = self.session.post(
                self.graphql_url,
                json={"query": query, "variables": variables},
                timeout=self.timeout,
            )
        except requests.Timeout:
            raise StashUnavailable(f"Stash {operation}: timed out after {self.timeout:g} s") from None
        except requests.RequestException as exc:
            raise StashUnavailable(f"Stash {operation}: connection failed ({type(exc).__name__})") from None
        if response.status_code == 401:
            raise StashAuthError(f"Stash {operation}: HTTP 401 Unauthorized")
        if response.status_code in RETRYABLE_STATUSES:
            raise StashUnavailable(f"Stash {operation}: HTTP {response.status_code}: {_excerpt(response)!r}")
        if response.status_code != 200:
            raise StashLocalError(f"Stash {operation}: HTTP {response.status_code}: {_excerpt(response)!r}")
        try:
            body = response.json()
        except ValueError:
            raise StashLocalError(f"Stash {operation}: answer is not JSON: {_excerpt(response)!r}") from None
        if not isinstance(body, dict):
            raise StashLocalError(f"Stash {operation}: answer is not a JSON object: {_excerpt(response)!r}")
        return body


def _excerpt(response: requests.Response) -> str:
    """The start of an answer's text, for an error message only. Stash answers
    `application/graphql-response+json` with no charset, for which `response.text` guesses
    the encoding over the whole body; done for every answer, that cost more CPU than
    decoding the JSON (bench/README.md, the real-Stash profile)."""
    return shorten(response.text, ERROR_BODY_EXCERPT)


def _graphql_data(operation: str, body: dict) -> dict:
    errors, data = body.get("errors"), body.get("data")
    if errors or not isinstance(data, dict):
        raise StashLocalError(f"Stash {operation}: {_messages(errors) or 'no data in answer'}")
    return data


def _write_error(alias: str, data: dict, errors: list[dict]) -> str | None:
    """None when the aliased write answered with its scene, else why not."""
    if data.get(alias):
        return None
    own = [e for e in errors if (e.get("path") or [None])[0] == alias]
    return f"Stash bulkSceneUpdate: {_messages(own or errors) or 'no scene in answer'}"


def _messages(errors) -> str:
    return "; ".join(shorten(str(e.get("message", e) if isinstance(e, dict) else e), ERROR_BODY_EXCERPT)
                     for e in errors or [])


@dataclass
class SceneTagReader:
    """Scenes' tag ids as Stash has them now, a batch a request. Stash fails a whole by-id read
    for one id it does not have ("scene with id 7 not found"); then the ids of the scenes that
    still carry a StashID for the endpoint are read once, in one request, and every later
    batch asks only for those: a scene deleted since (or that lost its StashID) is left out,
    at the cost of one request however many there are."""

    local: Any
    endpoint: str
    existing: set[str] | None = None

    def tag_ids(self, scene_ids: list[str]) -> dict[str, set[str]]:
        if self.existing is not None:
            scene_ids = [scene_id for scene_id in scene_ids if scene_id in self.existing]
        try:
            scenes = self.local.scenes_by_ids(scene_ids) if scene_ids else []
        except (StashAuthError, StashUnavailable):   # not an answer about these ids
            raise
        except StashLocalError as exc:
            if self.existing is not None or "not found" not in str(exc):
                raise
            self.existing = set(self.local.scene_ids_with_stash_id(self.endpoint))
            return self.tag_ids(scene_ids)
        return {str(scene.get("id")): {str(tag.get("id")) for tag in scene.get("tags") or [] if isinstance(tag, dict)}
                for scene in scenes if isinstance(scene, dict)}
