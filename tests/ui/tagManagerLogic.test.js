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
