"""The real Stash the whole-loop modules of this tier need beside stash-box, or why there is none.

The binary is the end-to-end tier's (tests/e2e/stash_binary.py: $TAGMANAGER_STASH_BIN, else
the first in the cache folder, v0.30.1 first), and it must say it is v0.30.1 or later
(tests/e2e/tier_plan.py reads its `--version`). Missing, older or mute: the modules are left
out with one line saying so, or fail with it under TAGMANAGER_REQUIRE_E2E=1.
"""
from __future__ import annotations

from pathlib import Path

from tests.e2e.stash_binary import REQUIRE_E2E_ENV, missing_binary_reason, skip_or_fail
from tests.e2e.stash_server import find_stash_binary
from tests.e2e.tier_plan import plan_for

__all__ = ["REQUIRE_E2E_ENV", "missing_stash_reason", "real_stash_binary_or_skip"]
WHOLE_LOOP = "stash-box tier, whole loop with a real Stash"


def _reason_for(binary: Path | None) -> str | None:
    if binary is None:
        return f"{WHOLE_LOOP}: {missing_binary_reason()}"
    plan = plan_for(binary)
    return None if plan.verdict == "run" else f"{WHOLE_LOOP}: {binary}: {plan.detail}"


def missing_stash_reason() -> str | None:
    """One line naming what is missing, or None when a Stash v0.30.1 or later is there."""
    return _reason_for(find_stash_binary())


def real_stash_binary_or_skip() -> Path:
    reason = missing_stash_reason()
    if reason is not None:
        skip_or_fail(reason)
    return find_stash_binary()
