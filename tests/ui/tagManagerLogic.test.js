// The page's pure logic, under node's own test runner: `node --test tests/ui`.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const logic = require("../../ui/tagManagerLogic.js");

const tag = (id, name, scenes, extra = {}) => ({ stashdb_id: id, name, scenes, aliases: [], category: null, ...extra });

test("writing one setting keeps every other key and does not touch the map it was given", () => {
  const current = { syncEndpoint: "Box", syncCreateMissing: true };
  assert.deepEqual(logic.withSetting(current, "syncDryRun", false), { syncEndpoint: "Box", syncCreateMissing: true, syncDryRun: false });
  assert.deepEqual(current, { syncEndpoint: "Box", syncCreateMissing: true });
  assert.deepEqual(logic.withSetting(null, "syncDryRun", true), { syncDryRun: true });
});

test("the page decides no mode: syncDryRun is only the key the switch writes, and run_mode is asked", () => {
  const fs = require("node:fs");
  const path = require("node:path");
  const page = fs.readFileSync(path.join(__dirname, "../../ui/tagManager.js"), "utf8");
  const pure = fs.readFileSync(path.join(__dirname, "../../ui/tagManagerLogic.js"), "utf8");
  assert.deepEqual(page.match(/syncDryRun/g), ["syncDryRun"]);
  assert.match(page, /writeSetting\("syncDryRun", dryRun\)\.then\(load\)/);   // written, then run_mode asked again
  assert.match(page, /operation\(\{ mode: "run_mode" \}\)/);
  assert.equal(pure.includes("syncDryRun"), false);
  assert.equal(logic.explainMode, undefined);
});

test("the pager comes from the answer's offset, limit and total", () => {
  const page = (offset, shown, total) => ({ offset, limit: 50, total, tags: Array.from({ length: shown }, (_, i) => i) });
  assert.deepEqual(logic.pageInfo(page(100, 20, 120)), { page: 2, pages: 3, first: 101, last: 120, previous: 50, next: null });
  assert.deepEqual(logic.pageInfo(page(0, 50, 120)), { page: 0, pages: 3, first: 1, last: 50, previous: null, next: 50 });
  assert.deepEqual(logic.pageInfo(page(0, 0, 0)), { page: 0, pages: 1, first: 0, last: 0, previous: null, next: null });
  assert.deepEqual(logic.pageInfo(null), { page: 0, pages: 1, first: 0, last: 0, previous: null, next: null });
});

test("a page found empty past the end goes back to the last page there is", () => {
  assert.equal(logic.offsetPastTheEnd({ offset: 100, limit: 50, total: 60, tags: [] }), 50);
  assert.equal(logic.offsetPastTheEnd({ offset: 50, limit: 50, total: 0, tags: [] }), null);   // nothing left at all
  assert.equal(logic.offsetPastTheEnd({ offset: 50, limit: 50, total: 60, tags: [tag("1", "A", 1)] }), null);
  assert.equal(logic.offsetPastTheEnd({ offset: 0, limit: 50, total: 0, tags: [] }), null);
});

test("selecting keeps rows across pages: one row toggles; a page selects all, or unselects all when all were in", () => {
  const rows = [tag("1", "A", 1), tag("2", "B", 1)];
  let selection = logic.toggleSelected({}, rows[0]);
  assert.deepEqual(Object.keys(selection), ["1"]);
  selection = logic.toggleAll(selection, rows);
  assert.deepEqual(selection, { 1: rows[0], 2: rows[1] });
  assert.deepEqual(logic.toggleAll(selection, rows), {});
  assert.deepEqual(Object.keys(logic.toggleSelected(selection, rows[0])), ["2"]);
  const later = logic.toggleSelected(selection, tag("9", "Z", 1));   // from another page
  assert.deepEqual(logic.selectedOpenIds(later, { 1: { kind: "created" }, 2: { kind: "failed", reason: "x" } }), ["2", "9"]);
});

test("the tags the targeted re-run covers are the resolved ones, skipped and failed left out", () => {
  const resolved = { a: { kind: "linked" }, b: { kind: "excluded" }, c: { kind: "skipped" }, d: { kind: "failed" }, e: { kind: "created" } };
  assert.deepEqual(logic.affectingIds(resolved), ["a", "b", "e"]);
  assert.deepEqual(logic.affectingIds({}), []);
  assert.equal(logic.isOpen(undefined), true);
  assert.equal(logic.isOpen({ kind: "failed" }), true);
  assert.equal(logic.isOpen({ kind: "linked" }), false);
});

test("rows resolved here stay in the table after a fresh listing leaves them out, first", () => {
  const listed = [tag("2", "B", 3), tag("3", "C", 1)];
  const resolvedRows = { 9: tag("9", "Z", 5), 2: tag("2", "B", 3) };
  assert.deepEqual(logic.tableRows(listed, resolvedRows).map((t) => t.stashdb_id), ["9", "2", "3"]);
  assert.deepEqual(logic.tableRows([], {}), []);
});

test("after the targeted re-run the page says what the run's own report says, not what the settings say", () => {
  const finished = logic.jobState({ status: "FINISHED" });
  const listing = (report, dryRun) => ({ newest_run: { report, dry_run: dryRun, targeted: true, finished: true } });
  const live = logic.syncOutcome(5, "r1", listing("r2", false), finished);
  assert.deepEqual(live, { ok: true, synced: true, text: "Synced the 5 affected scenes: their resolved tags are on them now." });
  const dry = logic.syncOutcome(1, "r1", listing("r2", true), finished);
  assert.equal(dry.synced, false);
  assert.equal(dry.text, "Dry run of the 1 affected scene finished: nothing was written (see Stash's log).");
  for (const unknown of [listing("r1", false), null, {}]) {   // no new report: the page cannot tell
    const said = logic.syncOutcome(5, "r1", unknown, finished);
    assert.equal(said.synced, false);
    assert.match(said.text, /whether it wrote is unknown/);
  }
  const failed = logic.syncOutcome(5, "r1", listing("r2", false), logic.jobState({ status: "FAILED", error: "boom" }));
  assert.deepEqual(failed, { ok: false, synced: false, text: "The sync failed: boom." });
});

test("create_tags' answer becomes one state per tag", () => {
  const states = logic.statesFromCreation({ tags: [
    { stashdb_id: "a", name: "Big Tits", status: "created", tag_id: "9", reason: "" },
    { stashdb_id: "b", name: "Anal", status: "skipped", reason: "local tag 'Anal' already matches it" }] });
  assert.deepEqual(states.a, { kind: "created", tagName: "Big Tits", tagId: "9" });
  assert.equal(logic.describeState(states.b), "skipped: local tag 'Anal' already matches it");
  assert.equal(logic.describeState({ kind: "linked", tagName: "Stocking" }), "linked to Stocking");
  assert.equal(logic.describeState({ kind: "excluded", pattern: "^rope$" }), "excluded by ^rope$");
});

test("a job's state: running with progress, finished, failed with its error, gone means finished", () => {
  assert.deepEqual(logic.jobState({ status: "RUNNING", progress: 0.426 }), { done: false, ok: false, percent: 43, text: "running" });
  assert.equal(logic.jobState({ status: "READY", progress: null }).percent, null);
  assert.deepEqual(logic.jobState({ status: "FINISHED", progress: 1 }), { done: true, ok: true, percent: 100, text: "finished" });
  assert.deepEqual(logic.jobState({ status: "FAILED", progress: 0.2, error: "boom" }), { done: true, ok: false, percent: 20, text: "failed: boom" });
  assert.equal(logic.jobState(null).ok, true);
});

test("the summary rows say 'would' for a dry run and leave out what the summary lacks", () => {
  const dry = logic.summaryRows({ dry_run: true, scenes_total: 5, outcomes: { would_update: 3, unchanged: 2, stale_stash_id: 0 }, tags_would_add: 4 });
  assert.deepEqual(dry.map((r) => [r.label, r.value]), [["Scenes with a StashID", 5], ["Would update", 3], ["Already up to date", 2],
    ["Stale StashID (deleted on StashDB)", 0], ["Tags that would be added", 4]]);
  assert.equal(logic.summaryRows({ dry_run: false, outcomes: { updated: 1 }, tags_added: 2 })[0].label, "Updated");
  assert.deepEqual(logic.summaryRows(null), []);
});

test("a tag's stash-box page comes from the endpoint; an unusual endpoint gives none", () => {
  assert.equal(logic.stashBoxTagUrl("https://stashdb.org/graphql", "ab-1"), "https://stashdb.org/tags/ab-1");
  assert.equal(logic.stashBoxTagUrl("http://127.0.0.1:5000/box/graphql", "x"), "http://127.0.0.1:5000/box/tags/x");
  assert.equal(logic.stashBoxTagUrl("not a url", "x"), null);
  assert.equal(logic.stashBoxTagUrl(null, "x"), null);
});

test("rematchRows links each stale or unknown scene to its page in Stash, saying why", () => {
  const rows = logic.rematchRows({ rematch_scenes: [
    { scene_id: "12", title: "A scene", stashdb_id: "abc", outcome: "stale_stash_id" },
    { scene_id: "40", title: "", stashdb_id: "def", outcome: "not_found" }] });
  assert.deepStrictEqual(rows.map((r) => [r.href, r.title, r.stashId]), [["/scenes/12", "A scene", "abc"], ["/scenes/40", "Scene 40", "def"]]);
  assert.match(rows[0].reason, /deleted or merged/);
  assert.match(rows[1].reason, /does not know/);
  assert.deepStrictEqual(logic.rematchRows({ tags: [] }), []);
  assert.deepStrictEqual(logic.rematchRows(null), []);
});

// -- the re-match offer, the runs and their undo, pinning -------------------------------

const offer = (extra = {}) => ({ report: "20261202-sync", total: 2, scene_ids: ["4", "9"], tags_total: 1, missing: 0, note: null,
  tags: [{ stashdb_id: "s-rope", name: "Rope", tag_id: "7", tag_name: "Cord", scenes: 2 }], ...extra });

test("the offer says how many scenes can gain tags and from which, or is left out without a whole-library run", () => {
  assert.deepEqual(logic.offerSummary(offer()), { count: 2, sceneIds: ["4", "9"], notes: [],
    text: "2 scenes can gain tags from tags resolved since the last run.",
    tags: [{ key: "s-rope", text: "Rope → Cord (2 scenes)" }] });
  assert.equal(logic.offerSummary(offer({ total: 1, scene_ids: ["4"] })).text, "1 scene can gain tags from tags resolved since the last run.");
  assert.equal(logic.offerSummary(offer({ total: 0, scene_ids: [], tags: [] })).text,
    "No scene can gain tags from tags resolved since the last run.");
  assert.deepEqual(logic.offerSummary(offer({ tags_total: 3, missing: 1, note: "12 more scenes…" })).notes,
    ["and 2 more tags.", "1 scene of the last run is no longer in Stash.", "12 more scenes…"]);
  assert.equal(logic.offerSummary({ report: null, total: 0, note: "no report of a whole-library sync" }), null);
  assert.equal(logic.offerSummary(null), null);
});

test("the re-match button says when the mode makes it a dry run", () => {
  assert.equal(logic.rematchButtonLabel(2, { dry_run: false }), "Re-match these 2 scenes");
  assert.equal(logic.rematchButtonLabel(1, { dry_run: true }), "Re-match this scene (dry run)");
  assert.equal(logic.rematchButtonLabel(3, null), "Re-match these 3 scenes (dry run)");
});

test("after the re-match the page says what its own run row says, not what the settings say", () => {
  const ok = { ok: true, text: "finished" };
  const runs = (row) => ({ runs: [row, { report: "old", kind: "sync" }] });
  assert.deepEqual(logic.rematchOutcome(2, "old", runs({ report: "new", kind: "rematch", dry_run: false, scenes_updated: 2, tags_added: 2 }), ok),
    { ok: true, text: "Re-matched 2 scenes: 2 scenes updated, 2 tags added." });
  assert.deepEqual(logic.rematchOutcome(1, "old", runs({ report: "new", kind: "rematch", dry_run: true }), ok),
    { ok: true, text: "Dry run of the re-match of 1 scene finished: nothing was written (see Stash's log)." });
  assert.equal(logic.rematchOutcome(2, "old", { runs: [{ report: "old", kind: "sync" }] }, ok).ok, false);
  assert.equal(logic.rematchOutcome(2, "old", runs({ report: "new", kind: "sync", dry_run: false }), ok).ok, false);
  assert.deepEqual(logic.rematchOutcome(2, "old", null, { ok: false, text: "cancelled" }), { ok: false, text: "The re-match cancelled." });
});

test("a report's time reads as a date; anything else is no date", () => {
  assert.equal(logic.runTime("2026-12-02T08:29:58+0000").toISOString(), "2026-12-02T08:29:58.000Z");
  assert.equal(logic.runTime("2026-12-02T10:29:58+0200").toISOString(), "2026-12-02T08:29:58.000Z");
  for (const text of [null, "", "yesterday", "2026-13-45T99:99:99+0000"]) assert.equal(logic.runTime(text), null, text);
});

test("only a live sync or re-match not undone yet gets an undo button; an undone one says by which undo", () => {
  const row = (extra) => logic.runRow({ report: "r", started_at: "2026-12-02T08:29:58+0000", finished: true, targeted: false, ...extra });
  const sync = row({ kind: "sync", dry_run: false, scenes_updated: 3, tags_added: 5, undone_by: null });
  assert.deepEqual({ ...sync, time: sync.time.toISOString() }, { report: "r", label: "Sync, whole library",
    counts: "3 scenes updated, 5 tags added", time: "2026-12-02T08:29:58.000Z", undoable: true, undone: "" });
  assert.equal(row({ kind: "rematch", dry_run: false, scenes_updated: 2, tags_added: 2 }).undoable, true);
  const undone = row({ kind: "rematch", dry_run: false, undone_by: "u1" });
  assert.deepEqual([undone.undoable, undone.undone], [false, "undone by u1"]);
  const dry = row({ kind: "sync", dry_run: true, targeted: true, scenes_updated: 0, tags_added: 0 });
  assert.deepEqual([dry.label, dry.counts, dry.undoable], ["Sync (dry run), chosen scenes", "nothing written", false]);
  const undo = row({ kind: "undo", dry_run: false, tags_removed: 2, source_report: "r0" });
  assert.deepEqual([undo.label, undo.counts, undo.undoable], ["Undo", "2 tags removed; undoes r0", false]);
  assert.equal(row({ kind: "sync", dry_run: false, finished: false, scenes_updated: null }).counts, "not finished");
  assert.equal(row({ kind: "rematch", dry_run: false, finished: false, scenes_updated: 1 }).counts, "1 scene updated; not finished");
  assert.equal(row({ kind: "sync", dry_run: null }).undoable, false);   // unknown is not live
  assert.deepEqual(logic.runRows({ runs: [{ report: "a", kind: "sync", dry_run: true }] }).map((r) => r.report), ["a"]);
  assert.deepEqual(logic.runRows(null), []);
});

test("the undo asks with its preview's numbers and says what it did", () => {
  const preview = logic.undoPreview({ summary: "would remove 2 tags from 2 scenes", tags: 2, scenes: 2, tags_already_gone: 1, scenes_missing: 0 });
  assert.deepEqual(preview, { text: "This would remove 2 tags from 2 scenes. (1 tag it added is already gone.)", canConfirm: true,
    confirmLabel: "Remove 2 tags" });
  assert.deepEqual(logic.undoPreview({ summary: "would remove 0 tags from 0 scenes", tags: 0 }),
    { text: "This would remove 0 tags from 0 scenes.", canConfirm: false, confirmLabel: "Nothing to undo" });
  assert.deepEqual(logic.undoResult({ summary: "removed 2 tags from 2 scenes", failed: 0 }), { ok: true, text: "Removed 2 tags from 2 scenes." });
  assert.deepEqual(logic.undoResult({ summary: "removed 1 tags from 1 scenes", failed: 1 }),
    { ok: false, text: "Removed 1 tags from 1 scenes. 1 scene failed: see Stash's log; undo again to retry them." });
});

test("the pin preview shows its summary, the first rows it would pin, and every tag it leaves alone", () => {
  const pinRow = (n, status, extra = {}) => ({ tag_id: String(n), tag_name: "Local " + n, stashdb_id: "s" + n, stashdb_name: "Box " + n,
    matched_by: n % 2 ? "name" : "alias", status, ...extra });
  const rows = [pinRow(1, "already_linked_elsewhere", { linked_to: [{ stashdb_id: "x", stashdb_name: "Other" }] }),
    ...Array.from({ length: 12 }, (_, i) => pinRow(i + 2, "would_pin"))];
  const preview = logic.pinPreview({ summary: "would pin 12 StashDB tags on 12 local tags", would_pin: 12, rows });
  assert.equal(preview.summary, "Would pin 12 StashDB tags on 12 local tags.");
  assert.deepEqual(preview.rows.slice(0, 2), [{ key: "2:s2", text: "Local 2 ← StashDB Box 2 (by alias)" },
    { key: "3:s3", text: "Local 3 ← StashDB Box 3 (by name)" }]);
  assert.equal(preview.rows.length, 10);
  assert.equal(preview.more, 2);
  assert.deepEqual(preview.elsewhere, [{ key: "1:s1", text: "Local 1 ← StashDB Box 1 (by name): left alone, linked to Other" }]);
  assert.deepEqual([preview.canConfirm, preview.confirmLabel], [true, "Pin 12 StashDB tags"]);
  const none = logic.pinPreview({ summary: "would pin 0 StashDB tags on 0 local tags", would_pin: 0, rows: [] });
  assert.deepEqual([none.canConfirm, none.confirmLabel, none.more], [false, "Nothing to pin", 0]);
  assert.deepEqual(logic.pinResult({ summary: "pinned 3 StashDB tags on 2 local tags", already_linked_elsewhere: 1, failed: 0 }),
    { ok: true, text: "Pinned 3 StashDB tags on 2 local tags. 1 tag left alone (linked to another StashDB tag)." });
  assert.equal(logic.pinResult({ summary: "pinned 0 StashDB tags on 0 local tags", failed: 2 }).ok, false);
});

test("the refresh is the first action when refresh_plan says it can run, and says why not otherwise", () => {
  const plan = { available: true, reason: null, report: "20261201-093000-sync", since: "2026-12-01T08:30:00Z" };
  const live = logic.refreshOffer(plan, { dry_run: false });
  assert.equal(live.available, true);
  assert.equal(live.primary, true);
  assert.equal(live.label, "Refresh (changes only, writes tags)");
  assert.match(live.note, /changed since 2026-12-01 08:30 UTC \(an hour before the last whole-library run began\) and answers the rest from report 20261201-093000-sync/);
  assert.equal(logic.refreshOffer(plan, { dry_run: true }).label, "Refresh, dry run (changes only)");
  assert.equal(logic.refreshOffer(plan, null).label, "Refresh, dry run (changes only)");

  const none = logic.refreshOffer({ available: false, reason: "no whole-library report to refresh from", report: null }, { dry_run: false });
  assert.equal(none.available, false);
  assert.equal(none.primary, false);
  assert.match(none.note, /not available: no whole-library report to refresh from\. The sync asks StashDB about every scene/);
  assert.equal(logic.refreshOffer(null, { dry_run: false }).available, false);
});
