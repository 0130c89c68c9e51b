"""The simulated Stash and StashDB servers and the library generator, over real HTTP."""
from __future__ import annotations

import collections
import re
import uuid

import pytest
import requests
from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLObjectType,
    GraphQLSchema,
    OperationDefinitionNode,
    Visitor,
    build_schema,
    parse,
    specified_scalar_types,
    validate,
    visit,
)

from tests.shared_schemas import SHARED_DIR, require_stash_schema, require_stashbox_schema
from tests.simulators import (
    DEFAULT_ENDPOINT,
    NO_STASH_ID,
    STASHDB_DELETED,
    STASHDB_NOT_FOUND,
    UNCHANGED,
    UPDATED,
    LocalFile,
    LocalFingerprint,
    LocalScene,
    LocalStashID,
    LocalTag,
    ManualClock,
    StashDBFingerprint,
    StashDBScene,
    StashDBSimulator,
    StashDBTag,
    StashSimulator,
    generate_library,
    start_simulators,
)
from tests.simulators import library_tags
from tests.simulators.schema_files import STASH_SUBSET_FILE, STASHDB_SUBSET_FILE
from tests.simulators.text_rules import ascii_fold
from tests.simulators.vocabulary import load_vocabulary

TIMEOUT = 5
CLIENT_QUERIES_FILE = SHARED_DIR / "schemas" / "stash-v0.30.1-stash-box-client-queries.graphql"

FINGERPRINTS_QUERY = """
query Fingerprints($fingerprints: [[FingerprintQueryInput!]!]!) {
  findScenesBySceneFingerprints(fingerprints: $fingerprints) { id deleted title tags { id name } }
}"""
FIND_SCENE_QUERY = "query FindScene($id: ID!) { findScene(id: $id) { id deleted tags { id name } } }"
TWO_SCENES_QUERY = """
query TwoScenes($a: ID!, $b: ID!) { a: findScene(id: $a) { id } b: findScene(id: $b) { id } }"""
ME_QUERY = "query Me { me { name } }"


def gql(url, query, variables=None, headers=None, timeout=TIMEOUT, session=None):
    poster = session or requests
    return poster.post(url, json={"query": query, "variables": variables or {}}, headers=headers, timeout=timeout)


def hashes(*pairs):
    return [{"algorithm": algorithm, "hash": value} for algorithm, value in pairs]


# --------------------------------------------------------------------------
# StashDB simulator
# --------------------------------------------------------------------------
TAG_A = StashDBTag(str(uuid.UUID(int=1)), "Anal", ("Buttsex",), "Action")
TAG_B = StashDBTag(str(uuid.UUID(int=2)), "Blonde", (), "Hair")
SCENE_1 = StashDBScene(str(uuid.UUID(int=11)), "One", (TAG_A.id, TAG_B.id),
                       (StashDBFingerprint("OSHASH", "1111111111111111"), StashDBFingerprint("PHASH", "abc")))
SCENE_2 = StashDBScene(str(uuid.UUID(int=12)), "Two", (TAG_B.id,),
                       (StashDBFingerprint("PHASH", "abc"), StashDBFingerprint("OSHASH", "2222222222222222")))
SCENE_DELETED = StashDBScene(str(uuid.UUID(int=13)), "Gone", (TAG_A.id,),
                             (StashDBFingerprint("OSHASH", "3333333333333333"),), deleted=True)


@pytest.fixture
def stashdb():
    with StashDBSimulator.from_records([TAG_A, TAG_B], [SCENE_1, SCENE_2, SCENE_DELETED]) as sim:
        yield sim


def ask_fingerprints(sim, groups, **kwargs):
    return gql(sim.url, FINGERPRINTS_QUERY, {"fingerprints": groups}, {"ApiKey": sim.api_key}, **kwargs)


def answer_ids(response):
    return [[scene["id"] for scene in group] for group in response.json()["data"]["findScenesBySceneFingerprints"]]


def test_fingerprint_answer_has_one_list_per_input_in_input_order(stashdb):
    groups = [
        hashes(("OSHASH", "2222222222222222")),
        hashes(("OSHASH", "ffffffffffffffff")),
        [],
        hashes(("PHASH", "abc")),
        hashes(("OSHASH", "1111111111111111"), ("PHASH", "abc")),
    ]
    response = ask_fingerprints(stashdb, groups)
    assert response.status_code == 200
    assert answer_ids(response) == [
        [SCENE_2.id], [], [], [SCENE_1.id, SCENE_2.id], [SCENE_1.id, SCENE_2.id],
    ]


def test_more_than_40_lists_fail_with_too_many_scenes(stashdb):
    group = hashes(("OSHASH", "1111111111111111"))
    assert len(answer_ids(ask_fingerprints(stashdb, [group] * 40))) == 40
    response = ask_fingerprints(stashdb, [group] * 41)
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["message"] == "too many scenes"
    assert body["errors"][0]["path"] == ["findScenesBySceneFingerprints"]


def test_deleted_scenes_are_never_fingerprint_matches_but_find_scene_returns_them(stashdb):
    assert answer_ids(ask_fingerprints(stashdb, [hashes(("OSHASH", "3333333333333333"))])) == [[]]
    found = gql(stashdb.url, FIND_SCENE_QUERY, {"id": SCENE_DELETED.id}, {"ApiKey": stashdb.api_key})
    assert found.json()["data"]["findScene"]["deleted"] is True
    stashdb.data.set_deleted(SCENE_1.id)
    assert answer_ids(ask_fingerprints(stashdb, [hashes(("PHASH", "abc"))])) == [[SCENE_2.id]]


def test_md5_inputs_are_ignored_and_hashes_compare_as_numbers(stashdb):
    same_value_as_md5 = hashes(("MD5", "1111111111111111"))
    assert answer_ids(ask_fingerprints(stashdb, [same_value_as_md5])) == [[]]
    padded_upper_case = hashes(("PHASH", "0000000000000ABC"))
    assert answer_ids(ask_fingerprints(stashdb, [padded_upper_case])) == [[SCENE_1.id, SCENE_2.id]]
    scene = ask_fingerprints(stashdb, [padded_upper_case]).json()
    assert scene["data"]["findScenesBySceneFingerprints"][0][0]["tags"][0]["name"] == "Anal"


def test_find_scene_unknown_id_is_null_and_aliases_resolve_independently(stashdb):
    response = gql(stashdb.url, TWO_SCENES_QUERY, {"a": SCENE_1.id, "b": str(uuid.UUID(int=99))},
                   {"ApiKey": stashdb.api_key})
    assert response.json() == {"data": {"a": {"id": SCENE_1.id}, "b": None}}


def test_a_malformed_id_fails_its_alias_alone_at_the_id_argument_key_or_no_key(stashdb):
    """As stash-box (gqlgen) reads arguments: before the role check, in gofrs/uuid's words."""
    variables = {"a": SCENE_1.id, "b": "not-a-uuid"}
    body = gql(stashdb.url, TWO_SCENES_QUERY, variables, {"ApiKey": stashdb.api_key}).json()
    assert body["data"] == {"a": {"id": SCENE_1.id}, "b": None}
    assert [(e["message"], e["path"]) for e in body["errors"]] == [
        ('uuid: incorrect UUID length 10 in string "not-a-uuid"', ["b", "id"])]
    anonymous = gql(stashdb.url, TWO_SCENES_QUERY, variables).json()
    assert sorted((e["message"], e["path"]) for e in anonymous["errors"]) == [
        ("not authorized", ["a"]), ('uuid: incorrect UUID length 10 in string "not-a-uuid"', ["b", "id"])]


def test_a_hash_that_is_not_hex_fails_at_its_place_in_the_argument(stashdb):
    body = ask_fingerprints(stashdb, [hashes(("OSHASH", "1111111111111111")), hashes(("MD5", "abc"), ("PHASH", "xyz"))]).json()
    assert body["data"] is None
    assert [(e["message"], e["path"]) for e in body["errors"]] == [
        ('invalid fingerprint hash: strconv.ParseUint: parsing "xyz": invalid syntax',
         ["findScenesBySceneFingerprints", "fingerprints", 1, 1, "hash"])]


def test_wrong_api_key_gets_401_with_an_empty_body(stashdb):
    response = gql(stashdb.url, ME_QUERY, headers={"ApiKey": "not-the-key"})
    assert (response.status_code, response.content) == (401, b"")


def test_no_api_key_is_not_authorized(stashdb):
    me = gql(stashdb.url, ME_QUERY)
    assert me.status_code == 200
    assert me.json()["errors"][0]["message"] == "not authorized"
    assert me.json()["data"] == {"me": None}
    scenes = gql(stashdb.url, FINGERPRINTS_QUERY, {"fingerprints": [[]]})
    assert scenes.json()["data"] is None
    assert scenes.json()["errors"][0]["message"] == "not authorized"
    assert gql(stashdb.url, ME_QUERY, headers={"ApiKey": stashdb.api_key}).json() == {
        "data": {"me": {"name": stashdb.user_name}}}


def test_requests_per_minute_limit_answers_429_with_retry_after():
    clock = ManualClock(1000.0)
    with StashDBSimulator(api_key="k", requests_per_minute=3, clock=clock) as sim:
        statuses = [gql(sim.url, ME_QUERY, headers={"ApiKey": "k"}).status_code for _ in range(3)]
        clock.advance(20)
        refused = gql(sim.url, ME_QUERY, headers={"ApiKey": "k"})
        assert statuses == [200, 200, 200]
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == "40"
        clock.advance(40)
        assert gql(sim.url, ME_QUERY, headers={"ApiKey": "k"}).status_code == 200


def test_invalid_documents_get_422_and_bad_json_400(stashdb):
    invalid = gql(stashdb.url, "{ me { nickname } }", headers={"ApiKey": stashdb.api_key})
    assert invalid.status_code == 422
    assert invalid.json()["data"] is None
    unparsable = gql(stashdb.url, "{ me { ", headers={"ApiKey": stashdb.api_key})
    assert unparsable.status_code == 422
    bad_json = requests.post(stashdb.url, data=b"{not json", headers={"ApiKey": stashdb.api_key}, timeout=TIMEOUT)
    assert bad_json.status_code == 400


def test_request_log_records_what_was_asked(stashdb):
    gql(stashdb.url, TWO_SCENES_QUERY, {"a": SCENE_1.id, "b": SCENE_2.id}, {"ApiKey": stashdb.api_key})
    gql(stashdb.url, ME_QUERY)
    first, second = stashdb.request_log.entries()
    assert (first.number, second.number) == (1, 2)
    assert first.root_fields == ("findScene", "findScene")
    assert first.aliases == ("a", "b")
    assert first.operation_name == "TwoScenes"
    assert first.variables == {"a": SCENE_1.id, "b": SCENE_2.id}
    assert first.has_api_key and first.api_key == stashdb.api_key and first.status == 200
    assert not second.has_api_key and second.error_messages == ("not authorized",)
    assert first.monotonic <= second.monotonic


# -- faults ----------------------------------------------------------------
def me_with_key(sim, **kwargs):
    return gql(sim.url, ME_QUERY, headers={"ApiKey": sim.api_key}, **kwargs)


@pytest.mark.parametrize("kind, status, content_type", [
    ("http_500", 500, "text/plain"),
    ("http_502_html", 502, "text/html"),
    ("http_503", 503, None),
    ("http_429", 429, None),
])
def test_http_error_faults(stashdb, kind, status, content_type):
    stashdb.add_fault(kind, nth=1)
    response = me_with_key(stashdb)
    assert response.status_code == status
    assert response.headers.get("Content-Type") == content_type
    if kind in ("http_503", "http_429"):
        assert response.headers["Retry-After"] == "1"
    if kind == "http_502_html":
        assert response.text.startswith("<html>")
    assert me_with_key(stashdb).status_code == 200


def test_429_fault_without_retry_after(stashdb):
    stashdb.add_fault("http_429", retry_after=None)
    response = me_with_key(stashdb)
    assert response.status_code == 429 and "Retry-After" not in response.headers


def test_invalid_json_fault(stashdb):
    stashdb.add_fault("invalid_json")
    response = me_with_key(stashdb)
    assert response.status_code == 200
    with pytest.raises(ValueError):
        response.json()


def test_auth_revoked_fault_lasts_until_cleared(stashdb):
    stashdb.add_fault("auth_revoked", nth=2)
    assert me_with_key(stashdb).status_code == 200
    assert [me_with_key(stashdb).status_code for _ in range(2)] == [401, 401]
    stashdb.clear_faults()
    assert me_with_key(stashdb).status_code == 200


def test_drop_fault_closes_the_connection(stashdb):
    stashdb.add_fault("drop", nth=1)
    with pytest.raises(requests.ConnectionError):
        me_with_key(stashdb)
    assert me_with_key(stashdb).status_code == 200


def test_hang_fault_outlasts_the_client_timeout(stashdb):
    stashdb.add_fault("hang", nth=1, seconds=2.0)
    with pytest.raises(requests.ReadTimeout):
        me_with_key(stashdb, timeout=0.2)
    stashdb.add_fault("hang", nth=1, seconds=0.01, then="close", root_field="me")
    with pytest.raises(requests.ConnectionError):
        me_with_key(stashdb)


def test_wrong_length_fault_drops_the_last_inner_list(stashdb):
    stashdb.add_fault("wrong_length", root_field="findScenesBySceneFingerprints")
    groups = [hashes(("OSHASH", "1111111111111111")), hashes(("OSHASH", "2222222222222222"))]
    assert answer_ids(ask_fingerprints(stashdb, groups)) == [[SCENE_1.id]]


def test_partial_errors_fault_nulls_one_entry_and_says_where(stashdb):
    stashdb.add_fault("partial_errors")
    response = gql(stashdb.url, TWO_SCENES_QUERY, {"a": SCENE_1.id, "b": SCENE_2.id}, {"ApiKey": stashdb.api_key})
    body = response.json()
    assert response.status_code == 200
    assert body["data"] == {"a": {"id": SCENE_1.id}, "b": None}
    assert body["errors"][0]["path"] == ["b"]
    groups = [hashes(("OSHASH", "1111111111111111")), hashes(("OSHASH", "2222222222222222"))]
    nested = ask_fingerprints(stashdb, groups).json()
    assert nested["data"]["findScenesBySceneFingerprints"] == [[{
        "id": SCENE_1.id, "deleted": False, "title": "One",
        "tags": [{"id": TAG_A.id, "name": "Anal"}, {"id": TAG_B.id, "name": "Blonde"}]}], [None]]
    assert nested["errors"][0]["path"] == ["findScenesBySceneFingerprints", 1, 0]


def test_fault_selection_by_number_after_and_field(stashdb):
    stashdb.add_fault("http_500", nth=2, root_field="me")
    stashdb.add_fault("http_503", after=3, root_field="findScene")
    me = [me_with_key(stashdb).status_code for _ in range(3)]
    scenes = [gql(stashdb.url, FIND_SCENE_QUERY, {"id": SCENE_1.id}, {"ApiKey": stashdb.api_key}).status_code
              for _ in range(5)]
    assert me == [200, 500, 200]
    assert scenes == [200, 200, 200, 503, 503]
    assert [f.kind for f in stashdb.faults.fired()] == ["http_500", "http_503", "http_503"]


def test_fault_selection_by_fraction_is_seeded(stashdb):
    def pattern(seed):
        stashdb.clear_faults()
        stashdb.add_fault("http_500", fraction=0.5, seed=seed)
        return [me_with_key(stashdb).status_code for _ in range(16)]

    first = pattern(7)
    assert pattern(7) == first
    assert 0 < first.count(500) < 16


@pytest.mark.parametrize("operation", [
    "FindSceneByID", "FindScenesBySceneFingerprints", "SearchScene", "SearchPerformer",
    "FindPerformerByID", "FindStudio", "FindTag", "QueryTags", "Me",
])
def test_queries_stash_sends_to_a_stash_box_run_without_errors(stashdb, operation):
    variables = {
        "FindSceneByID": {"id": SCENE_1.id},
        "FindScenesBySceneFingerprints": {"fingerprints": [hashes(("OSHASH", "1111111111111111"))]},
        "SearchScene": {"term": SCENE_1.id},
        "SearchPerformer": {"term": "someone"},
        "FindPerformerByID": {"id": str(uuid.UUID(int=5))},
        "FindStudio": {"id": str(uuid.UUID(int=6))},
        "FindTag": {"id": TAG_A.id},
        "QueryTags": {"input": {"names": "anal"}},
        "Me": {},
    }[operation]
    response = requests.post(stashdb.url, json={
        "query": client_query_document(operation), "operationName": operation, "variables": variables,
    }, headers={"ApiKey": stashdb.api_key}, timeout=TIMEOUT)
    assert response.status_code == 200
    body = response.json()
    assert "errors" not in body and body["data"]
    if operation in ("FindSceneByID", "SearchScene", "FindScenesBySceneFingerprints"):
        assert SCENE_1.id in response.text and "Anal" in response.text


# --------------------------------------------------------------------------
# Stash simulator
# --------------------------------------------------------------------------
ENDPOINT = "https://stashdb.org/graphql"
SCENES_QUERY = """
query Scenes($scene_filter: SceneFilterType, $filter: FindFilterType, $ids: [ID!]) {
  findScenes(scene_filter: $scene_filter, filter: $filter, ids: $ids) {
    count scenes { id title updated_at tags { id name } stash_ids { endpoint stash_id }
                   files { fingerprints { type value } } }
  }
}"""
BULK_ADD = """
mutation Add($ids: [ID!], $tag_ids: [ID!], $mode: BulkUpdateIdMode!) {
  bulkSceneUpdate(input: {ids: $ids, tag_ids: {ids: $tag_ids, mode: $mode}}) { id }
}"""
TWO_BULK_UPDATES = """
mutation Two($a: [ID!], $a_tags: [ID!], $b: [ID!], $b_tags: [ID!]) {
  first: bulkSceneUpdate(input: {ids: $a, tag_ids: {ids: $a_tags, mode: ADD}}) { id }
  second: bulkSceneUpdate(input: {ids: $b, tag_ids: {ids: $b_tags, mode: ADD}}) { id }
}"""
SCENE_UPDATE = "mutation Set($input: SceneUpdateInput!) { sceneUpdate(input: $input) { id tags { id } } }"
TAGS_QUERY = """
query Tags($filter: FindFilterType, $tag_filter: TagFilterType) {
  findTags(filter: $filter, tag_filter: $tag_filter) {
    count tags { id name sort_name aliases stash_ids { endpoint stash_id updated_at } }
  }
}"""
CONFIG_QUERY = """
query Config($include: [ID!]) {
  configuration {
    general { apiKey stashBoxes { endpoint api_key name max_requests_per_minute } }
    scraping { excludeTagPatterns }
    plugins(include: $include)
  }
}"""


def small_local_library():
    tags = [LocalTag(1, "Anal", stash_ids=(LocalStashID(ENDPOINT, TAG_A.id),)), LocalTag(2, "Blonde"),
            LocalTag(3, "Kept", aliases=("Keep",))]
    scenes = []
    for scene_id in range(1, 7):
        links = (LocalStashID(ENDPOINT, str(uuid.UUID(int=100 + scene_id))),) if scene_id != 6 else ()
        file = LocalFile(scene_id, f"/v/{scene_id}.mp4", (LocalFingerprint("oshash", f"{scene_id:016x}"),))
        scenes.append(LocalScene(scene_id, f"Scene {scene_id}", links, (file,), (3,) if scene_id == 1 else ()))
    return tags, scenes


@pytest.fixture
def clock():
    return ManualClock(1_733_011_200.0)


@pytest.fixture
def stash(clock):
    tags, scenes = small_local_library()
    with StashSimulator(tags, scenes, api_key="stash-key", clock=clock) as sim:
        yield sim


def key(sim):
    return {"ApiKey": sim.api_key}


def scenes_page(sim, scene_filter=None, find_filter=None, ids=None):
    response = gql(sim.url, SCENES_QUERY, {"scene_filter": scene_filter, "filter": find_filter, "ids": ids}, key(sim))
    assert response.status_code == 200, response.text
    return response.json()


def page_ids(body):
    return [int(scene["id"]) for scene in body["data"]["findScenes"]["scenes"]]


def connection(sim, **extra):
    return {"Scheme": "http", "Host": "0.0.0.0", "Port": sim.port, **extra}


def test_stash_interface_connects_with_a_session_cookie_or_an_api_key(stash):
    from stashapi.stashapp import StashInterface

    with_cookie = StashInterface(connection(stash, SessionCookie={"Name": "session", "Value": stash.session_cookie}))
    with_key = StashInterface(connection(stash, ApiKey="stash-key"))
    assert str(with_cookie.version).startswith("v0.30.1")
    assert with_key.call_GQL("query { version { version } }") == {"version": {"version": "v0.30.1"}}
    entries = stash.request_log.entries()
    assert any(e.session_cookie == stash.session_cookie and "__schema" in (e.query or "") for e in entries)
    assert {e.status for e in entries} == {200}


def test_stash_wrong_key_or_missing_credentials_get_401(stash):
    from stashapi.stashapp import StashInterface

    with pytest.raises(Exception):
        StashInterface(connection(stash, ApiKey="wrong"))
    assert (stash.request_log.entries()[-1].status, stash.request_log.entries()[-1].api_key) == (401, "wrong")
    assert gql(stash.url, "{ version { version } }").status_code == 401
    stash.expire_session()
    expired = gql(stash.url, "{ version { version } }", session=_cookie_session(stash))
    assert expired.status_code == 401 and expired.content == b""


def _cookie_session(sim):
    session = requests.Session()
    session.cookies.set("session", sim.session_cookie)
    return session


def test_stash_without_credentials_answers_anyone_but_refuses_a_wrong_key():
    with StashSimulator() as sim:
        assert gql(sim.url, "{ version { version } }").status_code == 200
        assert gql(sim.url, "{ version { version } }", headers={"ApiKey": "x"}).status_code == 401


def test_find_scenes_by_stash_id_endpoint_compares_the_endpoint_exactly(stash):
    not_null = {"stash_id_endpoint": {"endpoint": ENDPOINT, "modifier": "NOT_NULL"}}
    body = scenes_page(stash, not_null, {"per_page": -1, "sort": "id"})
    assert body["data"]["findScenes"]["count"] == 5
    assert page_ids(body) == [1, 2, 3, 4, 5]
    for near_miss in (ENDPOINT + "/", ENDPOINT.upper()):
        other = {"stash_id_endpoint": {"endpoint": near_miss, "modifier": "NOT_NULL"}}
        assert scenes_page(stash, other, {"per_page": -1})["data"]["findScenes"]["count"] == 0
    equals = {"stash_id_endpoint": {"endpoint": ENDPOINT, "stash_id": str(uuid.UUID(int=103)), "modifier": "EQUALS"}}
    assert page_ids(scenes_page(stash, equals, {"per_page": -1})) == [3]


def test_find_scenes_paging_sorting_and_id_lookup(stash):
    assert page_ids(scenes_page(stash, None, {"sort": "id", "direction": "DESC", "page": 2, "per_page": 2})) == [4, 3]
    assert page_ids(scenes_page(stash, None, {"sort": "id", "per_page": 4, "page": 2})) == [5, 6]
    assert len(page_ids(scenes_page(stash, None, {}))) == 6
    after_id = {"id": {"value": 4, "modifier": "GREATER_THAN"}}
    assert page_ids(scenes_page(stash, after_id, {"sort": "id", "per_page": -1})) == [5, 6]
    body = scenes_page(stash, ids=["5", "2"])
    assert page_ids(body) == [5, 2]
    scene = body["data"]["findScenes"]["scenes"][0]
    assert scene["files"] == [{"fingerprints": [{"type": "oshash", "value": "0000000000000005"}]}]
    missing = scenes_page(stash, ids=["2", "999"])
    assert missing["data"] is None and "999" in missing["errors"][0]["message"]


def test_every_update_bumps_updated_at_to_the_whole_second(stash, clock):
    clock.advance(0.7)
    gql(stash.url, BULK_ADD, {"ids": ["2"], "tag_ids": ["1"], "mode": "ADD"}, key(stash))
    gql(stash.url, BULK_ADD, {"ids": ["3"], "tag_ids": [], "mode": "ADD"}, key(stash))
    assert stash.scene_updated_at(2) == stash.scene_updated_at(3) == int(clock())
    updated = scenes_page(stash, ids=["2"])["data"]["findScenes"]["scenes"][0]["updated_at"]
    assert updated == "2024-12-01T00:00:00Z"
    order = page_ids(scenes_page(stash, None, {"sort": "updated_at", "per_page": -1}))
    assert order[-2:] == [2, 3]


def test_updated_at_order_follows_writes_with_title_as_tie_break(stash, clock):
    def order(direction):
        return page_ids(scenes_page(stash, None, {"sort": "updated_at", "direction": direction, "per_page": -1}))

    order("ASC"), order("DESC")  # both orders are now cached by the simulator
    for scene_ids, step in ((["5", "2"], 1), (["4"], 0), (["1", "5"], 1), (["3"], 0)):
        clock.advance(step)
        gql(stash.url, BULK_ADD, {"ids": scene_ids, "tag_ids": ["2"], "mode": "ADD"}, key(stash))
    stamps = {i: stash.scene_updated_at(i) for i in range(1, 7)}
    assert order("ASC") == sorted(stamps, key=lambda i: (stamps[i], i))
    assert order("DESC") == sorted(stamps, key=lambda i: (-stamps[i], i))
    assert order("ASC")[-3:] == [1, 3, 5]


def test_offset_paging_over_updated_at_skips_scenes_while_updating(stash, clock):
    seen = []
    for page in (1, 2, 3):
        batch = page_ids(scenes_page(stash, None, {"sort": "updated_at", "per_page": 2, "page": page}))
        seen += batch
        clock.advance(1)
        gql(stash.url, BULK_ADD, {"ids": [str(i) for i in batch], "tag_ids": ["2"], "mode": "ADD"}, key(stash))
    assert len(set(seen)) < 6


def test_bulk_scene_update_add_remove_set(stash):
    def run(mode, tag_ids):
        response = gql(stash.url, BULK_ADD, {"ids": ["1", "2"], "tag_ids": tag_ids, "mode": mode}, key(stash))
        assert response.json()["data"]["bulkSceneUpdate"] == [{"id": "1"}, {"id": "2"}]

    run("ADD", ["1", "3"])
    assert (stash.scene_tag_ids(1), stash.scene_tag_ids(2)) == ([3, 1], [1, 3])
    run("REMOVE", ["3"])
    assert (stash.scene_tag_ids(1), stash.scene_tag_ids(2)) == ([1], [1])
    run("SET", ["2"])
    assert (stash.scene_tag_ids(1), stash.scene_tag_ids(2)) == ([2], [2])
    assert [e.mode for e in stash.mutation_log.applied()] == ["ADD", "REMOVE", "SET"]


def test_scene_update_replaces_the_tag_list(stash):
    stash.add_tags(4, [2])
    response = gql(stash.url, SCENE_UPDATE, {"input": {"id": "4", "tag_ids": ["1"]}}, key(stash))
    assert response.json() == {"data": {"sceneUpdate": {"id": "4", "tags": [{"id": "1"}]}}}
    assert stash.scene_tag_ids(4) == [1]


def test_aliased_mutations_run_independently_and_a_foreign_key_error_writes_nothing(stash):
    before = stash.tags_snapshot()
    updated_before = stash.scene_updated_at(3)
    variables = {"a": ["2"], "a_tags": ["1"], "b": ["3", "4"], "b_tags": ["2", "404"]}
    body = gql(stash.url, TWO_BULK_UPDATES, variables, key(stash)).json()
    assert body["data"] == {"first": [{"id": "2"}], "second": None}
    assert body["errors"][0]["path"] == ["second"]
    assert "FOREIGN KEY constraint failed" in body["errors"][0]["message"]
    after = stash.tags_snapshot()
    assert after[2] == (1,)
    assert (after[3], after[4]) == (before[3], before[4])
    assert stash.scene_updated_at(3) == updated_before
    assert [(e.alias, e.applied) for e in stash.mutation_log.entries()] == [("first", True), ("second", False)]


@pytest.mark.parametrize("kind, message", [("mutation_error", "simulated failure"),
                                           ("fk_error", "FOREIGN KEY constraint failed")])
def test_scene_faults_fail_one_scenes_write(stash, kind, message):
    stash.add_fault(kind, scene_id=4)
    variables = {"a": ["2"], "a_tags": ["1"], "b": ["3", "4"], "b_tags": ["2"]}
    body = gql(stash.url, TWO_BULK_UPDATES, variables, key(stash)).json()
    assert body["data"] == {"first": [{"id": "2"}], "second": None}
    assert message in body["errors"][0]["message"]
    assert (stash.scene_tag_ids(3), stash.scene_tag_ids(4)) == ([], [])


def test_stash_read_faults(stash):
    stash.add_fault("http_500", root_field="findScenes", nth=1)
    assert scenes_page_status(stash) == 500
    assert scenes_page_status(stash) == 200
    stash.add_fault("hang", root_field="findTags", seconds=2.0)
    with pytest.raises(requests.ReadTimeout):
        gql(stash.url, TAGS_QUERY, {}, key(stash), timeout=0.2)


@pytest.mark.parametrize("kind", ["http_502_html", "drop"])
def test_a_fault_after_applying_carries_the_write_out_and_loses_its_answer(stash, kind):
    stash.add_fault(kind, nth=1, root_field="tagCreate", after_applying=True)
    try:
        status = gql(stash.url, TAG_CREATE, {"input": {"name": "Landed"}}, key(stash)).status_code
    except requests.ConnectionError:
        status = None
    assert status == (502 if kind == "http_502_html" else None)
    assert [tag.name for tag in stash.local_tags()].count("Landed") == 1
    data, errors = tag_write(stash, TAG_CREATE, {"name": "Landed"})  # the second try Stash refuses
    assert errors == ["tag with name 'Landed' already exists"]


def test_an_answer_fault_without_after_applying_writes_nothing(stash):
    stash.add_fault("http_502_html", nth=1, root_field="tagCreate")
    assert gql(stash.url, TAG_CREATE, {"input": {"name": "Lost"}}, key(stash)).status_code == 502
    assert "Lost" not in [tag.name for tag in stash.local_tags()]


def test_tags_are_found_by_a_stash_id_for_an_endpoint(stash):
    def found(criterion):
        body = gql(stash.url, TAGS_QUERY, {"tag_filter": {"stash_id_endpoint": criterion}}, key(stash)).json()
        return [tag["id"] for tag in body["data"]["findTags"]["tags"]]

    assert found({"endpoint": ENDPOINT, "stash_id": TAG_A.id, "modifier": "EQUALS"}) == ["1"]
    assert found({"endpoint": "https://elsewhere.example/graphql", "stash_id": TAG_A.id, "modifier": "EQUALS"}) == []
    assert found({"endpoint": ENDPOINT, "stash_id": "not-a-tag", "modifier": "EQUALS"}) == []


def scenes_page_status(sim):
    return gql(sim.url, SCENES_QUERY, {"ids": ["1"]}, key(sim)).status_code


TAG_CREATE = """mutation C($input: TagCreateInput!) {
  tagCreate(input: $input) { id name description aliases stash_ids { endpoint stash_id } parents { id } } }"""
TAG_UPDATE = """mutation U($input: TagUpdateInput!) {
  tagUpdate(input: $input) { id name aliases stash_ids { endpoint stash_id } } }"""
CONFIGURE_SCRAPING = """mutation S($input: ConfigScrapingInput!) {
  configureScraping(input: $input) { excludeTagPatterns } }"""


def tag_write(sim, query, tag_input):
    body = gql(sim.url, query, {"input": tag_input}, key(sim)).json()
    return body.get("data"), [e["message"] for e in body.get("errors") or []]


@pytest.mark.parametrize("tag_input, message", [
    ({"name": "ANAL"}, "tag with name 'ANAL' already exists"),             # LIKE: ASCII case aside
    ({"name": "keep"}, "name 'keep' is used as alias for 'Kept'"),
    ({"name": "New", "aliases": ["blonde"]}, "tag with name 'blonde' already exists"),
    ({"name": "New", "aliases": ["K__p"]}, "name 'K__p' is used as alias for 'Kept'"),  # wildcards in the new text
    ({"name": "  "}, "tag name must not be blank"),
    ({"name": "New", "aliases": ["Twice", "Twice"]}, "UNIQUE constraint failed: tag_aliases.alias"),
])
def test_tag_create_refuses_a_name_or_alias_another_tag_holds(stash, tag_input, message):
    data, errors = tag_write(stash, TAG_CREATE, tag_input)
    assert data == {"tagCreate": None} and errors == [message]
    assert len(stash.local_tags()) == 3


def test_tag_create_trims_and_a_unicode_case_twin_is_accepted(stash):
    data, errors = tag_write(stash, TAG_CREATE, {"name": " Ánal ", "aliases": [" Butt "], "description": "d",
                                                 "stash_ids": [{"endpoint": ENDPOINT, "stash_id": "x"}],
                                                 "parent_ids": ["2"]})
    assert errors == []
    assert data["tagCreate"] == {"id": "4", "name": "Ánal", "description": "d", "aliases": ["Butt"],
                                 "stash_ids": [{"endpoint": ENDPOINT, "stash_id": "x"}], "parents": [{"id": "2"}]}


def test_tag_update_replaces_the_lists_it_is_given_and_keeps_the_rest(stash):
    data, errors = tag_write(stash, TAG_UPDATE, {"id": "1", "aliases": ["Buttsex"]})
    assert errors == [] and data["tagUpdate"]["stash_ids"] == [{"endpoint": ENDPOINT, "stash_id": TAG_A.id}]
    data, _ = tag_write(stash, TAG_UPDATE, {"id": "1", "stash_ids": [{"endpoint": "E2", "stash_id": "y"}]})
    assert data["tagUpdate"] == {"id": "1", "name": "Anal", "aliases": ["Buttsex"],
                                 "stash_ids": [{"endpoint": "E2", "stash_id": "y"}]}
    _, errors = tag_write(stash, TAG_UPDATE, {"id": "2", "aliases": ["buttsex"]})
    assert errors == ["name 'buttsex' is used as alias for 'Anal'"]
    _, errors = tag_write(stash, TAG_UPDATE, {"id": "1", "aliases": ["Anal"]})  # its own name: Stash allows it
    assert errors == []
    _, errors = tag_write(stash, TAG_UPDATE, {"id": "99", "name": "x"})
    assert errors == ["tag with id 99 not found"]


def test_configure_scraping_replaces_the_pattern_list_and_refuses_a_bad_one(stash):
    data, errors = tag_write(stash, CONFIGURE_SCRAPING, {"excludeTagPatterns": ["^a$", "b"]})
    assert errors == [] and data["configureScraping"]["excludeTagPatterns"] == ["^a$", "b"]
    data, errors = tag_write(stash, CONFIGURE_SCRAPING, {"excludeTagPatterns": ["("]})
    assert errors and "tag exclusion pattern '(' invalid" in errors[0]
    assert stash.exclude_tag_patterns == ["^a$", "b"]


def test_find_tags_paging_and_stash_ids(stash):
    body = gql(stash.url, TAGS_QUERY, {"filter": {"per_page": 2, "page": 2, "sort": "name"}}, key(stash)).json()
    assert body["data"]["findTags"]["count"] == 3
    assert [t["name"] for t in body["data"]["findTags"]["tags"]] == ["Kept"]
    everything = gql(stash.url, TAGS_QUERY, {"filter": {"per_page": -1}}, key(stash)).json()["data"]["findTags"]
    anal = next(t for t in everything["tags"] if t["name"] == "Anal")
    assert anal["stash_ids"][0]["stash_id"] == TAG_A.id and anal["stash_ids"][0]["endpoint"] == ENDPOINT
    named = {"name": {"value": "KEPT", "modifier": "EQUALS"}}
    assert gql(stash.url, TAGS_QUERY, {"tag_filter": named}, key(stash)).json()["data"]["findTags"]["count"] == 1


@pytest.mark.parametrize("tag_filter, names", [
    ({"name": {"value": "k_pt", "modifier": "EQUALS"}}, ["Kept"]),              # LIKE: _ is one character
    ({"name": {"value": "%n%", "modifier": "EQUALS"}}, ["Anal", "Blonde"]),
    ({"aliases": {"value": "KEEP", "modifier": "EQUALS"}}, ["Kept"]),
    ({"aliases": {"value": "Kept", "modifier": "EQUALS"}}, []),                  # a name is not an alias
    ({"stash_id_endpoint": {"endpoint": ENDPOINT, "stash_id": TAG_A.id, "modifier": "EQUALS"}}, ["Anal"]),
    ({"stash_id_endpoint": {"endpoint": ENDPOINT + "/", "stash_id": TAG_A.id, "modifier": "EQUALS"}}, []),
])
def test_find_tags_filters_as_stash_does(stash, tag_filter, names):
    body = gql(stash.url, TAGS_QUERY, {"tag_filter": tag_filter, "filter": {"per_page": -1, "sort": "name"}},
               key(stash)).json()
    assert [tag["name"] for tag in body["data"]["findTags"]["tags"]] == names


def test_run_plugin_task_is_recorded_with_its_arguments_and_answers_a_job_id(stash):
    document = """mutation Run($args: Map) {
      runPluginTask(plugin_id: "tagManager", task_name: "Re-match", description: "why", args_map: $args)
    }"""
    body = gql(stash.url, document, {"args": {"stashdb_tag_ids": ["a"], "report": "r"}}, key(stash)).json()
    assert body["data"] == {"runPluginTask": "1"}
    (task,) = stash.plugin_tasks
    assert (task.plugin_id, task.task_name, task.description, task.args_map) == (
        "tagManager", "Re-match", "why", {"stashdb_tag_ids": ["a"], "report": "r"})


def test_configuration_lists_the_stash_box_settings_and_plugin_settings():
    library = generate_library(30, seed=3, exclude_tag_patterns=("^pov$",))
    settings = {"tagManager": {"dryRun": False, "endpoint": "x"}, "otherPlugin": {}}
    with start_simulators(library, stash_api_key="sk", max_requests_per_minute=90, plugin_settings=settings) as sims:
        body = gql(sims.stash.url, CONFIG_QUERY, {"include": ["tagManager", "otherPlugin", "absent"]},
                   {"ApiKey": "sk"}).json()
        config = body["data"]["configuration"]
        assert config["general"] == {"apiKey": "sk", "stashBoxes": [{
            "endpoint": sims.stashdb.url, "api_key": sims.stashdb.api_key, "name": "StashDB",
            "max_requests_per_minute": 90}]}
        assert config["scraping"] == {"excludeTagPatterns": ["^pov$"]}
        assert config["plugins"] == {"tagManager": {"dryRun": False, "endpoint": "x"}}
        assert sims.env()["STASHDB_URL"] == sims.stashdb.url
        assert sims.plugin_input({"mode": "sync"})["server_connection"]["Port"] == sims.stash.port


# --------------------------------------------------------------------------
# Library generator
# --------------------------------------------------------------------------
def exclude_pattern_for(names: list[str], share: float = 0.2) -> str:
    """A pattern that drops about ``share`` of these tag names, whichever vocabulary is in
    use (the real snapshot in ../shared or the synthetic stand-in of a fresh clone): the
    first few last characters, in order, as a class anchored at the end (``[01]$``)."""
    last = collections.Counter(n.lower()[-1] for n in names if n and n[-1].isascii() and n[-1].isalnum())
    chosen, covered = [], 0
    for char, count in sorted(last.items()):
        if covered >= share * len(names):
            break
        chosen.append(char)
        covered += count
    return f"[{''.join(chosen)}]$"


EXCLUDE_PATTERN = exclude_pattern_for([tag.name for tag in load_vocabulary()])


def test_the_derived_exclude_pattern_drops_some_names_and_keeps_most():
    names = ["Anal", "Blonde", "Tag 10", "Tag 11", "Tag 12", "Tag 13", "Tag 14", "Tag 15", "Tag 16", "Tag 17"]
    pattern = exclude_pattern_for(names)
    assert pattern == "[01]$"
    assert [n for n in names if re.search(pattern, n.lower())] == ["Tag 10", "Tag 11"]
    in_use = [tag.name for tag in load_vocabulary()]
    dropped = sum(1 for n in in_use if re.search(EXCLUDE_PATTERN, n.lower()))
    assert 0.1 * len(in_use) <= dropped <= 0.5 * len(in_use), (EXCLUDE_PATTERN, dropped, len(in_use))


@pytest.fixture(scope="module")
def library():
    return generate_library(1500, seed=11, exclude_tag_patterns=(EXCLUDE_PATTERN,))


def test_same_seed_gives_the_same_library(library):
    again = generate_library(1500, seed=11, exclude_tag_patterns=(EXCLUDE_PATTERN,))
    assert again.local_scenes == library.local_scenes
    assert again.local_tags == library.local_tags
    assert again.stashdb_scenes == library.stashdb_scenes
    assert again.stashdb_tags == library.stashdb_tags
    other = generate_library(1500, seed=12, exclude_tag_patterns=(EXCLUDE_PATTERN,))
    assert other.local_scenes != library.local_scenes


def test_fingerprints_and_ids_have_real_formats(library):
    fingerprints = [fp for s in library.local_scenes for f in s.files for fp in f.fingerprints]
    by_type = collections.defaultdict(list)
    for fp in fingerprints:
        by_type[fp.type].append(fp.value)
    assert all(re.fullmatch(r"[0-9a-f]{16}", v) for v in by_type["oshash"])
    assert all(re.fullmatch(r"[0-9a-f]{32}", v) for v in by_type["md5"])
    assert all(re.fullmatch(r"[1-9a-f][0-9a-f]{0,15}", v) for v in by_type["phash"])
    assert any(len(v) < 16 for v in by_type["phash"])
    file_counts = collections.Counter(len(s.files) for s in library.local_scenes)
    assert file_counts[0] and file_counts[1] and file_counts[2]
    stash_ids = [i.stash_id for s in library.local_scenes for i in s.stash_ids]
    assert all(str(uuid.UUID(i)) == i for i in stash_ids)
    assert all(str(uuid.UUID(t.id)) == t.id for t in library.stashdb_tags)


def test_local_tag_names_are_unique_ascii_case_insensitively_and_free_of_wildcards(library):
    words = [ascii_fold(w) for t in library.local_tags for w in (t.name, *t.aliases)]
    assert len(words) == len(set(words))
    assert not any("%" in w or "_" in w for w in words)
    assert len({w.casefold() for w in words}) == len(words)


def test_scene_tags_come_from_the_vocabulary_in_range(library):
    tags = {t.id for t in library.stashdb_tags}
    live = [s for s in library.stashdb_scenes if not s.deleted]
    assert all(5 <= len(s.tag_ids) <= 25 and set(s.tag_ids) <= tags for s in live)


def test_tag_link_kinds_explain_the_expected_matches(library):
    oracle = library_oracle(library)
    local = {t.id: t for t in library.local_tags}
    kinds = collections.Counter()
    for tag in library.stashdb_tags:
        kind, match = library.tag_link_kinds[tag.id], oracle.match(tag)
        kinds[kind] += 1
        if match == "excluded":
            assert re.search(EXCLUDE_PATTERN, tag.name.lower())
        elif kind in (library_tags.MISSING, library_tags.OTHER_ENDPOINT_ONLY):
            assert match is None
        elif kind.startswith("stash_id"):
            assert LocalStashID(library.endpoint, tag.id) in local[match].stash_ids
        elif kind == library_tags.BY_ALIAS:
            assert ascii_fold(tag.name) in {ascii_fold(a) for a in local[match].aliases}
        else:
            assert ascii_fold(local[match].name) == ascii_fold(tag.name)
    assert all(kinds[k] > 0 for k, _ in library_tags.LINK_WEIGHTS)
    assert kinds[library_tags.BY_NAME_CASE_VARIANT] and any(
        local[oracle.match(t)].name != t.name for t in library.stashdb_tags
        if library.tag_link_kinds[t.id] == library_tags.BY_NAME_CASE_VARIANT and oracle.match(t) != "excluded")


def library_oracle(library):
    from tests.simulators import TagOracle

    return TagOracle(library.local_tags, library.endpoint, library.spec.exclude_tag_patterns)


def test_expected_tags_keep_existing_tags_and_only_add_matches(library):
    local_ids = {t.id for t in library.local_tags}
    for scene in library.local_scenes:
        outcome = library.expected_outcome(scene.id)
        expected = library.expected_tag_ids(scene.id)
        assert set(scene.tag_ids) <= expected <= local_ids
        if outcome.category in (NO_STASH_ID, STASHDB_DELETED, STASHDB_NOT_FOUND):
            assert expected == set(scene.tag_ids)
        assert (outcome.category == UPDATED) == bool(outcome.new_tag_ids)
    assert any(scene.tag_ids for scene in library.local_scenes)


def test_a_library_moved_to_another_endpoint_expects_the_same(library):
    """with_endpoint: every link for the library's endpoint names the new URL, others stay."""
    url = "http://127.0.0.1:1/graphql"
    moved = library.with_endpoint(url)
    assert moved.endpoint == url and library.endpoint == DEFAULT_ENDPOINT

    def links(lib, endpoint):
        return [(item.id, link.stash_id) for item in (*lib.local_tags, *lib.local_scenes)
                for link in item.stash_ids if link.endpoint == endpoint]

    assert links(moved, url) == links(library, DEFAULT_ENDPOINT) and links(moved, DEFAULT_ENDPOINT) == []
    others = {link.endpoint for item in (*library.local_tags, *library.local_scenes) for link in item.stash_ids}
    for endpoint in others - {DEFAULT_ENDPOINT}:
        assert links(moved, endpoint) == links(library, endpoint) != []
    assert moved.outcomes == library.outcomes and moved.expected_summary == library.expected_summary


def test_expected_summary_counts_add_up(library):
    summary = library.expected_summary
    assert summary.scenes_total == 1500
    assert summary.updated + summary.unchanged + summary.stashdb_deleted + summary.stashdb_not_found \
        == summary.scenes_in_scope == 1500 - summary.no_stash_id
    assert summary.found_by_fingerprint + summary.found_by_id == summary.updated + summary.unchanged
    assert 0.2 < summary.found_by_id / summary.scenes_in_scope < 0.45
    assert min(summary.stashdb_deleted, summary.stashdb_not_found, summary.unchanged, summary.no_stash_id) > 0
    assert summary.tags_added == sum(len(o.new_tag_ids) for o in library.outcomes.values())
    assert summary.unmatched_tag_counts and summary.excluded_tag_counts
    assert all(re.search(EXCLUDE_PATTERN, name.lower()) for name in summary.excluded_tag_counts)


def test_simulators_agree_with_the_expected_outcomes():
    library = generate_library(300, seed=5)
    with start_simulators(library) as sims, requests.Session() as session:
        in_scope = [s for s in library.local_scenes if library.expected_outcome(s.id).category != NO_STASH_ID]
        not_null = {"stash_id_endpoint": {"endpoint": sims.stashdb.url, "modifier": "NOT_NULL"}}
        body = scenes_page(sims.stash, not_null, {"per_page": -1})
        assert body["data"]["findScenes"]["count"] == len(in_scope)
        for start in range(0, len(in_scope), 40):
            batch = in_scope[start:start + 40]
            groups = [hashes(*[(fp.type.upper(), fp.value) for f in s.files for fp in f.fingerprints]) for s in batch]
            answer = answer_ids(ask_fingerprints(sims.stashdb, groups, session=session))
            for scene, found in zip(batch, answer):
                outcome = library.expected_outcome(scene.id)
                assert (outcome.stashdb_id in found) == (outcome.found_by == "fingerprint"), scene.id
                if outcome.found_by != "fingerprint":
                    assert_found_by_id(sims.stashdb, outcome, session)


def assert_found_by_id(sim, outcome, session):
    scene = gql(sim.url, FIND_SCENE_QUERY, {"id": outcome.stashdb_id}, {"ApiKey": sim.api_key},
                session=session).json()["data"]["findScene"]
    if outcome.category == STASHDB_NOT_FOUND:
        assert scene is None
    elif outcome.category == STASHDB_DELETED:
        assert scene["deleted"] is True
    else:
        assert scene["deleted"] is False and outcome.category in (UPDATED, UNCHANGED)


def test_a_synthetic_vocabulary_stands_in_when_the_real_one_is_absent(tmp_path):
    library = generate_library(200, seed=4, vocabulary_file=tmp_path / "absent.json")
    assert all(t.name.startswith("Synthetic Tag ") for t in library.stashdb_tags)
    assert library.expected_summary.updated > 0


def test_a_large_library_is_generated_whole():
    # How fast is the benchmark's business (bench/run_bench.py --profile scale generates
    # 100,000 scenes), not a timed test's: a busy machine made this one fail.
    library = generate_library(20_000, seed=2)
    assert len(library.local_scenes) == 20_000 and library.endpoint == DEFAULT_ENDPOINT


# --------------------------------------------------------------------------
# Drift: the subsets against the real schemas
# --------------------------------------------------------------------------
def schema_drift(subset: GraphQLSchema, real: GraphQLSchema) -> list[str]:
    """Everything in ``subset`` that the real schema lacks or types differently."""
    problems = []
    for name, kind in subset.type_map.items():
        if name.startswith("__") or name in specified_scalar_types:
            continue
        real_kind = real.type_map.get(name)
        if real_kind is None or type(real_kind) is not type(kind):
            problems.append(f"type {name} missing or of another kind")
        elif isinstance(kind, GraphQLEnumType):
            problems += [f"enum {name}.{v} missing" for v in set(kind.values) - set(real_kind.values)]
        elif isinstance(kind, (GraphQLObjectType, GraphQLInputObjectType)):
            problems += _field_drift(name, kind, real_kind)
    return problems


def _field_drift(type_name, kind, real_kind) -> list[str]:
    problems = []
    for field_name, field in kind.fields.items():
        real_field = real_kind.fields.get(field_name)
        where = f"{type_name}.{field_name}"
        if real_field is None or str(real_field.type) != str(field.type):
            problems.append(f"{where}: {field.type} vs {real_field.type if real_field else 'absent'}")
            continue
        for arg_name, arg in getattr(field, "args", {}).items():
            real_arg = real_field.args.get(arg_name)
            if real_arg is None or str(real_arg.type) != str(arg.type):
                problems.append(f"{where}({arg_name}): {arg.type} vs {real_arg.type if real_arg else 'absent'}")
    for interface in getattr(kind, "interfaces", ()):
        if interface.name not in {i.name for i in real_kind.interfaces}:
            problems.append(f"{type_name} implements {interface.name}")
    return problems


def test_drift_check_catches_a_changed_type():
    real = build_schema("type Query { scene(id: ID!): Scene } type Scene { title: String tags: [String!]! }")
    drifted = build_schema("type Query { scene(id: ID): Scene } type Scene { title: String! tags: [String!]! }")
    assert sorted(schema_drift(drifted, real)) == ["Query.scene(id): ID vs ID!", "Scene.title: String! vs String"]
    assert schema_drift(real, real) == []


def test_stashdb_subset_matches_the_real_stash_box_schema():
    real = require_stashbox_schema()
    assert schema_drift(build_schema(STASHDB_SUBSET_FILE.read_text()), real) == []


def test_stash_subset_matches_the_real_stash_schema():
    real = require_stash_schema()
    assert schema_drift(build_schema(STASH_SUBSET_FILE.read_text()), real) == []


# Operations in Stash v0.30.1's stash-box client that the simulator does not serve.
UNSERVED_CLIENT_OPERATIONS = {
    "FindSceneByFingerprint": "no longer in the stash-box schema",
    "FindScenesByFullFingerprints": "no longer in the stash-box schema",
    "SubmitFingerprint": "mutation: the sync never submits",
    "SubmitSceneDraft": "mutation: the sync never submits",
    "SubmitPerformerDraft": "mutation: the sync never submits",
}


def client_operations() -> dict[str, DocumentNode]:
    if not CLIENT_QUERIES_FILE.is_file():
        pytest.skip(f"{CLIENT_QUERIES_FILE} not found (the ../shared folder is absent)")
    document = parse(CLIENT_QUERIES_FILE.read_text(encoding="utf-8"))
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    operations = {}
    for operation in document.definitions:
        if isinstance(operation, OperationDefinitionNode):
            used = _used_fragments(operation, fragments, set())
            operations[operation.name.value] = DocumentNode(
                definitions=(operation, *(fragments[name] for name in sorted(used))))
    return operations


def _used_fragments(node, fragments, found: set) -> set:
    class Spreads(Visitor):
        def enter_fragment_spread(self, spread, *_args):
            if spread.name.value not in found:
                found.add(spread.name.value)
                _used_fragments(fragments[spread.name.value], fragments, found)

    visit(node, Spreads())
    return found


def client_query_document(operation: str) -> str:
    from graphql import print_ast

    return print_ast(client_operations()[operation])


def test_queries_stash_sends_validate_against_the_stashdb_subset():
    subset = StashDBSimulator().schema
    failing = {name for name, doc in client_operations().items() if validate(subset, doc)}
    assert failing == set(UNSERVED_CLIENT_OPERATIONS)
    real = require_stashbox_schema()
    gone = {name for name, why in UNSERVED_CLIENT_OPERATIONS.items() if why.startswith("no longer")}
    assert all(validate(real, client_operations()[name]) for name in gone)


def test_the_stash_latency_model_charges_a_snapshot_by_the_scene_it_answers():
    from tests.simulators.served import Latency
    import time

    library = generate_library(40, seed=5)
    with start_simulators(library) as sims:
        sims.stash.latency = Latency(per_answered_scene=0.05)
        snapshot = "query S($filter: FindFilterType) { findScenes(filter: $filter) { scenes { id } } }"
        started = time.perf_counter()
        answer = requests.post(sims.stash.url, json={"query": snapshot, "variables": {"filter": {"per_page": -1}}},
                               timeout=TIMEOUT).json()
        snapshot_seconds = time.perf_counter() - started
        ids = [scene["id"] for scene in answer["data"]["findScenes"]["scenes"]]
        read = "query R($ids: [ID!]) { findScenes(ids: $ids) { scenes { id } } }"
        started = time.perf_counter()
        requests.post(sims.stash.url, json={"query": read, "variables": {"ids": ids[:20]}}, timeout=TIMEOUT)
        read_seconds = time.perf_counter() - started
    assert len(ids) == 40 and snapshot_seconds >= 40 * 0.05
    assert read_seconds < 20 * 0.05  # a read that lists its ids is charged by per_listed_id instead (0 here)


def test_the_stashdb_latency_model_charges_each_kind_of_root_field_its_own_time():
    """bench/run_bench.py's StashDB model takes a real stash-box's answer times per request
    kind: an aliased findTag of 4 costs four of its own, a findScene field the default."""
    from stashdb_api import build_find_scenes_by_ids_query, build_find_tags_by_ids_query, scene_id_variable
    from tests.simulators.served import Latency
    import time

    library = generate_library(40, seed=5)
    with start_simulators(library) as sims:
        sims.stashdb.latency = Latency(per_request=0.01, by_root_field=(("findTag", 0.1),))
        headers = {"ApiKey": sims.stashdb.api_key}

        def timed(document: str, ids: list[str]) -> float:
            started = time.perf_counter()
            variables = {scene_id_variable(i): value for i, value in enumerate(ids)}
            answer = requests.post(sims.stashdb.url, json={"query": document, "variables": variables},
                                   headers=headers, timeout=TIMEOUT)
            assert answer.status_code == 200 and not answer.json().get("errors")
            return time.perf_counter() - started

        tags = timed(build_find_tags_by_ids_query(4), [tag.id for tag in library.stashdb_tags[:4]])
        scenes = timed(build_find_scenes_by_ids_query(4), [scene.id for scene in library.stashdb_scenes[:4]])
    assert tags >= 0.01 + 4 * 0.1
    assert 0.01 <= scenes < 0.2
