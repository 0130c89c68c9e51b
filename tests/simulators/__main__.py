"""``python -m tests.simulators serve --scenes 1000 --seed 1 ...``

Starts both simulators over a generated library, prints how to point the
plugin at them (environment variables and the stdin JSON a plugin run gets)
and the expected outcome counts, then serves until Ctrl-C.
"""
from __future__ import annotations

import argparse
from pathlib import Path
import json
import signal
import threading
from typing import Any

from .library import generate_library
from .launch import start_simulators
from .stashdb_sim import DEFAULT_API_KEY


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tests.simulators")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the Stash and StashDB simulators")
    serve.add_argument("--scenes", type=int, default=1000)
    serve.add_argument("--seed", type=int, default=1)
    serve.add_argument("--fallback-share", type=float, default=0.3)
    serve.add_argument("--deleted-share", type=float, default=0.02)
    serve.add_argument("--stashdb-rpm", type=int, default=None, help="429 above this many requests a minute")
    serve.add_argument("--max-requests-per-minute", type=int, default=0, help="Stash's stash-box setting")
    serve.add_argument("--stash-api-key", default=None, help="require this ApiKey (or the session cookie)")
    serve.add_argument("--stashdb-api-key", default=DEFAULT_API_KEY)
    serve.add_argument("--plugin-settings", default="{}", help='JSON, e.g. {"syncDryRun": false}')
    serve.add_argument("--args", default="{}", help="JSON task args for the stdin example")
    demo = commands.add_parser("demo", help="run the plugin's task against the simulators, as Stash would")
    demo.add_argument("--scenes", type=int, default=300)
    demo.add_argument("--seed", type=int, default=1)
    demo.add_argument("--output", type=Path, default=Path("demo-output"),
                      help="stands in for Stash's config folder; the report goes under it")
    demo.add_argument("--debug", action="store_true", help="show DEBUG lines too")
    return parser


def serve(options: argparse.Namespace) -> None:
    library = generate_library(
        options.scenes, options.seed,
        fallback_share=options.fallback_share, deleted_share=options.deleted_share,
    )
    settings = json.loads(options.plugin_settings)
    running = start_simulators(
        library,
        stash_api_key=options.stash_api_key,
        stashdb_api_key=options.stashdb_api_key,
        stashdb_rpm=options.stashdb_rpm,
        max_requests_per_minute=options.max_requests_per_minute,
        plugin_settings={"tagManager": settings} if settings else None,
    )
    with running:
        print("Simulators running. Environment:")
        for name, value in running.env().items():
            print(f"  export {name}={value}")
        print("\nStash GraphQL:  ", running.stash.url)
        print("StashDB GraphQL:", running.stashdb.url)
        print("\nPlugin stdin JSON:")
        print(json.dumps(running.plugin_input(json.loads(options.args))))
        print("\nExpected after a full live sync:")
        summary = running.library.expected_summary
        for name in ("scenes_total", "scenes_in_scope", "found_by_fingerprint", "found_by_id", "updated",
                     "unchanged", "stashdb_deleted", "stashdb_not_found", "no_stash_id", "tags_added"):
            print(f"  {name}: {getattr(summary, name)}")
        print(f"  distinct unmatched tag names: {len(summary.unmatched_tag_counts)}")
        print("\nCtrl-C to stop.", flush=True)
        _wait_for_interrupt()
        print("stopping")


def _wait_for_interrupt() -> None:
    """Block until Ctrl-C or SIGTERM (also when started in the background)."""

    def interrupt(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass


def main(argv: list[str] | None = None) -> None:
    options = _parser().parse_args(argv)
    if options.command == "serve":
        serve(options)
    elif options.command == "demo":
        from .demo import run_demo

        raise SystemExit(run_demo(options.scenes, options.seed, options.output.resolve(), options.debug))


if __name__ == "__main__":
    main()
