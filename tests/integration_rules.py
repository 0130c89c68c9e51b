"""How the integration test (tests/integration_test_sync.py) finds its credentials, and
when it refuses to pass.

Credentials are read from `~/code/.env`, then `<repository>/.env`, then the environment;
a later source wins, key by key. A variable set in the environment wins even when it is
empty, so `STASH_URL= python3 -m pytest` turns the tier off whatever the files say.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Mapping

from run_config import parse_dotenv

REPO_ROOT = Path(__file__).resolve().parent.parent
CREDENTIAL_KEYS = ("STASH_URL", "STASH_API_KEY", "STASHDB_URL", "STASHDB_API_KEY")
WRITE_SCENE_KEY = "TAGMANAGER_INTEGRATION_WRITE_SCENE"
KEYS = (*CREDENTIAL_KEYS, WRITE_SCENE_KEY)


def default_env_files() -> tuple[Path, Path]:
    """`~/code/.env`, then the repository's `.env` (the later one wins)."""
    return Path.home() / "code" / ".env", REPO_ROOT / ".env"


def load_integration_settings(env_files: Iterable[Path], environ: Mapping[str, str]) -> dict[str, str]:
    """The integration test's keys from each file in order, then from `environ`; later wins."""
    settings: dict[str, str] = {}
    for env_file in env_files:
        if env_file.is_file():
            values = parse_dotenv(env_file.read_text(encoding="utf-8"))
            settings.update({key: value for key, value in values.items() if key in KEYS})
    settings.update({key: value for key, value in environ.items() if key in KEYS})
    return settings


def missing_credentials(settings: Mapping[str, str]) -> list[str]:
    return [key for key in CREDENTIAL_KEYS if not settings.get(key)]


def nothing_examined(summary: Mapping, endpoint: str) -> str | None:
    """Why a run that examined no scene proves nothing (None when it examined some).

    A dry run over 0 scenes "changes nothing" trivially; the usual cause is a STASHDB_URL
    that is not the endpoint string the scenes' StashIDs carry (a trailing slash is enough).
    """
    examined = summary.get("scenes_processed") or 0
    if examined > 0:
        return None
    return (f"the run examined 0 scenes ({summary.get('scenes_total', 0)} with a StashID for {endpoint!r}), "
            "so it checked nothing. StashIDs compare the endpoint string exactly: set STASHDB_URL to the "
            "endpoint your scenes' StashIDs carry (e.g. https://stashdb.org/graphql, no trailing slash), "
            "and make sure some scenes are matched to it")
