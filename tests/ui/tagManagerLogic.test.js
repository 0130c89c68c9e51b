// The page's pure logic, under node's own test runner: `node --test tests/ui`.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const logic = require("../../ui/tagManagerLogic.js");

const tag = (id, name, scenes, extra = {}) => ({ stashdb_id: id, name, scenes, scene_ids: [], aliases: [], category: null, ...extra });

test("an unset syncDryRun is a dry run, and the reason says it was never set", () => {
  for (const settings of [undefined, {}, { syncDryRun: null }]) {
    const mode = logic.explainMode(settings);
    assert.equal(mode.dryRun, true);
    assert.equal(mode.label, "Dry run");
    assert.match(mode.reason, /never been set/);
  }
});

test("syncDryRun on is a dry run, off is live", () => {
  assert.deepEqual([logic.explainMode({ syncDryRun: true }).label, logic.explainMode({ syncDryRun: "true" }).dryRun], ["Dry run", true]);
  const live = logic.explainMode({ syncDryRun: false });
  assert.equal(live.dryRun, false);
  assert.equal(live.label, "Live");
  assert.doesNotMatch(live.reason, /never/);
});

test("writing one setting keeps every other key and does not touch the map it was given", () => {
  const current = { syncEndpoint: "Box", syncCreateMissing: true };
  assert.deepEqual(logic.withSetting(current, "syncDryRun", false), { syncEndpoint: "Box", syncCreateMissing: true, syncDryRun: false });
  assert.deepEqual(current, { syncEndpoint: "Box", syncCreateMissing: true });
  assert.deepEqual(logic.withSetting(null, "syncDryRun", true), { syncDryRun: true });
});

test("tags sort by scene count, then name ignoring case, then id", () => {
  const sorted = logic.sortTags([tag("c", "rope", 2), tag("a", "Anal", 1), tag("b", "Big Tits", 2), tag("d", "Rope", 2)]);
  assert.deepEqual(sorted.map((t) => t.stashdb_id), ["b", "c", "d", "a"]);
});

test("the filter matches name or alias, case-insensitively, and a category", () => {
  const tags = [tag("1", "Stockings", 3, { category: "Clothing", aliases: ["Nylons"] }), tag("2", "Rope", 2, { category: "Action" }),
    tag("3", "Watermark", 1)];
  assert.deepEqual(logic.filterTags(tags, { text: "nylon", category: null }).map((t) => t.stashdb_id), ["1"]);
  assert.deepEqual(logic.filterTags(tags, { text: " ROPE ", category: null }).map((t) => t.stashdb_id), ["2"]);
  assert.deepEqual(logic.filterTags(tags, { text: "", category: "Action" }).map((t) => t.stashdb_id), ["2"]);
  assert.deepEqual(logic.filterTags(tags, { text: "", category: "" }).map((t) => t.stashdb_id), ["3"]);
  assert.deepEqual(logic.filterTags(tags, { text: "s", category: "Action" }), []);
  assert.deepEqual(logic.categoriesOf(tags), ["", "Action", "Clothing"]);
});

test("paging clamps the page and says which rows it shows", () => {
  const items = Array.from({ length: 120 }, (_, i) => i);
  assert.deepEqual({ ...logic.pageOf(items, 2, 50), items: undefined }, { items: undefined, page: 2, pages: 3, first: 101, last: 120 });
  assert.equal(logic.pageOf(items, 9, 50).page, 2);
  assert.deepEqual(logic.pageOf([], 0, 50), { items: [], page: 0, pages: 1, first: 0, last: 0 });
});

test("selecting: one row toggles; a page selects all, or unselects all when all were in", () => {
  const rows = [tag("1", "A", 1), tag("2", "B", 1)];
  let selection = logic.toggleSelected({}, "1");
  assert.deepEqual(selection, { 1: true });
  selection = logic.toggleAll(selection, rows);
  assert.deepEqual(selection, { 1: true, 2: true });
  assert.deepEqual(logic.toggleAll(selection, rows), {});
  assert.deepEqual(logic.toggleSelected(selection, "1"), { 2: true });
  assert.deepEqual(logic.selectedOpenIds({ 1: true, 2: true }, rows, { 1: { kind: "created" } }), ["2"]);
});

test("the affected scenes are the union of the resolved tags' scenes, skipped and failed ones left out", () => {
  const tags = [tag("1", "A", 2, { scene_ids: ["10", "2"] }), tag("2", "B", 2, { scene_ids: ["2", "7"] }),
    tag("3", "C", 1, { scene_ids: ["99"] }), tag("4", "D", 1, { scene_ids: ["50"] }), tag("5", "E", 1, { scene_ids: ["60"] })];
  const resolved = { 1: { kind: "linked" }, 2: { kind: "excluded" }, 4: { kind: "skipped" }, 5: { kind: "failed" } };
  assert.deepEqual(logic.affectedSceneIds(tags, resolved), ["2", "7", "10"]);
  assert.deepEqual(logic.affectedSceneIds(tags, {}), []);
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
