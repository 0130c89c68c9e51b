"""Tests for stashdb_api: batching, aliasing, rate limiting, retries, errors, queries."""
from __future__ import annotations

import json
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
import requests
import responses
from graphql import parse, validate
from graphql.language import FieldNode, OperationDefinitionNode, VariableNode

import stashdb_api
import stashdb_changes
from plugin_info import USER_AGENT
from stashdb_api import (
    ALL_QUERY_DOCUMENTS,
    FIND_SCENES_BY_FINGERPRINTS_OPERATION,
    FIND_SCENES_BY_IDS_OPERATION,
    RateLimiter,
    StashDBAuthError,
    StashDBClient,
    StashDBError,
    StashDBRateLimited,
    build_find_scenes_by_ids_query,
    fingerprint_queries_from_files,
    rate_from_requests_per_minute,
    retry_after_seconds,
)
from tests.shared_schemas import require_stashbox_schema

ENDPOINT = "https://stashdb.example/graphql"
API_KEY = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LWtleS1mb3ItdGVzdHM.Zm9v"


# ---------------------------------------------------------------- helpers


class FakeClock:
    """A monotonic clock that only moves when something sleeps on it."""

    def __init__(self, start: float = 1000.0):
        self.now = start
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class FakeStashBox:
    """A tiny stash-box: reads each posted document and answers from its scenes.

    Root fields are resolved from the parsed query (alias or name as the
    answer key); arguments must be variables, as a real server would read them.
    """

    def __init__(self, scenes=(), scene_ids_by_hash=None, clock=None):
        self.scenes = {scene["id"]: scene for scene in scenes}
        self.scene_ids_by_hash = scene_ids_by_hash or {}
        self.bodies: list[dict] = []
        self.request_times: list[float] = []
        self._clock = clock

    def install(self, http):
        http.add_callback(responses.POST, ENDPOINT, callback=self)

    def __call__(self, request):
        body = json.loads(request.body)
        self.bodies.append(body)
        if self._clock is not None:
            self.request_times.append(self._clock.now)
        data = {}
        for field in root_fields(body["query"], body["operationName"]):
            key = (field.alias or field.name).value
            data[key] = self._resolve(field, body["variables"])
        return 200, {"Content-Type": "application/json"}, json.dumps({"data": data})

    def _resolve(self, field: FieldNode, variables: dict):
        arguments = {}
        for argument in field.arguments:
            assert isinstance(argument.value, VariableNode), "data must come as variables"
            arguments[argument.name.value] = variables[argument.value.name.value]
        name = field.name.value
        if name == "findScene":
            return self.scenes.get(arguments["id"])
        if name == "findScenesBySceneFingerprints":
            return [self._match(fingerprints) for fingerprints in arguments["fingerprints"]]
        if name == "me":
            return {"name": "tester"}
        raise AssertionError(f"unexpected field {name}")

    def _match(self, fingerprints):
        scene_ids = []
        for fingerprint in fingerprints:
            key = (fingerprint["algorithm"], fingerprint["hash"])
            for scene_id in self.scene_ids_by_hash.get(key, ()):
                if scene_id not in scene_ids:
                    scene_ids.append(scene_id)
        return [self.scenes[scene_id] for scene_id in scene_ids]


def root_fields(query: str, operation_name: str) -> list[FieldNode]:
    document = parse(query)
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    (operation,) = [o for o in operations if o.name and o.name.value == operation_name]
    return list(operation.selection_set.selections)


def scene(index: int, *tag_names: str, deleted: bool = False) -> dict:
    return {
        "id": str(uuid.UUID(int=index + 1)),
        "deleted": deleted,
        "tags": [{"id": f"tag-{name}", "name": name} for name in tag_names],
    }


def phash_query(index: int) -> dict:
    return {"hash": format(0xABC000 + index, "x"), "algorithm": "PHASH"}


def graphql_answer(http, payload: dict, status: int = 200, headers=None):
    http.add(responses.POST, ENDPOINT, json=payload, status=status, headers=headers)


def all_exceptions_in_chain(exc: BaseException):
    seen, pending = [], [exc]
    while pending:
        current = pending.pop()
        if current is None or any(current is s for s in seen):
            continue
        seen.append(current)
        pending += [current.__cause__, current.__context__]
    return seen


def assert_key_not_exposed(exc: BaseException):
    for current in all_exceptions_in_chain(exc):
        for text in (str(current), repr(current), *(repr(arg) for arg in current.args)):
            assert API_KEY not in text


@pytest.fixture
def http():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def fake_clock():
    return FakeClock()


def one_scene(client: StashDBClient, scene_id: str):
    """One id through the aliased findScene request the sync sends."""
    (answer,) = client.find_scenes_by_ids([scene_id])
    return answer


def make_client(fake_clock: FakeClock, requests_per_second: float = 2.0, **kwargs) -> StashDBClient:
    limiter = RateLimiter(requests_per_second, clock=fake_clock.clock, sleep=fake_clock.sleep)
    return StashDBClient(ENDPOINT, API_KEY, rate_limiter=limiter, sleep=fake_clock.sleep, **kwargs)


# ---------------------------------------------------------------- fingerprints in


def test_fingerprints_from_files_follow_stash_conversion_but_leave_out_md5():
    files = [
        {"fingerprints": [
            {"type": "oshash", "value": "5f1b3c9a0d2e4f68"},
            {"type": "md5", "value": "9e107d9d372bb6826bd81d3542a419d6"},
            {"type": "phash", "value": "3e1f0c"},
            {"type": "video_codec_hash", "value": "ignored"},
        ]},
        {"fingerprints": [{"type": "oshash", "value": "5f1b3c9a0d2e4f68"}]},
    ]

    assert fingerprint_queries_from_files(files) == [
        {"hash": "5f1b3c9a0d2e4f68", "algorithm": "OSHASH"},
        {"hash": "3e1f0c", "algorithm": "PHASH"},
        {"hash": "5f1b3c9a0d2e4f68", "algorithm": "OSHASH"},
    ]


def test_integer_phash_is_written_as_unsigned_hex_like_stash():
    files = [{"fingerprints": [{"type": "phash", "value": -1}, {"type": "phash", "value": 255}]}]

    hashes = [query["hash"] for query in fingerprint_queries_from_files(files)]

    assert hashes == ["ffffffffffffffff", "ff"]


def test_files_without_fingerprints_give_no_queries():
    assert fingerprint_queries_from_files([{"fingerprints": []}, {}]) == []
    assert fingerprint_queries_from_files(None) == []


def test_files_with_nothing_but_md5_give_no_queries():
    """stash-box drops MD5s from fingerprint queries: such a scene is asked by id instead."""
    md5_only = [{"fingerprints": [{"type": "md5", "value": "9e107d9d372bb6826bd81d3542a419d6"}]}]
    assert fingerprint_queries_from_files(md5_only) == []


# ---------------------------------------------------------------- fingerprint batching


def test_95_fingerprint_lists_make_requests_of_40_40_15_answered_in_order(http, fake_clock):
    scenes = [scene(i, f"tag{i}") for i in range(95)]
    server = FakeStashBox(scenes, {("PHASH", phash_query(i)["hash"]): [scenes[i]["id"]] for i in range(95)})
    server.install(http)
    client = make_client(fake_clock)

    results = client.find_scenes_by_fingerprints([[phash_query(i)] for i in range(95)])

    sizes = [len(body["variables"]["fingerprints"]) for body in server.bodies]
    assert sizes == [40, 40, 15]
    assert [[s["id"] for s in found] for found in results] == [[s["id"]] for s in scenes]
    assert client.request_count == 3


def test_one_fingerprint_list_can_match_several_scenes(http, fake_clock):
    first, second, other = scene(1, "a"), scene(2, "b"), scene(3, "c")
    shared = phash_query(7)
    server = FakeStashBox([first, second, other], {
        ("PHASH", shared["hash"]): [first["id"], second["id"]],
        ("PHASH", phash_query(8)["hash"]): [other["id"]],
    })
    server.install(http)

    lists = [[shared], [phash_query(8)], [phash_query(9)]]

    results = make_client(fake_clock).find_scenes_by_fingerprints(lists)

    assert results == [[first, second], [other], []]


def test_empty_fingerprint_lists_are_not_sent_and_come_back_empty(http, fake_clock):
    found = scene(1, "a")
    server = FakeStashBox([found], {("PHASH", phash_query(1)["hash"]): [found["id"]]})
    server.install(http)

    lists = [[], [phash_query(1)], [], [phash_query(2)]]

    results = make_client(fake_clock).find_scenes_by_fingerprints(lists)

    assert results == [[], [found], [], []]
    assert server.bodies[0]["variables"]["fingerprints"] == [[phash_query(1)], [phash_query(2)]]


def test_all_empty_fingerprint_input_sends_nothing(http, fake_clock):
    client = make_client(fake_clock)

    assert client.find_scenes_by_fingerprints([[], [], []]) == [[], [], []]
    assert client.find_scenes_by_fingerprints([]) == []
    assert client.request_count == 0
    assert len(http.calls) == 0


# ---------------------------------------------------------------- aliased findScene


def test_95_ids_make_three_aliased_requests_in_order_with_unknown_ids_as_none(http, fake_clock):
    known = [scene(i, f"t{i}") for i in range(0, 95, 2)]
    server = FakeStashBox(known)
    server.install(http)
    ids = [str(uuid.UUID(int=i + 1)) for i in range(95)]
    client = make_client(fake_clock)

    results = client.find_scenes_by_ids(ids)

    expected = [server.scenes.get(scene_id) for scene_id in ids]
    assert results == expected
    assert results[1] is None and results[0]["id"] == ids[0]
    assert [len(body["variables"]) for body in server.bodies] == [40, 40, 15]
    assert client.request_count == 3
    for body in server.bodies:
        assert body["operationName"] == FIND_SCENES_BY_IDS_OPERATION
        assert not any(scene_id in body["query"] for scene_id in ids)
    sent_ids = [value for body in server.bodies for value in body["variables"].values()]
    assert sent_ids == ids


def test_aliased_query_text_depends_only_on_the_number_of_ids(http, fake_clock):
    server = FakeStashBox()
    server.install(http)
    client = make_client(fake_clock)

    client.find_scenes_by_ids(["aaaa", "bbbb", "cccc"])
    client.find_scenes_by_ids(["dddd", "eeee", "ffff"])

    assert len(server.bodies) == 2
    assert server.bodies[0]["query"] == server.bodies[1]["query"]
    assert build_find_scenes_by_ids_query(3) is build_find_scenes_by_ids_query(3)
    assert build_find_scenes_by_ids_query(3) != build_find_scenes_by_ids_query(4)


@pytest.mark.parametrize("count", [0, 41])
def test_aliased_query_refuses_counts_outside_one_to_forty(count):
    with pytest.raises(ValueError):
        build_find_scenes_by_ids_query(count)


def test_empty_id_list_sends_nothing(http, fake_clock):
    client = make_client(fake_clock)

    assert client.find_scenes_by_ids([]) == []
    assert client.request_count == 0


def test_missing_alias_in_answer_is_a_wrong_shape_error(http, fake_clock):
    graphql_answer(http, {"data": {"s0": scene(1)}})

    with pytest.raises(StashDBError, match="s1"):
        make_client(fake_clock).find_scenes_by_ids(["x", "y"])


def test_an_error_naming_one_alias_fails_that_scene_alone(http, fake_clock):
    """stash-box answers an id that is not a UUID with an error on that field only."""
    errors = [{"message": "invalid UUID length: 7", "path": ["s1"]}]
    graphql_answer(http, {"data": {"s0": scene(1), "s1": None, "s2": scene(3)}, "errors": errors})

    answers = make_client(fake_clock).find_scenes_by_ids(["a", "not-a-uuid", "c"])

    assert answers[0] == scene(1) and answers[2] == scene(3)
    assert isinstance(answers[1], StashDBError)
    assert "invalid UUID length" in str(answers[1])
    assert answers[1].operation == FIND_SCENES_BY_IDS_OPERATION


def test_errors_naming_several_aliases_fail_each_of_those_scenes_only(http, fake_clock):
    errors = [{"message": "invalid UUID length: 3", "path": ["s0"]},
              {"message": "invalid UUID length: 5", "path": ["s2"]}]
    graphql_answer(http, {"data": {"s0": None, "s1": scene(2), "s2": None, "s3": None}, "errors": errors})

    answers = make_client(fake_clock).find_scenes_by_ids(["abc", "b", "cdefg", "d"])

    assert "length: 3" in str(answers[0]) and "length: 5" in str(answers[2])
    assert answers[1] == scene(2)
    assert answers[3] is None  # no error names it: StashDB does not know that id


def test_an_error_without_a_path_beside_a_null_alias_fails_the_whole_request(http, fake_clock):
    graphql_answer(http, {"data": {"s0": scene(1), "s1": None}, "errors": [{"message": "gateway hiccup"}]})

    with pytest.raises(StashDBError, match="gateway hiccup"):
        make_client(fake_clock).find_scenes_by_ids(["x", "y"])


def test_error_naming_another_alias_leaves_an_unknown_id_as_none(http, fake_clock):
    errors = [{"message": "slow field", "path": ["s0", "tags"]}]
    graphql_answer(http, {"data": {"s0": scene(1), "s1": None}, "errors": errors})

    assert make_client(fake_clock).find_scenes_by_ids(["x", "y"]) == [scene(1), None]


def test_one_id_returns_the_scene_or_none(http, fake_clock):
    known = scene(5, "Anal", "Blonde", deleted=True)
    server = FakeStashBox([known])
    server.install(http)
    client = make_client(fake_clock)

    assert one_scene(client, known["id"]) == known
    assert one_scene(client, "no-such-id") is None
    assert [body["variables"] for body in server.bodies] == [{"id0": known["id"]}, {"id0": "no-such-id"}]


def test_check_access_returns_the_user_name(http, fake_clock):
    graphql_answer(http, {"data": {"me": {"name": "alice"}}})

    assert make_client(fake_clock).check_access() == "alice"


def test_check_access_without_a_user_is_an_auth_error(http, fake_clock):
    graphql_answer(http, {"data": {"me": None}})

    with pytest.raises(StashDBAuthError):
        make_client(fake_clock).check_access()


# ---------------------------------------------------------------- rate limiting


def test_twenty_calls_at_two_per_second_take_at_least_nine_and_a_half_seconds(http, fake_clock):
    FakeStashBox().install(http)
    client = make_client(fake_clock)
    start = fake_clock.now

    for index in range(20):
        one_scene(client, str(index))

    assert fake_clock.now - start >= 9.5 - 1e-9
    assert client.request_count == 20


def test_a_lower_rate_is_honoured(http, fake_clock):
    server = FakeStashBox(clock=fake_clock)
    server.install(http)
    client = make_client(fake_clock, requests_per_second=rate_from_requests_per_minute(30))

    for index in range(4):
        one_scene(client, str(index))

    gaps = [b - a for a, b in zip(server.request_times, server.request_times[1:])]
    assert min(gaps) >= 2.0 - 1e-9


def test_requests_per_second_given_to_the_client_sets_its_own_limiter(http):
    FakeStashBox().install(http)
    sleeps: list[float] = []
    client = StashDBClient(ENDPOINT, API_KEY, requests_per_second=0.5, sleep=sleeps.append)

    for index in range(3):
        one_scene(client, str(index))

    # The limiter runs on the real monotonic clock, which barely moves while the
    # injected sleep returns at once: each request waits about the 2 s interval.
    assert len(sleeps) == 2
    assert all(1.9 < seconds <= 2.0 for seconds in sleeps)


@pytest.mark.parametrize("per_minute, expected", [
    (None, 2.0), (0, 2.0), (-5, 2.0), (240, 2.0), (600, 2.0), (120, 2.0), (60, 1.0), (30, 0.5),
])
def test_rate_from_requests_per_minute(per_minute, expected):
    assert rate_from_requests_per_minute(per_minute) == pytest.approx(expected)


def test_backoff_doubles_from_one_second():
    assert [RateLimiter.backoff(attempt) for attempt in (1, 2, 3)] == [1.0, 2.0, 4.0]


def test_rate_limiter_refuses_a_non_positive_rate():
    with pytest.raises(ValueError):
        RateLimiter(0)


def test_first_permit_is_immediate_and_an_idle_limiter_does_not_bank_permits(fake_clock):
    limiter = RateLimiter(2.0, clock=fake_clock.clock, sleep=fake_clock.sleep)

    limiter.wait()
    fake_clock.now += 10.0
    limiter.wait()
    limiter.wait()

    assert fake_clock.sleeps == [0.5]


class PerThreadClock:
    """Each thread has its own time line; sleeping moves only the sleeper's time.

    Both calls hand the GIL to another thread (``time.sleep(0)`` waits for
    nothing), so an unguarded check-then-act in the limiter gets interleaved.
    """

    def __init__(self):
        self._local = threading.local()

    def clock(self) -> float:
        time.sleep(0)
        return getattr(self._local, "now", 0.0)

    def sleep(self, seconds: float) -> None:
        time.sleep(0)
        self._local.now = getattr(self._local, "now", 0.0) + seconds


def test_threads_sharing_a_limiter_never_get_permits_closer_than_the_interval():
    per_thread = PerThreadClock()
    limiter = RateLimiter(4.0, clock=per_thread.clock, sleep=per_thread.sleep)
    permits: list[float] = []
    permits_lock = threading.Lock()
    start = threading.Barrier(8)

    def take_permits():
        start.wait()
        for _ in range(25):
            limiter.wait()
            granted_at = per_thread.clock()
            with permits_lock:
                permits.append(granted_at)

    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=take_permits) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(old_interval)

    ordered = sorted(permits)
    assert len(ordered) == 200
    assert min(b - a for a, b in zip(ordered, ordered[1:])) >= 0.25 - 1e-9


# ---------------------------------------------------------------- retries


def test_429_with_retry_after_seconds_waits_that_long(http, fake_clock):
    http.add(responses.POST, ENDPOINT, status=429, headers={"Retry-After": "7"})
    graphql_answer(http, {"data": {"s0": None}})
    client = make_client(fake_clock)

    assert one_scene(client, "x") is None
    assert 7.0 in fake_clock.sleeps
    assert client.request_count == 2


def test_429_with_retry_after_as_http_date_waits_until_then(http, fake_clock):
    server_time = datetime(2025, 3, 1, 12, 0, 0, tzinfo=timezone.utc)
    headers = {
        "Date": format_datetime(server_time, usegmt=True),
        "Retry-After": format_datetime(server_time + timedelta(seconds=12), usegmt=True),
    }
    http.add(responses.POST, ENDPOINT, status=429, headers=headers)
    graphql_answer(http, {"data": {"s0": None}})

    one_scene(make_client(fake_clock), "x")

    assert fake_clock.sleeps == [12.0]


def test_retry_after_shorter_than_backoff_uses_backoff(http, fake_clock):
    http.add(responses.POST, ENDPOINT, status=429, headers={"Retry-After": "0"})
    graphql_answer(http, {"data": {"s0": None}})

    one_scene(make_client(fake_clock), "x")

    assert fake_clock.sleeps == [1.0]


@pytest.mark.parametrize("value, expected", [
    ("7", 7.0), (" 3 ", 3.0), ("", 0.0), (None, 0.0), ("soon", 0.0), ("-4", 0.0), ("nan", 0.0),
    ("Sat, 01 Mar 2025 11:59:00 GMT", 0.0), ("Sat, 01 Mar 2025 12:00:30 GMT", 30.0),
    ("99999", 99999.0),
])
def test_retry_after_seconds(value, expected):
    now = datetime(2025, 3, 1, 12, 0, 0, tzinfo=timezone.utc)

    assert retry_after_seconds(value, now) == pytest.approx(expected)


def test_three_429s_then_success_succeeds_after_backing_off(http, fake_clock):
    for _ in range(3):
        http.add(responses.POST, ENDPOINT, status=429)
    graphql_answer(http, {"data": {"me": {"name": "alice"}}})
    client = make_client(fake_clock)

    assert client.check_access() == "alice"
    assert client.request_count == 4
    assert fake_clock.sleeps == [1.0, 2.0, 4.0]


def test_four_429s_raise_rate_limited(http, fake_clock):
    for _ in range(4):
        http.add(responses.POST, ENDPOINT, status=429)
    client = make_client(fake_clock)

    with pytest.raises(StashDBRateLimited) as caught:
        client.check_access()

    assert caught.value.status == 429
    assert client.request_count == 4
    assert len(http.calls) == 4


def test_every_retry_goes_through_the_rate_limiter(http, fake_clock):
    statuses = iter([503, 200])
    call_times: list[float] = []

    def answer(request):
        call_times.append(fake_clock.now)
        return next(statuses), {}, json.dumps({"data": {"s0": None}})

    http.add_callback(responses.POST, ENDPOINT, callback=answer)
    client = make_client(fake_clock, requests_per_second=0.1)

    one_scene(client, "x")

    assert fake_clock.sleeps[0] == 1.0  # the backoff alone would allow a retry after 1 s
    assert call_times[1] - call_times[0] >= 10.0 - 1e-9


def test_503_is_retried(http, fake_clock):
    http.add(responses.POST, ENDPOINT, status=503, body="<html>busy</html>")
    graphql_answer(http, {"data": {"s0": scene(1)}})
    client = make_client(fake_clock)

    assert one_scene(client, scene(1)["id"]) == scene(1)
    assert client.request_count == 2


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_retried_after_one_two_four_seconds(http, fake_clock, status):
    for _ in range(3):
        http.add(responses.POST, ENDPOINT, status=status, body="<html>bad gateway</html>")
    graphql_answer(http, {"data": {"s0": scene(1)}})
    client = make_client(fake_clock)

    assert one_scene(client, scene(1)["id"]) == scene(1)
    assert client.request_count == 4
    assert fake_clock.sleeps == [1.0, 2.0, 4.0]


@pytest.mark.parametrize("failure", [requests.exceptions.ReadTimeout("slow"),
                                     requests.exceptions.ConnectionError("reset by peer")])
def test_timeouts_and_dropped_connections_are_retried(http, fake_clock, failure):
    http.add(responses.POST, ENDPOINT, body=failure)
    http.add(responses.POST, ENDPOINT, body=failure)
    graphql_answer(http, {"data": {"s0": scene(1)}})
    client = make_client(fake_clock)

    assert one_scene(client, scene(1)["id"]) == scene(1)
    assert client.request_count == 3
    assert fake_clock.sleeps == [1.0, 2.0]


def test_a_request_still_failing_after_three_retries_raises(http, fake_clock):
    http.add(responses.POST, ENDPOINT, status=504, body="gateway timeout")
    client = make_client(fake_clock)

    with pytest.raises(StashDBError) as caught:
        one_scene(client, "x")

    assert caught.value.status == 504
    assert client.request_count == 4


@pytest.mark.parametrize("status", [400, 404, 422])
def test_client_errors_are_not_retried(http, fake_clock, status):
    http.add(responses.POST, ENDPOINT, status=status, body="bad request")
    client = make_client(fake_clock)

    with pytest.raises(StashDBError):
        one_scene(client, "x")
    assert client.request_count == 1 and fake_clock.sleeps == []


def test_a_retry_after_longer_than_the_cap_fails_at_once_and_holds_every_later_request(http, fake_clock):
    asked = stashdb_api.MAX_RETRY_WAIT_SECONDS + 30
    http.add(responses.POST, ENDPOINT, status=429, headers={"Retry-After": str(int(asked))})
    graphql_answer(http, {"data": {"s0": None}})
    server_times: list[float] = []
    client = make_client(fake_clock)
    started = fake_clock.now

    with pytest.raises(StashDBRateLimited) as caught:
        one_scene(client, "x")
    assert caught.value.retry_after == asked
    assert client.request_count == 1 and fake_clock.sleeps == []  # no retry sooner than asked

    http.add_callback(responses.POST, ENDPOINT,
                      callback=lambda request: server_times.append(fake_clock.now) or (200, {}, '{"data": {"s0": null}}'))
    one_scene(client, "y")
    assert fake_clock.now - started >= asked - 1e-9


# ---------------------------------------------------------------- errors


def _raise_on_post(exception):
    return lambda http: http.add(responses.POST, ENDPOINT, body=exception)


def _fingerprint_call(client):
    return client.find_scenes_by_fingerprints([[phash_query(1)], [phash_query(2)]])


def _scene_call(client):
    return one_scene(client, "x")


ERROR_CASES = {
    "http 401": (
        lambda http: http.add(responses.POST, ENDPOINT, status=401, body=f"bad key {API_KEY}"),
        _scene_call, StashDBAuthError, 401,
    ),
    "not authorized": (
        lambda http: graphql_answer(http, {"data": {"findScene": None},
                                           "errors": [{"message": "not authorized", "path": ["s0"]}]}),
        _scene_call, StashDBAuthError, 200,
    ),
    "four 429s": (
        lambda http: [http.add(responses.POST, ENDPOINT, status=429, body=API_KEY) for _ in range(4)],
        _scene_call, StashDBRateLimited, 429,
    ),
    "http 502": (
        lambda http: http.add(responses.POST, ENDPOINT, status=502, body=f"<html>proxy {API_KEY}</html>"),
        _scene_call, StashDBError, 502,
    ),
    "timeout": (
        _raise_on_post(requests.exceptions.Timeout(f"timed out; headers={{'ApiKey': '{API_KEY}'}}")),
        _scene_call, StashDBError, None,
    ),
    "connect timeout": (
        _raise_on_post(requests.exceptions.ConnectTimeout(f"ApiKey: {API_KEY}")),
        _scene_call, StashDBError, None,
    ),
    "connection error": (
        _raise_on_post(requests.exceptions.ConnectionError(f"refused; ApiKey: {API_KEY}")),
        _scene_call, StashDBError, None,
    ),
    "html body": (
        lambda http: http.add(responses.POST, ENDPOINT, status=200,
                              body=f"<html><body>Login {API_KEY}</body></html>", content_type="text/html"),
        _scene_call, StashDBError, 200,
    ),
    "errors without data": (
        lambda http: graphql_answer(http, {"data": None, "errors": [{"message": f"boom {API_KEY}"}]}),
        _scene_call, StashDBError, 200,
    ),
    "wrong list count": (
        lambda http: graphql_answer(http, {"data": {"findScenesBySceneFingerprints": [[]]}}),
        _fingerprint_call, StashDBError, 200,
    ),
    "null scene list": (
        lambda http: graphql_answer(http, {
            "data": {"findScenesBySceneFingerprints": [[], None]},
            "errors": [{"message": "x", "path": ["findScenesBySceneFingerprints", 1]}],
        }),
        _fingerprint_call, StashDBError, 200,
    ),
    "scene without tags": (
        lambda http: graphql_answer(http, {"data": {"s0": {"id": "x", "deleted": False}}}),
        _scene_call, StashDBError, 200,
    ),
}


@pytest.mark.parametrize("setup, call, kind, status", ERROR_CASES.values(), ids=ERROR_CASES.keys())
def test_each_failure_maps_to_its_error_and_never_shows_the_key(http, fake_clock, setup, call, kind, status):
    setup(http)

    with pytest.raises(StashDBError) as caught:
        call(make_client(fake_clock))

    error = caught.value
    assert type(error) is kind
    assert error.status == status
    assert error.operation in (FIND_SCENES_BY_IDS_OPERATION, FIND_SCENES_BY_FINGERPRINTS_OPERATION)
    # The message names the server and the request in words, never the query's internal name.
    assert str(error).startswith(f"StashDB at {ENDPOINT}: a scene lookup by ")
    assert error.operation not in str(error)
    if status is not None:
        assert f"HTTP {status}" in str(error)
    assert_key_not_exposed(error)


def test_connect_timeout_is_reported_as_no_answer_and_not_chained(http, fake_clock):
    http.add(responses.POST, ENDPOINT, body=requests.exceptions.ConnectTimeout(API_KEY))

    with pytest.raises(StashDBError, match="no answer within 30 s") as caught:
        one_scene(make_client(fake_clock), "x")

    assert caught.value.__cause__ is None and caught.value.__context__ is None


def test_body_excerpt_is_at_most_200_characters_and_the_key_is_cut_out_first(http, fake_clock):
    body = "z" * 190 + API_KEY + "y" * 5000
    http.add(responses.POST, ENDPOINT, status=502, body=body)

    with pytest.raises(StashDBError) as caught:
        one_scene(make_client(fake_clock), "x")

    message = str(caught.value)
    assert "z" * 190 + "[redac" in message
    assert API_KEY[:6] not in message
    assert "y" not in message.split("body:")[1]


def test_missing_api_key_is_an_auth_error_without_any_request(http, fake_clock):
    limiter = RateLimiter(clock=fake_clock.clock, sleep=fake_clock.sleep)
    client = StashDBClient(ENDPOINT, "", rate_limiter=limiter)

    with pytest.raises(StashDBAuthError):
        client.check_access()
    assert client.request_count == 0


def test_partial_data_with_errors_is_used_when_complete(http, fake_clock):
    found = scene(1, "a")
    graphql_answer(http, {"data": {"findScenesBySceneFingerprints": [[found], []]},
                          "errors": [{"message": "deprecated", "path": ["x"]}]})

    assert _fingerprint_call(make_client(fake_clock)) == [[found], []]


# ---------------------------------------------------------------- request format


def test_each_request_carries_key_agent_json_and_timeout(http, fake_clock):
    graphql_answer(http, {"data": {"s0": None}})

    one_scene(make_client(fake_clock, timeout=12.5), "abc")

    request = http.calls[0].request
    assert request.headers["ApiKey"] == API_KEY
    assert request.headers["User-Agent"] == USER_AGENT
    assert request.headers["Content-Type"] == "application/json"
    assert request.req_kwargs["timeout"] == 12.5
    assert request.url == ENDPOINT
    body = json.loads(request.body)
    assert set(body) == {"query", "variables", "operationName"}
    assert body["operationName"] == FIND_SCENES_BY_IDS_OPERATION
    assert body["variables"] == {"id0": "abc"}
    assert "abc" not in body["query"]


def test_default_timeout_is_thirty_seconds(http, fake_clock):
    graphql_answer(http, {"data": {"me": {"name": "alice"}}})

    make_client(fake_clock).check_access()

    assert http.calls[0].request.req_kwargs["timeout"] == 30.0


def test_key_does_not_appear_in_the_client_repr():
    assert API_KEY not in repr(StashDBClient(ENDPOINT, API_KEY))


# ---------------------------------------------------------------- queries against the real schema


QUERY_DOCUMENTS = {
    **{f"constant {i}": document for i, document in enumerate(ALL_QUERY_DOCUMENTS)},
    "aliased k=1": build_find_scenes_by_ids_query(1),
    "aliased k=40": build_find_scenes_by_ids_query(40),
    "aliased tags k=1": stashdb_api.build_find_tags_by_ids_query(1),
    "aliased tags k=40": stashdb_api.build_find_tags_by_ids_query(40),
    **{f"changes {i}": document for i, document in enumerate(stashdb_changes.ALL_QUERY_DOCUMENTS)},
}


@pytest.mark.parametrize("document", QUERY_DOCUMENTS.values(), ids=QUERY_DOCUMENTS.keys())
def test_query_documents_validate_against_the_stash_box_schema(document):
    schema = require_stashbox_schema()

    assert validate(schema, parse(document)) == []


def test_the_changed_scenes_query_names_its_operation_and_every_operation_has_words_for_errors():
    (operation,) = [d for d in parse(stashdb_changes.CHANGED_SCENES_QUERY).definitions
                    if isinstance(d, OperationDefinitionNode)]
    assert operation.name.value == stashdb_changes.CHANGED_SCENES_OPERATION
    client = StashDBClient(ENDPOINT, API_KEY)
    error = client._error(StashDBError, stashdb_changes.CHANGED_SCENES_OPERATION, "boom", None)
    assert "the changed-scenes lookup failed" in str(error)


def test_every_query_constant_has_the_operation_name_the_client_sends():
    names = set()
    for document in (*ALL_QUERY_DOCUMENTS, build_find_scenes_by_ids_query(2), stashdb_api.build_find_tags_by_ids_query(2)):
        operations = [d for d in parse(document).definitions if isinstance(d, OperationDefinitionNode)]
        assert len(operations) == 1
        names.add(operations[0].name.value)
    assert {FIND_SCENES_BY_IDS_OPERATION, FIND_SCENES_BY_FINGERPRINTS_OPERATION,
            stashdb_api.FIND_TAGS_BY_IDS_OPERATION, stashdb_api.ME_OPERATION} == names


def test_tags_by_id_answer_per_id_forty_a_request(http, fake_clock):
    def answer(request):
        variables = json.loads(request.body)["variables"]
        data, errors = {}, []
        for name, tag_id in variables.items():
            alias = "t" + name.removeprefix("id")
            if tag_id == "bad":
                data[alias] = None
                errors.append({"message": "invalid UUID length: 3", "path": [alias]})
            else:
                data[alias] = None if tag_id == "unknown" else {"id": tag_id, "name": f"Tag {tag_id}", "aliases": []}
        return 200, {}, json.dumps({"data": data, "errors": errors})

    http.add_callback(responses.POST, ENDPOINT, callback=answer)
    ids = [str(i) for i in range(39)] + ["unknown", "bad"]
    answers = make_client(fake_clock).find_tags_by_ids(ids)
    assert len(http.calls) == 2 and len(answers) == 41
    assert answers[0]["name"] == "Tag 0" and answers[39] is None
    assert isinstance(answers[40], StashDBError) and "invalid UUID" in str(answers[40])
    assert all("$id" in json.loads(call.request.body)["query"] for call in http.calls)


def test_the_changed_scenes_paging_goes_through_the_clients_retries_and_keeps_the_key_out(http, fake_clock):
    """A 502 is retried like any query; a GraphQL error fails the paging with the operation's
    own words and never the key."""
    pages = [(502, {}, "bad gateway"),
             (200, {}, json.dumps({"data": {"queryScenes": {"count": 3, "scenes": [
                 {"id": "a", "updated": "2026-05-28T20:26:41Z"}, {"id": "b", "updated": "2026-05-28T20:26:39Z"}]}}})),
             (200, {}, json.dumps({"errors": [{"message": f"boom {API_KEY}"}], "data": None}))]
    http.add_callback(responses.POST, ENDPOINT, callback=lambda request: pages.pop(0))
    client = make_client(fake_clock)
    changed = stashdb_changes.changed_scene_ids(client, 1_780_000_000.0, max_pages=5, page_size=2)
    assert changed.ids == {"a"} and client.request_count == 2
    sent = json.loads(http.calls[1].request.body)
    assert sent["operationName"] == stashdb_changes.CHANGED_SCENES_OPERATION
    assert sent["variables"] == {"input": {"sort": "UPDATED_AT", "direction": "DESC", "page": 1, "per_page": 2}}
    with pytest.raises(StashDBError) as failure:
        stashdb_changes.changed_scene_ids(client, 1_780_000_000.0, max_pages=5, page_size=2)
    assert "the changed-scenes lookup failed" in str(failure.value) and API_KEY not in str(failure.value)


def test_a_waiter_woken_late_pushes_the_next_permit_back(fake_clock):
    """A busy machine wakes a waiter late: the next permit still comes a whole interval
    after the late one, never sooner (no catching up on the schedule)."""
    late_by = [0.3]  # the first sleep only

    def oversleeping(seconds):
        fake_clock.sleep(seconds + (late_by.pop() if late_by else 0.0))

    limiter = RateLimiter(2.0, clock=fake_clock.clock, sleep=oversleeping)
    given = []
    for _ in range(4):
        limiter.wait()
        given.append(fake_clock.now)
    assert min(b - a for a, b in zip(given, given[1:])) >= 0.5 - 1e-9


# ---------------------------------------------------------------- answers that do not decode or are too large


def test_an_answer_nested_deeper_than_python_decodes_is_a_stashdb_error(http, fake_clock):
    http.add(responses.POST, ENDPOINT, status=200, body="[" * 200_000)
    with pytest.raises(StashDBError, match="answer is not JSON") as caught:
        one_scene(make_client(fake_clock), "a")
    assert not any(isinstance(exc, RecursionError) for exc in all_exceptions_in_chain(caught.value))


def test_an_answer_over_the_byte_cap_fails_only_the_ids_whose_own_answer_is_too_large(http, fake_clock,
                                                                                      monkeypatch):
    import stashdb_api

    monkeypatch.setattr(stashdb_api, "MAX_ANSWER_BYTES", 4096)
    monkeypatch.setattr(stashdb_api, "_READ_CHUNK_BYTES", 1024)
    huge = {"c"}   # scene c's own answer is over the cap; a, b and d fit, alone or in pairs

    def answer(request):
        variables = json.loads(request.body)["variables"]
        data = {f"s{name.removeprefix('id')}": {**scene(i, "Anal"), "id": value} | (
            {"title": "x" * 10_000} if value in huge else {}) for i, (name, value) in enumerate(variables.items())}
        return 200, {}, json.dumps({"data": data})

    http.add_callback(responses.POST, ENDPOINT, callback=answer)
    results = make_client(fake_clock).find_scenes_by_ids(["a", "b", "c", "d"])
    assert [r["id"] if isinstance(r, dict) else type(r).__name__ for r in results] == [
        "a", "b", "StashDBAnswerTooLarge", "d"]
    assert "answer larger than 4,096 bytes, not read" in str(results[2])
    # 4 ids -> too large; halves [a, b] fine and [c, d] too large; then [c] too large, [d] fine.
    assert [len(json.loads(call.request.body)["variables"]) for call in http.calls] == [4, 2, 2, 1, 1]


def test_an_answer_just_under_the_cap_is_read(http, fake_clock, monkeypatch):
    import stashdb_api

    body = json.dumps({"data": {"s0": scene(1, "Anal")}})
    monkeypatch.setattr(stashdb_api, "MAX_ANSWER_BYTES", len(body.encode()))
    http.add(responses.POST, ENDPOINT, status=200, body=body)
    assert one_scene(make_client(fake_clock), "a")["id"] == scene(1, "Anal")["id"]


@pytest.mark.parametrize("rejection", ["http 401", "not authorized"])
def test_once_the_key_is_rejected_the_client_sends_nothing_more_from_any_thread(http, fake_clock, rejection):
    """A 401 (or "not authorized") seen by one request, e.g. the tag-details thread's, stops
    every later request of the run before it is sent: a revoked key is not asked again."""
    ERROR_CASES[rejection][0](http)
    client = make_client(fake_clock)
    with pytest.raises(StashDBAuthError):
        one_scene(client, "x")
    sent = len(http.calls)

    later: list[BaseException] = []
    worker = threading.Thread(target=lambda: later.append(pytest.raises(StashDBAuthError, client.find_tags_by_ids,
                                                                        ["t1"]).value))
    worker.start()
    worker.join()
    with pytest.raises(StashDBAuthError) as caught:
        client.find_scenes_by_fingerprints([[phash_query(1)]])

    assert len(http.calls) == sent and client.request_count == sent
    assert "rejected earlier in this run" in str(caught.value) and API_KEY not in str(caught.value)
    assert len(later) == 1 and isinstance(later[0], StashDBAuthError)
