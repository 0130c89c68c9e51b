"""The simulators' plain execution (tests/simulators/plain_execution.py) answers exactly as
graphql-core does, for every request a real sync and the resolving operations send.

A live sync and a create_tags run go through both simulators over HTTP; afterwards every
logged request is executed again, both ways, against the same state, and compared.
"""
from __future__ import annotations

import requests
from graphql import build_schema, execute, parse

from stash_local import LocalStash
from stashdb_api import StashDBClient
from stashdb_scene_sync import SyncSettings, sync_scene_tags
from tests.simulators.launch import start_simulators
from tests.simulators.library import generate_library
from tests.simulators.plain_execution import run_plainly
from tests.simulators.request_log import RequestLogEntry
from tests.simulators.stashdb_sim import DEFAULT_API_KEY

PLAIN_ROOT_FIELDS = {"findScenes", "findScene", "findScenesBySceneFingerprints", "findTags", "findTag"}


def _both_ways(sim, entry: RequestLogEntry):
    document = parse(entry.query)
    context = sim.context_for(entry)
    core = execute(sim.schema, document, None, context, entry.variables, entry.operation_name)
    plain = run_plainly(sim.schema, document, context, entry.variables, entry.operation_name)
    return core, plain


def test_plain_answers_equal_graphql_core_for_everything_a_sync_sends():
    library = generate_library(300, seed=11)
    with start_simulators(library) as sims:
        local = LocalStash(requests.Session(), sims.stash.url)
        stashdb = StashDBClient(sims.stashdb.url, DEFAULT_API_KEY, requests_per_second=500)
        stats = sync_scene_tags(local, stashdb, SyncSettings(endpoint=sims.stashdb.url, dry_run=False))
        unmatched = sorted({tag.id for tag in library.stashdb_tags})[:45]
        stashdb.find_tags_by_ids(unmatched + ["00000000-0000-0000-0000-000000000000"])
        assert stats.tags_added > 0 and stats.found_by_fingerprint > 0 and stats.found_by_id > 0
        compared = {"stash": 0, "stashdb": 0}
        for side, sim in (("stash", sims.stash), ("stashdb", sims.stashdb)):
            for entry in sim.request_log.entries():
                if not entry.query or entry.operation_type != "query":
                    continue
                core, plain = _both_ways(sim, entry)
                if set(entry.root_fields) <= PLAIN_ROOT_FIELDS and not core.errors:
                    assert plain is not None, entry.operation_name
                if plain is not None:
                    assert not core.errors
                    assert plain == core.data, entry.operation_name
                    compared[side] += 1
        assert compared["stash"] >= 10 and compared["stashdb"] >= 10, compared


def test_what_plain_execution_leaves_to_graphql_core():
    library = generate_library(50, seed=3)
    with start_simulators(library) as sims:
        stashdb, stash = sims.stashdb, sims.stash
        scene_id = library.stashdb_scenes[0].id

        def entry(query: str, variables: dict | None = None, api_key: str | None = DEFAULT_API_KEY):
            return RequestLogEntry(0, 0.0, 0.0, "/graphql", api_key=api_key, query=query, variables=variables)

        found = entry("query Q($id: ID!) { findScene(id: $id) { id tags { id name } } }", {"id": scene_id})
        core, plain = _both_ways(stashdb, found)
        assert plain == core.data and plain["findScene"]["id"] == scene_id
        refused = [
            # a malformed id: the resolver's error belongs in graphql-core's answer
            entry("query Q($id: ID!) { findScene(id: $id) { id } }", {"id": "not-a-uuid"}),
            # no key: every field is "not authorized"
            entry("query Q($id: ID!) { findScene(id: $id) { id } }", {"id": scene_id}, api_key=None),
            entry("query Q($id: ID!) { findScene(id: $id) { __typename id } }", {"id": scene_id}),
            entry("query Q($id: ID!, $x: Boolean!) { findScene(id: $id) { id @include(if: $x) } }",
                  {"id": scene_id, "x": True}),
            entry("query Q($id: ID!) { findScene(id: $id) { id } }", {"id": 5}),
        ]
        for request in refused:
            assert _both_ways(stashdb, request)[1] is None, request.query
        count = entry("query C { findTags { count } }")
        tags_before = _both_ways(stash, count)[0].data["findTags"]["count"]
        mutation = entry('mutation M { tagCreate(input: {name: "Plainly"}) { id } }')
        plain = run_plainly(stash.schema, parse(mutation.query), stash.context_for(mutation), None, None)
        assert plain is None
        assert _both_ways(stash, count)[0].data["findTags"]["count"] == tags_before  # nothing was written


def test_values_graphql_core_would_treat_specially_are_left_to_it():
    schema = build_schema("type Query { thing(id: ID!): Thing } type Thing { name: String! tags: [String!] }")
    things = {"null name": {"name": None}, "callable": {"name": lambda *_: "x"}, "not a list": {"name": "a", "tags": "a"},
              "plain": {"name": "a", "tags": ["b", "c"]}}
    schema.query_type.fields["thing"].resolve = lambda _root, _info, id: things[id]
    document = parse("query Q($id: ID!) { thing(id: $id) { name tags } }")
    answers = {case: run_plainly(schema, document, None, {"id": case}, None) for case in things}
    assert answers == {"null name": None, "callable": None, "not a list": None,
                       "plain": {"thing": {"name": "a", "tags": ["b", "c"]}}}
    assert execute(schema, document, None, None, {"id": "plain"}).data == answers["plain"]
