"""Pin name matches: a local tag that matches a StashDB tag today by its name or an alias
gains that StashDB tag's StashID, so that a rename on either side no longer breaks the match.

Which StashDB tags: every tag of a report's vocabulary (`stashdb_vocabulary.jsonl`, every
tag the run met), matched through today's local tags exactly as the sync matches
(tag_matching): a tag some local tag already holds as a StashID for the endpoint matches by
that link and needs no pin; otherwise the local tag that Stash's name, then alias, lookup
finds is the one pinned. Tags the exclude patterns drop are not pinned: the sync never adds
them, and a pin would let a StashDB rename that escapes the pattern add them after all.

A local tag already linked to a different StashDB tag for the endpoint is listed and left
alone (linking it too is `link_tag`'s decision, with `replace`). Every other local tag is
read fresh, its StashIDs merged with the new ones, written once with `tagUpdate`, and
checked (tag_resolution.read_tag / write_tag). A dry run (the default) writes nothing.
No StashDB request: the report holds every id and name.
"""
from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass

from report_memory import read_vocabulary
from report_reader import ReportFolder
from stash_local import StashAuthError, StashLocalError
from tag_matching import TagCache, TagExcluder, match_stashdb_tag_to_local
from tag_resolution import ResolutionError, read_tag, write_tag

log = logging.getLogger("tagManager.pin")

WOULD_PIN, PINNED, LINKED_ELSEWHERE, FAILED = "would_pin", "pinned", "already_linked_elsewhere", "failed"
STATUS_ORDER = (FAILED, LINKED_ELSEWHERE, PINNED, WOULD_PIN)   # what needs a person first
MAX_ROWS_LISTED = 200


@dataclass
class PinRow:
    """One StashDB tag and the local tag that matches it by name or alias."""

    tag_id: str
    tag_name: str
    stashdb_id: str
    stashdb_name: str
    matched_by: str                          # "name" or "alias"
    status: str
    linked_to: list[dict] | None = None      # the tag's StashIDs for the endpoint, when it has any
    reason: str = ""                         # why a write failed

    def as_dict(self) -> dict:
        row = {"tag_id": self.tag_id, "tag_name": self.tag_name, "stashdb_id": self.stashdb_id,
               "stashdb_name": self.stashdb_name, "matched_by": self.matched_by, "status": self.status}
        if self.linked_to is not None:
            row["linked_to"] = self.linked_to
        if self.reason:
            row["reason"] = self.reason
        return row

    def describe(self) -> str:
        return (f"StashDB tag {self.stashdb_id} ({self.stashdb_name!r}) on local tag {self.tag_name!r} "
                f"(id {self.tag_id}), matched by {self.matched_by}")


@dataclass
class PinPlan:
    rows: list[PinRow]
    names: dict[str, str]            # StashDB id -> name, as the report met them
    matched_by_stash_id: int = 0
    excluded: int = 0
    unmatched: int = 0


def plan_pins(vocabulary: list[tuple[str, str]], cache: TagCache, excluder: TagExcluder, endpoint: str) -> PinPlan:
    """What pinning would do against the local tags in `cache`. Pure."""
    plan = PinPlan([], {stashdb_id: name for stashdb_id, name in vocabulary if stashdb_id})
    for stashdb_id, name in plan.names.items():
        if cache.tag_linked_to(endpoint, stashdb_id) is not None:
            plan.matched_by_stash_id += 1
            continue
        if excluder.excludes(name):
            plan.excluded += 1
            continue
        tag_id = match_stashdb_tag_to_local({"id": stashdb_id, "name": name}, cache, endpoint)
        if tag_id is None:
            plan.unmatched += 1
            continue
        row = PinRow(tag_id, cache.get_name(tag_id) or "", stashdb_id, name,
                     "alias" if cache.found_by_alias(tag_id, name) else "name", WOULD_PIN)
        linked = cache.stash_ids_of(tag_id, endpoint)
        if linked:
            row.status, row.linked_to = LINKED_ELSEWHERE, linked_to(linked, plan.names)
        plan.rows.append(row)
    return plan


def linked_to(stashdb_ids, names: dict[str, str]) -> list[dict]:
    return [{"stashdb_id": i, "stashdb_name": names.get(i)} for i in stashdb_ids]


def pin_matches(local, folder: ReportFolder, *, endpoint: str, exclude_patterns, dry_run: bool) -> dict:
    """Pin (or, dry run, preview pinning) the name and alias matches of `folder`'s StashDB tags."""
    if folder.endpoint != endpoint:
        raise ResolutionError(f"report {folder.name} is of {folder.endpoint}, not of the configured stash-box "
                              f"{endpoint}; nothing was written")
    plan = plan_pins(read_vocabulary(folder), TagCache.build(local),
                     TagExcluder(exclude_patterns), endpoint)
    by_tag: dict[str, list[PinRow]] = {}
    for row in plan.rows:
        if row.status == LINKED_ELSEWHERE:
            log.warning("Not pinning %s: it is linked to %s for %s", row.describe(),
                        ", ".join(f"{x['stashdb_id']} ({x['stashdb_name']!r})" for x in row.linked_to), endpoint)
        elif dry_run:
            log.info("[DRY RUN] would pin %s", row.describe())
        else:
            by_tag.setdefault(row.tag_id, []).append(row)
    for tag_id, rows in by_tag.items():
        pin_tag(local, tag_id, rows, endpoint, plan.names)
    return answer(folder, plan, dry_run)


def pin_tag(local, tag_id: str, rows: list[PinRow], endpoint: str, names: dict[str, str]) -> None:
    """One fresh read and one write: the tag gains every row's StashID. Each row's status
    says how it went; an expired session stops the whole operation."""
    try:
        current = read_tag(local, tag_id)
        stash_ids = [dict(sid) for sid in current.get("stash_ids") or []]
        here = [sid.get("stash_id") for sid in stash_ids if sid.get("endpoint") == endpoint]
        elsewhere = [i for i in here if i not in {row.stashdb_id for row in rows}]
        if elsewhere:   # linked since the local tags were read
            for row in rows:
                row.status, row.linked_to = LINKED_ELSEWHERE, linked_to(elsewhere, names)
                log.warning("Not pinning %s: it was linked to %s meanwhile", row.describe(), ", ".join(elsewhere))
            return
        merged = stash_ids + [{"endpoint": endpoint, "stash_id": row.stashdb_id} for row in rows
                              if row.stashdb_id not in here]
        update = {"id": str(current["id"]), "stash_ids": merged} if len(merged) > len(stash_ids) else {"id": tag_id}
        write_tag(local, current, update)
    except StashAuthError:
        raise
    except (StashLocalError, ResolutionError) as exc:
        for row in rows:
            row.status, row.reason = FAILED, str(exc)
            log.warning("Could not pin %s: %s", row.describe(), exc)
        return
    for row in rows:
        row.status = PINNED
        log.info("Pinned %s", row.describe())


def answer(folder: ReportFolder, plan: PinPlan, dry_run: bool) -> dict:
    counts = Counter(row.status for row in plan.rows)
    done = WOULD_PIN if dry_run else PINNED
    local_tags = len({row.tag_id for row in plan.rows if row.status == done})
    rows = sorted(plan.rows, key=lambda r: (STATUS_ORDER.index(r.status), r.tag_name.casefold(),
                                            r.stashdb_name.casefold(), r.stashdb_id))
    summary = f"{'would pin' if dry_run else 'pinned'} {counts[done]} StashDB tags on {local_tags} local tags"
    log.info("pin_matches from report %s: %s; %d left alone (linked to another StashDB tag), %d failed",
             folder.name, summary, counts[LINKED_ELSEWHERE], counts[FAILED])
    return {"report": folder.name, "endpoint": folder.endpoint, "dry_run": dry_run,
            **{status: counts[status] for status in (WOULD_PIN, PINNED, LINKED_ELSEWHERE, FAILED)},
            "local_tags": local_tags, "matched_by_stash_id": plan.matched_by_stash_id, "excluded": plan.excluded,
            "unmatched": plan.unmatched, "rows_total": len(rows),
            "rows": [row.as_dict() for row in rows[:MAX_ROWS_LISTED]], "summary": summary}
