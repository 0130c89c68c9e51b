#!/usr/bin/env bash
# Installs ffmpeg and ffprobe (Debian package "ffmpeg") when either is missing.
# Stash needs both to scan video files; the end-to-end tier generates tiny videos with ffmpeg.
set -euo pipefail

if command -v ffmpeg >/dev/null 2>&1 && command -v ffprobe >/dev/null 2>&1; then
    echo "ffmpeg and ffprobe already installed: $(command -v ffmpeg)"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: ffmpeg/ffprobe missing and apt-get is not available; install ffmpeg by hand" >&2
    exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
        echo "error: ffmpeg/ffprobe missing; need root (or sudo) to apt-get install ffmpeg" >&2
        exit 1
    fi
    SUDO="sudo"
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq ffmpeg

command -v ffprobe >/dev/null 2>&1 || { echo "error: ffprobe still missing after install" >&2; exit 1; }
echo "installed ffmpeg: $(command -v ffmpeg)"
