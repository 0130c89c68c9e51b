"""In-memory stand-ins for the sync's two collaborators (the local Stash and StashDB).

They implement the same methods as stash_local.LocalStash and stashdb_api.StashDBClient,
keep a call log, and can be told to fail, so the sync's own logic is what the tests
exercise.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from stash_local import StashLocalError
from stashdb_api import StashDBError

ENDPOINT = "https://stashdb.org/graphql"


def local_tag(tag_id, name, *, aliases=(), stash_ids=(), sort_name=None):
    return {
        "id": str(tag_id),
        "name": name,
        "sort_name": sort_name,
        "aliases": list(aliases),
        "stash_ids": [{"endpoint": e, "stash_id": s} for e, s in stash_ids],
    }


def local_scene(scene_id, stashdb_id, *, tags=(), oshash=None, title=None, endpoint=ENDPOINT, organized=False):
    files = [{"fingerprints": [{"type": "oshash", "value": oshash}]}] if oshash else []
    return {
        "id": str(scene_id),
        "title": title,
        "organized": organized,
        "tags": [{"id": str(t)} for t in tags],
        "stash_ids": [{"endpoint": endpoint, "stash_id": stashdb_id}] if stashdb_id else [],
        "files": files,
    }


def stashdb_scene(scene_id, tags, *, deleted=False):
    """`tags`: (id, name) pairs, or StashDB Tag dicts with description, aliases, category
    (FakeStashDB answers a scene's tags by id and name, their details through findTag)."""
    return {"id": scene_id, "deleted": deleted,
            "tags": [t if isinstance(t, dict) else {"id": t[0], "name": t[1]} for t in tags]}


@dataclass
class FakeLocalStash:
    tags: list[dict]
    scenes: dict[str, dict]
    endpoint: str = ENDPOINT
    failing_writes: set = field(default_factory=set)
    failing_reads: int = 0
    writes: list = field(default_factory=list)
    reads: list = field(default_factory=list)

    def all_tags(self):
        return list(self.tags)

    def scene_ids_with_stash_id(self, endpoint):
        return [sid for sid, scene in self.scenes.items()
                if any(s["endpoint"] == endpoint for s in scene["stash_ids"])]

    def stash_id_endpoint_counts(self):
        counts = {}
        for scene in self.scenes.values():
            for endpoint in {s["endpoint"] for s in scene["stash_ids"]}:
                counts[endpoint] = counts.get(endpoint, 0) + 1
        return counts

    def scenes_by_ids(self, ids):
        self.reads.append(list(ids))
        if self.failing_reads:
            self.failing_reads -= 1
            raise RuntimeError("Stash read failed: HTTP 500")
        return [self._copy(self.scenes[i]) for i in ids if i in self.scenes]

    failing_write_requests: int = 0
    write_requests: list = field(default_factory=list)

    def add_tags_to_scenes(self, additions):
        self.write_requests.append([scene_id for scene_id, _ in additions])
        if self.failing_write_requests:
            self.failing_write_requests -= 1
            raise RuntimeError("Stash bulkSceneUpdate: HTTP 500")
        return {scene_id: self._add(scene_id, tag_ids) for scene_id, tag_ids in additions}

    def _add(self, scene_id, tag_ids):
        if scene_id in self.failing_writes:
            return f"FOREIGN KEY constraint failed for scene {scene_id}"
        self.writes.append((scene_id, list(tag_ids)))
        present = {t["id"] for t in self.scenes[scene_id]["tags"]}
        self.scenes[scene_id]["tags"] += [{"id": t} for t in tag_ids if t not in present]
        return None

    created_tags: list = field(default_factory=list)

    def create_tag(self, tag_input):
        """tagCreate with Stash's rule: a name or alias is held once, ASCII case aside."""
        texts = [tag_input["name"], *tag_input.get("aliases", [])]
        held = {t.lower() for tag in self.tags for t in (tag["name"], *tag["aliases"])}
        if any(text.lower() in held for text in texts):
            raise StashLocalError(f"Stash tagCreate: tag with name '{tag_input['name']}' already exists")
        created = {"id": str(100 + len(self.created_tags)), "sort_name": None, "aliases": [], "stash_ids": [],
                   **{k: v for k, v in tag_input.items() if k != "parent_ids"}}
        self.created_tags.append(tag_input)
        self.tags.append(created)
        return created

    def tag_ids(self, scene_id):
        return {t["id"] for t in self.scenes[scene_id]["tags"]}

    @staticmethod
    def _copy(scene):
        return {**scene, "tags": [dict(t) for t in scene["tags"]]}


@dataclass
class FakeStashDB:
    """StashDB as a dict of scenes; fingerprints map to scene ids. Scenes are answered as the
    sync asks them, each tag by `id` and `name`; `find_tags_by_ids` answers a tag's details
    from the scenes' tag dicts (a tag given as a pair has none: no description, no aliases)."""

    scenes: dict[str, dict]
    by_oshash: dict[str, list[str]] = field(default_factory=dict)
    errors: list = field(default_factory=list)  # exceptions to raise on the next scene calls, in order
    tag_errors: list = field(default_factory=list)  # ... on the next findTag calls
    calls: list = field(default_factory=list)

    def _maybe_fail(self):
        if self.errors:
            error = self.errors.pop(0)
            if error is not None:
                raise error

    def find_scenes_by_fingerprints(self, batches):
        self.calls.append(("fingerprints", [list(b) for b in batches]))
        self._maybe_fail()
        answers = []
        for batch in batches:
            found = []
            for fp in batch:
                for sid in self.by_oshash.get(fp["hash"], []):
                    scene = self.scenes[sid]
                    if not scene["deleted"] and scene not in found:
                        found.append(scene)
            answers.append([_as_asked(scene) for scene in found])
        return answers

    def find_scenes_by_ids(self, scene_ids):
        scene_ids = list(scene_ids)
        self.calls.append(("ids", scene_ids))
        self._maybe_fail()
        return [_as_asked(self.scenes.get(i)) for i in scene_ids]

    def find_tags_by_ids(self, tag_ids):
        tag_ids = list(tag_ids)
        self.calls.append(("tags", tag_ids))
        if self.tag_errors:
            raise self.tag_errors.pop(0)
        known = {tag["id"]: tag for scene in self.scenes.values() for tag in scene["tags"] or ()
                 if isinstance(tag, dict)}
        return [None if i not in known else
                {"description": None, "aliases": [], "deleted": False, "category": None, **known[i]} for i in tag_ids]

    def asked_tag_ids(self):
        return [tag_id for kind, ids in self.calls if kind == "tags" for tag_id in ids]

    def count(self, kind):
        return sum(1 for call in self.calls if call[0] == kind)


def _as_asked(scene):
    """A StashDB scene with the fields the sync asks: its tags' ids and names only."""
    if scene is None or not isinstance(scene["tags"], list):
        return scene  # hostile answers go through as they are
    return {**scene, "tags": [{"id": tag.get("id"), "name": tag.get("name")} if isinstance(tag, dict) else tag
                              for tag in scene["tags"]]}


def stashdb_error(message="HTTP 502 from StashDB"):
    return StashDBError(message, operation="findScenesBySceneFingerprints", status=502)
