"""GraphQL documents for the simulators' server: parsing and validation
(cached per query text), and what a request's operation asks for."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    parse,
    validate,
)

from .request_log import RequestLogEntry

DOCUMENT_CACHE_LIMIT = 512


@dataclass(frozen=True)
class ParsedDocument:
    document: DocumentNode | None
    errors: tuple[dict[str, Any], ...]


def error_payload(errors: list[GraphQLError] | tuple, code: str | None = None) -> list[dict]:
    formatted = []
    for error in errors:
        entry = dict(error.formatted)
        if code:
            entry["extensions"] = {**(entry.get("extensions") or {}), "code": code}
        formatted.append(entry)
    return formatted


class DocumentCache:
    """Parsed and validated documents by query text; clients repeat their queries."""

    def __init__(self, schema: GraphQLSchema) -> None:
        self._schema = schema
        self._cache: dict[str, ParsedDocument] = {}
        self._lock = threading.Lock()

    def get(self, query: str) -> ParsedDocument:
        with self._lock:
            cached = self._cache.get(query)
        if cached is not None:
            return cached
        parsed = self._parse(query)
        with self._lock:
            if len(self._cache) >= DOCUMENT_CACHE_LIMIT:
                self._cache.clear()
            self._cache[query] = parsed
        return parsed

    def _parse(self, query: str) -> ParsedDocument:
        try:
            document = parse(query)
        except GraphQLError as error:
            return ParsedDocument(None, tuple(error_payload([error], "GRAPHQL_PARSE_FAILED")))
        errors = validate(self._schema, document)
        if errors:
            return ParsedDocument(None, tuple(error_payload(errors, "GRAPHQL_VALIDATION_FAILED")))
        return ParsedDocument(document, ())


def _select_operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return operations[0] if len(operations) == 1 else None
    return next((op for op in operations if op.name and op.name.value == name), None)


def _root_selections(document: DocumentNode, operation: OperationDefinitionNode) -> list[FieldNode]:
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    fields: list[FieldNode] = []
    pending = list(operation.selection_set.selections)
    while pending:
        node = pending.pop(0)
        if isinstance(node, FieldNode):
            fields.append(node)
        elif isinstance(node, InlineFragmentNode):
            pending[:0] = node.selection_set.selections
        elif isinstance(node, FragmentSpreadNode) and node.name.value in fragments:
            pending[:0] = fragments[node.name.value].selection_set.selections
    return fields


def describe_operation(entry: RequestLogEntry, document: DocumentNode) -> None:
    operation = _select_operation(document, entry.operation_name)
    if operation is None:
        return
    if operation.name is not None:
        entry.operation_name = operation.name.value
    entry.operation_type = operation.operation.value
    fields = _root_selections(document, operation)
    entry.root_fields = tuple(f.name.value for f in fields)
    entry.aliases = tuple((f.alias or f.name).value for f in fields)
