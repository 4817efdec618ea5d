"""The fake workspace behind the double: team Acme, its people and channels, and what the bot posted.

Tests and the benchmark change it directly (``double.add_user``, ``double.archive_channel``...) and
read back what the app did (``double.messages``, ``double.home_views``, ``double.files``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

BOT_TOKEN = "xoxb-test-token-not-real"
TEAM_ID = "T111"
TEAM_NAME = "Acme"
TEAM_DOMAIN = "acme"
BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
APP_ID = "A111"

# Slack shows the zone's long name; zoneinfo only knows the abbreviation, so the common ones are spelled out.
_LONG_NAMES = {
    "CET": "Central European Time",
    "CEST": "Central European Summer Time",
    "EST": "Eastern Standard Time",
    "EDT": "Eastern Daylight Time",
    "AEST": "Australian Eastern Standard Time",
    "AEDT": "Australian Eastern Daylight Time",
    "UTC": "Coordinated Universal Time",
}


@dataclass
class User:
    id: str
    name: str
    real_name: str = ""
    tz: str = "UTC"
    # Left empty, tz_label and tz_offset follow ``tz`` as it stands now (daylight saving included).
    tz_label: str = ""
    tz_offset: int | None = None
    status_text: str = ""
    status_emoji: str = ""
    status_expiration: int = 0  # Unix seconds; 0 means the status does not expire
    is_bot: bool = False
    deleted: bool = False

    def __post_init__(self) -> None:
        now = datetime.now(UTC).astimezone(ZoneInfo(self.tz))
        if self.tz_offset is None:
            offset = now.utcoffset()
            self.tz_offset = int(offset.total_seconds()) if offset is not None else 0
        if not self.tz_label:
            abbreviation = now.tzname() or self.tz
            self.tz_label = _LONG_NAMES.get(abbreviation, abbreviation)
        self.real_name = self.real_name or self.name

    def to_slack(self) -> dict[str, Any]:
        """The user object of users.info."""
        profile: dict[str, Any] = {
            "real_name": self.real_name,
            "real_name_normalized": self.real_name,
            "display_name": self.name,
            "display_name_normalized": self.name,
            "status_text": self.status_text,
            "status_emoji": self.status_emoji,
            "status_expiration": self.status_expiration,
            "team": TEAM_ID,
        }
        if self.is_bot:
            profile |= {"bot_id": BOT_ID, "api_app_id": APP_ID}
        return {
            "id": self.id,
            "team_id": TEAM_ID,
            "name": self.name,
            "deleted": self.deleted,
            "real_name": self.real_name,
            "tz": self.tz,
            "tz_label": self.tz_label,
            "tz_offset": self.tz_offset,
            "profile": profile,
            "is_admin": False,
            "is_owner": False,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "updated": 1700000000,
        }


@dataclass
class Channel:
    id: str
    name: str
    is_private: bool = False
    is_archived: bool = False
    is_im: bool = False
    members: list[str] = field(default_factory=list)
    created: int = 1700000000

    @property
    def is_member(self) -> bool:
        """Whether the bot is in the channel."""
        return BOT_USER_ID in self.members

    def to_slack(self, num_members: bool = False) -> dict[str, Any]:
        """The channel object of conversations.info."""
        body: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "name_normalized": self.name,
            "is_channel": not self.is_private and not self.is_im,
            "is_group": self.is_private,
            "is_im": self.is_im,
            "is_mpim": False,
            "is_private": self.is_private or self.is_im,
            "is_archived": self.is_archived,
            "is_general": False,
            "is_shared": False,
            "is_ext_shared": False,
            "is_org_shared": False,
            "is_member": self.is_member,
            "created": self.created,
            "creator": "U111",
            "context_team_id": TEAM_ID,
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
        }
        if self.is_im:
            body["user"] = next((m for m in self.members if m != BOT_USER_ID), "")
            del body["name"], body["name_normalized"]
        if num_members:
            body["num_members"] = len(self.members)
        return body


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    thread_ts: str | None = None
    user: str = BOT_USER_ID
    files: list[str] = field(default_factory=list)

    def to_slack(self) -> dict[str, Any]:
        """The message object Slack returns (chat.postMessage's ``message``, conversations.history)."""
        body: dict[str, Any] = {
            "type": "message",
            "user": self.user,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "team": TEAM_ID,
            "text": self.text,
            "ts": self.ts,
        }
        if self.blocks:
            body["blocks"] = self.blocks
        if self.thread_ts is not None:
            body["thread_ts"] = self.thread_ts
        if self.files:
            body["files"] = [{"id": file_id} for file_id in self.files]
        return body


@dataclass
class UploadedFile:
    """A file of the upload v2 flow: announced, then its bytes, then completed (shared or not)."""

    id: str
    filename: str
    length: int
    alt_txt: str | None = None
    snippet_type: str | None = None
    content: bytes | None = None  # None until the bytes were POSTed to the upload URL
    title: str | None = None
    channel: str | None = None
    initial_comment: str | None = None
    thread_ts: str | None = None
    completed: bool = False
    created: int = field(default_factory=lambda: int(time.time()))


def default_users() -> list[User]:
    return [
        User("U111", "ana", "Ana Alves", tz="Europe/Berlin"),
        User("U222", "bo", "Bo Brown", tz="America/New_York"),
        User("U333", "chen", "Chen Wei", tz="Australia/Sydney"),
        User("U999", "bob", "Bob Builder", tz="UTC"),
        User(BOT_USER_ID, "maturity-bot", "Maturity Bot", is_bot=True),
    ]


@dataclass
class Workspace:
    """The state of team T111 "Acme"."""

    users: dict[str, User] = field(default_factory=lambda: {u.id: u for u in default_users()})
    channels: dict[str, Channel] = field(default_factory=dict)
    messages: dict[str, list[Message]] = field(default_factory=dict)
    ephemerals: dict[tuple[str, str], list[Message]] = field(default_factory=dict)
    home_views: dict[str, dict[str, Any]] = field(default_factory=dict)
    files: dict[str, UploadedFile] = field(default_factory=dict)
    _last_ts: int = 0
    _serial: int = 0

    def __post_init__(self) -> None:
        if not self.channels:
            for channel_id, name in (("C111", "ml-platform"), ("C222", "data-science")):
                self.add_channel(channel_id, name)

    def add_user(self, user: User) -> User:
        self.users[user.id] = user
        return user

    def add_channel(
        self,
        channel_id: str,
        name: str,
        *,
        is_private: bool = False,
        is_archived: bool = False,
        is_member: bool = True,
        members: list[str] | None = None,
    ) -> Channel:
        """Add a channel; ``members`` defaults to every current person (not the bot, see ``is_member``)."""
        people = [u.id for u in self.users.values() if not u.is_bot and not u.deleted]
        everyone = list(members) if members is not None else people
        if is_member and BOT_USER_ID not in everyone:
            everyone.append(BOT_USER_ID)
        channel = Channel(channel_id, name, is_private=is_private, is_archived=is_archived, members=everyone)
        self.channels[channel_id] = channel
        return channel

    def find_channel(self, ref: str) -> Channel | None:
        """The channel chat.postMessage's ``channel`` names: an id, a #name, or a person (their DM)."""
        if ref in self.channels:
            return self.channels[ref]
        name = ref.removeprefix("#")
        for channel in self.channels.values():
            if not channel.is_im and channel.name == name:
                return channel
        user = self.users.get(ref)
        if user is None or user.deleted or user.is_bot:
            return None
        dm_id = "D" + user.id[1:]
        return self.channels.setdefault(dm_id, Channel(dm_id, "", is_im=True, members=[user.id, BOT_USER_ID]))

    def next_ts(self) -> str:
        """A message ts: wall-clock microseconds, strictly increasing, so it orders and identifies."""
        self._last_ts = max(self._last_ts + 1, int(time.time() * 1_000_000))
        return f"{self._last_ts // 1_000_000}.{self._last_ts % 1_000_000:06d}"

    def next_id(self, prefix: str) -> str:
        self._serial += 1
        return f"{prefix}{self._serial:08X}"
