"""What the browser tier needs, or why it cannot run here.

The tier drives Debian's chromium (never a downloaded browser) with Python playwright,
against a Stash build (v0.30.1 or later) that embeds its real web UI (the placeholder-UI build
has no PluginApi). Missing pieces skip with the reason, or fail with it under
TAGMANAGER_REQUIRE_E2E=1, as the end-to-end tier does.
"""
from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

from tests.e2e.stash_binary import skip_or_fail
from tests.e2e.stash_server import STASH_UI_BINARY_ENV, default_stash_ui_binary_path, find_stash_ui_binary
from tests.e2e.stash_versions import MINIMUM_STASH_VERSION

CHROMIUM_ENV = "TAGMANAGER_CHROMIUM"
CHROMIUM_NAMES = ("chromium", "chromium-browser")


def find_chromium() -> Path | None:
    named = os.environ.get(CHROMIUM_ENV)
    if named:
        return Path(named) if os.access(named, os.X_OK) else None
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return Path(found)
    return None


def missing_reason() -> str | None:
    """Why the tier cannot run here, or None when it can."""
    if find_stash_ui_binary() is None:
        looked_at = (os.environ.get(STASH_UI_BINARY_ENV)
                     or f"{default_stash_ui_binary_path()} (nor at any stash-<version>-ui/stash beside it)")
        return (f"no Stash {MINIMUM_STASH_VERSION}-or-later binary with its real web UI at {looked_at} "
                f"(docs/development.md says how to build one by hand)")
    if find_chromium() is None:
        return f"no chromium on PATH and ${CHROMIUM_ENV} is not set (apt-get install chromium)"
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is not installed (pip install -r requirements-dev.txt)"
    return None


def require_or_skip() -> None:
    reason = missing_reason()
    if reason is not None:
        skip_or_fail(reason)
