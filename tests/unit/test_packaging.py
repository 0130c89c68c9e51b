"""The package Stash's plugin manager installs: index.yml, the zip, and the local source.

Facts from Stash v0.30.1 pkg/pkg that these tests hold the build to: the index is a YAML
list of {id, name, metadata, version, date, path, sha256, requires}; `date` is
"YYYY-MM-DD HH:MM:SS" UTC; `path` is resolved against the index URL; the SHA-256 is of
the zip bytes (lower-case hex); every zip entry is written under
<plugins>/<source local path>/<id>/ with the entry's mode; every `.yml` found under the
plugins folder is loaded as a plugin manifest.
"""
from __future__ import annotations

import ast
import hashlib
import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from datetime import datetime
from pathlib import Path

import pytest
import yaml

import plugin_info
from plugin_packaging.build_index import (
    NOT_RUNTIME_MODULES,
    STASH_TIME_FORMAT,
    PackagingError,
    build_package,
    git_head_commit_date,
    main,
    normalize_stash_time,
    read_top_level_scalars,
    yaml_quote,
)
from plugin_packaging.serve_source import PluginSource

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXED_DATE = "2025-06-07 08:09:10"
HTTP_TIMEOUT_SECONDS = 5
GIT_ENV = {
    "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid",
}


def load_index(index_path: Path) -> list[dict]:
    return yaml.safe_load(index_path.read_text(encoding="utf-8"))


def zip_names(zip_path: Path) -> list[str]:
    with zipfile.ZipFile(zip_path) as archive:
        return archive.namelist()


def git(root: Path, *command: str, **env: str) -> None:
    subprocess.run(["git", "-C", str(root), *command], env={**os.environ, **GIT_ENV, **env}, check=True,
                   timeout=30, capture_output=True)


def track(root: Path) -> Path:
    """Every file in the folder tracked by git, as in a clone of the repository."""
    if not (root / ".git").exists():
        git(root, "init", "-q")
    git(root, "add", "-A")
    return root


def make_plugin_tree(root: Path, plugin_id: str = "demoPlugin", version: str = "1.2.3") -> Path:
    """A small plugin folder in git, with runtime files and everything that must stay out."""
    root.mkdir(parents=True, exist_ok=True)
    (root / f"{plugin_id}.yml").write_text(
        f"name: Demo Plugin\ndescription: Demo, does things\nversion: {version}\n"
        "exec:\n  - python\n  - \"{pluginDir}/entry.py\"\ninterface: raw\n",
        encoding="utf-8",
    )
    (root / "plugin_info.py").write_text(
        f'PLUGIN_ID = "{plugin_id}"\nPLUGIN_VERSION = "{version}"\n', encoding="utf-8"
    )
    (root / "entry.py").write_text("import helper\n", encoding="utf-8")
    (root / "helper.py").write_text("VALUE = 1\n", encoding="utf-8")
    (root / "requirements.txt").write_text("requests>=2.28\n", encoding="utf-8")
    (root / "README.md").write_text("# Demo\n", encoding="utf-8")
    (root / "conftest.py").write_text("", encoding="utf-8")
    (root / "dev.py").write_text("", encoding="utf-8")   # the developer commands: tracked, never shipped
    (root / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    for folder in ("tests", "bench", ".ci", "plugin_packaging"):
        (root / folder).mkdir()
        (root / folder / "module.py").write_text("X = 1\n", encoding="utf-8")
    (root / "tests" / "fixture.yml").write_text("a: 1\n", encoding="utf-8")
    return track(root)


@pytest.fixture(scope="module")
def repo_build(tmp_path_factory):
    return build_package(REPO_ROOT, tmp_path_factory.mktemp("dist"), date=FIXED_DATE)


# --- the real plugin's index -----------------------------------------------------------


def test_index_lists_the_plugin_with_every_field_stash_reads(repo_build):
    real_manifest = yaml.safe_load((REPO_ROOT / "tagManager.yml").read_text(encoding="utf-8"))
    packages = load_index(repo_build.index_path)

    assert isinstance(packages, list) and len(packages) == 1
    package = packages[0]
    assert set(package) == {"id", "name", "metadata", "version", "date", "path", "sha256", "requires"}
    assert package["id"] == "tagManager"
    assert package["name"] == real_manifest["name"]
    assert package["version"] == real_manifest["version"] == plugin_info.PLUGIN_VERSION
    assert package["metadata"] == {"description": real_manifest["description"]}
    assert package["requires"] == []
    assert package["path"] == "tagManager.zip"


def test_index_date_is_in_stash_time_format(repo_build):
    date = load_index(repo_build.index_path)[0]["date"]

    assert isinstance(date, str)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", date)
    assert datetime.strptime(date, STASH_TIME_FORMAT).strftime(STASH_TIME_FORMAT) == FIXED_DATE


def test_index_sha256_is_the_sha256_of_the_zip_bytes(repo_build):
    index_sha = load_index(repo_build.index_path)[0]["sha256"]

    assert re.fullmatch(r"[0-9a-f]{64}", index_sha)
    assert index_sha == hashlib.sha256(repo_build.zip_path.read_bytes()).hexdigest()


def test_manifest_version_equals_plugin_info_version():
    real_manifest = yaml.safe_load((REPO_ROOT / "tagManager.yml").read_text(encoding="utf-8"))

    assert real_manifest["version"] == plugin_info.PLUGIN_VERSION
    assert plugin_info.PLUGIN_ID == "tagManager"


# --- the real plugin's zip -------------------------------------------------------------


def test_zip_holds_the_manifest_and_every_top_level_module_at_its_root(repo_build):
    names = zip_names(repo_build.zip_path)
    top_level_modules = {path.name for path in REPO_ROOT.glob("*.py")} - NOT_RUNTIME_MODULES

    assert "tagManager.yml" in names
    assert top_level_modules <= set(names) and "dev.py" not in names   # the developer commands
    assert "requirements.txt" in names
    # Stash's installer writes subfolders (pkg/pkg/store.go MkdirAll): only the page's ui/ is one.
    assert all("/" not in name or name.startswith("ui/") for name in names), names
    assert {"ui/tagManagerLogic.js", "ui/tagManager.js", "ui/tagManager.css"} <= set(names)
    assert [name for name in names if name.endswith(".yml")] == ["tagManager.yml"]
    assert names == sorted(names)


def test_every_file_in_the_zip_is_tracked_by_git(repo_build):
    tracked = subprocess.run(["git", "-C", str(REPO_ROOT), "ls-files"], capture_output=True, text=True, timeout=30,
                             check=True).stdout.splitlines()

    assert set(zip_names(repo_build.zip_path)) <= set(tracked)


def test_zip_leaves_out_tests_and_tooling(repo_build):
    names = zip_names(repo_build.zip_path)

    assert not [name for name in names if name.startswith(("tests", "bench", ".ci", "plugin_packaging"))]
    assert "pytest.ini" not in names and "requirements-dev.txt" not in names


def test_every_local_module_a_zipped_module_imports_is_in_the_zip(repo_build):
    names = set(zip_names(repo_build.zip_path))
    with zipfile.ZipFile(repo_build.zip_path) as archive:
        sources = {name: archive.read(name) for name in names if name.endswith(".py")}

    imported = set()
    for name, source in sources.items():
        for node in ast.walk(ast.parse(source, filename=name)):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported.add(node.module.split(".")[0])
    local = {module for module in imported if (REPO_ROOT / f"{module}.py").exists() or (REPO_ROOT / module).is_dir()}

    assert local, "the plugin's modules import each other"
    assert {f"{module}.py" for module in local} <= names


def test_zip_entries_carry_a_fixed_timestamp(repo_build):
    with zipfile.ZipFile(repo_build.zip_path) as archive:
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_zip_entries_are_regular_unix_files_readable_by_everyone(repo_build):
    # Stash creates each installed file with the entry's mode: mode 0 would be unreadable.
    with zipfile.ZipFile(repo_build.zip_path) as archive:
        for info in archive.infolist():
            assert info.create_system == 3, info.filename
            assert info.external_attr >> 16 == 0o100644, info.filename


# --- file selection and reproducibility (a synthetic plugin folder) ---------------------


def test_zip_holds_exactly_the_runtime_files(tmp_path):
    root = make_plugin_tree(tmp_path / "plugin")

    built = build_package(root, tmp_path / "dist", date=FIXED_DATE)

    assert zip_names(built.zip_path) == [
        "README.md", "demoPlugin.yml", "entry.py", "helper.py", "plugin_info.py", "requirements.txt",
    ]
    assert list(built.zipped_files) == zip_names(built.zip_path)


def test_zip_holds_the_pages_javascript_and_css_but_nothing_else_of_ui(tmp_path):
    root = make_plugin_tree(tmp_path / "plugin")
    (root / "ui").mkdir()
    for name in ("page.js", "page.css", "notes.txt"):
        (root / "ui" / name).write_text("/* x */\n", encoding="utf-8")
    track(root)

    built = build_package(root, tmp_path / "dist", date=FIXED_DATE)

    names = zip_names(built.zip_path)
    assert [name for name in names if name.startswith("ui/")] == ["ui/page.css", "ui/page.js"]


def test_an_untracked_file_stays_out_of_the_zip(tmp_path):
    # A scratch module with a key in it, beside the plugin's own: git does not track it.
    root = make_plugin_tree(tmp_path / "plugin")
    key = "stash-apikey-0badc0ffee0badc0ffee"
    (root / "scratch.py").write_text(f"STASH_API_KEY = {key!r}\n", encoding="utf-8")
    (root / "ui").mkdir()
    (root / "ui" / "scratch.js").write_text(f"const key = {key!r};\n", encoding="utf-8")

    built = build_package(root, tmp_path / "dist", date=FIXED_DATE)

    names = zip_names(built.zip_path)
    assert "scratch.py" not in names and "ui/scratch.js" not in names
    assert key.encode() not in built.zip_path.read_bytes()
    assert names == ["README.md", "demoPlugin.yml", "entry.py", "helper.py", "plugin_info.py", "requirements.txt"]


def test_the_command_line_names_the_files_it_left_out_as_untracked(tmp_path, capsys):
    root = make_plugin_tree(tmp_path / "plugin")
    (root / "scratch.py").write_text("X = 1\n", encoding="utf-8")

    exit_code = main(["--root", str(root), "--out", str(tmp_path / "dist"), "--date", FIXED_DATE])

    assert exit_code == 0
    assert "not tracked by git, left out: scratch.py" in capsys.readouterr().err


def test_a_folder_that_is_not_a_git_checkout_is_refused(tmp_path):
    root = make_plugin_tree(tmp_path / "plugin")
    shutil.rmtree(root / ".git")

    with pytest.raises(PackagingError, match="not a git checkout.*build it from a clone"):
        build_package(root, tmp_path / "dist", date=FIXED_DATE)
    assert not (tmp_path / "dist").exists()


def test_a_required_file_git_does_not_track_is_refused(tmp_path):
    root = make_plugin_tree(tmp_path / "plugin")
    git(root, "rm", "-q", "--cached", "requirements.txt")

    with pytest.raises(PackagingError, match="requirements.txt"):
        build_package(root, tmp_path / "dist", date=FIXED_DATE)


def test_zip_files_hold_the_source_bytes(tmp_path):
    root = make_plugin_tree(tmp_path / "plugin")

    built = build_package(root, tmp_path / "dist", date=FIXED_DATE)

    with zipfile.ZipFile(built.zip_path) as archive:
        for name in archive.namelist():
            assert archive.read(name) == (root / name).read_bytes(), name


def test_two_builds_give_the_same_bytes_whatever_the_file_times_and_modes(tmp_path):
    root = make_plugin_tree(tmp_path / "plugin")
    first = build_package(root, tmp_path / "dist1", date=FIXED_DATE)
    for path in root.iterdir():
        os.utime(path, (1_000_000_000, 1_000_000_000))
    (root / "entry.py").chmod(0o755)

    second = build_package(root, tmp_path / "dist2", date=FIXED_DATE)

    assert first.zip_path.read_bytes() == second.zip_path.read_bytes()
    assert first.index_path.read_bytes() == second.index_path.read_bytes()


def test_changing_a_module_changes_the_sha256(tmp_path):
    root = make_plugin_tree(tmp_path / "plugin")
    before = build_package(root, tmp_path / "dist1", date=FIXED_DATE)
    (root / "helper.py").write_text("VALUE = 2\n", encoding="utf-8")

    after = build_package(root, tmp_path / "dist2", date=FIXED_DATE)

    assert before.entry.sha256 != after.entry.sha256


def test_package_id_and_zip_name_come_from_the_manifest_file_name(tmp_path):
    root = make_plugin_tree(tmp_path / "plugin", plugin_id="otherName")

    built = build_package(root, tmp_path / "dist", date=FIXED_DATE)

    package = load_index(built.index_path)[0]
    assert package["id"] == "otherName"
    assert package["path"] == "otherName.zip"
    assert built.zip_path == tmp_path / "dist" / "otherName.zip"
    assert package["metadata"] == {"description": "Demo, does things"}


# --- refusals --------------------------------------------------------------------------


def test_version_differing_from_plugin_info_is_refused(tmp_path):
    root = make_plugin_tree(tmp_path / "plugin", version="1.2.3")
    (root / "plugin_info.py").write_text('PLUGIN_ID = "demoPlugin"\nPLUGIN_VERSION = "1.2.4"\n', encoding="utf-8")

    with pytest.raises(PackagingError, match=r"1\.2\.3.*1\.2\.4"):
        build_package(root, tmp_path / "dist", date=FIXED_DATE)
    assert not (tmp_path / "dist").exists()


def test_plugin_id_differing_from_plugin_info_is_refused(tmp_path):
    root = make_plugin_tree(tmp_path / "plugin")
    (root / "plugin_info.py").write_text('PLUGIN_ID = "renamed"\nPLUGIN_VERSION = "1.2.3"\n', encoding="utf-8")

    with pytest.raises(PackagingError, match="renamed"):
        build_package(root, tmp_path / "dist", date=FIXED_DATE)


def test_a_second_top_level_yml_is_refused(tmp_path):
    # Stash would load it as a second plugin manifest and fail on it.
    root = make_plugin_tree(tmp_path / "plugin")
    (root / "extra.yml").write_text("a: 1\n", encoding="utf-8")

    with pytest.raises(PackagingError, match="exactly one manifest"):
        build_package(root, tmp_path / "dist", date=FIXED_DATE)


def test_missing_requirements_txt_is_refused(tmp_path):
    root = make_plugin_tree(tmp_path / "plugin")
    (root / "requirements.txt").unlink()

    with pytest.raises(PackagingError, match="requirements.txt"):
        build_package(root, tmp_path / "dist", date=FIXED_DATE)


# --- the date --------------------------------------------------------------------------


def test_default_date_is_the_head_commit_date_in_utc(tmp_path):
    repo = make_plugin_tree(tmp_path / "plugin")
    env = {
        **os.environ,
        "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid",
        "GIT_AUTHOR_DATE": "2020-01-01T00:00:00+00:00",
        "GIT_COMMITTER_DATE": "2024-03-05T10:20:30+02:00",
    }
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "release"]):
        subprocess.run(["git", "-C", str(repo), *command], env=env, check=True, timeout=30, capture_output=True)

    assert git_head_commit_date(repo) == "2024-03-05 08:20:30"
    built = build_package(repo, tmp_path / "dist")
    assert load_index(built.index_path)[0]["date"] == "2024-03-05 08:20:30"


def test_folder_without_git_history_needs_an_explicit_date(tmp_path):
    root = make_plugin_tree(tmp_path / "plugin")

    with pytest.raises(PackagingError, match="--date"):
        git_head_commit_date(root)


@pytest.mark.parametrize(
    ("given", "expected"),
    [("2024-03-05 08:20:30", "2024-03-05 08:20:30"), ("2024-3-5 8:20:30", "2024-03-05 08:20:30")],
)
def test_date_override_is_zero_padded(given, expected):
    assert normalize_stash_time(given) == expected


@pytest.mark.parametrize("given", ["2024-03-05T08:20:30Z", "2024-03-05", "05/03/2024 08:20:30", ""])
def test_date_override_in_another_format_is_refused(given):
    with pytest.raises(PackagingError, match="YYYY-MM-DD HH:MM:SS"):
        normalize_stash_time(given)


# --- YAML in and out -------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "tagManager",
        "0.1.0",
        "yes",
        "null",
        "- dash first",
        'quote " and back\\slash',
        "colon: then # hash",
        "line\nbreak\ttab\rreturn",
        "café ✓ 😀",
        "nel\x85ls\u2028ps\u2029bom\ufeff",
        "\x00\x07\x1b\x7f",
        "",
    ],
)
def test_yaml_quote_reads_back_as_the_same_string_and_stays_on_one_line(text):
    quoted = yaml_quote(text)

    assert yaml.safe_load(f"value: {quoted}\n") == {"value": text}
    assert not set(quoted) & set("\r\n\x85\u2028\u2029\ufeff")


def test_manifest_reader_agrees_with_a_yaml_parser_on_top_level_scalars():
    manifest = (
        "name: 'It''s a plugin'\n"
        "description: plain words, colon:inside and C#sharp # a comment\n"
        'version: "2.0.0"\n'
        "tasks:\n"
        "  - name: nested name must be ignored\n"
        "    description: nested too\n"
        "settings:\n"
        "  version:\n"
        "    type: STRING\n"
    )
    expected = yaml.safe_load(manifest)

    found = read_top_level_scalars(manifest, ("name", "description", "version"))

    assert found == {key: expected[key] for key in ("name", "description", "version")}


@pytest.mark.parametrize(
    ("manifest", "message"),
    [("description: >\n  folded\n", "one line"), ("description: a: b\n", "not valid YAML")],
)
def test_manifest_reader_refuses_what_it_cannot_read_exactly(manifest, message):
    with pytest.raises(PackagingError, match=message):
        read_top_level_scalars(manifest, ("description",))


# --- the command line ------------------------------------------------------------------


def test_command_line_builds_into_the_out_folder(tmp_path, capsys):
    root = make_plugin_tree(tmp_path / "plugin")

    exit_code = main(["--root", str(root), "--out", str(tmp_path / "dist"), "--date", FIXED_DATE])

    assert exit_code == 0
    assert sorted(path.name for path in (tmp_path / "dist").iterdir()) == ["demoPlugin.zip", "index.yml"]
    assert "sha256=" in capsys.readouterr().out


def test_command_line_reports_a_bad_date_and_fails(tmp_path, capsys):
    root = make_plugin_tree(tmp_path / "plugin")

    exit_code = main(["--root", str(root), "--out", str(tmp_path / "dist"), "--date", "yesterday"])

    assert exit_code == 1
    assert "YYYY-MM-DD HH:MM:SS" in capsys.readouterr().err
    assert not (tmp_path / "dist").exists()


def test_runs_as_a_module_from_the_plugin_folder(tmp_path):
    completed = subprocess.run(
        [sys.executable, "-m", "plugin_packaging.build_index", "--out", str(tmp_path), "--date", FIXED_DATE],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=False,
    )

    assert completed.returncode == 0, completed.stderr
    assert load_index(tmp_path / "index.yml")[0]["id"] == "tagManager"


# --- the local plugin source -----------------------------------------------------------


def fetch(url: str, method: str = "GET"):
    request = urllib.request.Request(url, method=method)
    with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_SECONDS) as response:
        return response.status, response.headers, response.read()


def test_plugin_source_serves_the_index_and_the_zip_it_points_to(tmp_path):
    built = build_package(make_plugin_tree(tmp_path / "plugin"), tmp_path / "dist", date=FIXED_DATE)

    with PluginSource(tmp_path / "dist") as source:
        assert source.index_url.startswith("http://127.0.0.1:")
        status, _, index_body = fetch(source.index_url)
        package = yaml.safe_load(index_body)[0]
        # Stash resolves a relative path against the index URL's folder.
        _, _, zip_body = fetch(urllib.parse.urljoin(source.index_url, package["path"]))
        head_status, head_headers, _ = fetch(source.index_url, method="HEAD")

    assert status == 200 and index_body == built.index_path.read_bytes()
    assert hashlib.sha256(zip_body).hexdigest() == package["sha256"]
    assert head_status == 200 and head_headers["Last-Modified"]


def test_plugin_source_stops_serving_when_the_block_ends(tmp_path):
    build_package(make_plugin_tree(tmp_path / "plugin"), tmp_path / "dist", date=FIXED_DATE)
    with PluginSource(tmp_path / "dist") as source:
        index_url = source.index_url

    with pytest.raises(urllib.error.URLError):
        fetch(index_url)


def test_plugin_source_needs_a_built_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="index.yml"):
        PluginSource(tmp_path).start()
