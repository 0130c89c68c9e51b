"""Load the simulators' schema subsets (SDL files beside this module) and bind
root resolvers to them."""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Callable

from graphql import GraphQLObjectType, GraphQLSchema, build_schema

PACKAGE_DIR = Path(__file__).resolve().parent
STASHDB_SUBSET_FILE = PACKAGE_DIR / "stashdb_subset.graphql"
STASH_SUBSET_FILE = PACKAGE_DIR / "stash_subset.graphql"

Resolver = Callable[..., Any]


@functools.lru_cache(maxsize=None)
def _build(path: Path) -> GraphQLSchema:
    return build_schema(path.read_text(encoding="utf-8"))


def subset_schema(path: Path, resolvers: dict[str, dict[str, Resolver]]) -> GraphQLSchema:
    """The schema in ``path`` with its fields bound to ``resolvers``.

    ``resolvers`` maps a type name to resolvers by field name. Every field of
    the root types (``Query``, ``Mutation``) must have one; a resolver for a
    field the file lacks is a mistake too. The schema is built once per file;
    resolvers find their simulator through ``info.context``.
    """
    schema = _build(path)
    roots = {t.name for t in (schema.query_type, schema.mutation_type) if t is not None}
    for type_name in roots | set(resolvers):
        object_type = schema.get_type(type_name)
        if not isinstance(object_type, GraphQLObjectType):
            raise ValueError(f"{path.name} has no object type {type_name}")
        bound = resolvers.get(type_name, {})
        unknown = set(bound) - set(object_type.fields)
        missing = set(object_type.fields) - set(bound) if type_name in roots else set()
        if missing or unknown:
            raise ValueError(f"{path.name} {type_name}: unbound {missing}, unknown {unknown}")
        for name, resolver in bound.items():
            object_type.fields[name].resolve = resolver
    return schema
