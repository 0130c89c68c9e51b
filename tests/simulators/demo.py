"""`python -m tests.simulators demo`: the task, run as Stash runs it, with no Stash needed.

Starts both simulators over a seeded library, then runs `tag_manager.py` twice the way
Stash's Plugin Tasks button does (stdin JSON, Stash's log protocol on stderr): first as
a new user would, with `syncDryRun` never set (a dry run), then with it switched off.
Shows the log as Stash's log page would, the summary, and where the report is.

Then the loop around the sync, as the page drives it through runPluginOperation: the top
unmatched StashDB tags with their suggestions, one linked to its first suggestion, two
created, one excluded, and the targeted re-run of the scenes they affect. Then a tag linked
in Stash itself (as its tag page does): the plugin's hook, run as Stash runs it after the
write, queues a re-match, which gives exactly that tag's scenes the tag without asking
StashDB; that run is undone (preview, then live) and run again. Last, every scene is
checked against the library's own expectation for the tags as they now are.
"""
from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import requests
import yaml

from .expectations import compute_outcomes, in_library_terms
from .launch import start_simulators
from .library import generate_library

REPO_ROOT = Path(__file__).resolve().parents[2]
LEVELS = {"t": "TRACE", "d": "DEBUG", "i": "INFO", "w": "WARN", "e": "ERROR"}


NEAR_MISS_SHARE = 0.3  # some unmatched StashDB tags get a local near miss, for the suggestions to find
SHOWN_TAGS = 8


def run_demo(scenes: int, seed: int, output: Path, show_debug: bool = False) -> int:
    library = generate_library(scenes, seed, near_miss_share=NEAR_MISS_SHARE)
    stash_dir = output / "stash-config"
    stash_dir.mkdir(parents=True, exist_ok=True)
    print(f"Demo library: {scenes} scenes, {len(library.local_tags)} local tags, "
          f"{len(library.stashdb_tags)} StashDB tags (seed {seed})")
    with start_simulators(library) as sims:
        print(f"Simulated Stash at {sims.stash.url}, simulated StashDB at {sims.stashdb.url}\n")
        code = 0
        for title, settings in (("1. syncDryRun never set: a dry run", {"syncEndpoint": "StashDB"}),
                                ("2. syncDryRun switched off: a live run", LIVE)):
            print(f"=== {title}")
            sims.stash.set_plugin_settings("tagManager", settings)
            code = max(code, run_task_as_stash(sims, stash_dir, show_debug))
        expected = library.expected_summary
        wrong = [s for s, tags in sims.stash.tags_snapshot().items() if set(tags) != set(library.expected_tag_ids(s))]
        print(f"\nCheck against the library's own expectation: {expected.updated} scenes to update, "
              f"{expected.tags_added} tags to add; scenes not exactly as expected: {len(wrong)}\n")
        code = max(code, 1 if wrong else 0, resolve_unmatched_tags(sims, stash_dir, show_debug))
    return code


LIVE = {"syncEndpoint": "StashDB", "syncDryRun": False}


def resolve_unmatched_tags(sims, stash_dir: Path, show_debug: bool) -> int:
    """Steps 3-6: list, link one, create two, exclude one, re-run the affected scenes, check."""
    print("=== 3. unmatched_tags: what the live run could not match, with suggestions")
    listing = run_operation(sims, stash_dir, {"mode": "unmatched_tags", "limit": 200})
    tags = listing["tags"]
    print(f"{listing['total']} StashDB tags matched no local tag (report {listing['report']}); the first {SHOWN_TAGS}:")
    for tag in tags[:SHOWN_TAGS]:
        hint = tag["suggestions"][0] if tag["suggestions"] else None
        advice = f"suggest {hint['name']!r}: {hint['reason']}" if hint else "no suggestion"
        print(f"  {tag['name']!r} on {tag['scenes']} scenes ({tag['category'] or 'no category'}): {advice}")
    to_link = next(t for t in tags if t["suggestions"] and "already linked" not in t["suggestions"][0]["reason"])
    to_create = [t for t in tags if not t["suggestions"] and t is not to_link][:2]
    to_exclude = next(t for t in tags if t is not to_link and t not in to_create)
    suggestion = to_link["suggestions"][0]
    print(f"\n=== 4. link_tag {to_link['name']!r} -> local tag {suggestion['name']!r}; create_tags "
          f"{[t['name'] for t in to_create]}; exclude_tag {to_exclude['name']!r}")
    linked = run_operation(sims, stash_dir, {"mode": "link_tag", "stashdb_id": to_link["stashdb_id"],
                                             "tag_id": suggestion["tag_id"]})
    print(f"  linked: tag {linked['tag_name']!r} now has StashIDs {linked['stash_ids']}; alias: {linked['alias_note']}")
    created = run_operation(sims, stash_dir, {"mode": "create_tags", "stashdb_ids": [t["stashdb_id"] for t in to_create]})
    for made in created["tags"]:
        print(f"  created: {made['name']!r} (id {made['tag_id']}), aliases {made['aliases']}, "
              f"left out {[d['alias'] for d in made['dropped_aliases']]}" if made["status"] == "created"
              else f"  {made['status']}: {made['name']!r}: {made['reason']}")
    excluded = run_operation(sims, stash_dir, {"mode": "exclude_tag", "name": to_exclude["name"]})
    print(f"  excluded with pattern {excluded['pattern']!r} ({excluded['note']})")
    resolved = [t["stashdb_id"] for t in (to_link, *to_create, to_exclude)]
    affected = run_operation(sims, stash_dir, {"mode": "tag_scenes", "stashdb_ids": resolved})["scene_ids"]
    print(f"\n=== 5. the targeted live re-run of the {len(affected)} affected scenes")
    sims.stash.set_plugin_settings("tagManager", LIVE)
    code = run_task_as_stash(sims, stash_dir, show_debug, {"mode": "sync_scene_tags", "scene_ids": ",".join(affected)})
    still_open = next(t for t in tags if t["stashdb_id"] not in resolved)
    code = max(code, follow_a_link_made_in_stash(sims, stash_dir, show_debug, still_open))
    return max(code, check_after_resolving(sims, affected))


TAG_CREATE = "mutation DemoTagCreate($input: TagCreateInput!) { tagCreate(input: $input) { id } }"
TAG_UPDATE = "mutation DemoTagUpdate($input: TagUpdateInput!) { tagUpdate(input: $input) { id } }"


def follow_a_link_made_in_stash(sims, stash_dir: Path, show_debug: bool, stashdb_tag: dict) -> int:
    """Steps 6-7: a tag linked on Stash's tag page reaches its scenes through the hook's
    queued re-match; that run is undone (preview, live), then run again."""
    print(f"=== 6. syncFollowTagChanges on; in Stash, a new tag {stashdb_tag['name'] + ' (mine)'!r} is linked to "
          f"StashDB tag {stashdb_tag['name']!r} (as Stash's tag page does); Stash runs tagManager's hook")
    sims.stash.set_plugin_settings("tagManager", {**LIVE, "syncFollowTagChanges": True})
    name = stashdb_tag["name"] + " (mine)"
    tag_id = stash_graphql(sims, TAG_CREATE, {"name": name})["tagCreate"]["id"]
    link = {"id": tag_id, "name": name, "stash_ids": [{"endpoint": sims.stashdb.url, "stash_id": stashdb_tag["stashdb_id"]}]}
    stash_graphql(sims, TAG_UPDATE, link)
    hooked = run_operation(sims, stash_dir, {"mode": "follow_tag_change", "hookContext": {
        "id": int(tag_id), "type": "Tag.Update.Post", "input": link, "inputFields": sorted(link)}})
    print(f"  the hook decided in {hooked['decided_in_ms']} ms and queued job {hooked['job_id']}: "
          f"{sims.stash.plugin_tasks[-1].task_name!r}; Stash then runs it:")
    rematch = queued_task_args(sims.stash.plugin_tasks[-1])
    code = run_task_as_stash(sims, stash_dir, show_debug, rematch)
    runs = run_operation(sims, stash_dir, {"mode": "list_runs"})["runs"]
    report = next(run["report"] for run in runs if run["kind"] == "rematch" and run["dry_run"] is False)
    print(f"=== 7. undo_run {report}: a preview, the undo, a second preview; then the re-match again")
    for dry_run in ("true", "false", "true"):
        undone = run_operation(sims, stash_dir, {"mode": "undo_run", "report": report, "dry_run": dry_run})
        print(f"  {'preview' if dry_run == 'true' else 'undo'}: {undone['summary']}")
    return max(code, run_task_as_stash(sims, stash_dir, show_debug, rematch))


def stash_graphql(sims, document: str, tag_input: dict) -> dict:
    """A write by another Stash client (its tag page), with the session cookie."""
    body = requests.post(sims.stash.url, json={"query": document, "variables": {"input": tag_input}},
                         cookies={"session": sims.stash.session_cookie}, timeout=30).json()
    if body.get("errors"):
        raise SystemExit(f"Stash refused the demo's tag write: {body['errors']}")
    return body["data"]


def queued_task_args(queued) -> dict:
    """What Stash gives a queued job: the task's defaultArgs from the manifest, then its args."""
    manifest = yaml.safe_load((REPO_ROOT / "tagManager.yml").read_text(encoding="utf-8"))
    (task,) = [task for task in manifest["tasks"] if task["name"] == queued.task_name]
    return {**task["defaultArgs"], **queued.args_map}


def check_after_resolving(sims, affected: list[str]) -> int:
    library = sims.library
    local_tags = in_library_terms(sims.stash.local_tags(), sims.stashdb.url, library.endpoint)
    now = compute_outcomes(local_tags, library.local_scenes, library.stashdb_tags,
                           library.stashdb_scenes, library.endpoint, sims.stash.exclude_tag_patterns)
    wrong = [s for s, tags in sims.stash.tags_snapshot().items() if set(tags) != set(now[s].expected_tag_ids)]
    print(f"=== 8. Check against the library's own expectation for the tags and exclude patterns as they now are: "
          f"scenes not exactly as expected: {len(wrong)} (of {len(now)}; {len(affected)} re-synced)")
    return 1 if wrong else 0


def run_operation(sims, stash_dir: Path, args: dict) -> dict:
    """One operation as runPluginOperation starts it; its `output` (it must not fail)."""
    code, result = run_plugin_process(sims, stash_dir, args, echo=None)
    if code != 0 or result["error"]:
        raise SystemExit(f"{args['mode']} failed (exit {code}): {result['error']}")
    return result["output"]


def run_task_as_stash(sims, stash_dir: Path, show_debug: bool, args: dict | None = None) -> int:
    progress = ProgressEcho()
    code, result = run_plugin_process(sims, stash_dir, args or {"mode": "sync_scene_tags"},
                                      echo=lambda line: show_log_line(line, show_debug, progress))
    # The summary is in the log above, as Stash's log page shows it: not printed a second time.
    print(f"--- plugin exit code {code}; its JSON answer's error: {result['error']}\n")
    return code


def run_plugin_process(sims, stash_dir: Path, args: dict, echo) -> tuple[int, dict]:
    """tag_manager.py fed Stash's stdin JSON; its log lines go to `echo` (None: dropped)."""
    stdin = {"server_connection": sims.server_connection(plugin_dir=str(REPO_ROOT), stash_dir=str(stash_dir)),
             "args": args}
    process = subprocess.Popen(
        [sys.executable, str(REPO_ROOT / "tag_manager.py")], cwd=stash_dir, text=True,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    process.stdin.write(json.dumps(stdin))
    process.stdin.close()
    answer: list[str] = []
    reader = threading.Thread(target=lambda: answer.append(process.stdout.read()), daemon=True)
    reader.start()  # a long answer must not fill the pipe while stderr is read
    for line in process.stderr:
        if echo is not None:
            echo(line.rstrip("\n"))
    reader.join()
    code = process.wait()
    return code, json.loads(answer[0])


class ProgressEcho:
    """Stash draws a progress bar; here a line at every further 25 %."""

    def __init__(self) -> None:
        self.next_quarter = 0.25

    def __call__(self, fraction: float) -> None:
        if fraction >= self.next_quarter:
            print(f"      (task progress {fraction:.0%})")
            while self.next_quarter <= fraction:
                self.next_quarter += 0.25


def show_log_line(line: str, show_debug: bool, progress: ProgressEcho) -> None:
    if len(line) >= 2 and line[0] == "\x01" and line[2:3] == "\x02":
        level, message = line[1], line[3:]
        if level == "p":
            progress(float(message))
            return
        if level in "td" and not show_debug:
            return
        print(f"{LEVELS.get(level, level):5} {message}")
    else:
        print(f"(unprefixed) {line}")
