"""Messages of `/maturity export` and `/maturity forget me`."""

from __future__ import annotations

from typing import Any

from bot.services.export import Forgotten
from bot.slack.blocks.kit import actions, button, confirm, escape, message, section
from bot.slack.blocks.messages import COMMAND
from bot.slack.buttons import FORGET

MISSING_SCOPE = {"missing_scope", "not_allowed_token_type", "no_permission"}


def build_export_reply(count: int, error: str | None) -> dict[str, Any]:
    if count == 0:
        text = "Nobody has completed an assessment in this channel yet, so there is nothing to export."
    elif error is None:
        text = (
            f"I sent you a CSV of this channel's {count} completed result{'s' if count != 1 else ''} "
            "in our direct messages."
        )
    elif error in MISSING_SCOPE:
        text = (
            "I can't send you files yet: this app needs the `files:write` and `im:write` scopes. "
            "Ask whoever installed it to update the app from the current manifest and reinstall it."
        )
    else:
        text = f"I couldn't send you the CSV (Slack said `{escape(error)}`). Try again in a moment."
    return message(text, [section(text)])


def build_forget_prompt() -> dict[str, Any]:
    text = (
        "This deletes *all your answers, results and commitments* in this workspace, in every channel, "
        "and the result messages I posted for you. Team levels are recomputed without you. "
        "It cannot be undone."
    )
    dialog = confirm(
        "Delete your data?",
        "Your answers, results and commitments in every channel, and the result messages I posted.",
        "Delete everything",
        danger=True,
    )
    delete = {**button("Delete my data", FORGET, "me", style="danger"), "confirm": dialog}
    return message("Delete your maturity data?", [section(text), actions("forget", [delete])])


def build_forget_usage() -> dict[str, Any]:
    text = f"To delete your data, type `{COMMAND} forget me`."
    return message(text, [section(text)])


def build_forgotten(forgotten: Forgotten, posts_deleted: int) -> dict[str, Any]:
    if forgotten.assessments == 0 and forgotten.commitments == 0 and forgotten.commitment_updates == 0:
        text = "I had no answers, results or commitments of yours. Nothing to delete."
        return message(text, [section(text)])

    def n(count: int, word: str) -> str:
        return f"{count} {word}{'s' if count != 1 else ''}"

    lines = [
        f"• {n(forgotten.assessments, 'assessment')} with {n(forgotten.answers, 'answer')}",
        f"• {n(forgotten.results, 'result')}, and {n(posts_deleted, 'result message')} in channels",
        f"• {n(forgotten.commitments, 'commitment')} and "
        f"{n(forgotten.commitment_updates, 'commitment update')}",
    ]
    missed = len(forgotten.posts) - posts_deleted
    if missed:
        lines.append(f"• {n(missed, 'result message')} I could not delete (the channel may be archived)")
    text = "Deleted:\n" + "\n".join(lines) + "\nTeam levels have been recomputed without you."
    return message("Your maturity data has been deleted.", [section(text)])


def build_chart_sent(error: str | None, what: str) -> dict[str, Any]:
    if error is None:
        text = f"I sent you the {what} in our direct messages."
    elif error in MISSING_SCOPE:
        text = (
            "I can't send you charts yet: this app needs the `files:write` and `im:write` scopes. "
            "Ask whoever installed it to update the app from the current manifest and reinstall it."
        )
    elif error == "no_data":
        text = f"There is not enough history yet for a {what}."
    else:
        text = f"I couldn't send you the {what} (Slack said `{escape(error)}`). Try again in a moment."
    return message(text, [section(text)])
