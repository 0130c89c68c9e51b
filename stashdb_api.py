"""The StashDB (stash-box) GraphQL client used by the tag sync.

Knows nothing about the local Stash. It sends a few constant queries with
GraphQL variables, keeps to a rate limit shared by every call of one client,
retries what may pass on a second try (HTTP 429, 500, 502, 503, 504, timeouts,
dropped connections) after 1, 2 and 4 s or the server's Retry-After, every try
through the rate limit, and turns every failure into a ``StashDBError`` whose
text never holds the API key. A Retry-After longer than MAX_RETRY_WAIT_SECONDS
is never cut short: the call fails at once (its scenes wait for a later
attempt) and the client sends nothing before the asked time.

Partial answers (GraphQL ``errors[]`` next to ``data``), decided once here:

- An error whose message says ``not authorized`` is always a
  ``StashDBAuthError``, whatever the data.
- Aliased ``findScene`` (``s0``, ``s1`` ...): an error whose ``path`` names
  one alias fails that scene alone (a ``StashDBError`` in its place in the
  result; stash-box answers a StashID that is not a UUID that way), and the
  other aliases' answers are used. A null alias with no error naming it is an
  unknown id (``None``), unless an error without a ``path`` could concern it:
  then the whole request fails. A missing alias is a wrong-shape error.
- ``findScenesBySceneFingerprints``: any null inner list or null scene fails
  the whole request (wrong shape).
- Errors next to complete, well-formed data are logged as a warning and the
  data is used.
"""
from __future__ import annotations

import email.utils
import functools
import json
import logging
import math
import threading
import time
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, NamedTuple, Sequence

import requests

from plugin_info import USER_AGENT
from short_text import shorten

logger = logging.getLogger("tagManager.stashdb")

MAX_SCENES_PER_REQUEST = 40  # stash-box answers "too many scenes" above 40 lists
DEFAULT_REQUESTS_PER_SECOND = 2.0
STASH_DEFAULT_REQUESTS_PER_MINUTE = 240  # pkg/stashbox/client.go DefaultMaxRequestsPerMinute
MAX_RETRIES = 3
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_WAIT_SECONDS = 60.0  # a longer Retry-After fails the call instead of blocking it
BODY_EXCERPT_CHARS = 200
# One answer's bytes at most. 40 scenes or 40 described tags are well under 1 MiB on
# StashDB; a larger answer is a StashDB error (retried, then deferred), never read whole.
MAX_ANSWER_BYTES = 16 * 1024 * 1024
_READ_CHUNK_BYTES = 64 * 1024
_REDACTED = "[redacted]"

# --------------------------------------------------------------------------
# Queries: constant documents, every value passed as a GraphQL variable.

TAG_FIELDS_FRAGMENT = """
fragment TagManagerTagFields on Tag {
  id
  name
  description
  aliases
  deleted
  category {
    name
  }
}
"""

# A scene's tags with what matching needs, their id and name (Stash's Tagger matches on
# nothing else). The details of the tags no local tag matched are asked once per tag with
# findTag (tag_details.py): asking them of every tag in every scene cost stash-box about
# twice the CPU per scene (docs/stashbox.md, "What the plugin's requests cost the server").
SCENE_FIELDS_FRAGMENT = """
fragment TagManagerSceneFields on Scene {
  id
  deleted
  tags {
    id
    name
  }
}
"""

ME_OPERATION = "TagManagerMe"
ME_QUERY = """
query TagManagerMe {
  me {
    name
  }
}
"""

FIND_SCENES_BY_FINGERPRINTS_OPERATION = "TagManagerFindScenesByFingerprints"
FIND_SCENES_BY_FINGERPRINTS_QUERY = """
query TagManagerFindScenesByFingerprints($fingerprints: [[FingerprintQueryInput!]!]!) {
  findScenesBySceneFingerprints(fingerprints: $fingerprints) {
    ...TagManagerSceneFields
  }
}
""" + SCENE_FIELDS_FRAGMENT

ALL_QUERY_DOCUMENTS = (ME_QUERY, FIND_SCENES_BY_FINGERPRINTS_QUERY)

# Aliased findScene: only the integer alias index varies between documents.
FIND_SCENES_BY_IDS_OPERATION = "TagManagerFindScenesByIds"
_ALIASED_VARIABLE_TEMPLATE = "$id{index}: ID!"
_ALIASED_FIELD_TEMPLATE = "  s{index}: findScene(id: $id{index}) {{ ...TagManagerSceneFields }}"
_ALIASED_QUERY_TEMPLATE = "query TagManagerFindScenesByIds({variables}) {{\n{fields}\n}}\n"


# Aliased findTag, for tags a report does not describe: the same shape, `t0`, `t1` ...
FIND_TAGS_BY_IDS_OPERATION = "TagManagerFindTagsByIds"
_ALIASED_TAG_FIELD_TEMPLATE = "  t{index}: findTag(id: $id{index}) {{ ...TagManagerTagFields }}"
_ALIASED_TAG_QUERY_TEMPLATE = "query TagManagerFindTagsByIds({variables}) {{\n{fields}\n}}\n"

# What each request is, in the words an error message uses (never the query's internal name).
_OPERATION_WORDS = {
    ME_OPERATION: "the API key check",
    FIND_SCENES_BY_FINGERPRINTS_OPERATION: "a scene lookup by fingerprints",
    FIND_SCENES_BY_IDS_OPERATION: "a scene lookup by id",
    FIND_TAGS_BY_IDS_OPERATION: "a tag lookup by id",
    "TagManagerChangedScenes": "the changed-scenes lookup",   # stashdb_changes.py
    "TagManagerLiveTags": "the tag list",                      # stashdb_changes.py
}


def tag_alias(index: int) -> str:
    """The answer key of the index-th tag in an aliased findTag query."""
    return f"t{int(index)}"


def scene_alias(index: int) -> str:
    """The answer key of the index-th scene in an aliased findScene query."""
    return f"s{int(index)}"


def scene_id_variable(index: int) -> str:
    """The variable name that carries the index-th scene id."""
    return f"id{int(index)}"


def _aliased_query(count: int, field_template: str, query_template: str, fragment: str) -> str:
    """`count` aliased root fields (1..40), each with its own id variable."""
    if isinstance(count, bool) or not isinstance(count, int):
        raise TypeError("count must be an int")
    if not 1 <= count <= MAX_SCENES_PER_REQUEST:
        raise ValueError(f"count must be between 1 and {MAX_SCENES_PER_REQUEST}")
    variables = ", ".join(_ALIASED_VARIABLE_TEMPLATE.format(index=i) for i in range(count))
    fields = "\n".join(field_template.format(index=i) for i in range(count))
    return query_template.format(variables=variables, fields=fields) + fragment


@functools.lru_cache(maxsize=None)
def build_find_scenes_by_ids_query(count: int) -> str:
    """The aliased findScene document for ``count`` ids (1..40), cached per count."""
    return _aliased_query(count, _ALIASED_FIELD_TEMPLATE, _ALIASED_QUERY_TEMPLATE, SCENE_FIELDS_FRAGMENT)


@functools.lru_cache(maxsize=None)
def build_find_tags_by_ids_query(count: int) -> str:
    """The aliased findTag document for ``count`` ids (1..40), cached per count."""
    return _aliased_query(count, _ALIASED_TAG_FIELD_TEMPLATE, _ALIASED_TAG_QUERY_TEMPLATE, TAG_FIELDS_FRAGMENT)


# --------------------------------------------------------------------------
# Errors


class StashDBError(Exception):
    """A StashDB request failed. ``status`` is None when no HTTP answer came."""

    def __init__(self, message: str, *, operation: str | None = None, status: int | None = None,
                 retry_after: float | None = None):
        super().__init__(message)
        self.operation = operation
        self.status = status
        self.retry_after = retry_after  # seconds the server asked us to wait, when it did


class StashDBAnswerTooLarge(StashDBError):
    """The answer passed MAX_ANSWER_BYTES: asking the same again cannot help; asking about
    fewer scenes at once may."""


class StashDBAuthError(StashDBError):
    """The API key is missing, wrong or lacks the rights (HTTP 401, "not authorized")."""


class StashDBRateLimited(StashDBError):
    """StashDB still answered HTTP 429 after every retry, or asked for a longer wait
    than MAX_RETRY_WAIT_SECONDS (``retry_after`` says how long)."""


# --------------------------------------------------------------------------
# Fingerprints

# Stash v0.30.1 pkg/stashbox/scene.go convertFingerprints: md5 -> MD5, oshash
# -> OSHASH, phash -> PHASH, any other type skipped; no de-duplication.
# internal/api/resolver_query_scraper.go getScenesFingerprints concatenates the
# fingerprints of all the scene's files in order. The phash hash is
# utils.PhashToString (pkg/utils/phash.go): strconv.FormatUint(uint64, 16),
# the same text Stash's GraphQL shows as the value (pkg/models/fingerprint.go
# Fingerprint.Value), so string values are passed on unchanged.
# MD5 is NOT sent, unlike Stash: stash-box drops MD5 fingerprints from every
# fingerprint query (and stores none), so an MD5 would only lengthen the request;
# a scene whose files carry nothing but MD5s goes straight to the by-id pass
# (docs/stashbox.md).
_ALGORITHM_BY_STASH_TYPE = {"oshash": "OSHASH", "phash": "PHASH"}


def fingerprint_query(fingerprint_type: str, value: Any) -> dict | None:
    """One Stash ``{type, value}`` as a stash-box FingerprintQueryInput, or None."""
    algorithm = _ALGORITHM_BY_STASH_TYPE.get(fingerprint_type)
    if algorithm is None or value is None or value == "":
        return None
    if algorithm == "PHASH" and isinstance(value, int) and not isinstance(value, bool):
        value = format(value & 0xFFFF_FFFF_FFFF_FFFF, "x")  # as uint64, like Stash
    return {"hash": str(value), "algorithm": algorithm}


def fingerprint_queries_from_files(files: Iterable[dict] | None) -> list[dict]:
    """Stash's ``files { fingerprints { type value } }`` as stash-box fingerprint inputs."""
    queries = []
    for file in files or ():
        for fingerprint in file.get("fingerprints") or ():
            query = fingerprint_query(fingerprint.get("type"), fingerprint.get("value"))
            if query is not None:
                queries.append(query)
    return queries


# --------------------------------------------------------------------------
# Rate limiting


def rate_from_requests_per_minute(requests_per_minute: float | None) -> float:
    """Requests per second for a stash-box's ``max_requests_per_minute``, at most 2.

    0, None or a negative number mean Stash's default of 240 per minute, as in
    Stash v0.30.1 pkg/stashbox/client.go (MaxRequestsPerMinute ignores n <= 0).
    """
    if not requests_per_minute or requests_per_minute <= 0:
        requests_per_minute = STASH_DEFAULT_REQUESTS_PER_MINUTE
    return min(DEFAULT_REQUESTS_PER_SECOND, requests_per_minute / 60.0)


class RateLimiter:
    """A token bucket with a burst of one, safe to share between threads: permits are
    at least ``1 / requests_per_second`` apart, measured between the moments they are
    really given out."""

    def __init__(
        self,
        requests_per_second: float = DEFAULT_REQUESTS_PER_SECOND,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if not (isinstance(requests_per_second, (int, float)) and math.isfinite(requests_per_second)):
            raise ValueError("requests_per_second must be a finite number")
        if requests_per_second <= 0:
            raise ValueError("requests_per_second must be positive")
        self.requests_per_second = float(requests_per_second)
        self.interval = 1.0 / self.requests_per_second
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next_free: float | None = None

    def wait(self) -> None:
        """Block until the next request may be sent.

        Waiters take turns under the lock, and the next slot is counted from the moment
        this one really ended, never from when it was due: a waiter woken late (a busy
        machine) pushes the next one back instead of letting two requests out closer
        than the interval. Requests waiting for their answers do not hold the lock."""
        with self._lock:
            now = self._clock()
            if self._next_free is not None and self._next_free > now:
                self._sleep(self._next_free - now)
                now = self._clock()
            self._next_free = now + self.interval

    def hold(self, seconds: float) -> None:
        """Send nothing for `seconds` from now (a server asked for that long a pause)."""
        with self._lock:
            resume = self._clock() + seconds
            self._next_free = resume if self._next_free is None else max(self._next_free, resume)

    @staticmethod
    def backoff(attempt: int) -> float:
        """Seconds to wait before retry number ``attempt``: 1, 2, 4 ..."""
        if attempt < 1:
            raise ValueError("attempt counts from 1")
        return float(2 ** (attempt - 1))


def retry_after_seconds(value: str | None, now: datetime) -> float:
    """Seconds asked for by a ``Retry-After`` header (seconds or HTTP date); 0 if unusable."""
    if not value:
        return 0.0
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        seconds = _seconds_until_http_date(text, now)
    if not math.isfinite(seconds):
        return 0.0
    return max(0.0, seconds)


def _seconds_until_http_date(text: str, now: datetime) -> float:
    when = _parse_http_date(text)
    return 0.0 if when is None else (when - now).total_seconds()


def _parse_http_date(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)


def _server_now(headers: Any) -> datetime:
    """The answer's own ``Date`` (no clock skew), else this machine's UTC time."""
    return _parse_http_date(headers.get("Date")) or datetime.now(timezone.utc)


# --------------------------------------------------------------------------
# The client


def _error_alias(error: dict) -> str | None:
    """The alias a GraphQL error's path starts with, or None when it has no path."""
    path = error.get("path")
    return path[0] if isinstance(path, list) and path and isinstance(path[0], str) else None


class _HttpAnswer(NamedTuple):
    """One HTTP answer, its body read whole (and no larger than MAX_ANSWER_BYTES)."""

    status_code: int
    headers: Any
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")


class _Answer(NamedTuple):
    data: dict
    errors: list
    status: int


def _has_id_and_name(tag: Any) -> bool:
    """A stash-box tag the sync can use: a mapping with text `id` and `name`."""
    return isinstance(tag, dict) and isinstance(tag.get("id"), str) and isinstance(tag.get("name"), str)


def chunks(items: Sequence, size: int) -> Iterable[Sequence]:
    """`items` in consecutive slices of at most `size`."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


class StashDBClient:
    """The few StashDB queries the tag sync needs, rate limited and retried."""

    def __init__(
        self,
        endpoint: str,
        api_key: str,
        *,
        requests_per_second: float = DEFAULT_REQUESTS_PER_SECOND,
        timeout: float = 30.0,
        session: requests.Session | None = None,
        rate_limiter: RateLimiter | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if not timeout or timeout <= 0:
            raise ValueError("timeout must be positive")
        self.endpoint = endpoint
        self._api_key = (api_key or "").strip()
        self.timeout = float(timeout)
        self._session = session if session is not None else requests.Session()
        if rate_limiter is None:
            rate_limiter = RateLimiter(requests_per_second, sleep=sleep)
        self.rate_limiter = rate_limiter
        self._sleep = sleep
        self._count_lock = threading.Lock()
        self.request_count = 0
        self._key_rejected = False   # once StashDB refused the key, nothing more is sent this run

    def __repr__(self) -> str:
        return f"StashDBClient({self.endpoint!r})"

    # ---- public queries

    def check_access(self) -> str:
        """The user name behind the API key; StashDBAuthError when the key is bad."""
        answer = self._execute(ME_OPERATION, ME_QUERY, {})
        me = self._field(ME_OPERATION, answer, "me")
        if me is None:
            if answer.errors:
                raise self._graphql_errors_error(ME_OPERATION, answer)
            raise self._error(StashDBAuthError, ME_OPERATION, "no user for this API key", answer.status)
        name = me.get("name") if isinstance(me, dict) else None
        if not isinstance(name, str):
            raise self._wrong_shape(ME_OPERATION, "me without a name", answer.status)
        return name

    def find_scenes_by_ids(self, scene_ids: Iterable[str | int]) -> list[dict | StashDBError | None]:
        """Per id, in input order, 40 ids a request: its scene, None for an id StashDB does
        not know, or a StashDBError when StashDB failed that id alone (say, not a UUID)."""
        return self._find_by_ids(FIND_SCENES_BY_IDS_OPERATION, build_find_scenes_by_ids_query, scene_alias,
                                 self._checked_scene, scene_ids)

    def find_scenes_by_fingerprints(
        self, fingerprint_batches: Iterable[Iterable[dict]]
    ) -> list[list[dict]]:
        """One list of matching scenes per list of fingerprints, in input order.

        Empty lists are not sent and come back as ``[]``; 40 lists a request.
        """
        batches = [list(batch) for batch in fingerprint_batches]
        to_send = [batch for batch in batches if batch]
        answers: list[list[dict]] = []
        for chunk in chunks(to_send, MAX_SCENES_PER_REQUEST):
            answers.extend(self._find_by_fingerprints_chunk(chunk))
        sent_answers = iter(answers)
        return [next(sent_answers) if batch else [] for batch in batches]

    def query_data(self, operation: str, query: str, variables: dict) -> dict:
        """Another module's query (stashdb_changes.py) through this client's machinery: its
        `data`; errors beside data are logged, as for the queries here."""
        answer = self._execute(operation, query, variables)
        self._log_ignored_errors(operation, answer)
        return answer.data

    # ---- per-operation answer handling

    def find_tags_by_ids(self, tag_ids: Iterable[str]) -> list[dict | StashDBError | None]:
        """Per id, in input order, 40 ids a request: its tag (deleted ones included, as
        stash-box returns them), None for an id StashDB does not know, or a StashDBError
        when StashDB failed that id alone."""
        return self._find_by_ids(FIND_TAGS_BY_IDS_OPERATION, build_find_tags_by_ids_query, tag_alias,
                                 self._checked_tag, tag_ids)

    def _find_by_ids(self, operation: str, build_query: Callable[[int], str], alias: Callable[[int], str],
                     check: Callable[[str, Any, int], dict], ids: Iterable[Any]) -> list[dict | StashDBError | None]:
        """Per id, in input order: 40 ids a request, one aliased root field and one id
        variable each, every field's answer checked on its own (`_per_alias`)."""
        results: list[dict | StashDBError | None] = []
        for chunk in chunks([str(value) for value in ids], MAX_SCENES_PER_REQUEST):
            results.extend(self._find_chunk_by_ids(operation, build_query, alias, check, chunk))
        return results

    def _find_chunk_by_ids(self, operation: str, build_query: Callable[[int], str], alias: Callable[[int], str],
                           check: Callable[[str, Any, int], dict], chunk: Sequence[str]) -> list:
        """One request's answers; an answer over the byte cap is asked again in two halves,
        so that it fails only the ids whose own answer is too large."""
        try:
            answer = self._execute(operation, build_query(len(chunk)),
                                   {scene_id_variable(i): value for i, value in enumerate(chunk)})
        except StashDBAnswerTooLarge as too_large:
            if len(chunk) == 1:
                return [too_large]
            half = len(chunk) // 2
            return [*self._find_chunk_by_ids(operation, build_query, alias, check, chunk[:half]),
                    *self._find_chunk_by_ids(operation, build_query, alias, check, chunk[half:])]
        return self._per_alias(operation, answer, [alias(i) for i in range(len(chunk))], check)

    def _per_alias(self, operation: str, answer: _Answer, aliases: list[str],
                   check: Callable[[str, Any, int], dict]) -> list[dict | StashDBError | None]:
        """Each aliased field's answer: checked data, None (unknown id), or its own error."""
        errors_by_alias: dict[str | None, list] = {}
        for error in answer.errors:
            errors_by_alias.setdefault(_error_alias(error), []).append(error)
        results = [self._aliased_answer(operation, answer, alias, errors_by_alias, check) for alias in aliases]
        unexplained = [error for error in answer.errors if _error_alias(error) not in aliases]
        if unexplained:
            self._log_ignored_errors(operation, answer._replace(errors=unexplained))
        return results

    def _aliased_answer(self, operation: str, answer: _Answer, alias: str, errors_by_alias: dict,
                        check: Callable[[str, Any, int], dict]) -> dict | StashDBError | None:
        own_errors = errors_by_alias.get(alias)
        if own_errors and answer.data.get(alias) is None:
            return self._graphql_errors_error(operation, answer._replace(errors=own_errors))
        value = self._field(operation, answer, alias)
        if value is None:
            if errors_by_alias.get(None):
                raise self._graphql_errors_error(operation, answer)
            return None
        return check(operation, value, answer.status)

    def _find_by_fingerprints_chunk(self, chunk: list[list[dict]]) -> list[list[dict]]:
        operation = FIND_SCENES_BY_FINGERPRINTS_OPERATION
        answer = self._execute(operation, FIND_SCENES_BY_FINGERPRINTS_QUERY, {"fingerprints": chunk})
        lists = self._field(operation, answer, "findScenesBySceneFingerprints")
        if lists is None and answer.errors:
            raise self._graphql_errors_error(operation, answer)
        if not isinstance(lists, list) or len(lists) != len(chunk):
            count = len(lists) if isinstance(lists, list) else "no"
            detail = f"{count} scene lists for {len(chunk)} fingerprint lists"
            raise self._wrong_shape(operation, detail, answer.status)
        result = [self._checked_scene_list(operation, scenes, answer.status) for scenes in lists]
        self._log_ignored_errors(operation, answer)
        return result

    def _checked_scene_list(self, operation: str, scenes: Any, status: int) -> list[dict]:
        if not isinstance(scenes, list):
            raise self._wrong_shape(operation, "a null scene list", status)
        return [self._checked_scene(operation, scene, status) for scene in scenes]

    def _checked_scene(self, operation: str, scene: Any, status: int) -> dict:
        if not isinstance(scene, dict):
            raise self._wrong_shape(operation, "a null scene", status)
        scene_id = scene.get("id")
        if not isinstance(scene_id, str) or not isinstance(scene.get("deleted"), bool):
            raise self._wrong_shape(operation, "a scene without id or deleted", status)
        tags = scene.get("tags")
        if not isinstance(tags, list):
            raise self._wrong_shape(operation, f"scene {scene_id} without tags", status)
        if not all(map(_has_id_and_name, tags)):
            raise self._wrong_shape(operation, f"scene {scene_id} with a malformed tag", status)
        return scene

    def _checked_tag(self, operation: str, tag: Any, status: int) -> dict:
        if not _has_id_and_name(tag):
            raise self._wrong_shape(operation, "a tag without id or name", status)
        return tag

    def _field(self, operation: str, answer: _Answer, key: str) -> Any:
        if key not in answer.data:
            if answer.errors:
                raise self._graphql_errors_error(operation, answer)
            raise self._wrong_shape(operation, f"answer without {key}", answer.status)
        return answer.data[key]

    def _log_ignored_errors(self, operation: str, answer: _Answer) -> None:
        if answer.errors:
            logger.warning("StashDB %s: using the data despite GraphQL errors: %s",
                           operation, self._error_messages(answer.errors))

    # ---- HTTP and GraphQL envelope

    def _execute(self, operation: str, query: str, variables: dict) -> _Answer:
        payload = {"query": query, "variables": variables, "operationName": operation}
        response = self._post_with_retries(operation, payload)
        body = self._json_body(operation, response)
        errors = body.get("errors") or []
        if not isinstance(errors, list):
            raise self._wrong_shape(operation, "errors is not a list", response.status_code)
        errors = [error if isinstance(error, dict) else {"message": str(error)} for error in errors]
        answer = _Answer(body.get("data"), errors, response.status_code)
        if any("not authorized" in str(error.get("message", "")).lower() for error in errors):
            self._key_rejected = True
            raise self._graphql_errors_error(operation, answer, StashDBAuthError)
        if not isinstance(answer.data, dict):
            if errors:
                raise self._graphql_errors_error(operation, answer)
            raise self._wrong_shape(operation, "answer without data", response.status_code)
        return answer

    def _post_with_retries(self, operation: str, payload: dict) -> _HttpAnswer:
        if not self._api_key:
            raise self._error(StashDBAuthError, operation, "no API key configured", None)
        for retry in range(1, MAX_RETRIES + 2):
            self.rate_limiter.wait()
            if self._key_rejected:   # seen by another request (another thread) meanwhile
                raise self._error(StashDBAuthError, operation, "API key rejected earlier in this run; not sent", None)
            try:
                response = self._send_once(operation, payload)
            except StashDBError as failure:  # a timeout or a dropped connection
                if retry > MAX_RETRIES or isinstance(failure, StashDBAnswerTooLarge):
                    raise
                self._wait_before_retry(str(failure), retry, 0.0)
                continue
            if response.status_code not in RETRYABLE_STATUSES or retry > MAX_RETRIES:
                break
            asked = retry_after_seconds(response.headers.get("Retry-After"), _server_now(response.headers))
            if asked > MAX_RETRY_WAIT_SECONDS:
                raise self._asked_to_wait(operation, response, asked)
            busy = self._error(StashDBError, operation, "rate limited" if response.status_code == 429
                               else "server error", response.status_code)
            self._wait_before_retry(str(busy), retry, asked)
        self._check_status(operation, response)
        return response

    def _wait_before_retry(self, failure: str, retry: int, asked: float) -> None:
        delay = max(asked, self.rate_limiter.backoff(retry))
        logger.warning("%s, retry %d of %d in %.1f s", failure, retry, MAX_RETRIES, delay)
        self._sleep(delay)

    def _asked_to_wait(self, operation: str, response: _HttpAnswer, asked: float) -> StashDBError:
        """Never sooner than the server asked: fail this call, and hold every later one."""
        self.rate_limiter.hold(asked)
        detail = (f"asked to wait {asked:.0f} s (Retry-After), longer than the {MAX_RETRY_WAIT_SECONDS:.0f} s "
                  "tagManager waits within one request")
        error = self._error(StashDBRateLimited, operation, detail, response.status_code)
        error.retry_after = asked
        return error

    def _send_once(self, operation: str, payload: dict) -> _HttpAnswer:
        with self._count_lock:
            self.request_count += 1
        logger.debug("StashDB %s: POST %s", operation, self.endpoint)
        # The requests exception is not chained: its text could show the request.
        try:
            with self._session.post(self.endpoint, json=payload, headers=self._headers(), timeout=self.timeout,
                                    stream=True) as response:
                content = self._read_capped(operation, response)
                return _HttpAnswer(response.status_code, response.headers, content)
        except requests.exceptions.Timeout:
            failure = f"no answer within {self.timeout:g} s"
        except requests.exceptions.ConnectionError:
            failure = "connection failed"
        except requests.exceptions.RequestException as exc:
            failure = f"request failed ({type(exc).__name__})"
        raise self._error(StashDBError, operation, failure, None)

    def _read_capped(self, operation: str, response: requests.Response) -> bytes:
        """The answer's body; a StashDBError as soon as it passes MAX_ANSWER_BYTES."""
        body = bytearray()
        for chunk in response.iter_content(_READ_CHUNK_BYTES):
            body += chunk
            if len(body) > MAX_ANSWER_BYTES:
                detail = f"answer larger than {MAX_ANSWER_BYTES:,} bytes, not read"
                raise self._error(StashDBAnswerTooLarge, operation, detail, response.status_code)
        return bytes(body)

    def _headers(self) -> dict:
        return {
            "ApiKey": self._api_key,
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }

    def _check_status(self, operation: str, response: _HttpAnswer) -> None:
        status = response.status_code
        if 200 <= status < 300:
            return
        if status == 401:
            self._key_rejected = True
            raise self._error(StashDBAuthError, operation, "API key rejected", status, response.text)
        if status == 429:
            detail = f"rate limited after {MAX_RETRIES} retries"
            raise self._error(StashDBRateLimited, operation, detail, status, response.text)
        detail = "server error" if status >= 500 else "request rejected"
        raise self._error(StashDBError, operation, detail, status, response.text)

    def _json_body(self, operation: str, response: _HttpAnswer) -> dict:
        try:
            body = json.loads(response.content)
        except (ValueError, RecursionError):  # RecursionError: nested deeper than Python decodes
            body = None
            detail = "answer is not JSON"
        else:
            detail = "answer is not a JSON object"
        if isinstance(body, dict):
            return body
        raise self._error(StashDBError, operation, detail, response.status_code, response.text)

    # ---- building safe errors

    def _graphql_errors_error(self, operation: str, answer: _Answer, kind: type = StashDBError):
        detail = f"GraphQL errors: {self._error_messages(answer.errors)}"
        return self._error(kind, operation, detail, answer.status)

    def _wrong_shape(self, operation: str, detail: str, status: int | None) -> StashDBError:
        return self._error(StashDBError, operation, f"unexpected answer: {detail}", status)

    def _error_messages(self, errors: list) -> str:
        messages = "; ".join(str(error.get("message", "")) for error in errors)
        return self._excerpt(messages)

    def _error(self, kind: type, operation: str, detail: str, status: int | None,
               body: str | None = None) -> StashDBError:
        message = f"StashDB at {self.endpoint}: {_OPERATION_WORDS.get(operation, operation)} failed: {detail}"
        if status is not None:
            message += f" (HTTP {status})"
        if body:
            message += f"; body: {self._excerpt(body)}"
        return kind(self._scrub(message), operation=operation, status=status)

    def _excerpt(self, text: str) -> str:
        """At most 200 characters on one line, with the key removed before cutting."""
        return shorten(" ".join(self._scrub(text).split()), BODY_EXCERPT_CHARS)

    def _scrub(self, text: str) -> str:
        return text.replace(self._api_key, _REDACTED) if self._api_key else text
