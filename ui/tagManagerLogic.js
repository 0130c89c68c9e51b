// tagManager's page: the pure parts (no React, no network), so node's test runner can check them.
// Loaded by Stash before tagManager.js; exported as window.TagManagerLogic and, under node,
// as module.exports. Every rule about tags and runs lives in the Python operations: the mode
// is run_mode's answer, the listing (filtered, sorted, paged) unmatched_tags', the scenes
// to re-sync tag_scenes', the scenes to re-match rematch_candidates', the runs list_runs',
// what an undo or a pin does undo_run's and pin_matches'. This file only keeps the page's
// own state and words.
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

  function plural(count, one, many) {
    return count + " " + (count === 1 ? one : (many || one + "s"));
  }

  // -- the re-match offer: rematch_candidates' answer -----------------------------------

  // What the page says of the scenes that can gain tags resolved since the last run; null
  // when there is no whole-library run to offer from (the panel is then left out).
  function offerSummary(offer) {
    if (!offer || !offer.report) return null;
    var total = offer.total || 0;
    var tags = (offer.tags || []).map(function (tag) {
      return { key: tag.stashdb_id, text: tag.name + " → " + (tag.tag_name || "tag " + tag.tag_id) + " (" + plural(tag.scenes, "scene") + ")" };
    });
    var notes = [];
    if (offer.tags_total > tags.length) notes.push("and " + plural(offer.tags_total - tags.length, "more tag") + ".");
    if (offer.missing) notes.push(plural(offer.missing, "scene") + " of the last run " + (offer.missing === 1 ? "is" : "are") + " no longer in Stash.");
    if (offer.note) notes.push(offer.note);
    return {
      count: total, sceneIds: offer.scene_ids || [], tags: tags, notes: notes,
      text: total ? plural(total, "scene") + " can gain tags from tags resolved since the last run." :
        "No scene can gain tags from tags resolved since the last run."
    };
  }

  // The re-match button's words; the mode is run_mode's answer (the task follows it).
  function rematchButtonLabel(count, mode) {
    var dry = !mode || mode.dry_run !== false;
    return "Re-match " + (count === 1 ? "this scene" : "these " + count + " scenes") + (dry ? " (dry run)" : "");
  }

  // What the page says after the re-match task, from that run's own row in list_runs' next
  // answer (never from the settings). `before` is the newest report when the task started.
  function rematchOutcome(count, before, runs, job) {
    var scenes = plural(count, "scene");
    if (!job.ok) return { ok: false, text: "The re-match " + job.text + "." };
    var run = runs && runs.runs && runs.runs[0];
    if (!run || run.report === before || run.kind !== "rematch") {
      return { ok: false, text: "The re-match of " + scenes + " finished, but left no report, so whether it wrote is unknown: see Stash's log." };
    }
    if (run.dry_run !== false) return { ok: true, text: "Dry run of the re-match of " + scenes + " finished: nothing was written (see Stash's log)." };
    return { ok: true, text: "Re-matched " + scenes + ": " + plural(run.scenes_updated || 0, "scene") + " updated, " +
      plural(run.tags_added || 0, "tag") + " added." };
  }

  // -- runs and their undo: list_runs' and undo_run's answers ---------------------------

  // A report's time ("2026-12-02T08:29:58+0000", as run_report writes it) as a Date; null
  // when it does not read as one.
  function runTime(text) {
    var match = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)([+-]\d\d):?(\d\d)$/.exec(String(text || ""));
    var date = match ? new Date(match[1] + match[2] + ":" + match[3]) : null;
    return date && !isNaN(date.getTime()) ? date : null;
  }

  var KIND_NAMES = { sync: "Sync", rematch: "Re-match", undo: "Undo" };

  function known(value) { return value !== null && value !== undefined; }

  // A run's numbers in words: what a live run wrote, what an undo removed.
  function runCounts(run) {
    if (run.dry_run !== false) return "nothing written";
    if (run.kind === "undo") {
      return [known(run.tags_removed) ? plural(run.tags_removed, "tag") + " removed" : null,
        run.source_report ? "undoes " + run.source_report : null].filter(Boolean).join("; ");
    }
    return [known(run.scenes_updated) ? plural(run.scenes_updated, "scene") + " updated" : null,
      known(run.tags_added) ? plural(run.tags_added, "tag") + " added" : null].filter(Boolean).join(", ");
  }

  // One list_runs row as the Runs section shows it: what it was, its numbers, whether it can
  // be undone (a live sync or re-match not undone yet) or was.
  function runRow(run) {
    var live = run.dry_run === false;
    var scope = run.kind === "sync" ? (run.targeted ? ", chosen scenes" : ", whole library") : "";
    return {
      report: run.report, label: (KIND_NAMES[run.kind] || String(run.kind)) + (live ? "" : " (dry run)") + scope,
      counts: [runCounts(run), run.finished ? "" : "not finished"].filter(Boolean).join("; "), time: runTime(run.started_at),
      undoable: live && (run.kind === "sync" || run.kind === "rematch") && !run.undone_by,
      undone: run.undone_by ? "undone by " + run.undone_by : ""
    };
  }

  function runRows(answer) {
    return ((answer && answer.runs) || []).map(runRow);
  }

  // undo_run's dry run -> what the dialog says before asking to confirm.
  function undoPreview(answer) {
    var tags = (answer && answer.tags) || 0;
    var extra = [];
    if (answer && answer.tags_already_gone) extra.push(plural(answer.tags_already_gone, "tag") + " it added " + (answer.tags_already_gone === 1 ? "is" : "are") + " already gone");
    if (answer && answer.scenes_missing) extra.push(plural(answer.scenes_missing, "scene") + " no longer in Stash");
    return {
      text: "This " + (answer ? answer.summary : "would remove nothing") + "." + (extra.length ? " (" + extra.join("; ") + ".)" : ""),
      canConfirm: tags > 0, confirmLabel: tags > 0 ? "Remove " + plural(tags, "tag") : "Nothing to undo"
    };
  }

  // undo_run's live answer -> what the dialog says after.
  function undoResult(answer) {
    var failed = (answer && answer.failed) || 0;
    var text = answer.summary.charAt(0).toUpperCase() + answer.summary.slice(1) + ".";
    return { ok: !failed, text: failed ? text + " " + plural(failed, "scene") + " failed: see Stash's log; undo again to retry them." : text };
  }

  // -- pin name matches: pin_matches' answer --------------------------------------------

  function pinRowText(row) {
    return row.tag_name + " ← StashDB " + row.stashdb_name + " (by " + row.matched_by + ")";
  }

  // The preview: its summary, the first rows it would pin, and every row left alone because
  // the local tag is linked to another StashDB tag.
  function pinPreview(answer, shown) {
    var rows = (answer && answer.rows) || [];
    var pins = rows.filter(function (row) { return row.status === "would_pin"; });
    var limit = shown || 10;
    var elsewhere = rows.filter(function (row) { return row.status === "already_linked_elsewhere"; }).map(function (row) {
      var linked = (row.linked_to || []).map(function (l) { return l.stashdb_name || l.stashdb_id; }).join(", ");
      return { key: row.tag_id + ":" + row.stashdb_id, text: pinRowText(row) + ": left alone, linked to " + (linked || "another StashDB tag") };
    });
    var count = (answer && answer.would_pin) || 0;
    return {
      summary: answer ? answer.summary.charAt(0).toUpperCase() + answer.summary.slice(1) + "." : "",
      rows: pins.slice(0, limit).map(function (row) { return { key: row.tag_id + ":" + row.stashdb_id, text: pinRowText(row) }; }),
      more: Math.max(0, count - Math.min(limit, pins.length)), elsewhere: elsewhere,
      canConfirm: count > 0, confirmLabel: count > 0 ? "Pin " + plural(count, "StashDB tag") : "Nothing to pin"
    };
  }

  // "2026-12-01T09:30:00Z" as "2026-12-01 09:30 UTC"; anything else as it came.
  function utcMinute(text) {
    var match = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d):\d\dZ$/.exec(String(text || ""));
    return match ? match[1] + " " + match[2] + " UTC" : String(text);
  }

  // The refresh button and its note, from refresh_plan's answer and run_mode's. The refresh is
  // the page's first action whenever it can stand in for the full sync (the task itself runs
  // the full sync, or refuses in a dry run, when StashDB's answers say it cannot).
  function refreshOffer(plan, mode) {
    var dry = !mode || mode.dry_run !== false;
    if (!plan) return { available: false, primary: false, label: "Refresh", note: "" };
    if (!plan.available) {
      return { available: false, primary: false, label: "Refresh (changes only)",
        note: "The refresh is not available: " + plan.reason + ". The sync asks StashDB about every scene and makes one." };
    }
    return { available: true, primary: true,
      label: dry ? "Refresh, dry run (changes only)" : "Refresh (changes only, writes tags)",
      note: "The refresh asks StashDB only about the scenes StashDB changed since " + utcMinute(plan.since) +
        " (an hour before the last whole-library run began) and answers the rest from report " + plan.report +
        ": far fewer requests than the sync." };
  }

  function pinResult(answer) {
    var text = answer.summary.charAt(0).toUpperCase() + answer.summary.slice(1) + ".";
    if (answer.already_linked_elsewhere) text += " " + plural(answer.already_linked_elsewhere, "tag") + " left alone (linked to another StashDB tag).";
    if (answer.failed) text += " " + plural(answer.failed, "tag") + " failed: see Stash's log.";
    return { ok: !answer.failed, text: text };
  }

  var api = {
    PAGE_SIZE: PAGE_SIZE, withSetting: withSetting, pageInfo: pageInfo, offsetPastTheEnd: offsetPastTheEnd,
    isOpen: isOpen, toggleSelected: toggleSelected, toggleAll: toggleAll, selectedOpenIds: selectedOpenIds,
    affectingIds: affectingIds, tableRows: tableRows, syncOutcome: syncOutcome, describeState: describeState,
    statesFromCreation: statesFromCreation, summaryRows: summaryRows, jobState: jobState,
    stashBoxTagUrl: stashBoxTagUrl, rematchRows: rematchRows, offerSummary: offerSummary,
    rematchButtonLabel: rematchButtonLabel, rematchOutcome: rematchOutcome, runTime: runTime, runRow: runRow,
    runRows: runRows, undoPreview: undoPreview, undoResult: undoResult, pinPreview: pinPreview, pinResult: pinResult,
    refreshOffer: refreshOffer
  };
  root.TagManagerLogic = api;
  if (typeof module !== "undefined" && module.exports) module.exports = api;
})(typeof window !== "undefined" ? window : globalThis);
