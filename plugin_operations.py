"""The operations tagManager's page calls through Stash's `runPluginOperation`:

- `unmatched_tags` {report?, offset?, limit?, text?, category?}: one page of the StashDB tags
  a report's scenes lacked because no local tag matched them, most scenes first, each with
  its scene count and up to five suggested local tags (unmatched_listing.py);
- `tag_scenes` {stashdb_ids, report?}: the report's scenes that lacked any of those tags;
- `link_tag` {stashdb_id, tag_id, add_alias?, replace?}: a local tag gains the StashID;
- `create_tags` {stashdb_ids, parent_from_category?, report?}: local tags made from StashDB's;
- `exclude_tag` {name}: one pattern for exactly that name in Stash's exclude patterns;
- `undo_run` {report, dry_run?}: remove from each scene exactly the tags that live run added
  (a preview unless dry_run is false; run_undo.py);
- `list_runs` {}: the newest report folders, for the page's undo buttons;
- `pin_matches` {report?, dry_run?}: local tags that match a report's StashDB tags by name or
  alias gain their StashIDs (a preview unless dry_run is false; tag_pinning.py);
- `rematch_candidates` {report?}: the scenes of the last whole-library run that can gain tags
  resolved since, for the page's re-match button (rematch_offer.py);
- `refresh_plan` {}: whether the refresh task can stand in for the full sync now, from which
  report and counting changes since when, or why not (scene_refresh.py; reads no memory);
- `run_mode` {}: whether the sync task would run dry or live, and why (tag_manager.py
  answers it from the settings alone: it needs no stash-box).

Every argument is checked before anything is asked or written (`parse_operation_args`); a
refusal raises ConfigError, whose text names the problem and becomes the `error` answer.
The three write operations run one at a time (`operation_lock`, in the plugin's data folder).
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from operation_lock import OperationLockTimeout, operation_lock
from report_memory import choose_memory
from report_reader import ReportNotFound, choose_report, read_stashdb_tags, read_summary, report_folders
from run_config import ConfigError, boolean_value, exclude_patterns, is_stash_id, listed_items
from stashdb_api import StashDBAuthError, StashDBError
from stashdb_tag import StashDBTag
from tag_matching import TagCache
from tag_pinning import pin_matches
from tag_resolution import (GLOBAL_PATTERNS_NOTE, SKIPPED, ResolutionError, TagCreation, TagCreator,
                            exclude_tag, link_tag)
from rematch_offer import rematch_candidates
from scene_refresh import refresh_availability
from run_undo import UNDO_LABEL, UndoRefused, undo_run
from unmatched_listing import MAX_PAGE_SIZE, tag_scenes, unmatched_tags

log = logging.getLogger("tagManager.operations")

UNMATCHED_TAGS, LINK_TAG, CREATE_TAGS, EXCLUDE_TAG = "unmatched_tags", "link_tag", "create_tags", "exclude_tag"
RUN_MODE, TAG_SCENES, UNDO_RUN, LIST_RUNS, PIN_MATCHES = (
    "run_mode", "tag_scenes", "undo_run", "list_runs", "pin_matches")
REMATCH_CANDIDATES = "rematch_candidates"
REFRESH_PLAN = "refresh_plan"
MAX_RUNS_LISTED = 50
OPERATION_ARGS = {  # mode -> (required, optional)
    UNMATCHED_TAGS: ((), ("report", "offset", "limit", "text", "category")),
    LINK_TAG: (("stashdb_id", "tag_id"), ("add_alias", "replace", "report")),
    CREATE_TAGS: (("stashdb_ids",), ("parent_from_category", "report")),
    EXCLUDE_TAG: (("name",), ()),
    RUN_MODE: ((), ()),
    TAG_SCENES: (("stashdb_ids",), ("report",)),
    UNDO_RUN: (("report",), ("dry_run",)),
    LIST_RUNS: ((), ()),
    PIN_MATCHES: ((), ("report", "dry_run")),
    REMATCH_CANDIDATES: ((), ("report",)),
    REFRESH_PLAN: ((), ()),
}
OPERATION_MODES = tuple(OPERATION_ARGS)
WRITE_MODES = (LINK_TAG, CREATE_TAGS, EXCLUDE_TAG, UNDO_RUN, PIN_MATCHES)   # one at a time, under the operation lock
MAX_IDS_PER_CALL = 1000


@dataclass
class OperationContext:
    """What an operation may use: the local Stash, its configuration, the chosen stash-box."""

    local: Any
    configuration: dict
    endpoint: str
    report_dir: Path
    make_stashdb: Callable[[], Any]   # the StashDB client, built only when StashDB must be asked
    data_dir: Path | None = None      # the plugin's data folder, where the write operations' lock is


# -- arguments -----------------------------------------------------------------------

def parse_operation_args(mode: str, args: Mapping[str, Any]) -> dict:
    """The operation's arguments, checked and normalised; ConfigError names what is wrong."""
    required, optional = OPERATION_ARGS[mode]
    unknown = sorted(set(args) - {"mode", *required, *optional})
    if unknown:
        raise ConfigError(f"{mode}: unknown argument(s) {', '.join(map(repr, unknown))}; "
                          f"it takes {', '.join(required + optional) or 'no arguments'}")
    missing = [name for name in required if args.get(name) in (None, "", [])]
    if missing:
        raise ConfigError(f"{mode}: missing argument(s) {', '.join(missing)}")
    parsed: dict[str, Any] = {}
    for name in (*required, *optional):
        if args.get(name) is not None:
            parsed[name] = _ARG_PARSERS[name](name, args[name])
    return parsed


def _text(name: str, value: Any) -> str:
    if not isinstance(value, (str, int)) or isinstance(value, bool) or not str(value).strip():
        raise ConfigError(f"{name} must be a non-empty text, not {value!r}")
    return str(value).strip()


def _stashdb_id(name: str, value: Any) -> str:
    text = _text(name, value)
    if any(ch.isspace() or ch in ",;" for ch in text) or len(text) > 100:
        raise ConfigError(f"{name} must be one StashDB id, not {value!r}")
    return text


def _tag_id(name: str, value: Any) -> str:
    text = _text(name, value)
    if not is_stash_id(text):
        raise ConfigError(f"{name} must be a Stash tag id (a whole number), not {value!r}")
    return str(int(text))


def stashdb_id_list(name: str, value: Any) -> list[str]:
    items = listed_items(value, f"{name} must be a list of StashDB ids or a comma-separated text, not {value!r}")
    ids = list(dict.fromkeys(_stashdb_id(name, item) for item in items))
    if not ids or len(ids) > MAX_IDS_PER_CALL:
        raise ConfigError(f"{name} must name between 1 and {MAX_IDS_PER_CALL} StashDB ids, not {len(ids)}")
    return ids


def report_name(name: str, value: Any) -> str:
    text = _text(name, value)
    if "/" in text or "\\" in text or text in (".", "..") or text.startswith("."):
        raise ConfigError(f"{name} must be the name of a report folder, not {value!r}")
    return text


def _offset(name: str, value: Any) -> int:
    return _whole_number(name, value, 0, 10**9)


def _page_size(name: str, value: Any) -> int:
    return _whole_number(name, value, 1, MAX_PAGE_SIZE)


def _whole_number(name: str, value: Any, low: int, high: int) -> int:
    text = str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
        raise ConfigError(f"{name} must be a whole number from {low} to {high}, not {value!r}")
    return int(text)


def _filter_text(name: str, value: Any) -> str:
    """A filter's text: empty filters nothing out (it narrows, never widens, a listing)."""
    if not isinstance(value, str) or len(value) > 500:
        raise ConfigError(f"{name} must be a text of at most 500 characters, not {value!r}"[:300])
    return value.strip()


_ARG_PARSERS = {
    "report": report_name, "offset": _offset, "limit": _page_size, "text": _filter_text, "category": _filter_text,
    "stashdb_id": _stashdb_id, "tag_id": _tag_id, "stashdb_ids": stashdb_id_list, "name": _text,
    "add_alias": boolean_value, "replace": boolean_value, "dry_run": boolean_value, "parent_from_category": boolean_value,
}


# -- the operations ------------------------------------------------------------------

def run_operation(mode: str, args: dict, context: OperationContext) -> dict:
    """Carry out one parsed operation, a write under the operation lock; ConfigError when
    it cannot be done (nothing written)."""
    try:
        if mode not in WRITE_MODES:
            return _OPERATIONS[mode](args, context)
        if context.data_dir is None:
            raise ValueError(f"{mode} needs the plugin's data folder for its lock")
        with operation_lock(context.data_dir, mode):
            return _OPERATIONS[mode](args, context)
    except (ResolutionError, ReportNotFound, OperationLockTimeout, UndoRefused) as exc:
        raise ConfigError(f"{mode}: {exc}") from None


def link(args: dict, context: OperationContext) -> dict:
    tag = stashdb_tags_by_id([args["stashdb_id"]], args.get("report"), context)[args["stashdb_id"]]
    if isinstance(tag, str):
        raise ConfigError(f"link_tag: {tag}; nothing was written")
    if tag.deleted:
        raise ConfigError(f"link_tag: StashDB has deleted tag {tag.stashdb_id} ({tag.name!r}); nothing was written")
    cache = TagCache.build(context.local)
    answer = link_tag(context.local, cache, tag, args["tag_id"], context.endpoint,
                      add_alias=args.get("add_alias"), replace=args.get("replace", False))
    log.info("link_tag: tag %r (id %s) %s StashDB tag %s %r; alias: %s", answer["tag_name"], answer["tag_id"],
             "was already linked to" if answer["already_linked"] else "is now linked to", tag.stashdb_id,
             tag.name, answer["alias_note"])
    return answer


def create(args: dict, context: OperationContext) -> dict:
    ids = args["stashdb_ids"]
    tags = stashdb_tags_by_id(ids, args.get("report"), context)
    creator = TagCreator(context.local, TagCache.build(context.local), context.endpoint,
                         parent_from_category=args.get("parent_from_category", False))
    results = []
    for stashdb_id in ids:
        tag = tags[stashdb_id]
        if isinstance(tag, str):
            results.append(TagCreation(stashdb_id, "", SKIPPED, tag))
        else:
            results.append(creator.create(tag))
        log.info("create_tags: StashDB tag %s %r: %s %s", stashdb_id, results[-1].name, results[-1].status,
                 results[-1].reason)
    counts = {status: sum(r.status == status for r in results) for status in ("created", "skipped", "failed")}
    return {"endpoint": context.endpoint, **counts, "tags": [r.as_dict() for r in results]}


def exclude(args: dict, context: OperationContext) -> dict:
    answer = exclude_tag(context.local, args["name"])
    log.info("exclude_tag: %r %s (%s)", args["name"], f"now excluded by {answer['pattern']!r}" if answer["written"]
             else f"already excluded by {answer['already_excluded_by']!r}", GLOBAL_PATTERNS_NOTE)
    return answer


def undo(args: dict, context: OperationContext) -> dict:
    folder = choose_report(context.report_dir, context.endpoint, args["report"])
    return undo_run(context.local, folder, dry_run=args.get("dry_run", True), report_dir=context.report_dir)


def pin(args: dict, context: OperationContext) -> dict:
    folder = choose_memory(context.report_dir, context.endpoint, args.get("report"))
    return pin_matches(context.local, folder, endpoint=context.endpoint,
                       exclude_patterns=exclude_patterns(context.configuration), dry_run=args.get("dry_run", True))


def list_runs(args: dict, context: OperationContext) -> dict:
    """The newest runs first, each with its counts, the report it started from (a re-match's
    memory, an undo's run) and, when undone, the undo's report."""
    folders = report_folders(context.report_dir)
    undone = {f.run.get("source_report"): f.name for f in folders if f.run.get("kind") == UNDO_LABEL}
    runs = [_run_row(folder, undone.get(folder.name)) for folder in folders[:MAX_RUNS_LISTED]]
    return {"runs": runs, "total": len(folders)}


def _run_row(folder, undone_by: str | None) -> dict:
    summary = read_summary(folder) or {}
    outcomes = summary.get("outcomes") if isinstance(summary.get("outcomes"), dict) else {}
    return {"report": folder.name, "kind": folder.run.get("kind", "sync"), "endpoint": folder.endpoint,
            "started_at": folder.run.get("started_at"), "dry_run": folder.run.get("dry_run"),
            "targeted": folder.targeted, "finished": bool(summary), "scenes_updated": outcomes.get("updated"),
            "tags_added": summary.get("tags_added"), "tags_removed": summary.get("removed"),
            "source_report": folder.run.get("source_report"), "undone_by": undone_by}


def refresh_plan(args: dict, context: OperationContext) -> dict:
    """Whether the refresh task can stand in for the full sync now, from which report and
    since when; or why not (the page makes the refresh its first action only when it can)."""
    return refresh_availability(context.report_dir, context.endpoint, time.time())


_OPERATIONS = {UNMATCHED_TAGS: unmatched_tags, TAG_SCENES: tag_scenes, LINK_TAG: link, CREATE_TAGS: create,
               EXCLUDE_TAG: exclude, UNDO_RUN: undo, LIST_RUNS: list_runs, PIN_MATCHES: pin,
               REMATCH_CANDIDATES: rematch_candidates, REFRESH_PLAN: refresh_plan}


# -- StashDB tag details: the report first, StashDB for the rest ----------------------

def stashdb_tags_by_id(ids: list[str], report_name: str | None, context: OperationContext) -> dict[str, Any]:
    """Per id: its StashDBTag, or a text saying why there is none (unknown to StashDB). A tag
    the report knows by name only (its details request failed in that run) is asked again."""
    try:
        known = read_stashdb_tags(choose_report(context.report_dir, context.endpoint, report_name), set(ids))
    except ReportNotFound:
        if report_name is not None:
            raise
        known = {}
    found: dict[str, Any] = {i: known[i] for i in ids if i in known and known[i].described}
    missing = [i for i in ids if i not in found]
    if missing:
        found.update(zip(missing, _ask_stashdb(missing, context)))
    return found


def _ask_stashdb(ids: list[str], context: OperationContext) -> list[Any]:
    try:
        answers = context.make_stashdb().find_tags_by_ids(ids)
    except StashDBAuthError as exc:
        raise ConfigError(f"StashDB rejected the API key ({exc}); check it in Settings > Metadata Providers") from None
    except StashDBError as exc:
        raise ConfigError(f"could not ask StashDB about {len(ids)} tags ({exc}); nothing was written") from None
    results = []
    for stashdb_id, answer in zip(ids, answers):
        tag = StashDBTag.from_answer(answer) if isinstance(answer, dict) else None
        if tag is not None:
            results.append(tag)
        elif isinstance(answer, StashDBError):
            results.append(f"StashDB could not look up tag {stashdb_id} ({answer})")
        else:
            results.append(f"StashDB has no tag {stashdb_id}")
    return results
