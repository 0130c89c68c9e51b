"""Follow tag changes: Stash's Tag.Create.Post, Tag.Update.Post and Tag.Merge.Post hooks.

Stash waits for a post hook before it answers the mutation that fired it
(pkg/plugin/plugins.go executePostHooks), so the hook only decides, in a few small
requests on a plain requests session, and hands the writing to a queued task:

1. an update that names none of the fields a match depends on (name, sort name, aliases,
   StashIDs), or the plugin's own tag write (own_tag_writes.py): done, nothing asked;
2. syncFollowTagChanges not on (unset, off, or garbled: then a warning): done;
3. the newest whole-library report for the endpoint and its vocabulary, every StashDB tag
   that run met (report_memory.py);
4. the tag as it is now, and the vocabulary's StashDB tags it could match: its StashID for
   the endpoint, or its name or an alias by Stash's LIKE; excluded names left out;
5. for each of those, every local tag Stash's Tagger could pick for it
   (stash_local.TAGS_MATCHING_QUERY), and the sync's own matcher decides whether this tag
   wins (tag_matching.py);
6. for the StashDB tags it wins: `runPluginTask` of the re-match task with
   `stashdb_tag_ids` and the report. The task re-applies exactly those StashDB tags to
   exactly the report's scenes that carry them. In dry run the hook only logs that job.

No StashDB request, ever. The answer (Stash logs it at debug level) says what was decided.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from own_tag_writes import MARKER_FOLDER, OwnTagWrites
from plugin_info import PLUGIN_ID
from plugin_io import SecretRedactor
from report_memory import choose_memory, read_vocabulary
from report_reader import ReportNotFound
from run_config import (ConfigError, choose_stash_box, endpoint_from_settings, exclude_patterns,
                        follow_tag_changes_from_settings, plugin_settings, run_mode_from_settings)
from tag_matching import TagCache, TagExcluder, like_key, like_pattern, match_stashdb_tag_to_local

log = logging.getLogger("tagManager.hook")

TAG_HOOKS = ("Tag.Create.Post", "Tag.Update.Post", "Tag.Merge.Post")
MATCH_FIELDS = frozenset({"name", "sort_name", "aliases", "stash_ids"})
HOOK_REQUEST_TIMEOUT_SECONDS = 10.0
MAX_CANDIDATES = 25   # StashDB tags one tag could match; beyond, the first ones only (never more)


@dataclass(frozen=True)
class TagChange:
    hook: str
    tag_id: str
    created_name: str | None     # Tag.Create.Post: the name asked for
    fields: frozenset[str] | None   # Tag.Update.Post: the input's fields (None: not said)

    @classmethod
    def from_hook_context(cls, context: Any) -> TagChange:
        if not isinstance(context, Mapping):
            raise ConfigError("follow_tag_change runs as a Stash hook: args.hookContext is missing")
        hook, tag_input = str(context.get("type")), context.get("input")
        tag_input = tag_input if isinstance(tag_input, Mapping) else {}
        tag_id = context.get("id") or tag_input.get("destination") or tag_input.get("id")
        fields = context.get("inputFields")
        name = tag_input.get("name") if hook == "Tag.Create.Post" else None
        return cls(hook, "" if tag_id is None else str(tag_id), name if isinstance(name, str) else None,
                   frozenset(map(str, fields)) if isinstance(fields, list) and fields else None)

    def why_not_followed(self) -> str | None:
        if self.hook not in TAG_HOOKS:
            return f"not a tag hook ({self.hook})"
        if not self.tag_id.isdigit():
            return f"no tag id in the hook's context ({self.tag_id!r})"
        if self.hook == "Tag.Update.Post" and self.fields is not None and not self.fields & MATCH_FIELDS:
            return f"the update changed none of {', '.join(sorted(MATCH_FIELDS))}"
        return None


def follow_tag_change(hook_context: Any, connection: Mapping[str, Any], data_dir: Path,
                      redactor: SecretRedactor, rematch_task: str) -> dict:
    """Decide, and queue the re-match when the changed tag now wins StashDB tags of the report."""
    started = time.perf_counter()
    change = TagChange.from_hook_context(hook_context)
    answer = decide(change, connection, data_dir, redactor, rematch_task)
    answer["decided_in_ms"] = round((time.perf_counter() - started) * 1000, 1)
    if answer.get("job_id") or answer.get("would_queue"):
        log.info("Decided in %.0f ms (%.0f ms of it importing requests; %d requests to Stash)",
                 answer["decided_in_ms"], answer["import_ms"], answer["stash_requests"])
    else:
        log.debug("Tag %s (%s): nothing to re-match: %s (%.0f ms)", change.tag_id, change.hook,
                  answer["reason"], answer["decided_in_ms"])
    return answer


def decide(change: TagChange, connection: Mapping[str, Any], data_dir: Path, redactor: SecretRedactor,
           rematch_task: str) -> dict:
    skipped = change.why_not_followed()
    if skipped:
        return {"job_id": None, "reason": skipped}
    own = OwnTagWrites(data_dir / MARKER_FOLDER)
    if own.covers(tag_id=None if change.created_name else change.tag_id, name=change.created_name):
        return {"job_id": None, "reason": "tagManager's own tag write"}
    importing = time.perf_counter()
    from stash_local import plain_local_stash   # requests: only a hook that asks Stash pays for it

    local = plain_local_stash(connection, timeout=HOOK_REQUEST_TIMEOUT_SECONDS)
    answer = {"import_ms": round((time.perf_counter() - importing) * 1000, 1)}
    answer.update(decide_with_stash(change, local, data_dir, redactor, rematch_task))
    answer["stash_requests"] = local.request_count
    return answer


def decide_with_stash(change: TagChange, local, data_dir: Path, redactor: SecretRedactor, rematch_task: str) -> dict:
    configuration = local.configuration(PLUGIN_ID)
    general = configuration.get("general") or {}
    redactor.add([general.get("apiKey")] + [box.get("api_key") for box in general.get("stashBoxes") or []])
    settings = plugin_settings(configuration)
    follow, warning = follow_tag_changes_from_settings(settings)
    if warning:
        log.warning("%s", warning)
    if not follow:
        return {"job_id": None, "reason": "syncFollowTagChanges is not on"}
    try:
        endpoint = choose_stash_box(general.get("stashBoxes"), endpoint_from_settings(settings)).endpoint
        report = choose_memory(data_dir / "reports", endpoint)
    except (ConfigError, ReportNotFound) as exc:
        log.info("Tag %s changed; tag changes are followed, but: %s", change.tag_id, exc)
        return {"job_id": None, "reason": str(exc)}
    tag = local.find_tag(change.tag_id)
    if tag is None:
        return {"job_id": None, "reason": f"tag {change.tag_id} no longer exists"}
    won = stashdb_tags_won(local, tag, read_vocabulary(report), endpoint,
                           TagExcluder(exclude_patterns(configuration)))
    if not won:
        return {"job_id": None, "reason": f"tag {tag['name']!r} wins no StashDB tag of report {report.name}"}
    return queue_rematch(local, tag, won, report.name, run_mode_from_settings(settings).dry_run, rematch_task)


def stashdb_tags_won(local, tag: Mapping[str, Any], vocabulary: list[tuple[str, str]], endpoint: str,
                     excluder: TagExcluder) -> list[tuple[str, str]]:
    """The vocabulary's StashDB tags (id, name) that the sync would now match to `tag`."""
    candidates = [(tag_id, name) for tag_id, name in could_match(tag, vocabulary, endpoint)
                  if not excluder.excludes(name)]
    if len(candidates) > MAX_CANDIDATES:
        log.warning("Tag %r could match %d StashDB tags of the report; following the first %d only",
                    tag["name"], len(candidates), MAX_CANDIDATES)
        candidates = candidates[:MAX_CANDIDATES]
    won = []
    for stashdb_id, name in candidates:
        cache = TagCache.from_tags(local.tags_matching(endpoint, stashdb_id, name))
        if match_stashdb_tag_to_local({"id": stashdb_id, "name": name}, cache, endpoint) == str(tag["id"]):
            won.append((stashdb_id, name))
    return won


def could_match(tag: Mapping[str, Any], vocabulary: list[tuple[str, str]], endpoint: str) -> list[tuple[str, str]]:
    """The StashDB tags `tag` holds the StashID of for `endpoint`, or whose name its name or an
    alias matches by Stash's LIKE (tag_matching.like_key / like_pattern): each once."""
    linked = {link["stash_id"] for link in tag.get("stash_ids") or () if link.get("endpoint") == endpoint}
    texts = [text for text in (tag.get("name"), *(tag.get("aliases") or ())) if isinstance(text, str)]
    keys = {like_key(text) for text in texts}
    found: dict[str, str] = {}
    for stashdb_id, name in vocabulary:
        if not stashdb_id or stashdb_id in found:
            continue
        key = like_key(name)
        wildcard = "%" in key or "_" in key
        if stashdb_id in linked or (key in keys if not wildcard else
                                    any(like_pattern(key).fullmatch(text) for text in keys)):
            found[stashdb_id] = name
    return list(found.items())


def queue_rematch(local, tag: Mapping[str, Any], won: list[tuple[str, str]], report: str, dry_run: bool,
                  rematch_task: str) -> dict:
    names = ", ".join(repr(name) for _, name in won)
    args = {"stashdb_tag_ids": [stashdb_id for stashdb_id, _ in won], "report": report}
    what = (f"Tag {tag['name']!r} ({tag['id']}) now matches StashDB tag(s) {names}: "
            f"re-match the scenes of report {report} that carry them")
    if dry_run:
        log.info("[DRY RUN] %s: would queue the task %r with %s (syncDryRun; nothing queued)", what, rematch_task, args)
        return {"job_id": None, "would_queue": args, "reason": "dry run"}
    description = f"tagManager: {tag['name']} now matches StashDB {names}"
    job_id = local.queue_plugin_task(PLUGIN_ID, rematch_task, description, args)
    log.info("%s: queued as job %s", what, job_id)
    return {"job_id": job_id, "queued": args, "reason": "queued"}
