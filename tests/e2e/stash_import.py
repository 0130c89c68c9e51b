"""A generated library into a real Stash through Stash's own full import (`metadataImport`).

Stash's API cannot give a scene a file, and a scan needs real video files; its import of a
metadata folder in the layout its export writes creates tags, files with fingerprints
(oshash, phash, md5) and scenes naming their files, tags and StashIDs, through its own
importers (bench/README.md has the comparison with the other ways in). File names sort in
library order, so in a fresh database Stash's ids equal the library's.

One catch: Stash's JSON import decodes a fingerprint number as a float64, so a phash with
more than 15 significant decimal digits comes back changed. `import_exact_library` cuts
every phash, on both sides of the library alike, to what the import keeps.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterable, Sequence

from tests.simulators.library import DEFAULT_ENDPOINT, Library
from tests.simulators.records import PHASH, LocalTag

BASE_TIME = datetime(2024, 1, 1, tzinfo=timezone.utc)
METADATA_IMPORT = "mutation TierMetadataImport { metadataImport }"
IMPORT_OPERATIONS = (METADATA_IMPORT,)


def phash_import_number(hex_value: str) -> int:
    """A phash as Stash stores it: the 64 bits as a signed integer (GraphQL shows it as
    hex of the unsigned value, as a scan's phash)."""
    value = int(hex_value, 16)
    return value - (1 << 64) if value >= 1 << 63 else value


def import_exact(hex_value: str) -> str:
    """The phash with its signed decimal cut to 15 significant digits, so that Stash's
    import keeps it exactly. Stash's JSON import decodes numbers as float64 and the value
    reaches SQLite as float64's shortest decimal text (16-17 digits), which SQLite stores
    as that INTEGER: 0x310a12a681fa2a00 came back as 0x310a12a681fa2970. Fifteen digits
    survive both steps, and the phash is stored as an INTEGER, as a scan stores it
    (given as hex text instead, it would be stored as TEXT)."""
    signed = phash_import_number(hex_value)
    digits = len(str(abs(signed)))
    if digits > 15:
        unit = 10 ** (digits - 15)
        signed = (abs(signed) // unit * unit) * (1 if signed >= 0 else -1)
    return format(signed & ((1 << 64) - 1), "x")


def import_exact_library(library: Library) -> Library:
    """The library with every phash, local and StashDB, cut to what Stash's import keeps."""

    def local(fp):
        return replace(fp, value=import_exact(fp.value)) if fp.type == PHASH else fp

    def remote(fp):
        return replace(fp, hash=import_exact(fp.hash)) if fp.algorithm == "PHASH" else fp

    return replace(
        library,
        local_scenes=[replace(scene, files=tuple(replace(file, fingerprints=tuple(map(local, file.fingerprints)))
                                                 for file in scene.files))
                      for scene in library.local_scenes],
        stashdb_scenes=[replace(scene, fingerprints=tuple(map(remote, scene.fingerprints)))
                        for scene in library.stashdb_scenes])


# -- the import folder ------------------------------------------------------------------

def _time(offset_seconds: int) -> str:
    return (BASE_TIME + timedelta(seconds=offset_seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _write(path: Path, document: dict) -> None:
    path.write_text(json.dumps(document, separators=(",", ":")), encoding="utf-8")


def stash_id_documents(links: Iterable, endpoint: str) -> list[dict]:
    return [{"stash_id": link.stash_id, "endpoint": endpoint if link.endpoint == DEFAULT_ENDPOINT else link.endpoint,
             "updated_at": link.updated_at} for link in links]


def _fingerprint(fingerprint) -> dict:
    if fingerprint.type == PHASH:
        return {"type": PHASH, "fingerprint": phash_import_number(fingerprint.value)}
    return {"type": fingerprint.type, "fingerprint": fingerprint.value}


def _tag_document(tag: LocalTag, endpoint: str) -> dict[str, Any]:
    document: dict[str, Any] = {"name": tag.name, "created_at": _time(0), "updated_at": _time(0)}
    if tag.sort_name:
        document["sort_name"] = tag.sort_name
    if tag.aliases:
        document["aliases"] = list(tag.aliases)
    if tag.stash_ids:
        document["stash_ids"] = stash_id_documents(tag.stash_ids, endpoint)
    return document


def _file_document(file, stamp: str) -> dict[str, Any]:
    return {"type": "video", "path": file.path, "mod_time": stamp, "created_at": stamp, "updated_at": stamp,
            "size": 1_000_000_000 + file.id, "fingerprints": [_fingerprint(fp) for fp in file.fingerprints],
            "format": "mp4", "width": 1920, "height": 1080, "duration": 1800.0, "video_codec": "h264",
            "audio_codec": "aac", "frame_rate": 29.97, "bitrate": 4_000_000}


def write_import_folder(library: Library, metadata: Path, endpoint: str,
                        extra_tags: Sequence[LocalTag] = ()) -> dict[str, int]:
    """Stash's metadata layout for `library` (and `extra_tags` after its own): tags/, files/
    and scenes/. A StashID for the library's default endpoint is written for `endpoint`."""
    for sub in ("tags", "files", "scenes"):
        folder = metadata / sub
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
    tags = [*library.local_tags, *extra_tags]
    names = {tag.id: tag.name for tag in tags}
    for tag in tags:
        _write(metadata / "tags" / f"tag-{tag.id:06d}.json", _tag_document(tag, endpoint))
    files = 0
    for scene in library.local_scenes:
        stamp = _time(scene.id)
        for file in scene.files:
            _write(metadata / "files" / f"file-{file.id:07d}.json", _file_document(file, stamp))
            files += 1
        document = {"title": scene.title, "files": [file.path for file in scene.files],
                    "created_at": stamp, "updated_at": stamp}
        if scene.tag_ids:
            document["tags"] = [names[tag_id] for tag_id in scene.tag_ids]
        if scene.stash_ids:
            document["stash_ids"] = stash_id_documents(scene.stash_ids, endpoint)
        _write(metadata / "scenes" / f"scene-{scene.id:07d}.json", document)
    return {"tags": len(tags), "files": files, "scenes": len(library.local_scenes)}
