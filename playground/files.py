"""File upload v2 as slack_sdk's ``files_upload_v2`` drives it: files.getUploadURLExternal announces a
file and gets an upload URL (here, on the double), the bytes are POSTed there, and
files.completeUploadExternal shares the uploaded files to a channel.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Callable
from typing import Any

from playground.answers import Answer, Invalid, Params, fail, json_param, ok
from playground.workspace import BOT_USER_ID, TEAM_DOMAIN, TEAM_ID, Channel, Message, UploadedFile, Workspace

ALT_TXT = 1000


class FileUploads:
    def __init__(
        self, workspace: Workspace, channel_for_post: Callable[[Any], Channel], base_url: Callable[[], str]
    ):
        self.workspace = workspace
        self._channel_for_post = channel_for_post  # raises Invalid, as a post there would
        self._base_url = base_url

    def get_upload_url(self, params: Params) -> Answer:
        filename = params.get("filename")
        try:
            length = int(params.get("length", ""))
        except (TypeError, ValueError):
            return fail("invalid_arguments")
        if not filename or not isinstance(filename, str):
            return fail("invalid_arguments")
        # Slack's documented answer to a length of 0 (an empty file) is missing_argument.
        if length <= 0:
            return fail("missing_argument")
        alt_txt = params.get("alt_txt")
        if isinstance(alt_txt, str) and len(alt_txt) > ALT_TXT:
            return fail("alt_txt_too_large")
        file = UploadedFile(
            id=self.workspace.next_id("F"),
            filename=filename,
            length=length,
            alt_txt=alt_txt if isinstance(alt_txt, str) else None,
            snippet_type=params.get("snippet_type") or None,
        )
        self.workspace.files[file.id] = file
        return ok(upload_url=f"{self._base_url()}/upload/{file.id}", file_id=file.id)

    def receive(self, file_id: str, content: bytes) -> tuple[int, str]:
        """The POST of a file's bytes to its upload URL: (HTTP status, plain-text body) as Slack answers."""
        file = self.workspace.files.get(file_id)
        if file is None or file.completed:
            return 404, "Not Found"
        file.content = content
        return 200, f"OK - {len(content)}"

    def complete(self, params: Params) -> Answer:
        entries = json_param(params, "files", "invalid_arguments")
        if not isinstance(entries, list) or not entries or not all(isinstance(e, dict) for e in entries):
            return fail("invalid_arguments")
        files: list[tuple[UploadedFile, dict[str, Any]]] = []
        for entry in entries:
            file = self.workspace.files.get(str(entry.get("id", "")))
            # An id that was never announced, whose bytes never arrived, or that was already completed
            # cannot be completed; file_not_found is Slack's closest documented code for all three.
            if file is None or file.content is None or file.completed:
                return fail("file_not_found")
            files.append((file, entry))
        refs = [params["channel_id"]] if params.get("channel_id") else []
        refs += [c for c in str(params.get("channels") or "").split(",") if c]
        channels = [self._channel_for_post(ref) for ref in refs]  # may raise Invalid
        if params.get("thread_ts") and len(channels) != 1:
            raise Invalid("invalid_arguments")
        comment = params.get("initial_comment") or ""
        thread_ts = params.get("thread_ts") or None
        for file, entry in files:
            file.title = entry.get("title") or file.filename
            file.channel = channels[0].id if channels else None
            file.initial_comment = comment or None
            file.thread_ts = thread_ts
            file.completed = True
        ids = [file.id for file, _ in files]
        for channel in channels:
            message = Message(channel.id, self.workspace.next_ts(), comment, thread_ts=thread_ts, files=ids)
            self.workspace.messages.setdefault(channel.id, []).append(message)
        return ok(files=[self.to_slack(file, channels) for file, _ in files])

    @staticmethod
    def to_slack(file: UploadedFile, channels: list[Channel]) -> dict[str, Any]:
        """The file object of files.completeUploadExternal."""
        mimetype = "text/plain" if file.snippet_type else mimetypes.guess_type(file.filename)[0]
        filetype = file.snippet_type or file.filename.rpartition(".")[2].lower() or "binary"
        url = f"https://files.slack.com/files-pri/{TEAM_ID}-{file.id}/{file.filename}"
        body: dict[str, Any] = {
            "id": file.id,
            "created": file.created,
            "timestamp": file.created,
            "name": file.filename,
            "title": file.title,
            "mimetype": mimetype or "application/octet-stream",
            "filetype": filetype,
            "pretty_type": filetype.upper(),
            "user": BOT_USER_ID,
            "user_team": TEAM_ID,
            "mode": "snippet" if file.snippet_type else "hosted",
            "editable": bool(file.snippet_type),
            "is_external": False,
            "external_type": "",
            "is_public": any(not c.is_private and not c.is_im for c in channels),
            "public_url_shared": False,
            "size": len(file.content or b""),
            "url_private": url,
            "url_private_download": url.replace("files-pri", "files-pri-download", 1),
            "permalink": f"https://{TEAM_DOMAIN}.slack.com/files/{BOT_USER_ID}/{file.id}/{file.filename}",
            "channels": [c.id for c in channels if not c.is_private and not c.is_im],
            "groups": [c.id for c in channels if c.is_private],
            "ims": [c.id for c in channels if c.is_im],
            "comments_count": 0,
        }
        if file.alt_txt:
            body["alt_txt"] = file.alt_txt
        return body
