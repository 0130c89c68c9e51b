"""Locate and load the real GraphQL schemas kept beside the project in ../shared.

They are never copied into the repository. Tests that need them call
``require_stashbox_schema()`` / ``require_stash_schema()``, which skip with a
clear reason when the folder is absent.
"""
from __future__ import annotations

import functools
import os
import re
from pathlib import Path

from graphql import GraphQLSchema, build_schema

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DIR = Path(os.environ.get("TAGMANAGER_SHARED_DIR", REPO_ROOT.parent / "shared"))
SCHEMAS_DIR = SHARED_DIR / "schemas"
STASHBOX_SCHEMA_DIR = SCHEMAS_DIR / "stash-box"
STASH_SCHEMA_DIR = SCHEMAS_DIR / "stash-v0.30.1"
STASHDB_TAGS_FILE = SHARED_DIR / "data" / "stashdb_tags_2024-12.json"
STASHDB_TAG_CATEGORIES_FILE = SHARED_DIR / "data" / "stashdb_tag_categories_2024-12.json"

_GQLGEN_BOOLEAN = re.compile(r"=\s*(False|True)\b")


def _read_schema_dir(folder: Path) -> str:
    files = [folder / "schema.graphql", *sorted((folder / "types").glob("*.graphql"))]
    source = "\n".join(f.read_text(encoding="utf-8") for f in files)
    # gqlgen accepts `= False`; graphql-core wants the lower-case literal.
    return _GQLGEN_BOOLEAN.sub(lambda m: "= " + m.group(1).lower(), source)


@functools.lru_cache(maxsize=None)
def load_schema(folder: Path) -> GraphQLSchema | None:
    if not (folder / "schema.graphql").is_file():
        return None
    return build_schema(_read_schema_dir(folder))


def _require(folder: Path) -> GraphQLSchema:
    import pytest

    schema = load_schema(folder)
    if schema is None:
        pytest.skip(f"real schema not found at {folder} (the ../shared folder is absent)")
    return schema


def require_stashbox_schema() -> GraphQLSchema:
    return _require(STASHBOX_SCHEMA_DIR)


def require_stash_schema() -> GraphQLSchema:
    return _require(STASH_SCHEMA_DIR)
