"""Build the plugin package Stash's plugin manager installs: `<out>/index.yml` + `<out>/<id>.zip`.

Stash v0.30.1 (pkg/pkg) reads a plugin source as a YAML list of packages, downloads a
package's zip from `path` (relative to the index URL), refuses it unless the SHA-256 of
the zip bytes equals `sha256`, and writes every zip entry under
`<plugins>/<source local path>/<id>/`. It then loads every `.yml` below the plugins
folder as a plugin manifest, so the zip carries exactly one: `<id>.yml`.

Usage, from the plugin folder:
    python -m plugin_packaging.build_index --out dist/ [--date "YYYY-MM-DD HH:MM:SS"]

The zip holds only files git tracks (`git ls-files`): an untracked file in the folder (a
scratch module, a local .env-like file) never ships, and a folder that is not a git checkout
is refused. Tracked files are packed as they are in the working tree.

Only the standard library is used. The zip is reproducible: sorted entries, fixed
timestamps and modes, no compression, so equal sources give equal SHA-256.
"""
from __future__ import annotations

import argparse
import ast
import hashlib
import io
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Mapping, Sequence

PLUGIN_ROOT = Path(__file__).resolve().parent.parent
PLUGIN_INFO_FILE = "plugin_info.py"
INDEX_FILE_NAME = "index.yml"

# Stash's pkg.TimeFormat; Stash reads the date as UTC.
STASH_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"

REQUIRED_EXTRA_FILES = ("requirements.txt",)
OPTIONAL_EXTRA_FILES = ("README.md", "LICENSE")
# Top-level .py files that are tooling, not part of the running plugin.
NOT_RUNTIME_MODULES = frozenset({"conftest.py", "setup.py", "dev.py"})   # dev.py: the README's developer commands
UI_FOLDER = "ui"                      # the page's plain JavaScript and CSS (tagManager.yml's `ui:`)
UI_SUFFIXES = (".js", ".css")

ZIP_ENTRY_TIME = (1980, 1, 1, 0, 0, 0)
# Stash creates each file with the entry's mode, so every entry says "regular file, 0644".
ZIP_ENTRY_MODE = 0o100644
ZIP_CREATOR_UNIX = 3

GIT_TIMEOUT_SECONDS = 10.0


class PackagingError(Exception):
    """The plugin folder cannot be packaged as it is; the message says why."""


@dataclass(frozen=True)
class PluginManifest:
    """What the package index needs from the plugin's manifest."""

    plugin_id: str
    file_name: str
    name: str
    version: str
    description: str | None


@dataclass(frozen=True)
class IndexEntry:
    """One package in Stash's index.yml."""

    plugin_id: str
    name: str
    version: str
    date: str
    path: str
    sha256: str
    description: str | None = None


@dataclass(frozen=True)
class BuiltPackage:
    index_path: Path
    zip_path: Path
    entry: IndexEntry
    zipped_files: tuple[str, ...]
    untracked_left_out: tuple[str, ...] = ()   # plugin files in the folder that git does not track


# --- the manifest and plugin_info ------------------------------------------------------


def find_manifest(root: Path) -> Path:
    """The one top-level `.yml` in the plugin folder (Stash: plugin id = its file name)."""
    candidates = sorted(path for path in root.glob("*.yml") if path.is_file())
    if len(candidates) != 1:
        names = ", ".join(path.name for path in candidates) or "none"
        raise PackagingError(f"expected exactly one manifest (*.yml) in {root}, found: {names}")
    return candidates[0]


def read_manifest(path: Path) -> PluginManifest:
    scalars = read_top_level_scalars(path.read_text(encoding="utf-8"), ("name", "version", "description"))
    for key in ("name", "version"):
        if not scalars.get(key):
            raise PackagingError(f"{path.name}: top-level `{key}:` is missing or empty")
    return PluginManifest(
        plugin_id=path.stem,
        file_name=path.name,
        name=scalars["name"],
        version=scalars["version"],
        description=scalars.get("description") or None,
    )


def read_top_level_scalars(text: str, keys: Iterable[str]) -> dict[str, str]:
    """Values of the wanted top-level `key: value` lines; nested and other lines are skipped."""
    wanted = set(keys)
    found: dict[str, str] = {}
    for line in text.splitlines():
        if not line or line[0] in " \t#-":
            continue
        key, colon, raw_value = line.partition(":")
        if not colon or key not in wanted:
            continue
        if key in found:
            raise PackagingError(f"manifest key `{key}` appears twice")
        found[key] = parse_one_line_scalar(key, raw_value.strip())
    return found


def parse_one_line_scalar(key: str, raw: str) -> str:
    """A plain, 'single' or simple "double" quoted one-line YAML scalar."""
    if raw[:1] in ("|", ">"):
        raise PackagingError(f"manifest key `{key}`: block scalars are not supported, use one line")
    if raw.startswith("'") and len(raw) >= 2 and raw.endswith("'"):
        return raw[1:-1].replace("''", "'")
    if raw.startswith('"') and len(raw) >= 2 and raw.endswith('"') and "\\" not in raw:
        return raw[1:-1]
    if raw[:1] in ("'", '"'):
        raise PackagingError(f"manifest key `{key}`: quoted value too complex for the packager")
    plain = re.split(r"\s#", raw, maxsplit=1)[0].rstrip()
    if ": " in plain or plain.endswith(":"):
        raise PackagingError(f"manifest key `{key}`: `: ` in an unquoted value is not valid YAML")
    return plain


def read_string_constants(path: Path, names: Iterable[str]) -> dict[str, str]:
    """Module-level `NAME = "literal"` assignments, read without importing the module."""
    wanted = set(names)
    found: dict[str, str] = {}
    for node in ast.parse(path.read_text(encoding="utf-8"), filename=str(path)).body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1):
            continue
        target = node.targets[0]
        if isinstance(target, ast.Name) and target.id in wanted and isinstance(node.value, ast.Constant):
            if isinstance(node.value.value, str):
                found[target.id] = node.value.value
    missing = sorted(wanted - found.keys())
    if missing:
        raise PackagingError(f"{path.name}: no string literal for {', '.join(missing)}")
    return found


def check_manifest_matches_plugin_info(manifest: PluginManifest, plugin_info: Mapping[str, str]) -> None:
    if manifest.plugin_id != plugin_info["PLUGIN_ID"]:
        raise PackagingError(
            f"manifest file {manifest.file_name} gives plugin id {manifest.plugin_id!r}, "
            f"plugin_info.PLUGIN_ID is {plugin_info['PLUGIN_ID']!r}"
        )
    if manifest.version != plugin_info["PLUGIN_VERSION"]:
        raise PackagingError(
            f"{manifest.file_name} has version {manifest.version!r}, "
            f"plugin_info.PLUGIN_VERSION is {plugin_info['PLUGIN_VERSION']!r}"
        )


# --- the date --------------------------------------------------------------------------


def normalize_stash_time(text: str) -> str:
    """Validate a `YYYY-MM-DD HH:MM:SS` (UTC) date and return it zero-padded."""
    try:
        parsed = datetime.strptime(text.strip(), STASH_TIME_FORMAT)
    except ValueError as error:
        raise PackagingError(f"date {text!r} is not in Stash's format YYYY-MM-DD HH:MM:SS (UTC)") from error
    return parsed.strftime(STASH_TIME_FORMAT)


def git_head_commit_date(root: Path) -> str:
    """The committer date of HEAD, in UTC, in Stash's format."""
    command = ["git", "-C", str(root), "log", "-1", "--format=%ct", "HEAD"]
    try:
        completed = subprocess.run(
            command, capture_output=True, text=True, timeout=GIT_TIMEOUT_SECONDS, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise PackagingError(f"cannot read the HEAD commit date ({error}); pass --date") from error
    if completed.returncode != 0 or not completed.stdout.strip().isdigit():
        detail = completed.stderr.strip() or completed.stdout.strip()
        raise PackagingError(f"cannot read the HEAD commit date ({detail}); pass --date")
    commit_time = datetime.fromtimestamp(int(completed.stdout.strip()), tz=timezone.utc)
    return commit_time.strftime(STASH_TIME_FORMAT)


# --- the zip ---------------------------------------------------------------------------


def runtime_files(root: Path, manifest: PluginManifest) -> list[str]:
    """The manifest, every top-level module, requirements.txt, the docs that exist, and the
    page's files in ui/ (its .js and .css, which Stash serves from the plugin folder) —
    each only when git tracks it: a scratch file beside them never ships."""
    tracked = tracked_files(root)
    names = sorted(candidate_files(root, manifest) & tracked)
    if not [name for name in names if name.endswith(".py")]:
        raise PackagingError(f"no top-level Python modules tracked by git in {root}")
    missing = [name for name in (manifest.file_name, *REQUIRED_EXTRA_FILES) if name not in names]
    if missing:
        raise PackagingError(f"missing in {root} or not tracked by git: {', '.join(missing)}")
    return names


def candidate_files(root: Path, manifest: PluginManifest) -> set[str]:
    """The files of the folder that are the plugin's kind of file, tracked or not."""
    modules = {path.name for path in root.glob("*.py") if path.is_file() and path.name not in NOT_RUNTIME_MODULES}
    extras = {name for name in (manifest.file_name, *REQUIRED_EXTRA_FILES, *OPTIONAL_EXTRA_FILES)
              if (root / name).is_file()}
    ui = {f"{UI_FOLDER}/{path.name}" for path in (root / UI_FOLDER).glob("*")
          if path.is_file() and path.suffix in UI_SUFFIXES}
    return modules | extras | ui


def tracked_files(root: Path) -> set[str]:
    """The paths, relative to `root`, of the files git tracks there (`git ls-files`).
    Outside a git checkout there is no such list: the build is refused."""
    command = ["git", "-C", str(root), "ls-files", "-z", "--cached", "--", "."]
    try:
        completed = subprocess.run(command, capture_output=True, timeout=GIT_TIMEOUT_SECONDS, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise PackagingError(f"cannot ask git which files it tracks in {root} ({error}); the package holds "
                             "only tracked files, so build it from a clone with git installed") from error
    if completed.returncode != 0:
        detail = completed.stderr.decode("utf-8", "replace").strip()
        raise PackagingError(f"{root} is not a git checkout ({detail}); the package holds only files git "
                             "tracks, so build it from a clone of the repository")
    return {name for name in completed.stdout.decode("utf-8", "surrogateescape").split("\0") if name}


def zip_bytes(root: Path, names: Sequence[str]) -> bytes:
    """A zip of `names` (paths relative to root) whose bytes depend only on their contents."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name in sorted(names):
            info = zipfile.ZipInfo(name, date_time=ZIP_ENTRY_TIME)
            info.create_system = ZIP_CREATOR_UNIX
            info.external_attr = ZIP_ENTRY_MODE << 16
            info.compress_type = zipfile.ZIP_STORED
            archive.writestr(info, (root / name).read_bytes())
    return buffer.getvalue()


# --- the index -------------------------------------------------------------------------


def render_index(entry: IndexEntry) -> str:
    """index.yml: a YAML list with the one package, every string double-quoted."""
    lines = [f"- id: {yaml_quote(entry.plugin_id)}", f"  name: {yaml_quote(entry.name)}"]
    if entry.description:
        lines += ["  metadata:", f"    description: {yaml_quote(entry.description)}"]
    lines += [
        f"  version: {yaml_quote(entry.version)}",
        f"  date: {yaml_quote(entry.date)}",
        f"  path: {yaml_quote(entry.path)}",
        f"  sha256: {yaml_quote(entry.sha256)}",
        "  requires: []",
    ]
    return "\n".join(lines) + "\n"


_YAML_NAMED_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def yaml_quote(text: str) -> str:
    """A YAML double-quoted scalar that reads back as exactly `text`."""
    return '"' + "".join(_yaml_escape(char) for char in text) + '"'


def _yaml_escape(char: str) -> str:
    if char in _YAML_NAMED_ESCAPES:
        return _YAML_NAMED_ESCAPES[char]
    if _yaml_prints_as_is(ord(char)):
        return char
    code = ord(char)
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def _yaml_prints_as_is(code: int) -> bool:
    # YAML 1.1 printable characters, minus the line/paragraph separators and the BOM,
    # which some readers treat as layout.
    if code in (0x2028, 0x2029, 0xFEFF):
        return False
    return 0x20 <= code <= 0x7E or 0xA0 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD or code >= 0x10000


# --- putting it together ---------------------------------------------------------------


def write_file_atomically(path: Path, data: bytes) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def build_package(root: Path, out_dir: Path, date: str | None = None) -> BuiltPackage:
    """Write `<out_dir>/<id>.zip`, then `<out_dir>/index.yml` pointing at it."""
    manifest = read_manifest(find_manifest(root))
    plugin_info = read_string_constants(root / PLUGIN_INFO_FILE, ("PLUGIN_ID", "PLUGIN_VERSION"))
    check_manifest_matches_plugin_info(manifest, plugin_info)
    stash_date = normalize_stash_time(date) if date is not None else git_head_commit_date(root)
    names = runtime_files(root, manifest)
    package_zip = zip_bytes(root, names)
    entry = IndexEntry(
        plugin_id=manifest.plugin_id,
        name=manifest.name,
        version=manifest.version,
        date=stash_date,
        path=f"{manifest.plugin_id}.zip",
        sha256=hashlib.sha256(package_zip).hexdigest(),
        description=manifest.description,
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    write_file_atomically(out_dir / entry.path, package_zip)
    write_file_atomically(out_dir / INDEX_FILE_NAME, render_index(entry).encode("utf-8"))
    left_out = tuple(sorted(candidate_files(root, manifest) - set(names)))
    return BuiltPackage(out_dir / INDEX_FILE_NAME, out_dir / entry.path, entry, tuple(names), left_out)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m plugin_packaging.build_index",
        description="Build index.yml and the plugin zip for Stash's plugin manager.",
    )
    parser.add_argument("--out", type=Path, default=Path("dist"), help="output folder (default: dist)")
    parser.add_argument("--date", help='package date, UTC, "YYYY-MM-DD HH:MM:SS" (default: HEAD commit date)')
    parser.add_argument("--root", type=Path, default=PLUGIN_ROOT, help="plugin folder (default: this repository)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        built = build_package(args.root.resolve(), args.out, args.date)
    except PackagingError as error:
        print(f"build_index: error: {error}", file=sys.stderr)
        return 1
    if built.untracked_left_out:
        print(f"build_index: not tracked by git, left out: {', '.join(built.untracked_left_out)}", file=sys.stderr)
    print(f"{built.index_path}\n{built.zip_path} sha256={built.entry.sha256} date={built.entry.date}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
