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
import io
import json
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
    ConsoleProgress,
    SecretRedactor,
    StashLogHandler,
    StashProgress,
    configure_logging,
    read_plugin_input,
    write_plugin_result,
)
from requirements_check import HOOK_REQUIREMENTS, REQUIREMENTS, report_requirements_problem, requirements_problem
from run_config import (
    SETTING_CREATE_MISSING,
    SETTING_SKIP_ORGANIZED,
    ConfigError,
    StashBox,
    boolean_value,
    choose_stash_box,
    endpoint_from_settings,
    exclude_patterns,
    parse_dotenv,
    parse_limit,
    parse_scene_ids,
    plugin_settings,
    run_mode_from_settings,
    stash_connection_from_url,
    switch_from_settings,
)

log = logging.getLogger("tagManager")

MODE_SYNC_SCENE_TAGS = "sync_scene_tags"
MODE_REMATCH_SCENE_TAGS = "rematch_scene_tags"
MODE_REFRESH_SCENE_TAGS = "refresh_scene_tags"
MODE_FOLLOW_TAG_CHANGE = "follow_tag_change"   # the Tag.*.Post hooks (tag_change_hook.py)
REMATCH_TASK_NAME = "Re-match scenes from the last sync (no StashDB requests)"   # as in tagManager.yml
SYNC_TASK_NAME = "Sync Scene Tags from StashDB"
REFRESH_TASK_NAME = "Refresh scene tags from StashDB (changes since the last sync)"
TASK_ARGS = {  # the tasks' arguments, besides `mode`
    MODE_SYNC_SCENE_TAGS: ("scene_ids", "limit", "full_dry_run"),
    MODE_REMATCH_SCENE_TAGS: ("scene_ids", "report", "stashdb_tag_ids"),
    MODE_REFRESH_SCENE_TAGS: (),   # always the whole library: its report is the next refresh's memory
}
EXIT_OK, EXIT_STOPPED, EXIT_SCENE_ERRORS = 0, 1, 2
EXIT_USAGE = 2   # no command given (argparse uses 2 for its refusals too)
DEFAULT_STASH_URL = "http://localhost:9999"


@dataclass(frozen=True)
class Overrides:
    """What the command line (or the task's args) says, over the plugin settings."""

    dry_run: bool | None = None
    endpoint: str = ""
    stashdb_url: str = ""
    stashdb_api_key: str = ""
    scene_ids: tuple[str, ...] = ()
    limit: int | None = None
    full_dry_run: bool = False      # preview the whole library, whatever syncDryRun says
    report_dir: Path | None = None
    rematch: bool = False           # answer from a past run's report instead of asking StashDB
    rematch_report: str | None = None   # that report's name (None: the newest whole-library run)
    rematch_stashdb_tag_ids: tuple[str, ...] = ()   # only scenes carrying these StashDB tags, only these tags
    refresh: bool = False           # ask StashDB only about what changed since the last whole-library report


def overrides_from_task_args(mode: str, args: Mapping[str, Any], connection: Mapping[str, Any]) -> Overrides:
    """A task's args arrive as strings (defaultArgs) or as whatever runPluginTask sent. Each
    one given must say something: an unknown name, an empty scene list or limit, or a yes or
    no that is neither is refused, so that no argument can widen a run."""
    from plugin_operations import report_name, stashdb_id_list

    unknown = sorted(set(args) - {"mode", *TASK_ARGS[mode]})
    if unknown:
        raise ConfigError(f"{mode}: unknown argument(s) {', '.join(map(repr, unknown))}; "
                          f"it takes {', '.join(TASK_ARGS[mode]) or 'none'}")
    full = "full_dry_run" in args and boolean_value("full_dry_run", args["full_dry_run"])
    return Overrides(dry_run=True if full else None,
                     scene_ids=parse_scene_ids(args["scene_ids"]) if "scene_ids" in args else (),
                     limit=parse_limit(args["limit"]) if "limit" in args else None, full_dry_run=full,
                     report_dir=plugin_report_dir(connection), rematch=mode == MODE_REMATCH_SCENE_TAGS,
                     refresh=mode == MODE_REFRESH_SCENE_TAGS,
                     rematch_report=report_name("report", args["report"]) if "report" in args else None,
                     rematch_stashdb_tag_ids=tuple(stashdb_id_list("stashdb_tag_ids", args["stashdb_tag_ids"]))
                     if "stashdb_tag_ids" in args else ())


def plugin_data_dir(connection: Mapping[str, Any]) -> Path:
    """The plugin's folder beside Stash's configuration: <config dir>/plugin_data/tagManager."""
    base = connection.get("Dir") or "."
    return Path(base) / "plugin_data" / PLUGIN_ID


def plugin_report_dir(connection: Mapping[str, Any]) -> Path:
    """Reports go in the plugin's data folder: <config dir>/plugin_data/tagManager/reports."""
    return plugin_data_dir(connection) / "reports"


def own_tag_writes_folder(connection: Mapping[str, Any]) -> Path | None:
    """Where this process marks its own tag writes for the tag-change hook (own_tag_writes.py);
    None without Stash's config folder (the command line)."""
    from own_tag_writes import MARKER_FOLDER

    return plugin_data_dir(connection) / MARKER_FOLDER if connection.get("Dir") else None


def main(argv: list[str] | None = None, stdin: IO[str] = sys.stdin, stdout: IO[str] = sys.stdout,
         stderr: IO[str] = sys.stderr, environ: Mapping[str, str] = os.environ) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv:
        problem = requirements_problem()  # before anything imports requests or stashapi
        if problem is not None:
            return report_requirements_problem(problem, plugin_mode=False, stdin=stdin, stdout=stdout, stderr=stderr)
        return run_command_line(argv, stderr, environ)
    plugin_input = "" if stdin.isatty() else stdin.read()
    # Stash waits for the hook: it needs requests only, and imports it only when it asks Stash.
    hook = is_hook_input(plugin_input)
    problem = requirements_problem(HOOK_REQUIREMENTS if hook else REQUIREMENTS, try_imports=not hook)
    if problem is not None:
        return report_requirements_problem(problem, plugin_mode=True, stdin=io.StringIO(plugin_input), stdout=stdout,
                                           stderr=stderr)
    if not plugin_input.strip():  # a person, not Stash: Stash always sends its JSON
        stderr.write(command_line_parser().format_help())
        return EXIT_USAGE
    return run_plugin(io.StringIO(plugin_input), stdout, stderr)


# -- plugin mode -----------------------------------------------------------------------

def is_hook_input(plugin_input: str) -> bool:
    """Stash's JSON for one of the tag-change hooks (args.mode as the manifest's hooks set it)."""
    try:
        args = json.loads(plugin_input).get("args")
    except (ValueError, AttributeError, RecursionError):
        return False
    return isinstance(args, dict) and args.get("mode") == MODE_FOLLOW_TAG_CHANGE

def run_plugin(stdin: IO[str], stdout: IO[str], stderr: IO[str]) -> int:
    redactor = SecretRedactor()
    configure_logging(StashLogHandler(stderr), redactor)
    output, error, code = None, None, EXIT_STOPPED
    try:
        plugin_input = read_plugin_input(stdin)
        connection = dict(plugin_input.get("server_connection") or {})
        redactor.add([(connection.get("SessionCookie") or {}).get("Value"), connection.get("ApiKey")])
        args = plugin_input.get("args") or {}
        if not isinstance(args, dict):
            raise ConfigError(f"args must be a map, not {type(args).__name__}")
        mode = args.get("mode")
        if mode == MODE_FOLLOW_TAG_CHANGE:
            output, code = run_tag_change_hook(args, connection, redactor), EXIT_OK
        elif mode in TASK_ARGS:
            stats = run_sync(connection, overrides_from_task_args(mode, args, connection), redactor,
                             StashProgress(stderr))
            output, error, code = finish(stats)
        else:
            output, code = run_operation_mode(mode, args, connection, redactor), EXIT_OK
    except ConfigError as exc:
        error = str(exc)
        log.error("%s", error)
    except Exception as exc:  # noqa: BLE001 - the one JSON answer must still be written
        error = redactor.redact(f"tagManager failed: {type(exc).__name__}: {exc}")
        log.error("%s", error)
        log.debug("Traceback", exc_info=True)
    write_plugin_result(stdout, output, error, redactor)
    return code


def run_tag_change_hook(args: dict, connection: dict, redactor: SecretRedactor) -> dict:
    """A Tag.Create/Update/Merge.Post hook: Stash waits for it, so it only decides, and queues
    the writing as a task (tag_change_hook.py)."""
    from tag_change_hook import follow_tag_change

    unknown = sorted(set(args) - {"mode", "hookContext"})
    if unknown:
        raise ConfigError(f"{MODE_FOLLOW_TAG_CHANGE}: unknown argument(s) {', '.join(map(repr, unknown))}")
    return follow_tag_change(args.get("hookContext"), connection, plugin_data_dir(connection), redactor,
                             REMATCH_TASK_NAME)


def run_operation_mode(mode: Any, args: dict, connection: dict, redactor: SecretRedactor) -> Any:
    """One of the page's operations (runPluginOperation): its arguments are checked before
    Stash or StashDB is asked anything."""
    from plugin_operations import RUN_MODE, OPERATION_MODES, OperationContext, parse_operation_args, run_operation

    if mode not in OPERATION_MODES:
        raise ConfigError(f"Unknown mode {mode!r}; tagManager's modes are "
                          f"{', '.join(map(repr, (*TASK_ARGS, *OPERATION_MODES)))}")
    parsed = parse_operation_args(mode, args)
    local, configuration, general = configured_local_stash(connection, redactor)
    settings = plugin_settings(configuration)
    if mode == RUN_MODE:  # the page shows this as it is, and derives nothing itself
        return run_mode_from_settings(settings).as_dict()
    box = resolve_stash_box(general.get("stashBoxes"), settings, Overrides())
    context = OperationContext(local, configuration, box.endpoint, plugin_report_dir(connection),
                               lambda: make_stashdb_client(box), plugin_data_dir(connection))
    return run_operation(mode, parsed, context)


# -- command-line mode -----------------------------------------------------------------

def run_command_line(argv: list[str], stderr: IO[str], environ: Mapping[str, str]) -> int:
    options = command_line_parser().parse_args(argv)
    env, sources = load_environment(environ, Path.cwd() / ".env")
    redactor = SecretRedactor([env.get("STASH_API_KEY"), env.get("STASHDB_API_KEY")])
    configure_logging(ConsoleLogHandler(stderr), redactor, logging.DEBUG if options.verbose else logging.INFO)
    try:
        stats = run_sync(stash_connection_from_url(env.get("STASH_URL") or DEFAULT_STASH_URL, env.get("STASH_API_KEY")),
                         command_line_overrides(options, env), redactor, ConsoleProgress(stderr))
    except ConfigError as exc:
        log.error("%s", exc)
        return EXIT_STOPPED
    except Exception as exc:  # noqa: BLE001
        log.error("%s", redactor.redact(command_line_failure(exc, env, sources)))
        log.debug("Traceback", exc_info=True)
        return EXIT_STOPPED
    return finish(stats)[2]


def command_line_overrides(options: argparse.Namespace, env: Mapping[str, str]) -> Overrides:
    stashdb_url = env.get("STASHDB_URL", "")
    if options.endpoint and stashdb_url and options.endpoint.rstrip("/") != stashdb_url.rstrip("/"):
        raise ConfigError(f"--endpoint {options.endpoint!r} and STASHDB_URL {stashdb_url!r} name different "
                          "stash-boxes: drop the flag or unset STASHDB_URL")
    return Overrides(
        dry_run=True if options.full_dry_run else options.dry_run, endpoint=options.endpoint or "",
        stashdb_url=stashdb_url, stashdb_api_key=env.get("STASHDB_API_KEY", ""),
        scene_ids=parse_scene_ids(options.scene_id) if options.scene_id is not None else (),
        limit=parse_limit(options.limit) if options.limit is not None else None,
        full_dry_run=options.full_dry_run, report_dir=options.report_dir)


def command_line_failure(exc: Exception, env: Mapping[str, str], sources: list[str]) -> str:
    """One line for a failure, naming the setting to fix where there is one."""
    from stash_local import StashAuthError, StashUnavailable

    read = f".env files read: {', '.join(sources)}" if sources else f"no .env file read (looked for {Path.cwd() / '.env'})"
    if isinstance(exc, StashUnavailable):
        url = env.get("STASH_URL")
        said = f"STASH_URL is {url}" if url else f"STASH_URL is not set, so {DEFAULT_STASH_URL} was tried"
        return f"{exc}. {said}; {read}"
    if isinstance(exc, StashAuthError):
        said = "STASH_API_KEY is set" if env.get("STASH_API_KEY") else "STASH_API_KEY is not set"
        return f"{exc}. {said} (Stash > Settings > Security > API Key); {read}"
    return f"tagManager failed: {type(exc).__name__}: {exc}"


def command_line_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tag_manager.py", description="Add StashDB tags to scenes in Stash.",
        epilog="Reads STASH_URL, STASH_API_KEY and optionally STASHDB_URL, STASHDB_API_KEY from the "
               "environment or ./.env. Stash itself runs this file with its JSON on stdin.")
    commands = parser.add_subparsers(dest="command", required=True)
    sync = commands.add_parser("sync", help="Sync Scene Tags from StashDB")
    dry = sync.add_mutually_exclusive_group()
    dry.add_argument("--dry-run", dest="dry_run", action="store_true", default=None,
                     help="log what would change, write nothing (default: the plugin's syncDryRun setting, on if unset)")
    dry.add_argument("--no-dry-run", dest="dry_run", action="store_false", help="write the tags")
    sync.add_argument("--full-dry-run", action="store_true",
                      help="preview the whole library (no 200-scene cap), writing nothing")
    sync.add_argument("--endpoint", help="name or URL of the configured stash-box (default: StashDB)")
    sync.add_argument("--scene-id", action="append", metavar="ID", help="only this scene (repeatable)")
    sync.add_argument("--limit", metavar="N", help="only the first N scenes (oldest update first); -1: all")
    sync.add_argument("--report-dir", type=Path, default=Path("tagManager-reports"),
                      help="where each run's report folder goes (default: ./tagManager-reports)")
    sync.add_argument("--verbose", "-v", action="store_true", help="debug lines too")
    return parser


def load_environment(environ: Mapping[str, str], dotenv: Path) -> tuple[dict[str, str], list[str]]:
    """STASH_* and STASHDB_* from `dotenv`, then the environment (which wins); and the .env
    files read."""
    values = parse_dotenv(dotenv.read_text(encoding="utf-8")) if dotenv.is_file() else {}
    values.update({k: v for k, v in environ.items() if k.startswith(("STASH_", "STASHDB_"))})
    return values, [str(dotenv)] if dotenv.is_file() else []


# -- the run, shared by both modes ------------------------------------------------------

def make_local_stash(connection: dict):
    """The local Stash client (a seam: test harnesses swap in shorter timeouts)."""
    from stash_local import LocalStash, connect_stash

    return LocalStash.from_stash_interface(connect_stash(connection))


def configured_local_stash(connection: dict, redactor: SecretRedactor) -> tuple[Any, dict, dict]:
    """The local Stash, its configuration and the configuration's `general` part; from here
    on, Stash's API key and every stash-box key in it are redacted from all output."""
    from own_tag_writes import OwnTagWrites

    local = make_local_stash(connection)
    local.own_tag_writes = OwnTagWrites(own_tag_writes_folder(connection))
    configuration = local.configuration(PLUGIN_ID)
    general = configuration.get("general") or {}
    redactor.add([general.get("apiKey")] + [box.get("api_key") for box in general.get("stashBoxes") or []])
    return local, configuration, general


def make_stashdb_client(box: StashBox):
    """The StashDB client at the stash-box's rate, never above 2 requests/second."""
    from stashdb_api import StashDBClient, rate_from_requests_per_minute

    return StashDBClient(box.endpoint, box.api_key,
                         requests_per_second=rate_from_requests_per_minute(box.max_requests_per_minute))


def run_sync(connection: dict, overrides: Overrides, redactor: SecretRedactor,
             on_progress: Callable[[float], None]):
    from stashdb_scene_sync import DRY_RUN_SCENE_LIMIT, SyncSettings

    log.info("tagManager %s: %s", PLUGIN_VERSION, REMATCH_TASK_NAME if overrides.rematch else REFRESH_TASK_NAME
             if overrides.refresh else SYNC_TASK_NAME)
    local, configuration, general = configured_local_stash(connection, redactor)
    settings = plugin_settings(configuration)
    box = resolve_stash_box(general.get("stashBoxes"), settings, overrides)
    mode = run_mode_from_settings(settings)
    dry_run = mode.dry_run if overrides.dry_run is None else overrides.dry_run
    create_missing = switch_from_settings(settings, SETTING_CREATE_MISSING)
    skip_organized = switch_from_settings(settings, SETTING_SKIP_ORGANIZED)
    log.info("%s", describe_dry_run(mode, overrides, dry_run))
    if overrides.full_dry_run:
        log.info("[DRY RUN] Full dry-run report: every scene is previewed and nothing is written; this "
                 "sends the same StashDB requests as a live run, so it takes as long")

    memory = refresh = None   # a re-match's report; a refresh's plan (scene_refresh.RefreshPlan)
    if overrides.rematch:
        stashdb, scene_ids = remembered_stashdb(overrides, box.endpoint)
        memory = stashdb.memory
        if create_missing:
            log.info("syncCreateMissing does not apply to a re-match (the report keeps no tag details): "
                     "create tags from tagManager's page first")
            create_missing = False
    elif overrides.refresh:
        stashdb, refresh = refreshing_stashdb(local, box, overrides, dry_run)
        scene_ids = ()
    else:
        stashdb, scene_ids = connected_stashdb(box), overrides.scene_ids
    sync_settings = SyncSettings(
        endpoint=box.endpoint, dry_run=dry_run, exclude_patterns=exclude_patterns(configuration),
        create_missing=create_missing, skip_organized=skip_organized,
        dry_run_scene_limit=None if overrides.full_dry_run or refresh else DRY_RUN_SCENE_LIMIT,
        scene_ids=scene_ids, limit=overrides.limit, order_scenes=refresh.asked_first if refresh else None,
        session_age_seconds=login_session_age(general, connection))
    return sync_with_report(local, stashdb, sync_settings, on_progress, overrides, redactor, memory, refresh)


def refreshing_stashdb(local, box: StashBox, overrides: Overrides, dry_run: bool):
    """A refresh's StashDB (the client, answering unchanged scenes from the last whole-library
    report) and its plan. When a refresh cannot stand in for the full sync, a live run says
    why and gets the plain client and no plan (the full sync); a dry run refuses, having
    asked about no scene."""
    import time

    from scene_refresh import FullRunNeeded, RefreshingStashDB, log_plan, memory_for_refresh, plan_refresh
    from stashdb_api import StashDBError

    client = None
    try:
        memory = memory_for_refresh(overrides.report_dir or Path("."), box.endpoint, time.time())
        log.info("Refreshing from report %s (%d scenes remembered)", memory.folder.name, len(memory.scene_ids))
        client = connected_stashdb(box)
        plan = plan_refresh(client, memory, local.scene_ids_with_stash_id(box.endpoint))
    except StashDBError as exc:   # the paging or the tag list failed after its retries: StashDB is not usable
        raise ConfigError(f"{MODE_REFRESH_SCENE_TAGS}: {exc}; nothing was written, run the task again later") from None
    except FullRunNeeded as exc:
        if dry_run:
            raise ConfigError(f"{MODE_REFRESH_SCENE_TAGS}: a refresh cannot stand in for the full sync: {exc}. "
                              f"Nothing was written and no scene was asked about; run \"{SYNC_TASK_NAME}\" (its "
                              "full dry run report previews every scene) instead") from None
        log.warning("A refresh cannot stand in for the full sync: %s. Running the full sync instead.", exc)
        return client or connected_stashdb(box), None
    log_plan(plan)
    return RefreshingStashDB(client, plan), plan


def connected_stashdb(box: StashBox):
    """The StashDB client, its key checked; ConfigError when the stash-box refuses or is down."""
    from stashdb_api import StashDBAuthError, StashDBError

    stashdb = make_stashdb_client(box)
    log.info("Syncing from %s (%s)", box.name, box.endpoint)
    try:
        stashdb.check_access()
    except StashDBAuthError as exc:
        raise ConfigError(f"{box.name} rejected the API key ({exc}); check it in Settings > Metadata Providers") from None
    except StashDBError as exc:
        raise ConfigError(f"{exc}: check that the stash-box is up and that its URL is right") from None
    return stashdb


def remembered_stashdb(overrides: Overrides, endpoint: str):
    """A re-match's StashDB: a past report. Its scenes, or those of them the task named."""
    from report_memory import RememberedStashDB, choose_memory, read_memory
    from report_reader import ReportNotFound

    try:
        memory = read_memory(choose_memory(overrides.report_dir or Path("."), endpoint, overrides.rematch_report))
    except ReportNotFound as exc:
        raise ConfigError(f"{MODE_REMATCH_SCENE_TAGS}: {exc}") from None
    log.info("Re-matching from report %s (%d scenes remembered); StashDB is not asked", memory.folder.name,
             len(memory.scene_ids))
    remembered = memory.scene_ids
    only_tags = overrides.rematch_stashdb_tag_ids or None
    if only_tags:
        remembered = memory.scenes_with_tags(only_tags)
        log.info("Only the StashDB tag(s) %s, on the %d scenes of the report that carry them", ", ".join(only_tags),
                 len(remembered))
    kept = set(remembered)
    scene_ids = tuple(i for i in overrides.scene_ids if i in kept) if overrides.scene_ids else tuple(remembered)
    left_out = len(overrides.scene_ids) - len(scene_ids) if overrides.scene_ids else 0
    if left_out:
        log.warning("Skipping %d requested scenes the report does not remember (not found on StashDB in that run, "
                    "or not in it)%s", left_out, " or whose StashDB scene lacks those tags" if only_tags else "")
    if not scene_ids:
        raise ConfigError(f"{MODE_REMATCH_SCENE_TAGS}: report {memory.folder.name} remembers none of the "
                          "scenes asked for; nothing to do")
    return RememberedStashDB(memory, only_tags), scene_ids


def login_session_age(general: Mapping[str, Any], connection: Mapping[str, Any]) -> int | None:
    """Stash's session age when the plugin depends on a login session: Stash has a login,
    no API key, and the plugin was handed a session cookie. Else None."""
    if general.get("apiKey") or connection.get("ApiKey") or not general.get("username"):
        return None
    if not (connection.get("SessionCookie") or {}).get("Value"):
        return None
    age = general.get("maxSessionAge")
    return age if isinstance(age, int) and age > 0 else None


def sync_with_report(local, stashdb, settings, on_progress, overrides: Overrides, redactor: SecretRedactor,
                     memory=None, refresh=None):
    """The sync, with a report folder when `overrides.report_dir` is set. The report never stops it."""
    from run_report import RunReport
    from scene_refresh import summary_line
    from stashdb_scene_sync import sync_scene_tags

    report = None
    if overrides.report_dir is not None:
        report = RunReport(overrides.report_dir, label=report_label(settings, memory, refresh),
                           redact=redactor.redact, run_info=run_info(settings, overrides, memory, refresh))
    try:
        stats = sync_scene_tags(local, stashdb, settings, on_progress, report)
        if refresh is not None:
            stats.refresh = stashdb.summary()
            log.info("%s", summary_line(stats.refresh))
    finally:
        if report is not None:
            report.close()
    if report is not None:
        unmatched = [(name, count, stats.unmatched_stashdb_ids.get(name))
                     for name, count in stats.top_unmatched(limit=None)]
        folder = report.finish(stats.as_dict(), unmatched)
        stats.report_incomplete = report.incomplete
        prune_old_reports(overrides.report_dir, folder)
        if folder is not None:  # the log's last line says where the report is
            state = "incomplete: " + report.incomplete if report.incomplete else \
                "scenes.csv, scenes.json, unmatched_tags.csv, summary.json"
            log.info("Report: %s (%s)", folder.resolve(), state)
    return stats


def report_label(settings, memory, refresh=None) -> str:
    """The report folder's name after its start time: what ran, and whether it wrote."""
    if memory is not None or refresh is not None:
        kind = "rematch" if memory is not None else "refresh"
        return f"{kind}-dry-run" if settings.dry_run else kind
    return "dry-run" if settings.dry_run else "sync"


def run_info(settings, overrides: Overrides, memory, refresh=None) -> dict:
    """run.json: what a later reader needs to know of this run. `covers_library`: StashDB
    was asked about every scene (report_memory.covers_library)."""
    targeted = bool(settings.scene_ids or settings.limit)
    info = {"endpoint": settings.endpoint, "dry_run": settings.dry_run, "targeted": targeted,
            "kind": "sync", "covers_library": not targeted and (not settings.dry_run or overrides.full_dry_run)}
    if memory is not None:  # a re-match repeats an older memory, for the scenes it covers
        info.update(kind="rematch", targeted=True, covers_library=False, source_report=memory.folder.name)
    if refresh is not None:  # a whole-library memory again; changes are counted from when its paging began
        from scene_refresh import iso_time

        info.update(kind="refresh", covers_library=True, source_report=refresh.memory.folder.name,
                    changed_since=iso_time(refresh.since), started_epoch=refresh.paging_started,
                    started_at=iso_time(refresh.paging_started))
    return info


def prune_old_reports(report_dir: Path, current: Path | None) -> None:
    """report_retention's rule, after a run; whatever goes wrong there, the run's answer stands."""
    from report_retention import prune_reports

    try:
        prune_reports(report_dir, current)
    except Exception as exc:  # noqa: BLE001 - pruning is housekeeping, never the run's failure
        log.warning("Old reports were not pruned (%s: %s)", type(exc).__name__, exc)


def resolve_stash_box(stash_boxes: Any, settings: Mapping[str, Any], overrides: Overrides) -> StashBox:
    if overrides.stashdb_url and overrides.stashdb_api_key:
        return StashBox(endpoint=overrides.stashdb_url, api_key=overrides.stashdb_api_key, name=overrides.stashdb_url)
    wanted = overrides.endpoint or overrides.stashdb_url or endpoint_from_settings(settings)
    box = choose_stash_box(stash_boxes, wanted)
    if overrides.stashdb_api_key:
        return StashBox(box.endpoint, overrides.stashdb_api_key, box.name, box.max_requests_per_minute)
    return box


def describe_dry_run(mode, overrides: Overrides, dry_run: bool) -> str:
    """The run's first line about writing: the setting's own reason unless an override decided."""
    if overrides.dry_run is None:
        return f"{'[DRY RUN] ' if dry_run else 'Live run: '}{mode.reason}"
    return "[DRY RUN] nothing will be written" if dry_run else "Live run: matched tags will be added to scenes"


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
