"""The playground page's server: the real bot behind it, signed requests, Slack's ephemeral rules."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from playground.drive import STANDARD_ANSWERS

Json = dict[str, Any]


async def _state(http: aiohttp.ClientSession, base: str, user: str = "U111") -> Json:
    async with http.get(f"{base}/api/state", params={"user": user}) as response:
        assert response.status == 200
        data: Json = await response.json()
        return data


async def _post(http: aiohttp.ClientSession, base: str, path: str, body: Json) -> Json:
    async with http.post(f"{base}{path}", json=body) as response:
        data: Json = (
            await response.json(content_type=None) if response.status == 200 else {"http": response.status}
        )
        return data


async def _until(http: aiohttp.ClientSession, base: str, check: Any, user: str = "U111") -> Json:
    for _ in range(100):
        state = await _state(http, base, user)
        if check(state):
            return state
        await asyncio.sleep(0.1)
    raise AssertionError("the page never showed it")


def _buttons(item: Json) -> list[Json]:
    return [e for b in item["blocks"] if b["type"] == "actions" for e in b["elements"]]


async def test_the_page_runs_the_real_bot_through_an_assessment_to_its_channel_result(page: str) -> None:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as http:
        async with http.get(page) as response:
            assert response.status == 200
            assert "maturity-bot playground" in await response.text()
        assert (
            await _post(
                http, page, "/api/command", {"user": "U111", "channel": "C111", "text": "start google"}
            )
        )["status"] == 200
        state = await _until(http, page, lambda s: any(i["kind"] == "ephemeral" for i in s["items"]))
        assert [i["kind"] for i in state["items"]] == ["command", "ephemeral"]
        for _ in range(30):
            question = next(i for i in reversed(state["items"]) if i["kind"] == "ephemeral")
            answers = [
                b
                for b in _buttons(question)
                if b["action_id"].startswith("answer:") and not b["value"].endswith(STANDARD_ANSWERS)
            ]
            if not answers:
                break
            before = question["blocks"]
            await _post(
                http, page, "/api/click", {"user": "U111", "item": question["id"], "action": answers[-1]}
            )
            state = await _until(
                http,
                page,
                lambda s, q=question, b=before: (
                    all(i["blocks"] != b for i in s["items"] if i["id"] == q["id"])
                    or any(i["kind"] == "message" for i in s["items"])
                ),
            )
        preview = next(i for i in reversed(state["items"]) if i["kind"] == "ephemeral")
        share = next(b for b in _buttons(preview) if b["action_id"] == "share_result")
        await _post(http, page, "/api/click", {"user": "U111", "item": preview["id"], "action": share})
        state = await _until(http, page, lambda s: any(i["kind"] == "message" for i in s["items"]))
        result = next(i for i in state["items"] if i["kind"] == "message")
        assert result["channel"] == "C111"
        assert "<@U111>" in str(result["blocks"])
        ephemerals = [i for i in state["items"] if i["kind"] == "ephemeral"]
        assert len(ephemerals) == 1  # each question replaced the one before, as Slack replaces them
        others = await _state(http, page, "U222")
        assert {i["kind"] for i in others["items"]} == {"message"}  # bo sees the result, not ana's questions


async def test_home_tab_check_ins_and_bad_input_get_the_bots_real_answers(page: str) -> None:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=200)) as http:
        assert (await _post(http, page, "/api/home", {"user": "U222"}))["status"] == 200
        state = await _until(http, page, lambda s: s["home"] is not None, user="U222")
        assert "Your MLOps maturity" in str(state["home"]["blocks"])
        await _post(http, page, "/api/command", {"user": "U111", "channel": "C111", "text": "dance"})
        await _post(http, page, "/api/command", {"user": "U111", "channel": "C111", "text": ""})
        await _post(http, page, "/api/command", {"user": "U111", "channel": "C111", "text": "x" * 5000})
        state = await _until(http, page, lambda s: sum(i["kind"] == "ephemeral" for i in s["items"]) >= 3)
        replies = [str(i["blocks"]) + i["text"] for i in state["items"] if i["kind"] == "ephemeral"]
        # Each got the bot's own answer (they may arrive in any order): the help naming `dance`, the
        # help for the empty command, and an answer to the 5,000 characters rather than silence.
        assert len(replies) == 3
        assert sum("dance" in r for r in replies) == 1
        assert all("/maturity" in r for r in replies)
        typed = [i["text"] for i in state["items"] if i["kind"] == "command"]
        assert typed[2] == "/maturity " + "x" * 5000
        ran = await _post(http, page, "/api/checkins", {})
        assert ran["status"] == 0, ran
        assert "check-ins posted: 0" in ran["output"]
        assert (await _post(http, page, "/api/command", {"user": 5, "channel": "C111"}))["http"] == 400
        assert (await _post(http, page, "/api/command", {"user": "U404", "channel": "C111", "text": ""}))[
            "http"
        ] == 400


def test_the_drivers_standard_answer_suffixes_are_the_schemas_reserved_ids() -> None:
    from flows.schema import NOT_APPLICABLE_ID, UNSURE_ID

    assert (f"|{UNSURE_ID}", f"|{NOT_APPLICABLE_ID}") == STANDARD_ANSWERS
