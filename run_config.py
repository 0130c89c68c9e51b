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
SETTING_FOLLOW_TAG_CHANGES = "syncFollowTagChanges"


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


# The one way a yes or no may be written, in settings, task arguments and operation
# arguments alike (case-insensitive, around spaces ignored). Anything else is no answer.
TRUE_WORDS = ("true", "yes", "1", "on")
FALSE_WORDS = ("false", "no", "0", "off")
BOOLEAN_WORDS = f"{'/'.join(TRUE_WORDS)} or {'/'.join(FALSE_WORDS)}"


def parse_boolean(value: Any) -> bool | None:
    """True or False for a yes or no written by the rule above; None for anything else
    (an empty text, a number other than 0 and 1, a float, a list, a map)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, str):
        text = value.strip().lower()
    else:
        return None
    return True if text in TRUE_WORDS else False if text in FALSE_WORDS else None


def boolean_value(name: str, value: Any) -> bool:
    """`value` by the rule above; ConfigError naming `name` when it is not a yes or no."""
    parsed = parse_boolean(value)
    if parsed is None:
        raise ConfigError(f"{name} must be one of {BOOLEAN_WORDS}, not {value!r}")
    return parsed


@dataclass(frozen=True)
class RunMode:
    """Whether a run writes, and why, in words the page shows as they are."""

    dry_run: bool
    reason: str
    setting: Any = None   # syncDryRun as Stash stores it (None: never set)

    def as_dict(self) -> dict:
        return {"dry_run": self.dry_run, "label": "Dry run" if self.dry_run else "Live",
                "reason": self.reason, "setting": self.setting}


def run_mode_from_settings(settings: Mapping[str, Any]) -> RunMode:
    """syncDryRun decides; only a real "off" runs live. Never set, or set to something that
    is not a yes or no, means a dry run."""
    value = settings.get(SETTING_DRY_RUN)
    if value is None:
        return RunMode(True, f"{SETTING_DRY_RUN} has never been set, and unset means dry run (Stash's "
                             "settings page shows it as off all the same): switch it on and off again to run live")
    dry_run = parse_boolean(value)
    if dry_run is None:
        return RunMode(True, f"{SETTING_DRY_RUN} holds {value!r}, which is not a yes or no, so this is a dry "
                             "run: switch it off in the plugin's settings to run live", value)
    if dry_run:
        return RunMode(True, f"{SETTING_DRY_RUN} is on: a run logs what it would change and writes nothing", value)
    return RunMode(False, f"{SETTING_DRY_RUN} is off: a run writes tags to your scenes", value)


def switch_from_settings(settings: Mapping[str, Any], name: str) -> bool:
    """A BOOLEAN setting that is off unless set (syncCreateMissing, syncSkipOrganized);
    ConfigError when it holds something that is not a yes or no."""
    value = settings.get(name)
    if value is None:
        return False
    parsed = parse_boolean(value)
    if parsed is None:
        raise ConfigError(f"The plugin setting {name} holds {value!r}, which is not a yes or no; "
                          "switch it on or off in Settings > Plugins > tagManager")
    return parsed


def follow_tag_changes_from_settings(settings: Mapping[str, Any]) -> tuple[bool, str | None]:
    """syncFollowTagChanges: on only when set to a yes. Unset is off; a value that is not a
    yes or no is off too (a hook must never widen anything), with the warning to log."""
    value = settings.get(SETTING_FOLLOW_TAG_CHANGES)
    if value is None:
        return False, None
    parsed = parse_boolean(value)
    if parsed is None:
        return False, (f"The plugin setting {SETTING_FOLLOW_TAG_CHANGES} holds {value!r}, which is not a yes or "
                       "no, so tag changes are not followed; switch it on or off in Settings > Plugins > tagManager")
    return parsed, None


def endpoint_from_settings(settings: Mapping[str, Any]) -> str:
    """syncEndpoint: a name or URL; unset or empty means StashDB. Anything but a text is refused."""
    value = settings.get(SETTING_ENDPOINT)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ConfigError(f"The plugin setting {SETTING_ENDPOINT} holds {value!r}; it must be the name or URL "
                          "of a stash-box (or empty for StashDB)")
    return value.strip()


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
    """A run's `limit`, when one was given: a positive whole number, or -1 for all scenes
    (None). Empty is refused: a limit left blank must not mean "every scene"."""
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
    """A targeted run's scene ids, when some were given: Stash scene ids (whole numbers), as a
    list or "12,40". A list that names none is refused: it must not mean "every scene"."""
    items = listed_items(value, f"scene_ids must be a list of scene ids or a comma-separated text, not {value!r}")
    ids = [str(item).strip() for item in items]
    if not ids:
        raise ConfigError(f"scene_ids names no scene ({value!r}); leave it out to sync every scene")
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
