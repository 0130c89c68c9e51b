"""A faster way to run the simulators' read-only queries, for answers graphql-core would give.

graphql-core resolves every field of every object through its full machinery; a StashDB
answer for 40 scenes is about 5,000 fields, and the simulator spent 0.7 ms of CPU a scene
on it, on the same cores as the real Stash it stands beside in the benchmarks. Here only
the root fields go through their resolvers (arguments coerced by graphql-core itself);
below them the resolvers' plain values are projected onto the selection set, as
graphql-core's default resolver reads them (mapping keys, else attributes), and leaves are
serialized by their own scalar or enum type.

`run_plainly` answers None whenever it cannot promise graphql-core's answer: a mutation
(a second run would write twice), a directive, an interface or union, a field with its
own resolver or arguments below the root, a null where the schema says non-null, any
error at all. The caller then runs graphql-core as before.
tests/sim/test_plain_execution.py compares the two on every document the plugin sends.
"""
from __future__ import annotations

import threading
from typing import Any, Callable, Mapping

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    is_leaf_type,
)
from graphql.execution.values import get_argument_values, get_variable_values


class _NotPlain(Exception):
    """This request needs graphql-core's own execution."""


class _RootInfo:
    """What the simulators' root resolvers read of graphql-core's resolve info."""

    def __init__(self, context: Any, field_name: str, path: Any = None):
        self.context = context
        self.field_name = field_name
        self.path = path


def run_plainly(schema: GraphQLSchema, document: DocumentNode, context: Any,
                variables: Mapping[str, Any] | None, operation_name: str | None) -> dict | None:
    """The `data` of a successful read-only query, or None: run graphql-core instead."""
    try:
        plan = _plan_for(schema, document, operation_name)
        return plan(context, variables or {}) if plan is not None else None
    except Exception:  # noqa: BLE001 - anything unusual is graphql-core's to answer
        return None


Completer = Callable[[Any], Any]
_PLANS: dict[tuple[int, int, str | None], tuple[DocumentNode, Callable | None]] = {}
_PLANS_LOCK = threading.Lock()
PLAN_CACHE_LIMIT = 512


def _plan_for(schema: GraphQLSchema, document: DocumentNode, operation_name: str | None) -> Callable | None:
    """The document's operation compiled once (documents are cached per query text); None
    when it is not plain."""
    key = (id(schema), id(document), operation_name)
    with _PLANS_LOCK:
        cached = _PLANS.get(key)
    if cached is not None and cached[0] is document:
        return cached[1]
    try:
        plan = _Compiler(schema, document).operation(operation_name)
    except _NotPlain:
        plan = None
    with _PLANS_LOCK:
        if len(_PLANS) >= PLAN_CACHE_LIMIT:
            _PLANS.clear()
        _PLANS[key] = (document, plan)  # the document is held, so its id is not reused
    return plan


class _Compiler:
    def __init__(self, schema: GraphQLSchema, document: DocumentNode):
        self.schema = schema
        self.fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        self.operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]

    def operation(self, name: str | None) -> Callable:
        operation = self._operation(name)
        if operation.operation is not OperationType.QUERY or operation.directives:
            raise _NotPlain("only queries without directives")
        schema, root_type = self.schema, self.schema.query_type
        definitions = operation.variable_definitions or ()
        roots = []
        for key, node in self._fields(operation.selection_set, root_type):
            field = root_type.fields[node.name.value]
            if field.resolve is None:
                raise _NotPlain("a root field without a resolver")
            roots.append((key, node, field, self._completer(field.type, node)))

        def run(context: Any, raw_variables: Mapping[str, Any]) -> dict:
            variables = get_variable_values(schema, definitions, raw_variables)
            if isinstance(variables, list):
                raise _NotPlain("variables graphql-core refuses")
            data = {}
            for key, node, field, complete in roots:
                arguments = get_argument_values(field, node, variables)
                data[key] = complete(field.resolve(None, _RootInfo(context, node.name.value), **arguments))
            return data

        return run

    def _operation(self, name: str | None) -> OperationDefinitionNode:
        if name is None and len(self.operations) == 1:
            return self.operations[0]
        for operation in self.operations:
            if operation.name is not None and operation.name.value == name:
                return operation
        raise _NotPlain("no such operation")

    def _fields(self, selection_set: SelectionSetNode, object_type: GraphQLObjectType):
        """(response key, field node) in order, fragments spread; a repeated key is not plain."""
        collected: list[tuple[str, FieldNode]] = []
        pending = list(selection_set.selections)
        while pending:
            node = pending.pop(0)
            if node.directives:
                raise _NotPlain("a directive")
            if isinstance(node, FieldNode):
                collected.append(((node.alias or node.name).value, node))
                continue
            fragment = self.fragments[node.name.value] if isinstance(node, FragmentSpreadNode) else node
            condition = getattr(fragment, "type_condition", None)
            if isinstance(node, InlineFragmentNode) or condition is None or condition.name.value != object_type.name:
                raise _NotPlain("an inline fragment or another type's fragment")
            pending[:0] = fragment.selection_set.selections
        if len({key for key, _ in collected}) != len(collected):
            raise _NotPlain("a response key asked twice")
        return collected

    def _completer(self, field_type: Any, node: FieldNode) -> Completer:
        if isinstance(field_type, GraphQLNonNull):
            inner = self._completer(field_type.of_type, node)
            return lambda value: inner(_not_null(value))
        if isinstance(field_type, GraphQLList):
            item = self._completer(field_type.of_type, node)
            return lambda value: None if value is None else [item(entry) for entry in _listed(value)]
        if is_leaf_type(field_type):
            serialize = field_type.serialize
            return lambda value: None if value is None else serialize(value)
        if isinstance(field_type, GraphQLObjectType):
            return self._object_completer(field_type, node.selection_set)
        raise _NotPlain("an interface or union")

    def _object_completer(self, object_type: GraphQLObjectType, selection_set: SelectionSetNode) -> Completer:
        fields = []
        for key, node in self._fields(selection_set, object_type):
            field = object_type.fields.get(node.name.value)
            if field is None or field.resolve is not None or node.arguments:
                raise _NotPlain("__typename, or a field with a resolver or arguments")
            fields.append((key, node.name.value, self._completer(field.type, node)))

        def complete(source: Any) -> dict | None:
            if source is None:
                return None
            read = source.get if isinstance(source, dict) else _attribute_reader(source)
            return {key: complete_field(read(name)) for key, name, complete_field in fields}

        return complete


def _attribute_reader(source: Any) -> Callable[[str], Any]:
    if isinstance(source, Mapping):
        return source.get
    return lambda name: getattr(source, name, None)


def _not_null(value: Any) -> Any:
    if value is None:
        raise _NotPlain("null for a non-null field")
    return value


def _listed(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return value
    if isinstance(value, (str, bytes, Mapping)) or not hasattr(value, "__iter__"):
        raise _NotPlain("a list field without a list")
    return value
