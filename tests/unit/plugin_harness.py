"""tag_manager.main in plugin mode against Stash and StashDB answered by `responses`.

Everything between stdin and HTTP (stashapi's connection, our clients, the sync, the
report) is the real code. `FakeServers` answers by GraphQL operation, keeps the scenes'
tags, and lets a test break any request (`stash_fault`, `stashdb_fault`).
"""
from __future__ import annotations

import io
import json
import logging
import re
from dataclasses import dataclass, field
from typing import Callable

import responses

import tag_manager

STASH_URL = "http://127.0.0.1:9999/graphql"
STASHDB_URL = "https://stashdb.org/graphql"
COOKIE = "cookie-value-5f3a9c"
STASH_API_KEY = "stash-api-key-8d2e71"
STASHDB_KEY = "stashdb-key-4b6c0f"
SECRETS = (COOKIE, STASH_API_KEY, STASHDB_KEY)
STASHDB_TAGS = [{"id": "t-anal", "name": "Anal"}, {"id": "t-blond", "name": "Blond"}]
Answer = tuple  # (status, headers, body) as `responses` callbacks return


def json_answer(data: dict, status: int = 200) -> Answer:
    return status, {}, json.dumps(data)


@dataclass
class FakeServers:
    settings: dict = field(default_factory=lambda: {"syncDryRun": False})
    stashdb_status: int = 200
    scene_count: int = 2
    with_fingerprints: bool = True
    general: dict = field(default_factory=lambda: {"apiKey": STASH_API_KEY})
    scene_endpoint: str = STASHDB_URL
    malformed_stash_ids: set = field(default_factory=set)      # StashDB answers these with a path error
    stash_fault: Callable[[str, dict], Answer | None] = lambda query, variables: None
    stashdb_fault: Callable[[dict], Answer | None] = lambda body: None
    scene_tags: dict = field(default_factory=dict)
    updated_at: dict = field(default_factory=dict)             # scene id -> a sortable time
    mutations: list = field(default_factory=list)
    stashdb_ops: list = field(default_factory=list)
    stashdb_tags: list = field(default_factory=lambda: [dict(tag) for tag in STASHDB_TAGS])
    stashdb_tag_catalogue: dict = field(default_factory=dict)  # findTag answers beyond the scenes' tags
    local_tags: dict = field(default_factory=lambda: {
        "1": {"id": "1", "name": "Anal", "sort_name": None, "description": None, "aliases": [], "stash_ids": [],
              "parents": []},
        "2": {"id": "2", "name": "Blonde", "sort_name": None, "description": None, "aliases": ["Blond"],
              "stash_ids": [], "parents": []}})
    exclude_tag_patterns: list = field(default_factory=list)
    tag_writes: list = field(default_factory=list)             # (mutation, input) as Stash received them
    stash_requests: list = field(default_factory=list)         # (query, variables) of every Stash request
    stash_ops: list = field(default_factory=list)              # the operation name of every Stash request
    stash_auth: list = field(default_factory=list)             # (Cookie, ApiKey) headers of every Stash request
    queued_tasks: list = field(default_factory=list)           # runPluginTask variables, in order
    stashdb_tags_of_scene: dict = field(default_factory=dict)  # StashDB scene id -> its tags (else stashdb_tags)
    after_tag_write: Callable[[str, dict, dict], None] | None = None   # Stash's post hooks: (mutation, input, tag)

    def __post_init__(self):
        for i in self.scene_ids:
            self.scene_tags.setdefault(i, [{"id": "2"}] if i == "1" else [])
            self.updated_at.setdefault(i, int(i))

    @property
    def scene_ids(self) -> list[str]:
        return [str(i) for i in range(1, self.scene_count + 1)]

    def stash_id_of(self, scene_id: str) -> str:
        return f"sdb-{scene_id}"

    # -- Stash -------------------------------------------------------------------------

    def stash(self, request) -> Answer:
        body = json.loads(request.body)
        query, variables = body["query"], body.get("variables") or {}
        named = re.search(r"(query|mutation)\s+(\w+)", query)
        self.stash_ops.append(named.group(2) if named else "?")
        self.stash_requests.append((query, variables))
        self.stash_auth.append((request.headers.get("Cookie"), request.headers.get("ApiKey")))
        broken = self.stash_fault(query, variables)
        if broken is not None:
            return broken
        data = self._stash_data(query, variables)
        if data is None:
            return json_answer({"errors": [{"message": "unexpected query"}]}, 422)
        if "__error__" in data:
            return json_answer({"data": None, "errors": [{"message": data["__error__"]}]})
        return json_answer({"data": data})

    def _stash_data(self, query: str, variables: dict) -> dict | None:
        if "__schema" in query:
            return {"__schema": {"types": []}}
        if "StashVersion" in query:
            return {"version": {"version": "v0.30.1", "hash": "abcdef123", "build_time": "x"}}
        if "getApiKey" in query:
            return {"configuration": {"general": {"apiKey": self.general.get("apiKey", "")}}}
        if "TagManagerConfiguration" in query:
            return {"configuration": {
                "general": {"username": "", "maxSessionAge": 3600, **self.general, "stashBoxes": [
                    {"endpoint": STASHDB_URL, "api_key": STASHDB_KEY, "name": "StashDB", "max_requests_per_minute": 0}]},
                "scraping": {"excludeTagPatterns": list(self.exclude_tag_patterns)},
                "plugins": {"tagManager": self.settings}}}
        if "TagManagerFindTags" in query:
            return {"findTags": {"count": len(self.local_tags), "tags": [dict(t) for t in self.local_tags.values()]}}
        if "TagManagerTagsMatching" in query:
            return self._tags_matching(variables)
        if "TagManagerQueueTask" in query:
            self.queued_tasks.append(variables)
            return {"runPluginTask": str(100 + len(self.queued_tasks))}
        if "TagManagerFindTag(" in query:
            return {"findTag": self.local_tags.get(variables["id"])}
        if "TagManagerTagCreate" in query or "TagManagerTagUpdate" in query:
            return self._tag_write(query, variables["input"])
        if "TagManagerExcludePatterns" in query:
            return {"configuration": {"scraping": {"excludeTagPatterns": list(self.exclude_tag_patterns)}}}
        if "TagManagerConfigureScraping" in query:
            self.tag_writes.append(("configureScraping", variables["input"]))
            self.exclude_tag_patterns = list(variables["input"]["excludeTagPatterns"])
            return {"configureScraping": {"excludeTagPatterns": list(self.exclude_tag_patterns)}}
        if "TagManagerSceneIds" in query:
            return {"findScenes": self._snapshot(variables)}
        if "TagManagerStashIdEndpoints" in query:
            return {"findScenes": {"scenes": [{"stash_ids": [{"endpoint": self.scene_endpoint}]}
                                              for _ in self.scene_ids]}}
        if "TagManagerScenesByIds" in query:
            unknown = [i for i in variables["ids"] if i not in self.scene_ids]
            if unknown:   # Stash fails the whole read for one id it does not have
                return {"__error__": f"scene with id {unknown[0]} not found"}
            return {"findScenes": {"scenes": [self._scene(i) for i in variables["ids"]]}}
        if "bulkSceneUpdate" in query:
            return self._write(variables)
        return None

    def _tag_write(self, query: str, tag_input: dict) -> dict | None:
        """tagCreate / tagUpdate with Stash's rule: a name or alias is held once (ASCII case aside)."""
        creating = "TagManagerTagCreate" in query
        self.tag_writes.append(("tagCreate" if creating else "tagUpdate", tag_input))
        tag_id = str(len(self.local_tags) + 1) if creating else tag_input["id"]
        tag = {"id": tag_id, "name": "", "sort_name": None, "description": None, "aliases": [], "stash_ids": [],
               "parents": []} if creating else dict(self.local_tags[tag_id])
        tag.update({key: value for key, value in tag_input.items() if key not in ("id", "parent_ids")})
        if "parent_ids" in tag_input:
            tag["parents"] = [{"id": parent} for parent in tag_input["parent_ids"]]
        for text in [tag["name"], *tag["aliases"]]:
            holders = [t for t in self.local_tags.values() if t["id"] != tag_id
                       and text.lower() in [n.lower() for n in (t["name"], *t["aliases"])]]
            if holders:
                return {"__error__": f"tag with name '{text}' already exists"}
        self.local_tags[tag_id] = tag
        if self.after_tag_write is not None:   # Stash runs the post hooks before it answers
            self.after_tag_write("tagCreate" if creating else "tagUpdate", tag_input, dict(tag))
        return {"tagCreate" if creating else "tagUpdate": dict(tag)}

    def _tags_matching(self, variables: dict) -> dict:
        """The three findTags lookups of one StashDB tag: name LIKE, alias LIKE, StashID."""
        def like(pattern: str, text: str) -> bool:  # SQLite LIKE: % and _, ASCII case folded
            regex = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
            return re.fullmatch(regex, text, re.IGNORECASE | re.ASCII | re.DOTALL) is not None

        name, endpoint, stash_id = variables["name"], variables["endpoint"], variables["stash_id"]
        tags = list(self.local_tags.values())
        return {"by_name": {"tags": [t for t in tags if like(name, t["name"])]},
                "by_alias": {"tags": [t for t in tags if any(like(name, a) for a in t["aliases"])]},
                "by_stash_id": {"tags": [t for t in tags if any(
                    s["endpoint"] == endpoint and like(stash_id, s["stash_id"]) for s in t["stash_ids"])]}}

    def _snapshot(self, variables: dict) -> dict:
        wanted = variables["scene_filter"]["stash_id_endpoint"]["endpoint"]
        order = variables["filter"]
        assert order["sort"] == "updated_at", order
        ids = sorted(self.scene_ids, key=self.updated_at.get, reverse=order.get("direction") == "DESC")
        ids = ids if wanted == self.scene_endpoint else []
        return {"count": len(ids), "scenes": [{"id": i} for i in ids]}

    def _scene(self, scene_id: str) -> dict:
        files = [{"fingerprints": [{"type": "oshash", "value": f"{int(scene_id):016x}"}]}] if self.with_fingerprints else []
        return {"id": scene_id, "title": f"Scene {scene_id}", "tags": list(self.scene_tags[scene_id]),
                "stash_ids": [{"endpoint": self.scene_endpoint, "stash_id": self.stash_id_of(scene_id)}],
                "files": files}

    def _write(self, variables: dict) -> dict:
        data = {}
        for name, value in variables.items():
            self.mutations.append(value)
            scene_id, mode, tag_ids = value["ids"][0], value["tag_ids"]["mode"], value["tag_ids"]["ids"]
            have = {tag["id"] for tag in self.scene_tags[scene_id]}
            if mode == "REMOVE":
                self.scene_tags[scene_id] = [tag for tag in self.scene_tags[scene_id] if tag["id"] not in tag_ids]
            else:
                self.scene_tags[scene_id] += [{"id": t} for t in tag_ids if t not in have]
            data[f"s{name.removeprefix('input')}"] = [{"id": scene_id}]
        return data

    # -- StashDB -----------------------------------------------------------------------

    def stashdb(self, request) -> Answer:
        body = json.loads(request.body)
        operation = body.get("operationName") or re.search(r"(query|mutation)\s+(\w+)", body["query"]).group(2)
        self.stashdb_ops.append(operation)
        if self.stashdb_status != 200:
            return self.stashdb_status, {}, ""
        broken = self.stashdb_fault(body)
        if broken is not None:
            return broken
        variables = body["variables"]
        if "fingerprints" in variables:
            answer = [[self._stashdb_scene(f"sdb-{int(fp[0]['hash'], 16)}")] for fp in variables["fingerprints"]]
            return json_answer({"data": {"findScenesBySceneFingerprints": answer}})
        if "TagManagerFindTagsByIds" in body["query"]:
            return json_answer({"data": {"t" + name.removeprefix("id"): self._stashdb_tag(tag_id)
                                         for name, tag_id in variables.items()}})
        if variables:
            return self._by_ids(variables)
        return json_answer({"data": {"me": {"name": "tester"}}})

    def _by_ids(self, variables: dict) -> Answer:
        data, errors = {}, []
        for name, stash_id in variables.items():
            alias = "s" + name.removeprefix("id")
            if stash_id in self.malformed_stash_ids:
                data[alias] = None
                errors.append({"message": f"invalid UUID length: {len(stash_id)}", "path": [alias]})
            else:
                data[alias] = self._stashdb_scene(stash_id)
        return json_answer({"data": data, **({"errors": errors} if errors else {})})

    def _stashdb_scene(self, stash_id: str) -> dict:
        """A scene as the plugin asks it: its tags' ids and names (their details are findTag's)."""
        tags = self.stashdb_tags_of_scene.get(stash_id, self.stashdb_tags)
        return {"id": stash_id, "deleted": False, "tags": [{"id": tag["id"], "name": tag["name"]} for tag in tags]}

    def _stashdb_tag(self, tag_id: str) -> dict | None:
        known = {tag["id"]: tag for tags in (self.stashdb_tags, *self.stashdb_tags_of_scene.values()) for tag in tags}
        tag = (known | self.stashdb_tag_catalogue).get(tag_id)
        return None if tag is None else {"description": None, "aliases": [], "deleted": False, "category": None, **tag}


def client_without_waits(box):
    """The real StashDB client at the stash-box's rate, whose rate-limit and retry waits
    take no time: the unit tier checks what is sent, the simulator tier the timing."""
    from stashdb_api import RateLimiter, StashDBClient, rate_from_requests_per_minute

    def no_wait(seconds):
        return None

    limiter = RateLimiter(rate_from_requests_per_minute(box.max_requests_per_minute), sleep=no_wait)
    return StashDBClient(box.endpoint, box.api_key, rate_limiter=limiter, sleep=no_wait)


def local_stash_without_waits(connection: dict):
    """The real LocalStash whose retry waits take no time."""
    from stash_local import LocalStash, connect_stash

    return LocalStash.from_stash_interface(connect_stash(connection), sleep=lambda seconds: None)


def plugin_stdin(stash_dir, args=None, connection=None) -> str:
    """The JSON Stash writes to the plugin's stdin."""
    return json.dumps({
        "server_connection": {"Scheme": "http", "Host": "0.0.0.0", "Port": 9999,
                              "SessionCookie": {"Name": "session", "Value": COOKIE},
                              "Dir": str(stash_dir), "PluginDir": str(stash_dir / "plugins" / "tagManager"),
                              **(connection or {})},
        "args": args if args is not None else {"mode": "sync_scene_tags"},
    })


def run_plugin(servers: FakeServers, stash_dir, args=None, connection=None):
    """(exit code, stdout, stderr) of one plugin run as Stash starts it."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_callback(responses.POST, STASH_URL, callback=servers.stash)
        mock.add_callback(responses.POST, STASHDB_URL, callback=servers.stashdb)
        real_factories = tag_manager.make_stashdb_client, tag_manager.make_local_stash
        tag_manager.make_stashdb_client, tag_manager.make_local_stash = client_without_waits, local_stash_without_waits
        try:
            return run_main(plugin_stdin(stash_dir, args, connection))
        finally:
            tag_manager.make_stashdb_client, tag_manager.make_local_stash = real_factories


def post_to_stash(servers: FakeServers, query: str, variables: dict) -> dict:
    """One request from another client (Stash's own page, a script) to the fake Stash."""
    import requests

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_callback(responses.POST, STASH_URL, callback=servers.stash)
        return requests.post(STASH_URL, json={"query": query, "variables": variables}, timeout=10).json()


def run_main(stdin_text: str) -> tuple[int, str, str]:
    """tag_manager.main on this stdin, in this process (Stash and StashDB already answered)."""
    stdout, stderr = io.StringIO(), io.StringIO()
    code = tag_manager.main([], stdin=io.StringIO(stdin_text), stdout=stdout, stderr=stderr)
    return code, stdout.getvalue(), stderr.getvalue()


def run_hook(servers: FakeServers, stash_dir, hook_context: dict):
    """(exit code, stdout, stderr) of the tag-change hook as Stash starts it: the manifest's
    defaultArgs and Stash's args.hookContext."""
    return run_plugin(servers, stash_dir, args={"mode": "follow_tag_change", "hookContext": hook_context})


def tag_hook_context(mutation: str, tag_input: dict, tag: dict) -> dict:
    """args.hookContext as Stash builds it after tagCreate or tagUpdate
    (internal/api/resolver_mutation_tag.go): the id, the hook, the input as sent, and for
    an update the input's field names."""
    if mutation == "tagCreate":
        return {"id": int(tag["id"]), "type": "Tag.Create.Post", "input": tag_input}
    return {"id": int(tag["id"]), "type": "Tag.Update.Post", "input": tag_input, "inputFields": sorted(tag_input)}


class HooksLikeStash:
    """FakeServers.after_tag_write that runs tagManager's hook for every tag write before the
    write's answer, inside the request, as Stash does; keeps each hook's (code, stdout, stderr)."""

    def __init__(self, stash_dir):
        self.stash_dir = stash_dir
        self.runs: list[tuple[int, str, str]] = []

    def __call__(self, mutation: str, tag_input: dict, tag: dict) -> None:
        logger = logging.getLogger("tagManager")
        saved = (list(logger.handlers), logger.level, logger.propagate)   # the writer's own logging
        try:
            self.runs.append(run_main(plugin_stdin(self.stash_dir, {
                "mode": "follow_tag_change", "hookContext": tag_hook_context(mutation, tag_input, tag)})))
        finally:
            logger.handlers[:], logger.level, logger.propagate = saved


def assert_stash_protocol(stdout: str, stderr: str) -> dict:
    result = json.loads(stdout)  # exactly one JSON object, nothing else
    assert set(result) == {"output", "error"}
    for line in stderr.splitlines():
        assert re.match(r"^\x01[tdiwep]\x02", line), line
    for secret in SECRETS:
        assert secret not in stdout and secret not in stderr
    return result


def log_lines(stderr: str, level: str) -> list[str]:
    """The messages logged at one Stash level (i, w, e ...)."""
    prefix = f"\x01{level}\x02"
    return [line[len(prefix):] for line in stderr.splitlines() if line.startswith(prefix)]
