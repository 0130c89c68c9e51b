"""What to do about a StashDB tag no local tag matched: link a local tag to it, create it, or
exclude it.

Stash's rules, kept here so that Stash never has to refuse a write we send:
- a name or alias may be held once, as a name or an alias, compared with SQLite `LIKE`
  (pkg/tag/update.go EnsureTagNameUnique / EnsureAliasesUnique); `tagCreate` trims names
  and aliases;
- `tagUpdate` REPLACES every list it is given: the tag is read just before, its lists are
  merged, and the merged lists are written, so no alias or StashID is lost;
- `configureScraping` replaces the exclude-pattern list: read, append, write;
- after such a write the tag (or the list) is read again, and written again when another
  client's write, made from an older read, undid ours;
- a `tagCreate` whose answer is lost may have landed: the tag is looked for, not created again.

Every change is one request, complete or not done at all.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping

from go_regexp import go_quote_meta
from stash_local import StashAuthError, StashLocalError, StashWriteUncertain
from stashdb_tag import StashDBTag
from tag_matching import TagCache, TagExcluder, like_key, match_stashdb_tag_to_local

log = logging.getLogger("tagManager.resolve")

CREATED, WOULD_CREATE, SKIPPED, FAILED = "created", "would_create", "skipped", "failed"
WRITE_ATTEMPTS = 3   # a tag's lists or the exclude patterns, written again when another write undid ours
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
        created, note = self._create(plan.tag_input)
        if created is None:
            return TagCreation(tag.stashdb_id, tag.name, FAILED, note, parent=parent)
        return TagCreation(tag.stashdb_id, tag.name, CREATED, note, tag_id=str(created["id"]),
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
        """Stash's new tag, added to the cache, and a note; or None and why there is none.
        An expired session is no refusal: it stops whoever asked."""
        try:
            created, note = self.local.create_tag(tag_input), ""
        except StashAuthError:
            raise
        except StashWriteUncertain as exc:
            created, note = self._after_lost_answer(tag_input, exc)
        except StashLocalError as exc:
            return None, f"Stash refused it: {exc}"
        if created is not None and self.cache.get_name(str(created["id"])) is None:
            self.cache.add(created)
        return created, note

    def _after_lost_answer(self, tag_input: dict, lost: StashWriteUncertain) -> tuple[dict | None, str]:
        """The create's answer was lost, and Stash may have carried it out: look for the
        tag (by StashID, then by name) rather than sending the create a second time."""
        name = tag_input["name"]
        try:
            found, reason = find_created_tag(self.local, tag_input)
        except StashAuthError:
            raise
        except StashLocalError as exc:
            return None, (f"Stash's answer was lost ({lost}) and looking for the tag failed too ({exc}): "
                          f"check whether Stash has a tag {name!r} before trying again")
        if found is None:
            return None, f"Stash's answer was lost ({lost}) and {reason}; try again"
        log.warning("Stash's answer to creating tag %r was lost (%s); Stash has it: tag id %s", name, lost,
                    found["id"])
        return found, "Stash's answer was lost; the tag it created was found"


def find_created_tag(local, tag_input: dict) -> tuple[dict | None, str]:
    """The tag a `tagCreate` with `tag_input` made, or None and what Stash has instead: the
    tag holding a StashID sent (one transaction wrote them with the name); with none sent,
    the tag holding the name (Stash allows a name once)."""
    stash_ids = tag_input.get("stash_ids") or []
    for sid in stash_ids:
        holders = local.tags_with_stash_id(sid["endpoint"], sid["stash_id"])
        if holders:
            return holders[0], ""
    name = tag_input["name"]
    named = [tag for tag in local.tags_named(name) if like_key(str(tag.get("name") or "")) == like_key(name)]
    if named and not stash_ids:
        return named[0], ""
    if named:
        return None, (f"local tag {named[0].get('name')!r} (id {named[0].get('id')}) has the name but not the "
                      "StashID: it is not the tag asked for, so nothing was created")
    return None, "Stash has no such tag: nothing was created"


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

@dataclass
class LinkPlan:
    """The tagUpdate that links a tag as asked (None: it already is), and what it decides."""

    update: dict | None
    already_linked: bool
    replaced_stash_ids: list[str]
    alias: str | None
    alias_note: str


def link_tag(local, cache: TagCache, tag: StashDBTag, tag_id: str, endpoint: str, *,
             add_alias: bool | None = None, replace: bool = False) -> dict:
    """Give local tag `tag_id` the StashID {endpoint, tag.stashdb_id}, keeping every other
    StashID and alias, and the StashDB name as an alias when asked or, by default, when it
    differs from the local name and no tag holds it. The tag is read right before the write
    and again after it: when an entry written is missing (someone else wrote the tag from an
    older read), it is read, merged and written again, up to WRITE_ATTEMPTS times."""
    first: LinkPlan | None = None
    for attempt in range(1, WRITE_ATTEMPTS + 1):
        current = local.find_tag(tag_id)
        if current is None:
            raise ResolutionError(f"Stash has no tag with id {tag_id!r}; {_written_so_far(first)}")
        try:
            plan = plan_link(cache, current, tag, endpoint, add_alias, replace)
        except ResolutionError as exc:
            raise ResolutionError(f"{exc}; {_written_so_far(first)}") from None
        first = first or plan
        if plan.update is None:
            return _link_answer(first, current, tag, written=attempt > 1)
        local.update_tag(plan.update)
        after = local.find_tag(tag_id) or {}
        lost = _lost_tag_entries(plan.update, after)
        if not lost:
            return _link_answer(first, after, tag, written=True)
        log.warning("Tag %s lost %s right after tagManager wrote it (another write from an older read); "
                    "reading it again (attempt %d of %d)", tag_id, ", ".join(lost), attempt, WRITE_ATTEMPTS)
    raise ResolutionError(f"tag {tag_id} kept changing while it was being linked: after {WRITE_ATTEMPTS} writes "
                          f"it still lacks {', '.join(lost)}; check the tag in Stash")


def _written_so_far(first: LinkPlan | None) -> str:
    return "nothing was written" if first is None else \
        "an earlier write of this link was overwritten by another change to the tag"


def plan_link(cache: TagCache, current: Mapping[str, Any], tag: StashDBTag, endpoint: str,
              add_alias: bool | None, replace: bool) -> LinkPlan:
    """The merged lists to write to `current` (the tag as just read). Pure."""
    stash_ids = [dict(sid) for sid in current.get("stash_ids") or []]
    here = [sid for sid in stash_ids if sid.get("endpoint") == endpoint]
    others = [sid for sid in here if sid.get("stash_id") != tag.stashdb_id]
    if others and not replace:
        raise ResolutionError(
            f"tag {current.get('name')!r} (id {current.get('id')}) is already linked to StashDB tag "
            f"{others[0].get('stash_id')} for {endpoint}; send replace: true to replace that link")
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
    return LinkPlan(update if len(update) > 1 else None, already and not others,
                    [sid.get("stash_id") for sid in others] if replace else [], alias, alias_note)


def read_tag(local, tag_id: str) -> dict:
    """The tag as Stash has it now, with every list a merge-safe update must keep."""
    current = local.find_tag(tag_id)
    if current is None:
        raise ResolutionError(f"Stash has no tag with id {tag_id!r}; nothing was written")
    return current


def write_tag(local, current: Mapping[str, Any], update: dict) -> Mapping[str, Any]:
    """Send `update` (when it changes anything besides the id), then read the tag back:
    every StashID and alias it wrote must be there, and every alias `current` had."""
    if len(update) <= 1:
        return current
    local.update_tag(update)
    after = local.find_tag(str(current["id"])) or {}
    lost = _lost_tag_entries(update, after)
    lost += [f"alias {a!r}" for a in current.get("aliases") or [] if a not in (after.get("aliases") or [])
             and f"alias {a!r}" not in lost]
    if lost:
        raise ResolutionError(f"tag {current.get('id')} lacks {', '.join(lost)} right after tagManager wrote it")
    return after


def _lost_tag_entries(update: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """The StashIDs and aliases `update` wrote that the tag, read after, lacks."""
    links = {(s.get("endpoint"), s.get("stash_id")) for s in after.get("stash_ids") or []}
    lost = [f"StashID {s['stash_id']} ({s['endpoint']})" for s in update.get("stash_ids") or []
            if (s.get("endpoint"), s.get("stash_id")) not in links]
    aliases = set(after.get("aliases") or [])
    return lost + [f"alias {alias!r}" for alias in update.get("aliases") or [] if alias not in aliases]


def _link_answer(plan: LinkPlan, tag_now: Mapping[str, Any], tag: StashDBTag, written: bool) -> dict:
    return {"tag_id": str(tag_now.get("id")), "tag_name": tag_now.get("name"), "stashdb_id": tag.stashdb_id,
            "stashdb_name": tag.name, "already_linked": plan.already_linked,
            "replaced_stash_ids": plan.replaced_stash_ids, "alias_added": plan.alias, "alias_note": plan.alias_note,
            "aliases": list(tag_now.get("aliases") or []),
            "stash_ids": [{"endpoint": s.get("endpoint"), "stash_id": s.get("stash_id")}
                          for s in tag_now.get("stash_ids") or []],
            "written": written}


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


# -- excluding -----------------------------------------------------------------------

def exact_name_pattern(name: str) -> str:
    """A Go regexp that matches exactly this name, as Stash applies its exclude patterns
    (both lower-cased, searched unanchored): anchored, every metacharacter quoted."""
    return "^" + go_quote_meta(name) + "$"


def exclude_tag(local, name: str) -> dict:
    """Add the pattern for exactly `name` to Stash's exclude patterns, keeping every other.
    The list is read right before the write and again after it: when a pattern written is
    missing (someone else wrote the list from an older read), read, merge and write again,
    up to WRITE_ATTEMPTS times."""
    pattern = exact_name_pattern(name)
    for attempt in range(1, WRITE_ATTEMPTS + 1):
        patterns = local.exclude_tag_patterns()
        covering = next((p for p in patterns if TagExcluder([p]).excludes(name)), None)
        if covering is not None:
            ours = attempt > 1 and covering == pattern
            return _exclude_answer(name, pattern, patterns, None if ours else covering, written=attempt > 1)
        wanted = patterns + [pattern]
        local.set_exclude_tag_patterns(wanted)
        kept = local.exclude_tag_patterns()
        lost = [p for p in wanted if p not in kept]
        if not lost:
            return _exclude_answer(name, pattern, kept, None, written=True)
        log.warning("Stash's exclude patterns lost %s right after tagManager wrote them (another write from an "
                    "older read); reading them again (attempt %d of %d)", lost, attempt, WRITE_ATTEMPTS)
    raise ResolutionError(f"Stash's exclude patterns kept changing while {pattern!r} was added: after "
                          f"{WRITE_ATTEMPTS} writes they still lack {lost}; check them in Settings > Metadata "
                          "Providers > Scraping")


def _exclude_answer(name: str, pattern: str, patterns: list[str], covering: str | None, written: bool) -> dict:
    return {"name": name, "pattern": pattern, "already_excluded_by": covering, "patterns": patterns,
            "written": written, "note": GLOBAL_PATTERNS_NOTE}
