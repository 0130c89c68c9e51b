"""Tiny, distinct video files for Stash to scan (ffmpeg's generated test sources).

Each file comes from a different lavfi source or seed, so its bytes (oshash) and
its frames (phash) differ from every other file's. The files are MPEG-4 Part 2 in
AVI: Stash v0.30.1 computes a phash from 25 screenshots spread over the
duration, which it decodes from BMP, and that works reliably on these.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

FFMPEG_TIMEOUT_SECONDS = 30.0
FRAME_SIZE = "64x64"
FRAME_RATE = 10
DURATION_SECONDS = 2

# A few source patterns; `{seed}` makes each file different from the next.
SOURCE_PATTERNS = (
    "life=size={size}:rate={rate}:seed={seed}:ratio=0.3:mold=10",
    "cellauto=size={size}:rate={rate}:rule={rule}:random_seed={seed}",
    "mandelbrot=size={size}:rate={rate}:start_scale={scale}:maxiter=64",
)


def ffmpeg_missing() -> str | None:
    """Why videos cannot be made or scanned here, or None when ffmpeg and ffprobe exist."""
    missing = [tool for tool in ("ffmpeg", "ffprobe") if shutil.which(tool) is None]
    if missing:
        return f"{' and '.join(missing)} not installed (tests/e2e/install_ffmpeg.sh installs them)"
    return None


def lavfi_source(index: int) -> str:
    pattern = SOURCE_PATTERNS[index % len(SOURCE_PATTERNS)]
    return pattern.format(
        size=FRAME_SIZE, rate=FRAME_RATE, seed=1000 + index, rule=30 + 2 * index,
        scale=0.5 + 0.37 * index)


def make_video(path: Path, index: int) -> Path:
    """Write one distinct clip to `path` (the `index` picks its source and seed)."""
    command = [
        "ffmpeg", "-v", "error", "-y", "-f", "lavfi",
        "-i", lavfi_source(index), "-t", str(DURATION_SECONDS),
        "-c:v", "mpeg4", "-q:v", "4", "-pix_fmt", "yuv420p", str(path),
    ]
    subprocess.run(command, check=True, capture_output=True, timeout=FFMPEG_TIMEOUT_SECONDS)
    return path


def make_videos(folder: Path, count: int, first_index: int = 0) -> list[Path]:
    """`count` distinct clips in `folder`, named clip-<index>.avi."""
    folder.mkdir(parents=True, exist_ok=True)
    return [make_video(folder / f"clip-{index:03d}.avi", index)
            for index in range(first_index, first_index + count)]
