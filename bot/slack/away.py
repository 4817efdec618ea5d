"""Whether someone's Slack status says they are away: then nobody nudges them."""

from __future__ import annotations

from bot.slack.messenger import SlackUser

# Status emoji and words that mean "not here"; AWAY_STATUSES replaces the list (comma-separated).
DEFAULT_AWAY = (
    ":palm_tree:,:airplane:,:beach_with_umbrella:,:face_with_thermometer:,:hospital:,:baby:,"
    "ooo,out of office,vacation,holiday,on leave,parental leave,sick"
)


def away_markers(setting: str) -> tuple[str, ...]:
    return tuple(m.strip().lower() for m in setting.split(",") if m.strip())


def is_away(user: SlackUser, markers: tuple[str, ...]) -> bool:
    """True when the status emoji is an away one, or the status text mentions an away word."""
    emoji, text = user.status_emoji.lower(), user.status_text.lower()
    return any(m == emoji if m.startswith(":") else m in text for m in markers)
