"""Steps the browser tier's modules share: where screenshots go, Stash's first-start
dialog, waiting for a job the page started.

Screenshots go to $TAGMANAGER_SCREENSHOTS (default: a temp folder). The README's go to
docs/screenshots/ only when TAGMANAGER_UPDATE_README_SHOTS=1 asks for it (they are
tracked files: regenerate them deliberately); otherwise to a `readme` folder beside the rest.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping, Sequence

REPO_ROOT = Path(__file__).resolve().parents[2]
README_SHOTS = REPO_ROOT / "docs" / "screenshots"
UPDATE_README_SHOTS_ENV = "TAGMANAGER_UPDATE_README_SHOTS"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
JOB_WAIT_MS = 120_000


def shots_folder(tmp_path_factory) -> Path:
    named = os.environ.get("TAGMANAGER_SCREENSHOTS")
    folder = Path(named) if named else tmp_path_factory.mktemp("page-screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def readme_shots_folder(shots: Path) -> Path:
    """docs/screenshots/ when asked for, else `readme` inside the run's screenshot folder."""
    return README_SHOTS if os.environ.get(UPDATE_README_SHOTS_ENV) == "1" else shots / "readme"


class Shots:
    """Screenshots of one page: a full-page one from the top, or, for the README, the
    viewport as it is (scrolled to what it shows)."""

    def __init__(self, page, folder: Path) -> None:
        self.page, self.folder, self.readme_folder = page, folder, readme_shots_folder(folder)
        self.taken: list[Path] = []

    def __call__(self, name: str, readme: bool = False) -> Path:
        path = (self.readme_folder if readme else self.folder) / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        if not readme:  # from the top, so Stash's fixed navbar stays at the top
            self.page.evaluate("window.scrollTo(0, 0)")
        self.page.screenshot(path=str(path), full_page=not readme)
        self.taken.append(path)
        return path


def close_release_notes(page) -> None:
    """A fresh config shows Stash's Release Notes over every page once."""
    dialog = page.locator(".modal-dialog", has_text="Release Notes")
    try:
        dialog.wait_for(state="visible", timeout=8_000)
    except Exception:  # noqa: BLE001 - playwright's TimeoutError: no modal this time
        return
    dialog.locator(".modal-footer button").last.click()
    dialog.wait_for(state="hidden")


def wait_for_job_end(page, title: str) -> None:
    page.locator("[data-testid=job-status]", has_text=f"{title}: finished").wait_for(timeout=JOB_WAIT_MS)


def seed_library(stash, stashdb, tag_names: Sequence[str], scenes: Mapping, key: str, title: str,
                 extra: Mapping[str, dict] | None = None) -> tuple[dict, dict]:
    """Local tags by name, then a scene per label of `scenes` (sync_library.labelled_scene_plans)
    and per label of `extra` (a SceneCreateInput as it is); (tag ids by name, scene ids by label)."""
    from tests.e2e.stash_seed import create_scenes, create_tags
    from tests.e2e.sync_library import labelled_scene_plans

    tag_ids = dict(zip(tag_names, create_tags(stash, [{"name": name} for name in tag_names])))
    plans = labelled_scene_plans(stashdb, scenes, tag_ids, key=key, title=title) + list((extra or {}).values())
    return tag_ids, dict(zip([*scenes, *(extra or {})], create_scenes(stash, plans)))
