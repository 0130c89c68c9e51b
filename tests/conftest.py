"""Shared pytest set-up."""
from __future__ import annotations

import logging

import pytest


@pytest.fixture(autouse=True)
def restore_plugin_logger():
    """configure_logging() rewires the `tagManager` logger; undo it after each test."""
    logger = logging.getLogger("tagManager")
    saved = (list(logger.handlers), logger.propagate, logger.level)
    yield
    logger.handlers[:], logger.propagate, logger.level = saved
