// tagManager's page: the pure parts (no React, no network), so node's test runner can check them.
// Loaded by Stash before tagManager.js; exported as window.TagManagerLogic and, under node,
// as module.exports. Every rule about tags lives in the Python operations: this file only
// orders, filters, pages and counts what they answered.
(function (root) {
  "use strict";

  var PAGE_SIZE = 50;

  // The plugin's settings map as Stash stores it -> what the sync task will do, and why.
  // tag_manager.py treats an unset syncDryRun as a dry run; Stash shows that unset switch as "off".
  function explainMode(settings) {
    var value = settings ? settings.syncDryRun : undefined;
    if (value === undefined || value === null) {
      return { dryRun: true, label: "Dry run", reason: "syncDryRun has never been set, and unset means dry run (Stash's settings page shows it as off all the same)." };
    }
    if (value === true || value === "true") {
      return { dryRun: true, label: "Dry run", reason: "syncDryRun is on: a run logs what it would change and writes nothing." };
    }
    return { dryRun: false, label: "Live", reason: "syncDryRun is off: a run writes tags to your scenes." };
  }

  // configurePlugin replaces the plugin's whole settings map: keep every other key.
  function withSetting(settings, name, value) {
    var merged = {};
    Object.keys(settings || {}).forEach(function (key) { merged[key] = settings[key]; });
    merged[name] = value;
    return merged;
  }

  function fold(text) {
    return String(text || "").toLocaleLowerCase();
  }

  // Most scenes first, then by name (case-insensitive), then id, as the operation answers them.
  function sortTags(tags) {
    return tags.slice().sort(function (a, b) {
      if (b.scenes !== a.scenes) return b.scenes - a.scenes;
      var byName = fold(a.name).localeCompare(fold(b.name));
      if (byName !== 0) return byName;
      return String(a.stashdb_id).localeCompare(String(b.stashdb_id));
    });
  }

  // The distinct categories, sorted; a tag without one is under "" (shown as "no category").
  function categoriesOf(tags) {
    var seen = {};
    tags.forEach(function (tag) { seen[tag.category || ""] = true; });
    return Object.keys(seen).sort(function (a, b) { return fold(a).localeCompare(fold(b)); });
  }

  // filter: {text, category}. text matches the name or any alias, case-insensitively;
  // category null/undefined means every category, "" means tags without one.
  function filterTags(tags, filter) {
    var text = fold(filter && filter.text).trim();
    var category = filter ? filter.category : null;
    return tags.filter(function (tag) {
      if (category !== null && category !== undefined && (tag.category || "") !== category) return false;
      if (!text) return true;
      if (fold(tag.name).indexOf(text) >= 0) return true;
      return (tag.aliases || []).some(function (alias) { return fold(alias).indexOf(text) >= 0; });
    });
  }

  // One page of a list: {items, page, pages, first, last} (first/last are 1-based, 0 when empty).
  function pageOf(items, page, size) {
    size = size || PAGE_SIZE;
    var pages = Math.max(1, Math.ceil(items.length / size));
    var current = Math.min(Math.max(0, page || 0), pages - 1);
    var start = current * size;
    var slice = items.slice(start, start + size);
    return { items: slice, page: current, pages: pages, first: slice.length ? start + 1 : 0, last: start + slice.length };
  }

  // Selection is a plain object {stashdb_id: true}; each helper returns a new one.
  function toggleSelected(selection, id) {
    var next = Object.assign({}, selection);
    if (next[id]) delete next[id]; else next[id] = true;
    return next;
  }

  // Select (or, when all are already selected, unselect) the given rows, e.g. the visible page.
  function toggleAll(selection, rows) {
    var ids = rows.map(function (row) { return row.stashdb_id; });
    var allIn = ids.length > 0 && ids.every(function (id) { return selection[id]; });
    var next = Object.assign({}, selection);
    ids.forEach(function (id) { if (allIn) delete next[id]; else next[id] = true; });
    return next;
  }

  // The selected ids still open (not yet resolved), in the order of `tags`.
  function selectedOpenIds(selection, tags, resolved) {
    return tags.filter(function (tag) { return selection[tag.stashdb_id] && !(resolved && resolved[tag.stashdb_id]); })
      .map(function (tag) { return tag.stashdb_id; });
  }

  // resolved: {stashdb_id: state}. The scenes the targeted re-run must cover: the union of
  // the resolved tags' scene_ids, in id order.
  function affectedSceneIds(tags, resolved) {
    var seen = {};
    tags.forEach(function (tag) {
      var state = resolved && resolved[tag.stashdb_id];
      if (!state || state.kind === "failed" || state.kind === "skipped") return;
      (tag.scene_ids || []).forEach(function (id) { seen[id] = true; });
    });
    return Object.keys(seen).sort(function (a, b) { return Number(a) - Number(b) || a.localeCompare(b); });
  }

  // A row's state after an action, in words.
  function describeState(state) {
    if (!state) return "";
    switch (state.kind) {
      case "linked": return "linked to " + state.tagName;
      case "created": return "created" + (state.tagName ? " as " + state.tagName : "");
      case "excluded": return "excluded by " + state.pattern;
      case "skipped": return "skipped: " + state.reason;
      case "failed": return "failed: " + state.reason;
      default: return state.kind;
    }
  }

  // create_tags answers one entry per id: -> {stashdb_id: state}.
  function statesFromCreation(answer) {
    var states = {};
    ((answer && answer.tags) || []).forEach(function (entry) {
      if (entry.status === "created") {
        states[entry.stashdb_id] = { kind: "created", tagName: entry.name, tagId: entry.tag_id };
      } else {
        states[entry.stashdb_id] = { kind: entry.status === "failed" ? "failed" : "skipped", reason: entry.reason || entry.status };
      }
    });
    return states;
  }

  // The last run's numbers in the order a person reads them (from the report's summary).
  function summaryRows(summary) {
    if (!summary) return [];
    var outcomes = summary.outcomes || {};
    var rows = [
      ["Scenes with a StashID", summary.scenes_total],
      [summary.dry_run ? "Would update" : "Updated", summary.dry_run ? outcomes.would_update : outcomes.updated],
      ["Already up to date", outcomes.unchanged],
      ["Stale StashID (deleted on StashDB)", outcomes.stale_stash_id],
      ["StashID unknown to StashDB", outcomes.not_found],
      ["Failed", outcomes.error],
      [summary.dry_run ? "Tags that would be added" : "Tags added", summary.dry_run ? summary.tags_would_add : summary.tags_added],
      ["Unmatched StashDB tags", summary.unmatched_tags_distinct]
    ];
    return rows.filter(function (row) { return row[1] !== undefined && row[1] !== null; })
      .map(function (row) { return { label: row[0], value: row[1] }; });
  }

  // A Stash job, as findJob answers it -> {done, ok, percent, text}.
  function jobState(job) {
    if (!job) return { done: true, ok: true, percent: 100, text: "finished" };
    var status = job.status;
    var done = status === "FINISHED" || status === "CANCELLED" || status === "FAILED";
    var percent = typeof job.progress === "number" && job.progress >= 0 ? Math.round(job.progress * 100) : null;
    var text = { READY: "waiting in Stash's queue", RUNNING: "running", STOPPING: "stopping", FINISHED: "finished",
      CANCELLED: "cancelled", FAILED: "failed" }[status] || String(status || "").toLowerCase();
    if (job.error) text += ": " + job.error;
    return { done: done, ok: status === "FINISHED", percent: done && status === "FINISHED" ? 100 : percent, text: text };
  }

  // The tag's page on its stash-box site, from the GraphQL endpoint the report names
  // (https://stashdb.org/graphql -> https://stashdb.org/tags/<id>); null when it cannot tell.
  function stashBoxTagUrl(endpoint, stashdbId) {
    var match = /^(https?:\/\/[^/]+)(\/.*)?\/graphql\/?$/.exec(String(endpoint || ""));
    if (!match) return null;
    return match[1] + (match[2] || "") + "/tags/" + encodeURIComponent(stashdbId);
  }

  // The last run's scenes whose StashID StashDB deleted or does not know, most recent id
  // last, each linking to the scene in Stash, where the Tagger can re-match it.
  function rematchRows(listing) {
    var reasons = { stale_stash_id: "StashDB deleted or merged this scene", not_found: "StashDB does not know this StashID" };
    return ((listing && listing.rematch_scenes) || []).map(function (scene) {
      return { sceneId: scene.scene_id, href: "/scenes/" + encodeURIComponent(scene.scene_id),
        title: scene.title || "Scene " + scene.scene_id, stashId: scene.stashdb_id || "",
        reason: reasons[scene.outcome] || String(scene.outcome) };
    });
  }

  var api = {
    PAGE_SIZE: PAGE_SIZE, rematchRows: rematchRows, explainMode: explainMode, withSetting: withSetting, sortTags: sortTags,
    categoriesOf: categoriesOf, filterTags: filterTags, pageOf: pageOf, toggleSelected: toggleSelected,
    toggleAll: toggleAll, selectedOpenIds: selectedOpenIds, affectedSceneIds: affectedSceneIds,
    describeState: describeState, statesFromCreation: statesFromCreation, summaryRows: summaryRows,
    jobState: jobState, stashBoxTagUrl: stashBoxTagUrl
  };
  root.TagManagerLogic = api;
  if (typeof module !== "undefined" && module.exports) module.exports = api;
})(typeof window !== "undefined" ? window : globalThis);
