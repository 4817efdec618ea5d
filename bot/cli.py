"""Command line: `python -m bot [serve | migrate | flows check [PATH...]]`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from pydantic import ValidationError

from bot.runtime.logs import configure_logging
from bot.runtime.settings import Settings
from flows.loader import FlowError, Problem, flow_files, load_flow, load_flows
from flows.schema import Flow

SETUP_HINT = "See README.md, section 'Create the Slack app', for where to find these values."


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="maturity-bot: guided MLOps maturity assessments in Slack.",
        epilog=(
            "Settings come from the environment (or a .env file): SLACK_BOT_TOKEN, "
            "SLACK_SIGNING_SECRET, SLACK_APP_TOKEN (Socket Mode), DATABASE_URL, HOST, PORT, FLOWS_DIR, "
            "SLACK_API_URL, LOG_LEVEL, MIGRATE_ON_START, RESULT_POST_WAIT."
        ),
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser(
        "serve",
        help="run the bot (the default): HTTP on $PORT, or Socket Mode when SLACK_APP_TOKEN is set",
    )
    commands.add_parser("migrate", help="upgrade the database at $DATABASE_URL to the latest schema")
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
        for file in flow_files(paths):
            try:
                flow = load_flow(file)
            except FlowError as exc:
                problems.extend(exc.problems)
            else:
                found[flow.id] = flow
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


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
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
    missing = settings.missing_credentials()
    if missing:
        mode = "Socket Mode" if settings.socket_mode else "HTTP mode"
        print(f"maturity-bot: missing {', '.join(missing)} (needed in {mode}). {SETUP_HINT}", file=sys.stderr)
        return 2
    try:
        flows = load_flows([settings.flows_dir] if settings.flows_dir else [])
    except FlowError as exc:
        print("maturity-bot: refusing to start, a flow file is broken:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    from bot.runtime.server import serve

    asyncio.run(serve(settings, flows))
    return 0
