"""One scene's result, the run's numbers, and the summary a user reads at the end.

Every scene of the snapshot ends in exactly one outcome, or is counted as not processed
(beyond the dry-run cap, or not reached because the run stopped), so the counts always
add up to the number of scenes.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import Enum

from short_text import shorten


class Outcome(str, Enum):
    UPDATED = "updated"
    WOULD_UPDATE = "would_update"
    UNCHANGED = "unchanged"
    STALE = "stale_stash_id"          # StashDB scene deleted or merged away
    NOT_FOUND = "not_found"           # StashDB does not know the id
    ERROR = "error"
    ORGANIZED = "skipped_organized"   # syncSkipOrganized: an organized scene is left untouched
    DEFERRED = "deferred"             # a request failed: one more attempt at the end (never final)


OUTCOME_LABELS = {
    Outcome.UPDATED: "updated",
    Outcome.WOULD_UPDATE: "would update (dry run)",
    Outcome.UNCHANGED: "already up to date",
    Outcome.STALE: "stale StashID (deleted on StashDB)",
    Outcome.NOT_FOUND: "StashID unknown to StashDB",
    Outcome.ERROR: "failed",
    Outcome.ORGANIZED: "organized, left untouched (syncSkipOrganized)",
}
FINAL_OUTCOMES = tuple(OUTCOME_LABELS)

FOUND_BY_FINGERPRINT = "fingerprint"
FOUND_BY_ID = "id"
TOP_UNMATCHED = 20


@dataclass
class SceneResult:
    """One scene on its way through the run: read, found on StashDB, planned, written.

    The fetcher fills `scene` and either `stashdb_scene` (found; `outcome` still None) or
    a final `outcome`; the writer then sets the outcome and the tags it added.
    """

    scene_id: str
    scene: dict | None = None          # its details as read from Stash
    stashdb_scene: dict | None = None  # the StashDB scene its StashID names
    found_by: str | None = None        # FOUND_BY_FINGERPRINT or FOUND_BY_ID
    outcome: Outcome | None = None
    added_tag_ids: list[str] = field(default_factory=list)
    created_first: list[str] = field(default_factory=list)  # dry run: names of tags it would create, then add
    unmatched: list = field(default_factory=list)   # scene_tag_plan.UnmatchedTag: no local tag matched
    excluded_count: int = 0                           # its StashDB tags Stash's exclude patterns dropped
    message: str = ""


@dataclass
class SyncStats:
    endpoint: str
    dry_run: bool
    scenes_total: int = 0
    scenes_not_processed: int = 0
    scenes_missing: int = 0            # named by a targeted run, but gone from Stash or without a StashID
    outcomes: Counter = field(default_factory=Counter)
    tags_added: int = 0
    tags_would_add: int = 0
    unmatched_tags_skipped: int = 0
    excluded_tags_skipped: int = 0
    unmatched_scene_counts: Counter = field(default_factory=Counter)
    unmatched_stashdb_ids: dict = field(default_factory=dict)
    found_by_fingerprint: int = 0
    found_by_id: int = 0
    deferred: int = 0                  # scenes given a second attempt at the end of the run
    tags_created: int = 0              # syncCreateMissing: local tags created from StashDB tags
    tags_would_create: int = 0         # ... that a dry run would create
    tag_creations_skipped: int = 0     # ... that could not be created (see the log for why)
    aborted: str | None = None
    report_incomplete: str | None = None
    refresh: dict | None = None        # a refresh's own figures (scene_refresh.RefreshingStashDB.summary)

    def count(self, outcome: Outcome) -> int:
        return self.outcomes[outcome]

    @property
    def scenes_processed(self) -> int:
        return sum(self.outcomes[outcome] for outcome in FINAL_OUTCOMES)

    @property
    def distinct_unmatched_tags(self) -> int:
        return len(self.unmatched_scene_counts)

    def record(self, result: SceneResult) -> None:
        """Count one scene's final result."""
        self.outcomes[result.outcome] += 1
        if result.outcome is Outcome.UPDATED:
            self.tags_added += len(result.added_tag_ids)
        elif result.outcome is Outcome.WOULD_UPDATE:
            self.tags_would_add += len(result.added_tag_ids) + len(result.created_first)
        if result.found_by == FOUND_BY_FINGERPRINT:
            self.found_by_fingerprint += 1
        elif result.found_by == FOUND_BY_ID:
            self.found_by_id += 1
        self.excluded_tags_skipped += result.excluded_count
        for tag in result.unmatched:
            self.record_unmatched(tag.name, tag.stashdb_id)

    def record_unmatched(self, name: str, stashdb_id: str | None) -> None:
        self.unmatched_tags_skipped += 1
        self.unmatched_scene_counts[name] += 1
        if stashdb_id and name not in self.unmatched_stashdb_ids:
            self.unmatched_stashdb_ids[name] = stashdb_id

    def top_unmatched(self, limit: int | None = TOP_UNMATCHED) -> list[tuple[str, int]]:
        """Unmatched StashDB tag names by scene count, most frequent first (all if no limit)."""
        ranked = sorted(self.unmatched_scene_counts.items(), key=lambda item: (-item[1], item[0]))
        return ranked if limit is None else ranked[:limit]

    def as_dict(self) -> dict:
        return {
            "endpoint": self.endpoint,
            "dry_run": self.dry_run,
            "scenes_total": self.scenes_total,
            "scenes_processed": self.scenes_processed,
            "scenes_not_processed": self.scenes_not_processed,
            "scenes_missing": self.scenes_missing,
            "outcomes": {outcome.value: self.outcomes[outcome] for outcome in FINAL_OUTCOMES},
            "tags_added": self.tags_added,
            "tags_would_add": self.tags_would_add,
            "unmatched_tags_skipped": self.unmatched_tags_skipped,
            "unmatched_tags_distinct": self.distinct_unmatched_tags,
            "excluded_tags_skipped": self.excluded_tags_skipped,
            "found_by_fingerprint": self.found_by_fingerprint,
            "found_by_id": self.found_by_id,
            "deferred_to_second_attempt": self.deferred,
            "tags_created": self.tags_created,
            "tags_would_create": self.tags_would_create,
            "tag_creations_skipped": self.tag_creations_skipped,
            "top_unmatched_tags": [
                {"name": shorten(name), "scenes": count, "stashdb_id": self.unmatched_stashdb_ids.get(name)}
                for name, count in self.top_unmatched()
            ],
            "aborted": self.aborted,
            "report_incomplete": self.report_incomplete,
            **({"refresh": self.refresh} if self.refresh is not None else {}),
        }


def summary_lines(stats: SyncStats) -> list[str]:
    mode = "DRY RUN - nothing was written" if stats.dry_run else "live run"
    lines = [
        f"Summary ({mode}) for {stats.endpoint}:",
        f"  scenes with a StashID for this endpoint: {stats.scenes_total}",
    ]
    if stats.dry_run:
        would = stats.count(Outcome.WOULD_UPDATE)
        lines.append(f"  previewed {stats.scenes_processed} of {stats.scenes_total} scenes; {would} would change")
    for outcome in FINAL_OUTCOMES:
        if stats.outcomes[outcome]:
            lines.append(f"  {OUTCOME_LABELS[outcome]}: {stats.outcomes[outcome]}")
    if stats.scenes_not_processed:
        reason = "the run stopped early" if stats.aborted else "beyond the dry-run limit"
        lines.append(f"  not processed ({reason}): {stats.scenes_not_processed}")
    if stats.deferred:
        lines.append(f"  given a second attempt after a failed request: {stats.deferred}")
    if stats.dry_run:
        lines.append(f"  tags that would be added: {stats.tags_would_add}")
    else:
        lines.append(f"  tags added: {stats.tags_added}")
    lines.extend(_creation_lines(stats))
    lines.append(f"  StashDB tags with no local match (skipped): {stats.distinct_unmatched_tags} distinct tags, "
                 f"{stats.unmatched_tags_skipped} occurrences on scenes")
    if stats.excluded_tags_skipped:
        lines.append(f"  StashDB tags dropped by exclude patterns: {stats.excluded_tags_skipped} occurrences")
    top = stats.top_unmatched()
    if top:
        lines.append("  most frequent unmatched StashDB tags (create or link them, then re-run):")
        lines.extend(f"    {shorten(name)!r}: {count} scenes" for name, count in top)
    if stats.report_incomplete:
        lines.append(f"  REPORT INCOMPLETE: {stats.report_incomplete}")
    if stats.aborted:
        lines.append(f"  RUN STOPPED: {stats.aborted}")
    return lines


def _creation_lines(stats: SyncStats) -> list[str]:
    """syncCreateMissing's part of the summary (nothing when it created or skipped nothing)."""
    lines = []
    if stats.tags_would_create:
        lines.append(f"  local tags that would be created from StashDB tags: {stats.tags_would_create}")
    if stats.tags_created:
        lines.append(f"  local tags created from StashDB tags: {stats.tags_created}")
    if stats.tag_creations_skipped:
        lines.append(f"  StashDB tags that could not be created (see the log): {stats.tag_creations_skipped}")
    return lines
