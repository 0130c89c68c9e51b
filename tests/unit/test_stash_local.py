"""The local Stash adapter: explicit queries valid for Stash v0.30.1, batched ADD writes."""
from __future__ import annotations

import json

import pytest
import requests
import responses
from graphql import parse, validate

import stash_local
from stash_local import LocalStash, StashAuthError, StashLocalError, StashWriteUncertain, build_add_tags_mutation
from tests.shared_schemas import require_stash_schema

URL = "http://127.0.0.1:9999/graphql"


@pytest.mark.parametrize("document", stash_local.ALL_QUERY_DOCUMENTS)
def test_every_query_validates_against_the_real_stash_schema(document):
    assert validate(require_stash_schema(), parse(document)) == []


def test_batched_write_passes_inputs_only_as_variables():
    document = build_add_tags_mutation(3)
    assert document.count("bulkSceneUpdate(input: $input") == 3
    with pytest.raises(ValueError):
        build_add_tags_mutation(41)


@responses.activate
def test_each_scene_gets_its_own_result_from_one_request():
    def answer(request):
        body = json.loads(request.body)
        assert body["variables"]["input1"] == {"ids": ["8"], "tag_ids": {"ids": ["99"], "mode": "ADD"}}
        return 200, {}, json.dumps({
            "data": {"s0": [{"id": "7"}], "s1": None, "s2": [{"id": "9"}]},
            "errors": [{"message": "FOREIGN KEY constraint failed", "path": ["s1"]}],
        })

    responses.add_callback(responses.POST, URL, callback=answer)
    local = LocalStash(requests.Session(), URL)
    result = local.add_tags_to_scenes([("7", ["1"]), ("8", ["99"]), ("9", ["2", "3"])])
    assert result["7"] is None and result["9"] is None
    assert "FOREIGN KEY constraint failed" in result["8"]
    assert len(responses.calls) == 1


@responses.activate
def test_forty_one_writes_take_two_requests():
    responses.add_callback(responses.POST, URL, callback=lambda request: (200, {}, json.dumps(
        {"data": {f"s{i}": [{"id": "x"}] for i in range(len(json.loads(request.body)["variables"]))}})))
    result = LocalStash(requests.Session(), URL).add_tags_to_scenes([(str(i), ["1"]) for i in range(41)])
    assert len(result) == 41 and set(result.values()) == {None}
    assert len(responses.calls) == 2


def no_wait(seconds):
    return None


@responses.activate
@pytest.mark.parametrize("status, body, tries", [(500, "boom", 4), (503, "", 4), (401, "", 1), (200, "<html>", 1),
                                                 (400, "bad", 1)])
def test_a_failed_request_raises_after_retries_only_when_a_retry_may_help(status, body, tries):
    responses.add(responses.POST, URL, status=status, body=body)
    waits = []
    with pytest.raises(StashLocalError):
        LocalStash(requests.Session(), URL, sleep=waits.append).add_tags_to_scenes([("1", ["2"])])
    assert len(responses.calls) == tries and waits == [1.0, 2.0, 4.0][:tries - 1]


@responses.activate
def test_a_short_stash_outage_is_ridden_out_by_the_retries():
    for status in (502, 500, 504):
        responses.add(responses.POST, URL, status=status, body="down")
    responses.add(responses.POST, URL, json={"data": {"findScenes": {"scenes": [{"id": "1"}]}}})
    assert LocalStash(requests.Session(), URL, sleep=no_wait).scenes_by_ids(["1"]) == [{"id": "1"}]
    assert len(responses.calls) == 4


@responses.activate
@pytest.mark.parametrize("failure", [dict(status=502, body="<html>502</html>"), dict(body=requests.ConnectionError()),
                                     dict(body=requests.ReadTimeout())])
def test_a_tag_create_whose_answer_is_lost_is_not_sent_again(failure):
    responses.add(responses.POST, URL, **failure)
    waits = []
    with pytest.raises(StashWriteUncertain, match="may have created the tag"):
        LocalStash(requests.Session(), URL, sleep=waits.append).create_tag({"name": "New"})
    assert len(responses.calls) == 1 and waits == []


@responses.activate
def test_a_tag_update_is_retried_since_sending_the_same_lists_again_is_harmless():
    responses.add(responses.POST, URL, status=502, body="down")
    responses.add(responses.POST, URL, json={"data": {"tagUpdate": {"id": "4", "aliases": ["A"]}}})
    assert LocalStash(requests.Session(), URL, sleep=no_wait).update_tag({"id": "4", "aliases": ["A"]})["id"] == "4"
    assert len(responses.calls) == 2


@responses.activate
def test_a_401_is_an_auth_error_at_once():
    responses.add(responses.POST, URL, status=401, body="")
    with pytest.raises(StashAuthError):
        LocalStash(requests.Session(), URL, sleep=no_wait).scenes_by_ids(["1"])
    assert len(responses.calls) == 1


@responses.activate
def test_timeout_is_a_stash_error_naming_no_secret():
    responses.add(responses.POST, URL, body=requests.Timeout("read timed out ApiKey=secret-123"))
    session = requests.Session()
    session.headers["ApiKey"] = "secret-123"
    with pytest.raises(StashLocalError) as error:
        LocalStash(session, URL, timeout=5, sleep=no_wait).scenes_by_ids(["1"])
    assert "timed out after 5 s" in str(error.value) and "secret-123" not in str(error.value)
    assert error.value.__cause__ is None


@responses.activate
def test_all_tags_are_read_in_pages():
    pages = {1: [{"id": str(i)} for i in range(1000)], 2: [{"id": "1000"}]}

    def answer(request):
        page = json.loads(request.body)["variables"]["filter"]["page"]
        return 200, {}, json.dumps({"data": {"findTags": {"count": 1001, "tags": pages[page]}}})

    responses.add_callback(responses.POST, URL, callback=answer)
    assert len(LocalStash(requests.Session(), URL).all_tags()) == 1001
    assert len(responses.calls) == 2


def test_connection_gives_stashapi_session_a_timeout(monkeypatch):
    captured = {}

    def fake_send(self, request, **kwargs):
        captured["timeout"] = kwargs.get("timeout")
        raise requests.ConnectionError("refused")

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", fake_send)
    with pytest.raises(Exception):
        stash_local.connect_stash({"Scheme": "http", "Host": "0.0.0.0", "Port": 1}, timeout=7)
    assert captured["timeout"] == 7


@responses.activate
def test_the_snapshot_asks_stash_for_the_oldest_update_first():
    updated = {"1": 30, "2": 10, "3": 20}

    def answer(request):
        order = json.loads(request.body)["variables"]["filter"]
        assert order["sort"] == "updated_at"
        ids = sorted(updated, key=updated.get, reverse=order["direction"] == "DESC")
        return 200, {}, json.dumps({"data": {"findScenes": {"count": 3, "scenes": [{"id": i} for i in ids]}}})

    responses.add_callback(responses.POST, URL, callback=answer)
    assert LocalStash(requests.Session(), URL).scene_ids_with_stash_id("https://stashdb.org/graphql") == ["2", "3", "1"]



@pytest.mark.parametrize("host, loopback", [
    ("localhost", True), ("0.0.0.0", True), ("127.0.0.1", True), ("127.3.2.1", True), ("::1", True),
    ("[::1]", True), ("192.168.1.20", False), ("stash.example.net", False), ("localhost.example.net", False),
    ("", False), (None, False)])
def test_loopback_hosts_are_told_apart(host, loopback):
    assert stash_local.is_loopback_host(host) is loopback
