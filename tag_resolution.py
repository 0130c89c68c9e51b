"""What to do about a StashDB tag no local tag matched: link a local tag to it, create it, or
exclude it.

Stash's rules, kept here so that Stash never has to refuse a write we send:
- a name or alias may be held once, as a name or an alias, compared with SQLite `LIKE`
  (pkg/tag/update.go EnsureTagNameUnique / EnsureAliasesUnique); `tagCreate` trims names
  and aliases;
- `tagUpdate` REPLACES every list it is given: the tag is read just before, its lists are
  merged, and the merged lists are written, so no alias or StashID is lost;
- `configureScraping` replaces the exclude-pattern list: read, append, write.

Every change is one request, complete or not done at all.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping

from go_regexp import go_quote_meta
from stash_local import StashAuthError, StashLocalError
from stashdb_tag import StashDBTag
from tag_matching import TagCache, TagExcluder, like_key, match_stashdb_tag_to_local

log = logging.getLogger("tagManager.resolve")

CREATED, WOULD_CREATE, SKIPPED, FAILED = "created", "would_create", "skipped", "failed"
GLOBAL_PATTERNS_NOTE = ("Stash's exclude tag patterns are global: they also apply to Identify and to the "
                        "scene Tagger (Settings > Metadata Providers > Scraping)")


class ResolutionError(Exception):
    """The request cannot be carried out; nothing was written. The text says why."""


# -- creating ------------------------------------------------------------------------

@dataclass
class TagCreation:
    """What became of one StashDB tag that was to be created locally."""

    stashdb_id: str
    name: str
    status: str
    reason: str = ""
    tag_id: str | None = None
    aliases: list[str] = field(default_factory=list)
    dropped_aliases: list[dict] = field(default_factory=list)   # {alias, reason}
    parent: dict | None = None                                  # {tag_id, name, created} or {error}

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class NewTagPlan:
    """A TagCreateInput Stash will accept, or why there is none."""

    tag_input: dict | None
    skip_reason: str = ""
    dropped_aliases: list[dict] = field(default_factory=list)


def describe_holder(cache: TagCache, tag_id: str, text: str) -> str:
    """"local tag 'Anal' (id 7) has it as its name" (or "as an alias")."""
    name = cache.get_name(tag_id) or "?"
    role = "its name" if like_key(name) == like_key(text) else "an alias"
    return f"local tag {name!r} (id {tag_id}) has it as {role}"


def plan_new_tag(tag: StashDBTag, cache: TagCache, endpoint: str, parent_id: str | None = None) -> NewTagPlan:
    """The local tag to create for `tag`, checked against every local name and alias. Pure."""
    if tag.deleted:
        return NewTagPlan(None, "StashDB has deleted this tag (merged into another?): nothing to create")
    matched = match_stashdb_tag_to_local({"id": tag.stashdb_id, "name": tag.name}, cache, endpoint)
    if matched is not None:
        return NewTagPlan(None, f"local tag {cache.get_name(matched)!r} (id {matched}) already matches it "
                                "as the sync would")
    name = tag.name.strip()
    if not name:
        return NewTagPlan(None, "its StashDB name is empty")
    holder = cache.tag_found_by_name(name)
    if holder is not None:
        return NewTagPlan(None, f"{describe_holder(cache, holder, name)}, and Stash allows a name once: "
                                f"link that tag to this StashDB tag instead")
    aliases, dropped = _acceptable_aliases(tag.aliases, name, cache)
    tag_input: dict[str, Any] = {"name": name, "aliases": aliases,
                                 "stash_ids": [{"endpoint": endpoint, "stash_id": tag.stashdb_id}]}
    if tag.description:
        tag_input["description"] = tag.description
    if parent_id is not None:
        tag_input["parent_ids"] = [parent_id]
    return NewTagPlan(tag_input, dropped_aliases=dropped)


def _acceptable_aliases(aliases: tuple[str, ...], name: str, cache: TagCache) -> tuple[list[str], list[dict]]:
    """The aliases Stash will take (trimmed, each once, held by no other tag), and the dropped ones."""
    kept, dropped, seen = [], [], {like_key(name)}
    for raw in aliases:
        alias = raw.strip()
        if not alias:
            continue
        if like_key(alias) in seen:
            dropped.append({"alias": alias, "reason": "the same as its name or another alias"})
            continue
        holder = cache.tag_found_by_name(alias)
        if holder is not None:
            dropped.append({"alias": alias, "reason": describe_holder(cache, holder, alias)})
            continue
        seen.add(like_key(alias))
        kept.append(alias)
    return kept, dropped


class TagCreator:
    """Creates local tags from StashDB tags one request at a time, keeping `cache` exact
    so that each creation is checked against every tag made before it."""

    def __init__(self, local, cache: TagCache, endpoint: str, *, parent_from_category: bool = False,
                 dry_run: bool = False):
        self.local = local
        self.cache = cache
        self.endpoint = endpoint
        self.parent_from_category = parent_from_category
        self.dry_run = dry_run

    def create(self, tag: StashDBTag) -> TagCreation:
        plan = plan_new_tag(tag, self.cache, self.endpoint)
        if plan.tag_input is None:
            return TagCreation(tag.stashdb_id, tag.name, SKIPPED, plan.skip_reason)
        if self.dry_run:
            return TagCreation(tag.stashdb_id, tag.name, WOULD_CREATE, tag_id=None,
                               aliases=plan.tag_input["aliases"], dropped_aliases=plan.dropped_aliases)
        parent = self._parent(tag) if self.parent_from_category else None
        if parent and parent.get("tag_id"):
            plan = plan_new_tag(tag, self.cache, self.endpoint, parent["tag_id"])  # the parent may hold a name now
            if plan.tag_input is None:
                return TagCreation(tag.stashdb_id, tag.name, SKIPPED, plan.skip_reason, parent=parent)
        return self._write(tag, plan, parent)

    def _write(self, tag: StashDBTag, plan: NewTagPlan, parent: dict | None) -> TagCreation:
        created, refusal = self._create(plan.tag_input)
        if created is None:
            return TagCreation(tag.stashdb_id, tag.name, FAILED, refusal, parent=parent)
        return TagCreation(tag.stashdb_id, tag.name, CREATED, tag_id=str(created["id"]),
                           aliases=list(created.get("aliases") or []), dropped_aliases=plan.dropped_aliases,
                           parent=parent)

    def _parent(self, tag: StashDBTag) -> dict | None:
        """The local tag named as the StashDB tag's category, created when missing."""
        category = (tag.category or "").strip()
        if not category or like_key(category) == like_key(tag.name.strip()):
            return None
        holder = self.cache.tag_found_by_name(category)
        if holder is not None:
            return {"tag_id": holder, "name": self.cache.get_name(holder), "created": False}
        created, refusal = self._create({"name": category})
        if created is None:
            return {"tag_id": None, "name": category, "created": False, "error": refusal}
        return {"tag_id": str(created["id"]), "name": category, "created": True}

    def _create(self, tag_input: dict) -> tuple[dict | None, str]:
        """Stash's new tag, added to the cache; or None and why Stash refused it. An
        expired session is no refusal: it stops whoever asked."""
        try:
            created = self.local.create_tag(tag_input)
        except StashAuthError:
            raise
        except StashLocalError as exc:
            return None, f"Stash refused it: {exc}"
        self.cache.add(created)
        return created, ""


def log_creation(creation: TagCreation) -> None:
    """One line per StashDB tag the sync created (or would create, or could not)."""
    dropped = "; ".join(f"{d['alias']!r}: {d['reason']}" for d in creation.dropped_aliases)
    dropped = f" (aliases left out: {dropped})" if dropped else ""
    if creation.status == CREATED:
        log.info("Created local tag %r (id %s) from StashDB tag %s%s", creation.name, creation.tag_id,
                 creation.stashdb_id, dropped)
    elif creation.status == WOULD_CREATE:
        log.info("[DRY RUN] would create local tag %r from StashDB tag %s%s", creation.name,
                 creation.stashdb_id, dropped)
    else:
        log.warning("Not creating local tag %r (StashDB tag %s): %s", creation.name, creation.stashdb_id,
                    creation.reason)


# -- linking -------------------------------------------------------------------------

def link_tag(local, cache: TagCache, tag: StashDBTag, tag_id: str, endpoint: str, *,
             add_alias: bool | None = None, replace: bool = False) -> dict:
    """Give local tag `tag_id` the StashID {endpoint, tag.stashdb_id}, keeping every other
    StashID and alias (read, merge, write), and the StashDB name as an alias when asked or,
    by default, when it differs from the local name and no tag holds it."""
    current = read_tag(local, tag_id)
    stash_ids = [dict(sid) for sid in current.get("stash_ids") or []]
    here = [sid for sid in stash_ids if sid.get("endpoint") == endpoint]
    others = [sid for sid in here if sid.get("stash_id") != tag.stashdb_id]
    if others and not replace:
        raise ResolutionError(
            f"tag {current.get('name')!r} (id {tag_id}) is already linked to StashDB tag "
            f"{others[0].get('stash_id')} for {endpoint}; send replace: true to replace that link. Nothing was written")
    already = len(others) < len(here)
    merged = [sid for sid in stash_ids if sid not in others] if replace else stash_ids
    if not already:
        merged.append({"endpoint": endpoint, "stash_id": tag.stashdb_id})
    alias, alias_note = _alias_to_add(cache, current, tag.name, add_alias)
    update: dict[str, Any] = {"id": str(current["id"])}
    if not already or others:
        update["stash_ids"] = merged
    if alias:
        update["aliases"] = list(current.get("aliases") or []) + [alias]
    written = write_tag(local, current, update, merged)
    return {"tag_id": str(current["id"]), "tag_name": written.get("name"), "stashdb_id": tag.stashdb_id,
            "stashdb_name": tag.name, "already_linked": already and not others,
            "replaced_stash_ids": [sid.get("stash_id") for sid in others] if replace else [],
            "alias_added": alias, "alias_note": alias_note, "aliases": list(written.get("aliases") or []),
            "stash_ids": [{"endpoint": s.get("endpoint"), "stash_id": s.get("stash_id")}
                          for s in written.get("stash_ids") or []],
            "written": len(update) > 1}


def _alias_to_add(cache: TagCache, tag: Mapping[str, Any], stashdb_name: str,
                  wanted: bool | None) -> tuple[str | None, str]:
    """The StashDB name to add as an alias (or None), and a note on the decision."""
    alias = stashdb_name.strip()
    if wanted is False:
        return None, "not asked for"
    if not alias or like_key(alias) == like_key(str(tag.get("name") or "")):
        return None, "the StashDB name is the local name"
    holder = cache.tag_found_by_name(alias)
    if holder == str(tag.get("id")) or any(like_key(a) == like_key(alias) for a in tag.get("aliases") or []):
        return None, "the tag already has it as an alias"
    if holder is not None:
        return None, f"not added: {describe_holder(cache, holder, alias)}, and Stash allows it once"
    return alias, "added" if wanted else "added (the StashDB name differs from the local name)"


def read_tag(local, tag_id: str) -> dict:
    """The tag as Stash has it now, with every list a merge-safe update must keep."""
    current = local.find_tag(tag_id)
    if current is None:
        raise ResolutionError(f"Stash has no tag with id {tag_id!r}; nothing was written")
    return current


def write_tag(local, current: Mapping[str, Any], update: dict, stash_ids: list[dict]) -> dict:
    """Send `update` (when it changes anything besides the id) and check Stash's answer:
    every StashID in `stash_ids` is there and no alias of `current` went missing."""
    written = local.update_tag(update) if len(update) > 1 else current
    held = {(s.get("endpoint"), s.get("stash_id")) for s in written.get("stash_ids") or []}
    missing = [sid.get("stash_id") for sid in stash_ids if (sid.get("endpoint"), sid.get("stash_id")) not in held]
    lost = set(current.get("aliases") or []) - set(written.get("aliases") or [])
    if missing or lost:
        raise ResolutionError(f"Stash's answer for tag {current.get('id')} lacks StashIDs {missing} "
                              f"or aliases {sorted(lost)}")
    return written


# -- excluding -----------------------------------------------------------------------

def exact_name_pattern(name: str) -> str:
    """A Go regexp that matches exactly this name, as Stash applies its exclude patterns
    (both lower-cased, searched unanchored): anchored, every metacharacter quoted."""
    return "^" + go_quote_meta(name) + "$"


def exclude_tag(local, configuration: Mapping[str, Any], name: str) -> dict:
    """Add the pattern for exactly `name` to Stash's exclude patterns, keeping every other."""
    scraping = configuration.get("scraping") or {}
    patterns = [p for p in scraping.get("excludeTagPatterns") or [] if isinstance(p, str)]
    pattern = exact_name_pattern(name)
    covering = next((p for p in patterns if TagExcluder([p]).excludes(name)), None)
    if covering is not None:
        return {"name": name, "pattern": pattern, "already_excluded_by": covering, "patterns": patterns,
                "written": False, "note": GLOBAL_PATTERNS_NOTE}
    kept = local.set_exclude_tag_patterns(patterns + [pattern])
    if pattern not in kept or any(p not in kept for p in patterns):
        raise ResolutionError("Stash did not keep the exclude patterns it was sent")
    return {"name": name, "pattern": pattern, "already_excluded_by": None, "patterns": kept, "written": True,
            "note": GLOBAL_PATTERNS_NOTE}
