"""One bad report file never takes an operation down: a file or line that does not decode
(nested deeper than Python decodes, cut short, the wrong type) is skipped with a warning
naming it, and the operation answers from the rest. As Stash runs the plugin: stdin JSON in,
one JSON answer out, Stash and StashDB answered by `responses`."""
from __future__ import annotations

import pytest

from tests.unit.plugin_harness import STASHDB_URL, assert_stash_protocol, log_lines, run_plugin
from tests.unit.test_plugin_operations import servers_with_unmatched_tags

NESTED = "[" * 200_000
DAMAGES = {  # name -> (the whole content of a small file, one line of a line-per-value file)
    "nested": (NESTED, NESTED),
    "cut short": ('{"endpoint": "https://stash', '{"scene_id": "1", "unmatched_stashdb_tag_ids": ["t-b'),
    "wrong type": ("[1, 2, 3]", '"a text where a row should be"'),
}
FILES = ("run.json", "summary.json", "scenes.json", "stashdb_tags.jsonl")


def damage(path, kind: str) -> None:
    whole, line = DAMAGES[kind]
    if path.name in ("run.json", "summary.json") or (path.name == "scenes.json" and kind == "nested"):
        path.write_text(whole, encoding="utf-8")
        return
    lines = path.read_text(encoding="utf-8").splitlines()
    at = 1 if path.name == "scenes.json" else 0   # after scenes.json's "[", or first
    path.write_text("\n".join([*lines[:at], line, *lines[at:]]) + "\n", encoding="utf-8")


@pytest.fixture
def reports(tmp_path):
    """Two dry runs' reports, the older one intact."""
    servers = servers_with_unmatched_tags()
    for _ in range(2):
        assert run_plugin(servers, tmp_path)[0] == 0
    folder = tmp_path / "plugin_data" / "tagManager" / "reports"
    older, newer = sorted(folder.iterdir())
    return servers, older, newer


def answer(servers, tmp_path, **args) -> tuple[dict, list[str]]:
    code, stdout, stderr = run_plugin(servers, tmp_path, args=args)
    result = assert_stash_protocol(stdout, stderr)
    assert code == 0 and result["error"] is None, result["error"]
    return result["output"], log_lines(stderr, "w")


@pytest.mark.parametrize("kind", DAMAGES)
@pytest.mark.parametrize("file_name", FILES)
def test_every_operation_answers_from_the_rest_and_warns_naming_the_file(reports, tmp_path, file_name, kind):
    servers, older, newer = reports
    damage(newer / file_name, kind)
    listed, warnings = answer(servers, tmp_path, mode="unmatched_tags")
    assert any(file_name in w and newer.name in w for w in warnings), warnings
    assert listed["report"] == (older.name if file_name == "run.json" else newer.name)
    names = {tag["name"] for tag in listed["tags"]}
    if file_name == "scenes.json" and kind == "nested":
        assert names == set()   # the report's only scene list is unreadable: nothing to list from it
    else:
        assert names == {"Big Tits", "Stockings", "Ass-to-Mouth"}
        assert all(tag["scenes"] == 3 for tag in listed["tags"])
        assert {tag["name"]: tag["category"] for tag in listed["tags"]}["Big Tits"] == "Body"
    scenes, _ = answer(servers, tmp_path, mode="tag_scenes", stashdb_ids="t-big")
    assert scenes["scene_ids"] == ([] if file_name == "scenes.json" and kind == "nested" else ["1", "2", "3"])
    linked, _ = answer(servers, tmp_path, mode="link_tag", stashdb_id="t-stockings", tag_id="4")
    assert linked["tag_id"] == "4"
    created, _ = answer(servers, tmp_path, mode="create_tags", stashdb_ids="t-big")
    assert created["created"] == 1


def test_a_sync_runs_beside_an_unreadable_report(reports, tmp_path):
    servers, _, newer = reports
    damage(newer / "run.json", "nested")
    code, stdout, stderr = run_plugin(servers, tmp_path)
    assert code == 0 and assert_stash_protocol(stdout, stderr)["error"] is None


def test_a_named_report_whose_run_json_is_unreadable_is_not_found_with_a_warning(reports, tmp_path):
    servers, _, newer = reports
    damage(newer / "run.json", "nested")
    code, stdout, stderr = run_plugin(servers, tmp_path, args={"mode": "unmatched_tags", "report": newer.name})
    result = assert_stash_protocol(stdout, stderr)
    assert code == 1 and f"no report named '{newer.name}'" in result["error"]
    assert any("run.json" in w and "not a JSON object" in w for w in log_lines(stderr, "w"))


def test_a_line_longer_than_a_row_may_be_is_skipped_without_reading_it_whole(reports, tmp_path, monkeypatch):
    import report_reader

    servers, _, newer = reports
    monkeypatch.setattr(report_reader, "MAX_LINE_BYTES", 4096)
    with open(newer / "stashdb_tags.jsonl", "a", encoding="utf-8") as handle:
        handle.write('{"stashdb_id": "t-long", "name": "' + "x" * 50_000 + '"}\n')
    listed, warnings = answer(servers, tmp_path, mode="unmatched_tags")
    assert {tag["name"] for tag in listed["tags"]} == {"Big Tits", "Stockings", "Ass-to-Mouth"}
    assert any("stashdb_tags.jsonl: 1 unreadable line skipped" in w for w in warnings), warnings
    assert listed["endpoint"] == STASHDB_URL
