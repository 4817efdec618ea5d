"""The Block Kit pieces every builder uses, with Slack's limits applied."""

from __future__ import annotations

from typing import Any

SECTION_TEXT = 3000
HEADER_TEXT = 150
BUTTON_TEXT = 75
CONTEXT_TEXT = 3000
FALLBACK_TEXT = 3000


def clip(text: str, limit: int) -> str:
    """Shorten ``text`` to at most ``limit`` (>= 1) characters, marking the cut with an ellipsis."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def section(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, SECTION_TEXT)}, **extra}


def header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": clip(text, HEADER_TEXT), "emoji": True}}


def context(*texts: str) -> dict[str, Any]:
    return {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": clip(t, CONTEXT_TEXT)} for t in texts[:10]],
    }


def button(text: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": clip(text, BUTTON_TEXT), "emoji": True},
        "action_id": action_id,
        "value": value,
    }
    if style:
        element["style"] = style
    return element


def actions(block_id: str, elements: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "actions", "block_id": block_id, "elements": elements[:25]}


def message(text: str, blocks: list[dict[str, Any]]) -> dict[str, Any]:
    """A message body: ``text`` is the notification and screen-reader fallback."""
    return {"text": clip(text, FALLBACK_TEXT), "blocks": blocks[:50]}


def progress_bar(done: int, total: int, width: int = 10) -> str:
    filled = round(width * done / total) if total else width
    return "▰" * filled + "▱" * (width - filled)


def divider() -> dict[str, Any]:
    return {"type": "divider"}


def confirm(title: str, text: str, yes: str, no: str = "Cancel", *, danger: bool = False) -> dict[str, Any]:
    """A confirm dialog for a button: Slack asks before sending the click."""
    dialog: dict[str, Any] = {
        "title": {"type": "plain_text", "text": clip(title, 100)},
        "text": {"type": "plain_text", "text": clip(text, 300)},
        "confirm": {"type": "plain_text", "text": clip(yes, 30)},
        "deny": {"type": "plain_text", "text": clip(no, 30)},
    }
    if danger:
        dialog["style"] = "danger"
    return dialog
