"""From Stash's configuration (and overrides) to what one run needs. Pure: no I/O.

Stash does not pass plugin settings to a plugin; they are read from
`configuration.plugins`. An unset BOOLEAN is absent there, and for `syncDryRun`
absent means ON: nothing is written until the user turns the dry run off.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from plugin_info import PLUGIN_ID

DEFAULT_STASHBOX_HOST = "stashdb.org"
SETTING_DRY_RUN = "syncDryRun"
SETTING_ENDPOINT = "syncEndpoint"
SETTING_CREATE_MISSING = "syncCreateMissing"
SETTING_SKIP_ORGANIZED = "syncSkipOrganized"


class ConfigError(Exception):
    """The run cannot start: the message tells the user what to set."""


@dataclass(frozen=True)
class StashBox:
    endpoint: str
    api_key: str
    name: str
    max_requests_per_minute: int = 0


def plugin_settings(configuration: Mapping[str, Any], plugin_id: str = PLUGIN_ID) -> dict:
    plugins = configuration.get("plugins") or {}
    settings = plugins.get(plugin_id) if isinstance(plugins, Mapping) else None
    return dict(settings) if isinstance(settings, Mapping) else {}


# How a yes or no may be written where it arrives as text (task args, operation args).
TRUE_WORDS = ("true", "yes", "1")
FALSE_WORDS = ("false", "no", "0")
# A setting's text also takes "on" and "off" (a hand-edited config.yml).
SETTING_TRUE_WORDS, SETTING_FALSE_WORDS = (*TRUE_WORDS, "on"), (*FALSE_WORDS, "off")


def said_word(value: Any) -> str:
    """`value` as the word to look up in those lists."""
    return str(value).strip().lower()


def dry_run_from_settings(settings: Mapping[str, Any]) -> bool:
    value = settings.get(SETTING_DRY_RUN)
    if value is None:
        return True
    if isinstance(value, str):
        return said_word(value) not in SETTING_FALSE_WORDS
    return bool(value)


def switch_from_settings(settings: Mapping[str, Any], name: str) -> bool:
    """A BOOLEAN setting that is off unless set (syncCreateMissing, syncSkipOrganized)."""
    value = settings.get(name)
    if isinstance(value, str):
        return said_word(value) in SETTING_TRUE_WORDS
    return value is True


def endpoint_from_settings(settings: Mapping[str, Any]) -> str:
    value = settings.get(SETTING_ENDPOINT)
    return value.strip() if isinstance(value, str) else ""


def choose_stash_box(stash_boxes: list[Mapping[str, Any]] | None, wanted: str) -> StashBox:
    """The configured stash-box named by `wanted` (its name, or its URL), or StashDB's."""
    boxes = [box for box in stash_boxes or [] if isinstance(box, Mapping) and box.get("endpoint")]
    if wanted:
        found = [box for box in boxes if _names_box(box, wanted)]
        what = f"named {wanted!r}"
    else:
        found = [box for box in boxes if DEFAULT_STASHBOX_HOST in str(box["endpoint"]).lower()]
        what = f"on {DEFAULT_STASHBOX_HOST}"
    if not found:
        configured = ", ".join(f"{box.get('name') or '?'} ({box['endpoint']})" for box in boxes) or "none"
        raise ConfigError(f"No stash-box {what} is configured in Settings > Metadata Providers "
                          f"(configured: {configured}); set the plugin's {SETTING_ENDPOINT} setting to one of them")
    box = found[0]
    if not box.get("api_key"):
        raise ConfigError(f"The stash-box {box.get('name') or box['endpoint']} has no API key in "
                          "Settings > Metadata Providers")
    return StashBox(
        endpoint=str(box["endpoint"]),
        api_key=str(box["api_key"]),
        name=str(box.get("name") or box["endpoint"]),
        max_requests_per_minute=int(box.get("max_requests_per_minute") or 0),
    )


def _names_box(box: Mapping[str, Any], wanted: str) -> bool:
    endpoint = str(box["endpoint"])
    name = str(box.get("name") or "")
    return (
        wanted.casefold() == name.casefold()
        or wanted == endpoint
        or wanted.rstrip("/") == endpoint.rstrip("/")
    )


def exclude_patterns(configuration: Mapping[str, Any]) -> tuple[str, ...]:
    scraping = configuration.get("scraping") or {}
    patterns = scraping.get("excludeTagPatterns") if isinstance(scraping, Mapping) else None
    return tuple(p for p in patterns or [] if isinstance(p, str))


def parse_limit(value: Any) -> int | None:
    """A run's `limit`: a positive whole number, or -1 / empty for all scenes (None)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = str(value).strip()
    digits = text[1:] if text.startswith("-") else text
    if isinstance(value, bool) or not (digits.isascii() and digits.isdigit()):
        raise ConfigError(f"limit must be a whole number of scenes (or -1 for all), not {value!r}")
    number = int(text)
    if number == -1:
        return None
    if number < 1:
        raise ConfigError(f"limit must be at least 1 (or -1 for all scenes), not {number}")
    return number


def listed_items(value: Any, refusal: str) -> list:
    """A list, or a text listing items between commas (or semicolons): its non-blank items,
    as given; ConfigError(`refusal`) for anything else."""
    items = value.replace(";", ",").split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        raise ConfigError(refusal)
    return [item for item in items if str(item).strip()]


def is_stash_id(text: str) -> bool:
    """Stash's ids (scenes, tags) are whole numbers."""
    return text.isascii() and text.isdigit()


def parse_scene_ids(value: Any) -> tuple[str, ...]:
    """A targeted run's scene ids: Stash scene ids (whole numbers), as a list or "12,40"."""
    if value is None or value == "":
        return ()
    items = listed_items(value, f"scene_ids must be a list of scene ids or a comma-separated text, not {value!r}")
    ids = [str(item).strip() for item in items]
    bad = [scene_id for scene_id in ids if not is_stash_id(scene_id)]
    if bad:
        raise ConfigError(f"scene_ids must be Stash scene ids (whole numbers); not ids: {', '.join(map(repr, bad[:10]))}")
    return tuple(dict.fromkeys(str(int(scene_id)) for scene_id in ids))


def stash_connection_from_url(url: str, api_key: str | None) -> dict:
    """Stash's `server_connection` shape, for the command line's STASH_URL."""
    from urllib.parse import urlsplit

    parts = urlsplit(url if "://" in url else f"http://{url}")
    if not parts.hostname:
        raise ConfigError(f"STASH_URL {url!r} has no host")
    connection: dict[str, Any] = {
        "Scheme": parts.scheme or "http",
        "Host": parts.hostname,
        "Port": parts.port or (443 if parts.scheme == "https" else 9999),
    }
    if api_key:
        connection["ApiKey"] = api_key
    return connection


def parse_dotenv(text: str) -> dict[str, str]:
    """KEY=value lines; `#` comments, `export `, and matching quotes allowed."""
    values: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        key = key.strip().removeprefix("export ").strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
    return values
