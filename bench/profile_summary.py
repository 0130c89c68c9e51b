"""The top lines of a py-spy profile (its `--format raw` collapsed stacks).

    python3 -m bench.profile_summary PROFILE [--top 20] [--function Response.text ...]

py-spy samples every thread that is running (idle threads, waiting on a socket or a
lock, are not sampled unless py-spy is given --idle), so a sample is CPU time of the
sync process. Prints, in share of all samples:

* by area: which library the sampled frame's innermost known code belongs to;
* self: the innermost frame of each sample, by function;
* inclusive: every function on the stack, counted once per sample, ours marked `*`.
"""
from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
OUR_MODULES = frozenset(path.name for path in REPO_ROOT.glob("*.py"))
FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^():]*)(?::(?P<line>\d+))?\)$")
AREAS = (
    ("json", ("json/", "simplejson", "complexjson")),
    ("requests/urllib3", ("requests/", "urllib3/")),
    ("http.client/socket", ("http/client.py", "socket.py", "ssl.py", "selectors.py")),
    ("email/header parsing", ("email/",)),
    ("threading/queue", ("threading.py", "queue.py")),
    ("logging", ("logging/",)),
    ("import/start-up", ("<frozen importlib", "importlib/", "<frozen site>")),
)


def parse(path: Path) -> list[tuple[list[tuple[str, str]], int]]:
    stacks = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        body, _, count = line.rpartition(" ")
        if not body or not count.isdigit():
            continue
        frames = []
        for text in body.split(";"):
            match = FRAME.match(text.strip())
            frames.append((match["function"], match["file"]) if match else (text.strip(), ""))
        stacks.append((frames, int(count)))
    return stacks


def is_ours(file: str) -> bool:
    """A runtime module at the repository's root (py-spy names those by bare file name)."""
    path = Path(file)
    return path.name in OUR_MODULES and ("/" not in file or path.parent == REPO_ROOT)


def area_of(frames: list[tuple[str, str]]) -> str:
    """The area of the innermost frame that belongs to one; ours if it is our code."""
    for function, file in reversed(frames):
        if is_ours(file):
            return "tagManager code (self)"
        for area, markers in AREAS:
            if any(marker in file for marker in markers):
                return area
    return "other"


def summarize(path: Path, top: int, functions: tuple[str, ...] = ()) -> str:
    stacks = parse(path)
    total = sum(count for _, count in stacks)
    areas: Counter[str] = Counter()
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for frames, count in stacks:
        areas[area_of(frames)] += count
        function, file = frames[-1]
        own[f"{function} ({Path(file).name})"] += count
        for name in {f"{'*' if is_ours(f) else ' '} {fn} ({Path(f).name})" for fn, f in frames}:
            inclusive[name] += count
    lines = [f"{total} samples ({path.name})", "", "by area:"]
    lines += [f"  {100 * n / total:5.1f} %  {name}" for name, n in areas.most_common()]
    lines += ["", f"self, top {top}:"]
    lines += [f"  {100 * n / total:5.1f} %  {name}" for name, n in own.most_common(top)]
    lines += ["", f"inclusive, top {top} (* = tagManager's own modules):"]
    lines += [f"  {100 * n / total:5.1f} %  {name}" for name, n in inclusive.most_common(top)]
    if functions:
        lines += ["", "inclusive, named functions:"]
        for wanted in functions:
            hits = sum(count for frames, count in stacks if any(fn.startswith(wanted) for fn, _ in frames))
            lines.append(f"  {100 * hits / total:5.1f} %  {wanted}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python3 -m bench.profile_summary")
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--function", action="append", default=[],
                        help="also print the inclusive share of functions whose name starts so (repeatable)")
    options = parser.parse_args()
    print(summarize(options.profile, options.top, tuple(options.function)))


if __name__ == "__main__":
    main()
