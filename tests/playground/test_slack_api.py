"""The Slack double's Web API, driven through the real slack_sdk AsyncWebClient as the app drives it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import aiohttp
import pytest
from slack_sdk.web.async_client import AsyncWebClient

from playground.ratelimit import RateLimits
from playground.slack_api import BOT_TOKEN, Scripted, SlackDouble
from tests.playground.conftest import error_of

SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "hello"}}


class Clock:
    """A clock a test moves by hand, so refilling a rate limit needs no sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def timed(clock: Clock) -> AsyncIterator[SlackDouble]:
    slack = SlackDouble(limits=RateLimits(clock=clock, channel_burst=3))
    await slack.start()
    try:
        yield slack
    finally:
        await slack.stop()


def client_for(
    double: SlackDouble, session: aiohttp.ClientSession, token: str | None = BOT_TOKEN
) -> AsyncWebClient:
    return AsyncWebClient(token=token, base_url=double.api_url, session=session)


async def test_users_info_gives_time_zone_and_status(client: AsyncWebClient, double: SlackDouble) -> None:
    """users.info answers Slack's user shape with the IANA zone, its label and offset, and the status."""
    user = (await client.users_info(user="U111"))["user"]
    assert (user["id"], user["name"], user["team_id"], user["tz"]) == ("U111", "ana", "T111", "Europe/Berlin")
    assert (user["tz_offset"], user["tz_label"]) in {
        (3600, "Central European Time"),
        (7200, "Central European Summer Time"),
    }
    assert (user["is_bot"], user["deleted"], user["profile"]["status_text"]) == (False, False, "")
    double.set_status("U111", "On holiday", ":palm_tree:", expiration=1900000000)
    profile = (await client.users_info(user="U111"))["user"]["profile"]
    assert (profile["status_text"], profile["status_emoji"], profile["status_expiration"]) == (
        "On holiday",
        ":palm_tree:",
        1900000000,
    )
    double.add_user("U444", "dee", tz="Asia/Kolkata", deleted=True)
    dee = (await client.users_info(user="U444"))["user"]
    assert (dee["tz_offset"], dee["deleted"], dee["real_name"]) == (19800, True, "dee")
    assert (await client.users_info(user="UBOT"))["user"]["is_bot"] is True
    assert (await error_of(client.users_info(user="U000"))).response["error"] == "user_not_found"


async def test_conversations_info_follows_channel_state(client: AsyncWebClient, double: SlackDouble) -> None:
    """conversations.info shows archiving and the bot leaving; unknown or hidden private ones are missing."""
    channel = (await client.conversations_info(channel="C111", include_num_members=True))["channel"]
    assert (channel["name"], channel["is_channel"], channel["is_private"]) == ("ml-platform", True, False)
    assert (channel["is_archived"], channel["is_member"], channel["num_members"]) == (False, True, 5)
    double.archive_channel("C222")
    double.leave_channel("C222")
    channel = (await client.conversations_info(channel="C222"))["channel"]
    assert (channel["is_archived"], channel["is_member"]) == (True, False)
    double.add_channel("G333", "secret", is_private=True, is_member=False)
    for missing in ("C000", "G333"):
        assert (await error_of(client.conversations_info(channel=missing))).response[
            "error"
        ] == "channel_not_found"


async def test_post_message_refuses_what_slack_refuses(client: AsyncWebClient, double: SlackDouble) -> None:
    """chat.postMessage names the problem: unknown, archived or not-joined channel, no text, too long."""
    double.add_channel("C300", "archived", is_archived=True)
    double.add_channel("C400", "elsewhere", is_member=False)
    cases = {
        "channel_not_found": {"channel": "C000", "text": "hi"},
        "is_archived": {"channel": "C300", "text": "hi"},
        "not_in_channel": {"channel": "C400", "text": "hi"},
        "no_text": {"channel": "C111"},
        "msg_too_long": {"channel": "C111", "text": "x" * 40_001},
    }
    for error, params in cases.items():
        assert (await error_of(client.api_call("chat.postMessage", json=params))).response["error"] == error
    assert double.messages("C111") == []


async def test_posted_messages_form_the_channel_history(client: AsyncWebClient, double: SlackDouble) -> None:
    """Posts are stored per channel with unique increasing ts, the bot as author, blocks and threads."""
    first = await client.chat_postMessage(channel="C111", text="parent", blocks=[SECTION])
    reply = await client.chat_postMessage(channel="#ml-platform", text="reply", thread_ts=first["ts"])
    assert reply["channel"] == "C111"
    assert float(reply["ts"]) > float(first["ts"])
    assert first["message"]["blocks"] == [SECTION]
    history = double.messages("C111")
    assert [(m["text"], m["user"], m.get("thread_ts")) for m in history] == [
        ("parent", "UBOT", None),
        ("reply", "UBOT", first["ts"]),
    ]
    dm = await client.chat_postMessage(channel="U222", text="just you")
    assert dm["channel"] == "D222"
    assert double.messages("D222")[0]["text"] == "just you"


async def test_form_encoded_blocks_arrive_as_a_json_string(
    client: AsyncWebClient, double: SlackDouble
) -> None:
    """A form-encoded post carries blocks as a JSON string; the double parses it, or says it is malformed."""
    posted = await client.api_call(
        "chat.postMessage", data={"channel": "C111", "blocks": json.dumps([SECTION])}
    )
    assert double.messages("C111")[0]["blocks"] == [SECTION]
    assert posted["message"]["blocks"] == [SECTION]
    broken = await error_of(client.api_call("chat.postMessage", data={"channel": "C111", "blocks": "[{"}))
    assert broken.response["error"] == "invalid_blocks_format"


async def test_invalid_blocks_are_refused_with_slacks_messages(
    client: AsyncWebClient, double: SlackDouble
) -> None:
    """Block Kit violations get invalid_blocks with pointers; oversized blocks get msg_blocks_too_long."""
    header = {"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}
    error = await error_of(client.chat_postMessage(channel="C111", text="t", blocks=[SECTION, header]))
    assert error.response["error"] == "invalid_blocks"
    messages = error.response["response_metadata"]["messages"]
    assert messages == [
        "[ERROR] must be less than 151 characters (is 151) [json-pointer:/blocks/1/text/text]"
    ]
    big = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 2900}}] * 5
    error = await error_of(client.chat_postMessage(channel="C111", text="t", blocks=big))
    assert error.response["error"] == "msg_blocks_too_long"
    assert double.messages("C111") == []


async def test_a_burst_in_one_channel_is_rate_limited_while_another_posts(
    timed: SlackDouble, session: aiohttp.ClientSession, clock: Clock
) -> None:
    """Past its burst a channel gets 429 with Retry-After while other channels post; time refills it."""
    client = client_for(timed, session)
    for n in range(3):
        await client.chat_postMessage(channel="C111", text=f"burst {n}")
    limited = await error_of(client.chat_postMessage(channel="C111", text="one too many"))
    assert limited.response.status_code == 429
    assert limited.response["error"] == "ratelimited"
    assert limited.response.headers["Retry-After"] == "1"
    await client.chat_postMessage(channel="C222", text="other channel")
    clock.now += 1.0
    await client.chat_postMessage(channel="C111", text="after a second")
    assert [m["text"] for m in timed.messages("C111")] == ["burst 0", "burst 1", "burst 2", "after a second"]


async def test_the_workspace_cap_limits_posts_across_channels(
    session: aiohttp.ClientSession, clock: Clock
) -> None:
    """With a workspace-wide cap configured, posts to different channels share one budget."""
    double = SlackDouble(limits=RateLimits(clock=clock, workspace_rate=0.5, workspace_burst=2))
    await double.start()
    try:
        client = client_for(double, session)
        await client.chat_postMessage(channel="C111", text="a")
        await client.chat_postMessage(channel="C222", text="b")
        limited = await error_of(client.chat_postMessage(channel="C222", text="c"))
        assert (limited.response.status_code, limited.response.headers["Retry-After"]) == (429, "2")
    finally:
        await double.stop()


async def test_rate_limits_can_be_turned_off(session: aiohttp.ClientSession) -> None:
    """SlackDouble(rate_limits=False) posts any number of messages to one channel at once, for benchmarks."""
    double = SlackDouble(rate_limits=False)
    await double.start()
    try:
        client = client_for(double, session)
        for n in range(30):
            await client.chat_postMessage(channel="C111", text=str(n))
        assert len(double.messages("C111")) == 30
    finally:
        await double.stop()


async def test_scripted_answers_come_first(client: AsyncWebClient, double: SlackDouble) -> None:
    """Scripted errors, 429s and 500s answer the next calls before the workspace is consulted."""
    double.script("chat.postMessage", Scripted(error="not_in_channel"))
    double.script("chat.postMessage", Scripted(retry_after=7))
    double.script("chat.postMessage", Scripted(error="fatal_error", status=500, times=2))
    assert (await error_of(client.chat_postMessage(channel="C111", text="a"))).response[
        "error"
    ] == "not_in_channel"
    limited = (await error_of(client.chat_postMessage(channel="C111", text="a"))).response
    assert (limited.status_code, limited.headers["Retry-After"], limited["error"]) == (
        429,
        "7",
        "ratelimited",
    )
    for _ in range(2):
        failed = (await error_of(client.chat_postMessage(channel="C111", text="a"))).response
        assert (failed.status_code, failed["error"]) == (500, "fatal_error")
    assert (await client.chat_postMessage(channel="C111", text="a"))["ok"] is True
    assert len(double.api_calls("chat.postMessage")) == 5


async def test_post_ephemeral_is_stored_for_one_person(client: AsyncWebClient, double: SlackDouble) -> None:
    """chat.postEphemeral returns message_ts and is kept per channel and person; outsiders are refused."""
    answer = await client.chat_postEphemeral(channel="C111", user="U222", text="only you", blocks=[SECTION])
    assert [m["ts"] for m in double.ephemerals("C111", "U222")] == [answer["message_ts"]]
    assert double.ephemerals("C111", "U111") == []
    assert double.messages("C111") == []
    double.add_channel("C500", "small", members=["U111"])
    outsider = await error_of(client.chat_postEphemeral(channel="C500", user="U222", text="x"))
    assert outsider.response["error"] == "user_not_in_channel"
    nobody = await error_of(client.chat_postEphemeral(channel="C111", user="U000", text="x"))
    assert nobody.response["error"] == "user_not_found"
    double.archive_channel("C111")
    archived = await error_of(client.chat_postEphemeral(channel="C111", user="U222", text="x"))
    assert archived.response["error"] == "is_archived"


async def test_views_publish_keeps_the_latest_home_view(client: AsyncWebClient, double: SlackDouble) -> None:
    """A 100-block Home tab is published and kept per user; 101 blocks, a modal or a stranger are refused."""
    view = {"type": "home", "blocks": [SECTION] * 100}
    published = (await client.views_publish(user_id="U111", view=view))["view"]
    assert published["id"].startswith("V")
    assert double.home_views["U111"]["blocks"] == view["blocks"]
    again = (await client.views_publish(user_id="U111", view={"type": "home", "blocks": [SECTION]}))["view"]
    assert again["id"] == published["id"]
    assert len(double.home_views["U111"]["blocks"]) == 1
    too_many = await error_of(
        client.views_publish(user_id="U111", view={"type": "home", "blocks": [SECTION] * 101})
    )
    assert too_many.response["error"] == "invalid_arguments"
    assert too_many.response["response_metadata"]["messages"] == [
        "[ERROR] no more than 100 items allowed [json-pointer:/view/blocks]"
    ]
    modal = await error_of(client.views_publish(user_id="U111", view={"type": "modal", "blocks": []}))
    assert modal.response["error"] == "invalid_arguments"
    stranger = await error_of(client.views_publish(user_id="U000", view=view))
    assert stranger.response["error"] == "user_not_found"
    stale = await error_of(client.views_publish(user_id="U111", view=view, hash="not-the-hash"))
    assert stale.response["error"] == "hash_conflict"
    assert len(double.home_views["U111"]["blocks"]) == 1


async def test_tokens_and_unknown_methods(double: SlackDouble, session: aiohttp.ClientSession) -> None:
    """A wrong token is invalid_auth, none is not_authed; auth.test names the bot; other methods answer ok."""
    wrong = await error_of(client_for(double, session, "xoxb-wrong").users_info(user="U111"))
    assert wrong.response["error"] == "invalid_auth"
    missing = await error_of(client_for(double, session, None).api_call("auth.test"))
    assert missing.response["error"] == "not_authed"
    client = client_for(double, session)
    me = await client.auth_test()
    assert (me["team_id"], me["user_id"], me["bot_id"]) == ("T111", "UBOT", "BBOT")
    assert (await client.api_call("reactions.add", json={"name": "tada"}))["ok"] is True
