"""tagManager's entry point.

Stash runs `python tag_manager.py` with one JSON object on stdin (plugin mode). People and
scripts run `python tag_manager.py sync [--dry-run | --no-dry-run] [--endpoint NAME_OR_URL]`
(command-line mode), with STASH_URL / STASH_API_KEY and optionally STASHDB_URL /
STASHDB_API_KEY from the environment or a `.env` file.

Exit codes: 0 the run completed; 2 it completed but some scenes failed (they are counted
in the summary); 1 it could not start or was stopped (configuration, rejected key, outage).
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Callable, Mapping

if __package__ in (None, ""):
    # Stash puts the plugin folder's parent on PYTHONPATH, not the folder itself.
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from plugin_info import PLUGIN_ID, PLUGIN_VERSION
from plugin_io import (
    ConsoleLogHandler,
    SecretRedactor,
    StashLogHandler,
    StashProgress,
    configure_logging,
    read_plugin_input,
    write_plugin_result,
)
from run_config import (
    ConfigError,
    StashBox,
    choose_stash_box,
    dry_run_from_settings,
    endpoint_from_settings,
    exclude_patterns,
    parse_dotenv,
    plugin_settings,
    stash_connection_from_url,
)

log = logging.getLogger("tagManager")

MODE_SYNC_SCENE_TAGS = "sync_scene_tags"
EXIT_OK, EXIT_STOPPED, EXIT_SCENE_ERRORS = 0, 1, 2


@dataclass(frozen=True)
class Overrides:
    """What the command line (or the task's args) says, over the plugin settings."""

    dry_run: bool | None = None
    endpoint: str = ""
    stashdb_url: str = ""
    stashdb_api_key: str = ""


def main(argv: list[str] | None = None, stdin: IO[str] = sys.stdin, stdout: IO[str] = sys.stdout,
         stderr: IO[str] = sys.stderr, environ: Mapping[str, str] = os.environ) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv:
        return run_command_line(argv, stderr, environ)
    return run_plugin(stdin, stdout, stderr)


# -- plugin mode -----------------------------------------------------------------------

def run_plugin(stdin: IO[str], stdout: IO[str], stderr: IO[str]) -> int:
    redactor = SecretRedactor()
    configure_logging(StashLogHandler(stderr), redactor)
    output, error, code = None, None, EXIT_STOPPED
    try:
        plugin_input = read_plugin_input(stdin)
        connection = dict(plugin_input.get("server_connection") or {})
        redactor.add([(connection.get("SessionCookie") or {}).get("Value"), connection.get("ApiKey")])
        args = plugin_input.get("args") or {}
        mode = args.get("mode")
        if mode != MODE_SYNC_SCENE_TAGS:
            raise ConfigError(f"Unknown mode {mode!r}; this plugin's task sends mode {MODE_SYNC_SCENE_TAGS!r}")
        stats = run_sync(connection, Overrides(), redactor, StashProgress(stderr))
        output, error, code = finish(stats)
    except ConfigError as exc:
        error = str(exc)
        log.error("%s", error)
    except Exception as exc:  # noqa: BLE001 - the one JSON answer must still be written
        error = redactor.redact(f"tagManager failed: {type(exc).__name__}: {exc}")
        log.error("%s", error)
        log.debug("Traceback", exc_info=True)
    write_plugin_result(stdout, output, error)
    return code


# -- command-line mode -----------------------------------------------------------------

def run_command_line(argv: list[str], stderr: IO[str], environ: Mapping[str, str]) -> int:
    options = parse_command_line(argv)
    env = load_environment(environ, Path.cwd() / ".env")
    redactor = SecretRedactor([env.get("STASH_API_KEY"), env.get("STASHDB_API_KEY")])
    configure_logging(ConsoleLogHandler(stderr), redactor, logging.DEBUG if options.verbose else logging.INFO)
    try:
        connection = stash_connection_from_url(env.get("STASH_URL") or "http://localhost:9999", env.get("STASH_API_KEY"))
        overrides = Overrides(options.dry_run, options.endpoint or "", env.get("STASHDB_URL", ""),
                              env.get("STASHDB_API_KEY", ""))
        stats = run_sync(connection, overrides, redactor, ConsoleProgress())
    except ConfigError as exc:
        log.error("%s", exc)
        return EXIT_STOPPED
    except Exception as exc:  # noqa: BLE001
        log.error("tagManager failed: %s: %s", type(exc).__name__, redactor.redact(str(exc)))
        log.debug("Traceback", exc_info=True)
        return EXIT_STOPPED
    return finish(stats)[2]


def parse_command_line(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="tag_manager.py", description="Add StashDB tags to scenes in Stash.")
    commands = parser.add_subparsers(dest="command", required=True)
    sync = commands.add_parser("sync", help="Sync Scene Tags from StashDB")
    dry = sync.add_mutually_exclusive_group()
    dry.add_argument("--dry-run", dest="dry_run", action="store_true", default=None,
                     help="log what would change, write nothing (default: the plugin's syncDryRun setting, on if unset)")
    dry.add_argument("--no-dry-run", dest="dry_run", action="store_false", help="write the tags")
    sync.add_argument("--endpoint", help="name or URL of the configured stash-box (default: StashDB)")
    sync.add_argument("--verbose", "-v", action="store_true", help="debug lines too")
    return parser.parse_args(argv)


def load_environment(environ: Mapping[str, str], dotenv: Path) -> dict[str, str]:
    values = parse_dotenv(dotenv.read_text(encoding="utf-8")) if dotenv.is_file() else {}
    values.update({k: v for k, v in environ.items() if k.startswith(("STASH_", "STASHDB_"))})
    return values


class ConsoleProgress:
    """A progress line every 5 % on a console."""

    def __init__(self) -> None:
        self.next_report = 0.05

    def __call__(self, fraction: float) -> None:
        if fraction >= self.next_report and fraction < 1.0:
            log.info("progress: %d%%", int(fraction * 100))
            while self.next_report <= fraction:
                self.next_report += 0.05


# -- the run, shared by both modes ------------------------------------------------------

def run_sync(connection: dict, overrides: Overrides, redactor: SecretRedactor,
             on_progress: Callable[[float], None]):
    from stash_local import LocalStash, connect_stash
    from stashdb_api import StashDBAuthError, StashDBClient, rate_from_requests_per_minute
    from stashdb_scene_sync import SyncSettings, sync_scene_tags

    log.info("tagManager %s: Sync Scene Tags from StashDB", PLUGIN_VERSION)
    local = LocalStash.from_stash_interface(connect_stash(connection))
    configuration = local.configuration(PLUGIN_ID)
    general = configuration.get("general") or {}
    redactor.add([general.get("apiKey")] + [box.get("api_key") for box in general.get("stashBoxes") or []])
    settings = plugin_settings(configuration)
    box = resolve_stash_box(general.get("stashBoxes"), settings, overrides)
    dry_run = dry_run_from_settings(settings) if overrides.dry_run is None else overrides.dry_run
    describe_dry_run(settings, overrides, dry_run)

    stashdb = StashDBClient(box.endpoint, box.api_key,
                            requests_per_second=rate_from_requests_per_minute(box.max_requests_per_minute))
    log.info("Syncing from %s (%s)", box.name, box.endpoint)
    try:
        stashdb.check_access()
    except StashDBAuthError as exc:
        raise ConfigError(f"{box.name} rejected the API key ({exc}); check it in Settings > Metadata Providers") from None
    sync_settings = SyncSettings(endpoint=box.endpoint, dry_run=dry_run, exclude_patterns=exclude_patterns(configuration))
    return sync_scene_tags(local, stashdb, sync_settings, on_progress)


def resolve_stash_box(stash_boxes: Any, settings: Mapping[str, Any], overrides: Overrides) -> StashBox:
    if overrides.stashdb_url and overrides.stashdb_api_key:
        return StashBox(endpoint=overrides.stashdb_url, api_key=overrides.stashdb_api_key, name=overrides.stashdb_url)
    wanted = overrides.endpoint or overrides.stashdb_url or endpoint_from_settings(settings)
    box = choose_stash_box(stash_boxes, wanted)
    if overrides.stashdb_api_key:
        return StashBox(box.endpoint, overrides.stashdb_api_key, box.name, box.max_requests_per_minute)
    return box


def describe_dry_run(settings: Mapping[str, Any], overrides: Overrides, dry_run: bool) -> None:
    if not dry_run:
        log.info("Live run: matched tags will be added to scenes")
    elif overrides.dry_run is None and settings.get("syncDryRun") is None:
        log.info("[DRY RUN] syncDryRun is not set, so this is a dry run (Stash shows an unset switch as "
                 "off: switch it on and off again to run live)")
    else:
        log.info("[DRY RUN] nothing will be written")


def finish(stats) -> tuple[dict, str | None, int]:
    from sync_stats import Outcome

    if stats.aborted:
        return stats.as_dict(), f"Run stopped: {stats.aborted}", EXIT_STOPPED
    failed = stats.count(Outcome.ERROR)
    if failed:
        return stats.as_dict(), f"{failed} scenes failed; see the log", EXIT_SCENE_ERRORS
    return stats.as_dict(), None, EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
