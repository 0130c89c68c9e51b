// tagManager's page: the pure parts (no React, no network), so node's test runner can check them.
// Loaded by Stash before tagManager.js; exported as window.TagManagerLogic and, under node,
// as module.exports. Every rule about tags and runs lives in the Python operations: the mode
// is run_mode's answer, the listing (filtered, sorted, paged) unmatched_tags', the scenes
// to re-sync tag_scenes'. This file only keeps the page's own state and words.
(function (root) {
  "use strict";

  var PAGE_SIZE = 50;

  // configurePlugin replaces the plugin's whole settings map: keep every other key.
  function withSetting(settings, name, value) {
    var merged = {};
    Object.keys(settings || {}).forEach(function (key) { merged[key] = settings[key]; });
    merged[name] = value;
    return merged;
  }

  // unmatched_tags' answer {offset, limit, total} -> where the page is:
  // {page, pages, first, last, previous, next} (first/last 1-based, 0 when empty; previous
  // and next are the offsets to ask for, null at either end).
  function pageInfo(listing) {
    var total = Math.max(0, (listing && listing.total) || 0);
    var limit = Math.max(1, (listing && listing.limit) || PAGE_SIZE);
    var offset = Math.max(0, (listing && listing.offset) || 0);
    var shown = ((listing && listing.tags) || []).length;
    return {
      page: Math.floor(offset / limit), pages: Math.max(1, Math.ceil(total / limit)),
      first: shown ? offset + 1 : 0, last: offset + shown,
      previous: offset > 0 ? Math.max(0, offset - limit) : null,
      next: offset + limit < total ? offset + limit : null
    };
  }

  // When a page comes back empty past the end (its tags were resolved meanwhile), the
  // offset of the last page there is; null when the page is where it should be.
  function offsetPastTheEnd(listing) {
    if (!listing || (listing.tags || []).length || !listing.offset || !listing.total) return null;
    var limit = Math.max(1, listing.limit || PAGE_SIZE);
    return Math.floor((listing.total - 1) / limit) * limit;
  }

  // A row is open (can be selected, linked, created, excluded) until an action succeeded.
  function isOpen(state) {
    return !state || state.kind === "failed";
  }

  // Selection is a plain object {stashdb_id: row}, across pages; each helper returns a new one.
  function toggleSelected(selection, row) {
    var next = Object.assign({}, selection);
    if (next[row.stashdb_id]) delete next[row.stashdb_id]; else next[row.stashdb_id] = row;
    return next;
  }

  // Select (or, when all are already selected, unselect) the given rows, e.g. the visible page.
  function toggleAll(selection, rows) {
    var allIn = rows.length > 0 && rows.every(function (row) { return selection[row.stashdb_id]; });
    var next = Object.assign({}, selection);
    rows.forEach(function (row) { if (allIn) delete next[row.stashdb_id]; else next[row.stashdb_id] = row; });
    return next;
  }

  // The selected ids still open, in the order they were selected.
  function selectedOpenIds(selection, resolved) {
    return Object.keys(selection || {}).filter(function (id) { return isOpen(resolved && resolved[id]); });
  }

  // resolved: {stashdb_id: state} -> the tags whose scenes the targeted re-run must cover
  // (linked, created or excluded here; not the skipped or failed ones), for tag_scenes.
  function affectingIds(resolved) {
    return Object.keys(resolved || {}).filter(function (id) {
      var kind = resolved[id] && resolved[id].kind;
      return kind && kind !== "failed" && kind !== "skipped";
    });
  }

  // The table: the rows resolved here that the listing no longer has (a fresh listing
  // leaves resolved tags out), in the order they were resolved, then the listing's page.
  function tableRows(listed, resolvedRows) {
    var listedIds = {};
    (listed || []).forEach(function (row) { listedIds[row.stashdb_id] = true; });
    var gone = Object.keys(resolvedRows || {}).filter(function (id) { return !listedIds[id]; })
      .map(function (id) { return resolvedRows[id]; });
    return gone.concat(listed || []);
  }

  // What the page says after the targeted re-run: from the run's own report as the next
  // listing names it (newest_run), never from the settings. `before` is the newest report's
  // name when the run started; job is jobState's answer.
  function syncOutcome(count, before, listing, job) {
    var scenes = count + " affected scene" + (count === 1 ? "" : "s");
    if (!job.ok) return { ok: false, synced: false, text: "The sync " + job.text + "." };
    var run = listing && listing.newest_run;
    if (!run || run.report === before) {
      return { ok: false, synced: false, text: "The sync of the " + scenes + " finished, but left no report, " +
        "so whether it wrote is unknown: see Stash's log." };
    }
    if (run.dry_run === false) {
      return { ok: true, synced: true, text: "Synced the " + scenes + ": their resolved tags are on them now." };
    }
    return { ok: true, synced: false, text: "Dry run of the " + scenes + " finished: nothing was written (see Stash's log)." };
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

  // The last run's scenes whose StashID StashDB deleted or does not know (the first ones
  // the listing names; rematch_total counts them all), each linking to the scene in Stash,
  // where the Tagger can re-match it.
  function rematchRows(listing) {
    var reasons = { stale_stash_id: "StashDB deleted or merged this scene", not_found: "StashDB does not know this StashID" };
    return ((listing && listing.rematch_scenes) || []).map(function (scene) {
      return { sceneId: scene.scene_id, href: "/scenes/" + encodeURIComponent(scene.scene_id),
        title: scene.title || "Scene " + scene.scene_id, stashId: scene.stashdb_id || "",
        reason: reasons[scene.outcome] || String(scene.outcome) };
    });
  }

  var api = {
    PAGE_SIZE: PAGE_SIZE, withSetting: withSetting, pageInfo: pageInfo, offsetPastTheEnd: offsetPastTheEnd,
    isOpen: isOpen, toggleSelected: toggleSelected, toggleAll: toggleAll, selectedOpenIds: selectedOpenIds,
    affectingIds: affectingIds, tableRows: tableRows, syncOutcome: syncOutcome, describeState: describeState,
    statesFromCreation: statesFromCreation, summaryRows: summaryRows, jobState: jobState,
    stashBoxTagUrl: stashBoxTagUrl, rematchRows: rematchRows
  };
  root.TagManagerLogic = api;
  if (typeof module !== "undefined" && module.exports) module.exports = api;
})(typeof window !== "undefined" ? window : globalThis);
