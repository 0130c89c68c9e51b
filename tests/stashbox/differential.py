"""Send one request to two stash-box servers and compare what came back.

Each `Case` is a request the plugin sends (its own query documents, from stashdb_api) or an
edge the plugin must survive, with the API key to send: the admin's, none, or a wrong one.
Both answers are reduced to what a client can rely on before they are compared:

* the HTTP status, and the body when it is empty;
* `data`, with the lists whose order stash-box leaves unspecified sorted: a scene's tags and
  the scenes of one fingerprint list by id, a tag's aliases by text (stash-box orders them by
  its database's collation). The `scenes` of a `queryScenes` page keep their order: the
  request names it;
* each error's `message` and `path` (never its `locations` or `extensions`, which the
  plugin does not read), the errors sorted by path.

A validation failure (HTTP 422) or a body that is not JSON (400) is compared by status and
error count only: the two GraphQL libraries word those messages differently, and the plugin
treats every such answer as "request rejected".
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterable

import requests

ADMIN_KEY = "admin"
NO_KEY = "none"
WRONG_KEY = "wrong"
WRONG_KEY_VALUE = "not-the-key-0000"
TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class Case:
    name: str
    query: str
    variables: dict[str, Any]
    key: str = ADMIN_KEY
    raw_body: bytes | None = None      # sent instead of a JSON document (a broken body)


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any                          # normalised body, None when the body is empty

    def short(self) -> str:
        return f"HTTP {self.status} {json.dumps(self.body, sort_keys=True)[:600]}"


def send(session: requests.Session, url: str, admin_key: str, case: Case) -> Answer:
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if case.key == ADMIN_KEY:
        headers["ApiKey"] = admin_key
    elif case.key == WRONG_KEY:
        headers["ApiKey"] = WRONG_KEY_VALUE
    body = case.raw_body if case.raw_body is not None else json.dumps(
        {"query": case.query, "variables": case.variables}).encode("utf-8")
    response = session.post(url, data=body, headers=headers, timeout=TIMEOUT_SECONDS)
    return Answer(response.status_code, normalised_body(response.status_code, response.text))


def normalised_body(status: int, text: str) -> Any:
    if not text.strip():
        return None
    try:
        body = json.loads(text)
    except ValueError:
        return {"not json": True}
    if status in (400, 422):
        return {"errors": len(body.get("errors") or []), "data": body.get("data")}
    return {"data": _normalised_data(body.get("data")),
            "errors": sorted((_normalised_error(e) for e in body.get("errors") or []), key=json.dumps)}


def _normalised_error(error: dict) -> dict:
    return {"message": error.get("message"), "path": error.get("path")}


ORDERED_LISTS = frozenset({"scenes"})     # queryScenes { scenes }: sorted as the request asks


def _normalised_data(value: Any, ordered: bool = False) -> Any:
    if isinstance(value, list):
        items = [_normalised_data(item) for item in value]
        if not ordered and items and all(isinstance(item, dict) and "id" in item for item in items):
            return sorted(items, key=lambda item: str(item["id"]))
        return items
    if isinstance(value, dict):
        normalised = {key: _normalised_data(item, key in ORDERED_LISTS) for key, item in value.items()}
        if isinstance(normalised.get("aliases"), list):
            normalised["aliases"] = sorted(normalised["aliases"])
        return normalised
    return value


def differences(cases: Iterable[Case], real_url: str, simulated_url: str, admin_key: str) -> list[str]:
    """One line per case whose answers differ (both answers shown, shortened)."""
    found = []
    with requests.Session() as session:
        for case in cases:
            real = send(session, real_url, admin_key, case)
            simulated = send(session, simulated_url, admin_key, case)
            if real != simulated:
                found.append(f"{case.name}:\n  stash-box: {real.short()}\n  simulator: {simulated.short()}")
    return found
