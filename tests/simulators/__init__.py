"""Simulated Stash and StashDB servers, and a seeded library generator, for tests.

Independent of the plugin's code: the simulators are a separate reading of
the real servers (see the module docstrings for the behaviour each follows).

    from tests.simulators import generate_library, start_simulators
    library = generate_library(1000, seed=1)
    with start_simulators(library) as sims:
        sims.stash.url, sims.stashdb.url, sims.env(), sims.plugin_input()
"""
from __future__ import annotations

from .clock import ManualClock
from .expectations import (
    CATEGORIES, NO_STASH_ID, STASHDB_DELETED, STASHDB_NOT_FOUND, UNCHANGED, UPDATED,
    ExpectedSummary, SceneOutcome, TagOracle,
)
from .faults import ALL_KINDS, REQUEST_KINDS, SCENE_KINDS, FaultRule
from .launch import RunningSimulators, start_simulators
from .library import DEFAULT_ENDPOINT, OTHER_ENDPOINT, Library, LibrarySpec, generate_library
from .mutation_log import MutationLogEntry
from .records import (
    LocalFile, LocalFingerprint, LocalScene, LocalStashID, LocalTag,
    StashDBFingerprint, StashDBScene, StashDBTag,
)
from .request_log import RequestLogEntry
from .stash_sim import StashBoxConfig, StashSimulator
from .stashdb_data import StashDBData
from .stashdb_sim import StashDBSimulator

__all__ = [
    "ALL_KINDS", "CATEGORIES", "DEFAULT_ENDPOINT", "NO_STASH_ID", "OTHER_ENDPOINT", "REQUEST_KINDS",
    "SCENE_KINDS", "STASHDB_DELETED", "STASHDB_NOT_FOUND", "UNCHANGED", "UPDATED",
    "ExpectedSummary", "FaultRule", "Library", "LibrarySpec", "LocalFile", "LocalFingerprint",
    "LocalScene", "LocalStashID", "LocalTag", "ManualClock", "MutationLogEntry", "RequestLogEntry",
    "RunningSimulators", "SceneOutcome", "StashBoxConfig", "StashDBData", "StashDBFingerprint",
    "StashDBScene", "StashDBSimulator", "StashDBTag", "StashSimulator", "TagOracle",
    "generate_library", "start_simulators",
]
