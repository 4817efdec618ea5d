"""File upload v2 on the Slack double, driven by slack_sdk's own files_upload_v2 and its three steps."""

from __future__ import annotations

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient

from playground.slack_api import SlackDouble
from tests.playground.conftest import error_of


async def test_files_upload_v2_lands_the_bytes_in_the_channel(
    client: AsyncWebClient, double: SlackDouble
) -> None:
    """files_upload_v2 with content bytes runs all three steps and leaves the file shared in the channel."""
    answer = await client.files_upload_v2(
        channel="C111",
        content=b"level,score\n2,0.6\n",
        filename="result.csv",
        title="Result",
        initial_comment="Here",
    )
    file = answer["file"]
    assert (file["title"], file["name"], file["mimetype"], file["size"]) == (
        "Result",
        "result.csv",
        "text/csv",
        18,
    )
    stored = double.files[file["id"]]
    assert (stored.content, stored.title, stored.channel, stored.completed) == (
        b"level,score\n2,0.6\n",
        "Result",
        "C111",
        True,
    )
    share = double.messages("C111")[-1]
    assert (share["text"], share["files"]) == ("Here", [{"id": file["id"]}])
    image = await client.files_upload_v2(content=b"\x89PNG", filename="chart.png", alt_txt="A bar chart")
    assert (image["file"]["mimetype"], double.files[image["file"]["id"]].alt_txt) == (
        "image/png",
        "A bar chart",
    )
    double.archive_channel("C222")
    archived = await error_of(client.files_upload_v2(channel="C222", content=b"x", filename="x.txt"))
    assert archived.response["error"] == "is_archived"


async def test_upload_steps_are_checked(
    client: AsyncWebClient, double: SlackDouble, session: aiohttp.ClientSession
) -> None:
    """An empty file, a JSON body or completing before the bytes came are refused; multipart uploads work."""
    empty = await error_of(client.files_getUploadURLExternal(filename="a.txt", length=0))
    assert empty.response["error"] == "missing_argument"
    as_json = await error_of(
        client.api_call("files.getUploadURLExternal", json={"filename": "a", "length": 1})
    )
    assert as_json.response["error"] == "invalid_arguments"
    ticket = await client.files_getUploadURLExternal(filename="a.txt", length=5)
    early = await error_of(
        client.files_completeUploadExternal(files=[{"id": ticket["file_id"], "title": "A"}])
    )
    assert early.response["error"] == "file_not_found"
    form = aiohttp.FormData()
    form.add_field("filename", b"hello", filename="a.txt")
    async with session.post(ticket["upload_url"], data=form) as response:
        assert (response.status, await response.text()) == (200, "OK - 5")
    done = await client.files_completeUploadExternal(files=[{"id": ticket["file_id"], "title": "A"}])
    assert done["files"][0]["id"] == ticket["file_id"]
    assert double.files[ticket["file_id"]].content == b"hello"
    assert double.files[ticket["file_id"]].channel is None  # completed without a channel: private
