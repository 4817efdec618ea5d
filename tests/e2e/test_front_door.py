"""End to end: the HTTP front door checks size and signature before reading or parsing, answers bad
input with 400 (never a 500), and lets no malformed Slack id or name reach the services."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.runtime.server import EVENTS_PATH, MAX_BODY_BYTES
from models.tables import Assessment, Channel, Person
from playground.slack_api import BOT_TOKEN, SIGNING_SECRET, Scripted, SlackClient, SlackDouble, all_text, sign
from tests.e2e.conftest import RunningBot

ROOT = Path(__file__).resolve().parents[2]

FORM = "application/x-www-form-urlencoded"
NOTE = "I couldn't read that request from Slack; nothing changed."


def sign_bytes(raw: bytes, timestamp: int | None = None) -> dict[str, str]:
    """Slack's signature headers for a body that may not be UTF-8 (``sign`` takes text)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(SIGNING_SECRET.encode(), f"v0:{ts}:".encode() + raw, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


async def post_bytes(slack: SlackClient, bot: RunningBot, raw: bytes, headers: dict[str, str]) -> int:
    async with slack.session.post(bot.url + EVENTS_PATH, data=raw, headers=headers) as response:
        await response.read()
        return response.status


async def status_while_body_unsent(bot: RunningBot, head: dict[str, str], sent: bytes) -> int:
    """Send the request line, ``head`` and only ``sent`` of the body, then read the status line.

    An app that reads the body before answering waits for the rest, so the bounded read fails.
    """
    assert bot.server is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", bot.server.port)
    try:
        lines = [f"POST {EVENTS_PATH} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in head.items())]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + sent)
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), timeout=5)
        return int(status_line.split()[1])
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def count(bot: RunningBot, table: type[Any]) -> int:
    assert bot.runtime is not None
    async with AsyncSession(bot.runtime.engine) as session:
        return int(await session.scalar(select(func.count()).select_from(table)) or 0)


def command_body(slack: SlackClient, key: str, **fields: str) -> str:
    """A `/maturity start google` slash command body, with ``fields`` replaced."""
    base = {
        "team_id": "T111",
        "channel_id": "C111",
        "channel_name": "ml-platform",
        "user_id": "U111",
        "user_name": "ana",
        "command": "/maturity",
        "text": "start google",
        "response_url": slack.double.response_url(key),
    }
    return urlencode({**base, **fields})


def click_form(slack: SlackClient, key: str, **changes: Any) -> str:
    """A signed-ready click on Pause whose payload has ``changes`` applied (``...`` removes a key)."""
    body, _ = slack.click_body({"action_id": "pause", "value": "1|0"}, key=key)
    payload = json.loads(parse_qs(body)["payload"][0])
    for name, value in changes.items():
        if value is ...:
            payload.pop(name)
        else:
            payload[name] = value
    return urlencode({"payload": json.dumps(payload)})


async def test_a_body_over_the_limit_is_refused_before_it_is_read(bot: RunningBot) -> None:
    """A declared 1 MB body gets 413 after 1 kB of it arrived, a chunked one once it passes 256 kB."""
    declared = {"Content-Type": FORM, "Content-Length": str(1 << 20), **sign("x")}
    assert await status_while_body_unsent(bot, declared, b"x" * 1024) == 413
    chunk = b"x" * 65536
    chunked = {"Content-Type": FORM, "Transfer-Encoding": "chunked", **sign("x")}
    # Five 64 kB chunks and no final empty chunk: the body never ends, yet the answer comes.
    assert await status_while_body_unsent(bot, chunked, (b"10000\r\n" + chunk + b"\r\n") * 5) == 413


async def test_unsigned_requests_are_refused_before_the_body_is_read(bot: RunningBot) -> None:
    """Without signature headers, or with a non-numeric timestamp, the answer is 401 before any body."""
    head = {"Content-Type": FORM, "Content-Length": "100000"}
    assert await status_while_body_unsent(bot, head, b"") == 401
    bad_timestamp = {**head, "X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=00"}
    assert await status_while_body_unsent(bot, bad_timestamp, b"") == 401


async def test_whole_oversized_uploads_get_413_and_a_body_at_the_limit_is_served(
    bot: RunningBot, slack: SlackClient, double: SlackDouble
) -> None:
    """Complete 1 MB uploads (declared or chunked) get 413; a signed command of exactly 256 kB works."""
    big = b"x" * (1 << 20)
    assert await post_bytes(slack, bot, big, {"Content-Type": FORM, **sign_bytes(big)}) == 413

    async def chunks() -> Any:
        for start in range(0, len(big), 65536):
            yield big[start : start + 65536]

    async with slack.session.post(
        bot.url + EVENTS_PATH, data=chunks(), headers={"Content-Type": FORM, **sign_bytes(big)}
    ) as response:
        assert response.status == 413
    body = command_body(slack, "limit", text="help")
    body += "&pad=" + "p" * (MAX_BODY_BYTES - len(body) - len("&pad="))
    assert len(body.encode()) == MAX_BODY_BYTES
    response = await slack.post(body, FORM)
    assert response.status == 200
    assert "/maturity start" in all_text(await double.wait_for_reply("limit"))


@pytest.mark.parametrize(
    ("raw", "content_type"),
    [
        pytest.param(b"payload=null", FORM, id="payload-null"),
        pytest.param(b"payload=%5B1%2C2%5D", FORM, id="payload-list"),
        pytest.param(b"payload=" + b"[" * 100_000, FORM, id="payload-deeply-nested"),
        pytest.param(b"[" * 100_000, "application/json", id="json-deeply-nested"),
        pytest.param(b'{"a":' * 40_000, "application/json", id="json-deeply-nested-objects"),
        pytest.param(b"command=%2Fmaturity&text=\xff\xfe", FORM, id="invalid-utf8-bytes"),
        pytest.param(b"command=%2Fmaturity&text=%FF", FORM, id="invalid-utf8-escape"),
        pytest.param(b"[1, 2]", "application/json", id="json-list"),
        pytest.param(b'"event"', "application/json", id="json-string"),
        pytest.param(b"null", "application/json", id="json-null"),
        pytest.param(b"", FORM, id="empty"),
        pytest.param(b"&".join(b"f%d=1" % i for i in range(500)), FORM, id="too-many-fields"),
    ],
)
async def test_malformed_signed_bodies_get_400_without_a_traceback(
    bot: RunningBot,
    slack: SlackClient,
    double: SlackDouble,
    caplog: pytest.LogCaptureFixture,
    raw: bytes,
    content_type: str,
) -> None:
    """A signed body Slack would never send is answered 400 with a logged reason; nothing runs."""
    with caplog.at_level(logging.WARNING):
        status = await post_bytes(slack, bot, raw, {"Content-Type": content_type, **sign_bytes(raw)})
    assert status == 400
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert any(r.getMessage() == "request_refused" for r in caplog.records)
    assert double.replies == {}
    assert await count(bot, Assessment) == 0


async def test_bad_signatures_get_401_whatever_the_body(
    bot: RunningBot, slack: SlackClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Missing, non-numeric, stale or wrong signatures get 401, even on bytes that are not UTF-8."""
    raw = b"command=%2Fmaturity&text=\xff"
    stamp = str(int(time.time()))
    with caplog.at_level(logging.WARNING):
        for headers in (
            {},
            {"X-Slack-Request-Timestamp": stamp},
            {"X-Slack-Request-Timestamp": "12abc", "X-Slack-Signature": sign_bytes(raw)["X-Slack-Signature"]},
            {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": "v0=" + "0" * 64},
            sign_bytes(raw, int(time.time()) - 301),
        ):
            assert await post_bytes(slack, bot, raw, {"Content-Type": FORM, **headers}) == 401
        handshake = json.dumps({"type": "url_verification", "challenge": "abc"})
        unsigned = await post_bytes(slack, bot, handshake.encode(), {"Content-Type": "application/json"})
        assert unsigned == 401
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"user": "U111"}, id="user-a-string"),
        pytest.param({"user": {"id": "", "team_id": "T111"}}, id="user-id-empty"),
        pytest.param({"user": {"id": "U 1", "team_id": "T111"}}, id="user-id-with-space"),
        pytest.param({"user": {"id": "U1\x00", "team_id": "T111"}}, id="user-id-with-nul"),
        pytest.param({"user": {"id": "U" + "1" * 32, "team_id": "T111"}}, id="user-id-33-chars"),
        pytest.param({"user": {"id": "C111", "team_id": "T111"}}, id="user-id-of-a-channel"),
        pytest.param({"team": ..., "user": {"id": "U111"}}, id="no-team-anywhere"),
        pytest.param({"channel": {"id": "c111"}}, id="channel-id-lowercase"),
    ],
)
async def test_clicks_with_unusable_ids_get_a_note_and_store_nothing(
    bot: RunningBot,
    slack: SlackClient,
    double: SlackDouble,
    caplog: pytest.LogCaptureFixture,
    changes: dict[str, Any],
) -> None:
    """A signed click whose ids Slack would never send is acked, and the person gets a short note."""
    with caplog.at_level(logging.WARNING):
        response = await slack.post(click_form(slack, "note", **changes), FORM)
        assert response.status == 200
        note = await double.wait_for_reply("note")
    assert NOTE in all_text(note)
    assert note["replace_original"] is False
    assert any(r.getMessage() == "bad_payload" for r in caplog.records)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert await count(bot, Person) == 0


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"channel": ["C111"]}, id="channel-a-list"),
        pytest.param({"actions": []}, id="no-actions"),
        pytest.param({"actions": [{"action_id": 7}]}, id="action-id-a-number"),
        pytest.param({"team": 5}, id="team-a-number"),
        pytest.param({"container": "C111"}, id="container-a-string"),
        pytest.param({"authorizations": [1]}, id="authorizations-of-numbers"),
    ],
)
async def test_clicks_bolt_could_not_route_get_400(
    bot: RunningBot,
    slack: SlackClient,
    double: SlackDouble,
    caplog: pytest.LogCaptureFixture,
    changes: dict[str, Any],
) -> None:
    """A signed click whose envelope Bolt would crash on is answered 400 with a reason, never 500."""
    with caplog.at_level(logging.WARNING):
        response = await slack.post(click_form(slack, "shape", **changes), FORM)
    assert response.status == 400
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert double.replies == {}


async def test_commands_with_unusable_ids_get_a_note_and_store_nothing(
    bot: RunningBot, slack: SlackClient, double: SlackDouble
) -> None:
    """`/maturity start` with an empty, spaced or overlong id creates no rows and tells the person."""
    for number, fields in enumerate(
        ({"user_id": ""}, {"channel_id": "C 1"}, {"team_id": "T" + "1" * 40}, {"team_id": ""})
    ):
        key = f"cmd{number}"
        response = await slack.post(command_body(slack, key, **fields), FORM)
        assert response.status == 200
        assert NOTE in all_text(await double.wait_for_reply(key))
    assert (await count(bot, Person), await count(bot, Channel), await count(bot, Assessment)) == (0, 0, 0)


async def test_names_are_cleaned_the_same_way_on_every_database(
    bot: RunningBot, slack: SlackClient, double: SlackDouble
) -> None:
    """A name with a NUL byte and a 300-character channel name are stored cleaned, on each database."""
    body = command_body(slack, "names", user_name="an\x00a", channel_name="c" * 300)
    response = await slack.post(body, FORM)
    assert response.status == 200
    assert "Question 1 of" in all_text(await double.wait_for_reply("names"))
    assert bot.runtime is not None
    async with AsyncSession(bot.runtime.engine) as session:
        people = (await session.execute(select(Person.slack_user_id, Person.name))).all()
        channels = (await session.execute(select(Channel.slack_channel_id, Channel.name))).all()
    assert [tuple(p) for p in people] == [("U111", "ana")]
    assert [tuple(c) for c in channels] == [("C111", "c" * 100)]


async def test_a_normal_click_after_the_checks_still_reaches_its_handler(
    slack: SlackClient, double: SlackDouble
) -> None:
    """A click with Slack's real shape (team only under user, as in org-wide installs) is answered."""
    response = await slack.post(click_form(slack, "ok", team=...), FORM)
    assert response.status == 200
    assert "no longer exists" in all_text(await double.wait_for_reply("ok"))


async def _start_bot(env: dict[str, str]) -> tuple[int, str]:
    """`python -m bot` as a real process that is expected to refuse to start; its status and stderr."""
    base = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), "SLACK_SIGNING_SECRET": "s" * 20}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", env={**base, **env}, cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, stderr.decode()


async def test_start_up_refuses_a_placeholder_a_revoked_token_and_another_apps(
    double: SlackDouble, tmp_path: Path
) -> None:
    """The token is checked with auth.test (and bots.info when SLACK_APP_ID is set) before serving."""
    database = {"DATABASE_URL": f"sqlite:///{tmp_path}/x.db", "SLACK_API_URL": double.api_url}
    code, said = await _start_bot({**database, "SLACK_BOT_TOKEN": "xoxb-..."})
    assert code == 2
    assert "SLACK_BOT_TOKEN is not a bot token" in said
    double.script("auth.test", Scripted(error="token_revoked"))
    code, said = await _start_bot({**database, "SLACK_BOT_TOKEN": BOT_TOKEN})
    assert code == 2
    assert "has been revoked" in said
    code, said = await _start_bot({**database, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_ID": "A999"})
    assert code == 2
    assert "belongs to app A111, not SLACK_APP_ID A999" in said
