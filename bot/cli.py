"""Command line: `python -m bot [serve | migrate | checkins | export | playground | flows check]`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from bot.runtime.logs import configure_logging
from bot.runtime.settings import Settings
from flows.loader import BUILTIN_DIR, FlowError, Problem, flow_files, load_flow, load_flows, same_as_problems
from flows.schema import Flow

SETUP_HINT = "See README.md, section 'Create the Slack app', for where to find these values."


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="maturity-bot: guided MLOps maturity assessments in Slack.",
        epilog=(
            "Settings come from the environment (or a .env file): SLACK_BOT_TOKEN, "
            "SLACK_SIGNING_SECRET, SLACK_APP_TOKEN (Socket Mode), DATABASE_URL, HOST, PORT, FLOWS_DIR, "
            "SLACK_API_URL, LOG_LEVEL, MIGRATE_ON_START, RESULT_POST_WAIT, CHECKINS_IN_PROCESS, "
            "AWAY_STATUSES, LEADERBOARD_MIN_MEMBERS, SLACK_APP_ID; the playground: PLAYGROUND_PORT, "
            "PLAYGROUND_DATABASE_URL."
        ),
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser(
        "serve",
        help="run the bot (the default): HTTP on $PORT, or Socket Mode when SLACK_APP_TOKEN is set",
    )
    commands.add_parser("migrate", help="upgrade the database at $DATABASE_URL to the latest schema")
    checkins = commands.add_parser(
        "checkins",
        help="post every check-in due now (for cron), deliver them, and exit",
        description="Post every channel check-in due at --now (default: the current time) and exit. "
        "Safe to run from cron beside the running bot: each check-in is posted once. Exit status 1 "
        "when some could not be delivered (the reasons are printed).",
    )
    checkins.add_argument(
        "--now",
        type=_moment,
        metavar="ISO-8601",
        help="the moment to run for, e.g. 2026-12-07T09:00:00+01:00 (a time without zone is UTC)",
    )
    export = commands.add_parser(
        "export",
        help="write completed results as CSV (or JSON) to stdout",
        description="Write one row per completed assessment: person, channel, model, flow version, "
        "overall and per-category levels and scores, and when. Cells a spreadsheet would run as "
        "formulas are prefixed with '.",
    )
    export.add_argument("--format", choices=("csv", "json"), default="csv", help="csv (default) or json")
    export.add_argument("--channel", metavar="CHANNEL_ID", help="only this channel's results (a Slack id)")
    export.add_argument(
        "--since", type=_moment, metavar="DATE", help="only results completed at or after this ISO-8601 date"
    )
    export.add_argument("--team", metavar="TEAM_ID", help="the workspace, when the database holds several")
    playground = commands.add_parser(
        "playground",
        help="the bot in your browser, without a Slack workspace (127.0.0.1 only)",
        description="Start the real bot on an SQLite file, a local stand-in for Slack, and a web page "
        "at http://127.0.0.1:$PLAYGROUND_PORT (8080) that looks and behaves like a small Slack.",
    )
    playground.add_argument("--port", type=int, help="the page's port (default $PLAYGROUND_PORT or 8080)")
    playground.add_argument(
        "--database-url",
        help="the bot's database (default $PLAYGROUND_DATABASE_URL or sqlite:///playground.db)",
    )
    flows = commands.add_parser("flows", help="work with flow files")
    flow_commands = flows.add_subparsers(dest="flows_command", metavar="ACTION", required=True)
    check = flow_commands.add_parser(
        "check",
        help="validate flow files; without PATH, the shipped flows and $FLOWS_DIR",
        description="Validate flow files and report each problem with file, line and key. "
        "Exit status 1 when any file is broken.",
    )
    check.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="a flow file or a directory")
    return parser


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO-8601 moment: {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors())
        print(f"maturity-bot: invalid setting: {problems}", file=sys.stderr)
        raise SystemExit(2) from None


def _check_flows(paths: list[Path], settings: Settings) -> int:
    problems: list[Problem] = []
    found: dict[str, Flow] = {}
    if paths:
        files: dict[str, Path] = {}
        for file in flow_files(paths):
            try:
                flow = load_flow(file)
            except FlowError as exc:
                problems.extend(exc.problems)
            else:
                found[flow.id], files[flow.id] = flow, file
        if not problems:  # `same_as` may name a shipped flow: check against those too
            try:
                shipped = load_flows()
            except FlowError:
                shipped = {}
            together = {**shipped, **found}
            where = {flow_id: BUILTIN_DIR / f"{flow_id}.yaml" for flow_id in shipped} | files
            problems = [
                p for p in same_as_problems(together, where) if p.file in {str(f) for f in files.values()}
            ]
    else:
        try:
            found = load_flows([settings.flows_dir] if settings.flows_dir else [])
        except FlowError as exc:
            problems = exc.problems
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s) found.", file=sys.stderr)
        return 1
    for flow in found.values():
        print(
            f"ok  {flow.id} v{flow.version}: {flow.title} ({len(flow.levels)} levels, "
            f"{len(flow.categories)} categories, {len(flow.questions)} questions)"
        )
    return 0


def _load_flows_or_explain(settings: Settings) -> dict[str, Flow] | None:
    try:
        return load_flows([settings.flows_dir] if settings.flows_dir else [])
    except FlowError as exc:
        print("maturity-bot: refusing to start, a flow file is broken:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return None


def _run_checkins(settings: Settings, now: datetime | None) -> int:
    if not settings.slack_bot_token:
        print(
            f"maturity-bot: missing SLACK_BOT_TOKEN (needed to post check-ins). {SETUP_HINT}", file=sys.stderr
        )
        return 2
    flows = _load_flows_or_explain(settings)
    if flows is None:
        return 2
    from bot.runtime.checkins_job import run_checkins

    result = asyncio.run(run_checkins(settings, flows, now))
    report = result.report
    print(f"check-ins posted: {report.posted} (late: {report.late}), skipped: {report.skipped}")
    for settled in result.undelivered:
        print(f"not delivered: outbox item {settled.item_id}: {settled.state.value} ({settled.error})")
    return 0 if result.ok else 1


def _run_export(settings: Settings, args: argparse.Namespace) -> int:
    flows = _load_flows_or_explain(settings)
    if flows is None:
        return 2
    from bot.runtime.export_job import ExportError, run_export

    try:
        written = asyncio.run(
            run_export(
                settings,
                flows,
                form=args.format,
                channel_id=args.channel,
                since=args.since,
                team_id=args.team,
            )
        )
    except ExportError as exc:
        print(f"maturity-bot: {exc}", file=sys.stderr)
        return 2
    print(f"{written} result(s) exported.", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "playground":
        from playground.app import main as playground

        return playground(args.port, args.database_url)
    settings = _settings()
    if args.command == "flows":
        return _check_flows(args.paths, settings)
    secrets = [
        s for s in (settings.slack_bot_token, settings.slack_signing_secret, settings.slack_app_token) if s
    ]
    configure_logging(settings.log_level, secrets)
    if args.command == "migrate":
        from models.migrate import upgrade

        upgrade(settings.database_url)
        print("Database upgraded to the latest schema.")
        return 0
    if args.command == "checkins":
        return _run_checkins(settings, args.now)
    if args.command == "export":
        return _run_export(settings, args)
    missing = settings.missing_credentials()
    if missing:
        mode = "Socket Mode" if settings.socket_mode else "HTTP mode"
        print(f"maturity-bot: missing {', '.join(missing)} (needed in {mode}). {SETUP_HINT}", file=sys.stderr)
        return 2
    flows = _load_flows_or_explain(settings)
    if flows is None:
        return 2
    from bot.runtime.startup import credentials_problem

    problem = asyncio.run(credentials_problem(settings))
    if problem is not None:
        print(f"maturity-bot: {problem}", file=sys.stderr)
        return 2
    from bot.runtime.server import serve

    asyncio.run(serve(settings, flows))
    return 0
