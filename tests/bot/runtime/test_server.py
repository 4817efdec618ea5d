"""Reading a request body as Slack sends it: forms, interaction payloads and Events API JSON."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import pytest

from bot.runtime.server import MAX_FORM_FIELDS, Unreadable, parse_slack_body

FORM = "application/x-www-form-urlencoded"
ROOT = Path(__file__).resolve().parents[3]


def test_a_slash_command_form_is_read_into_its_fields() -> None:
    """A slash command's form fields come back as a flat dict of strings."""
    raw = urlencode({"command": "/maturity", "text": "start google", "user_id": "U1"}).encode()
    assert parse_slack_body(raw, FORM) == {"command": "/maturity", "text": "start google", "user_id": "U1"}


def test_a_command_mentioning_payload_stays_a_command() -> None:
    """`/maturity start payload` is a form without a payload field, not an empty interaction (bolt 1.30)."""
    raw = urlencode({"command": "/maturity", "text": "start payload"}).encode()
    assert parse_slack_body(raw, FORM) == {"command": "/maturity", "text": "start payload"}


def test_an_interaction_payload_and_an_event_are_read_as_json() -> None:
    """A form's `payload` field and a JSON body (by type, or by a leading brace) are decoded."""
    click = {"type": "block_actions", "actions": [{"action_id": "pause"}]}
    assert parse_slack_body(urlencode({"payload": json.dumps(click)}).encode(), FORM) == click
    event = {"type": "event_callback", "event": {"type": "app_home_opened", "user": "U1"}}
    assert parse_slack_body(json.dumps(event).encode(), "application/json") == event
    assert parse_slack_body(json.dumps(event).encode(), FORM) == event


@pytest.mark.parametrize(
    ("raw", "content_type", "reason"),
    [
        (b"text=\xff", FORM, "body is not UTF-8"),
        (b"text=%FF", FORM, "not a readable form"),
        (b"", FORM, "empty body"),
        (b"payload=null", FORM, "body is not an object"),
        (b"payload=%5B1%5D", FORM, "body is not an object"),
        (b"payload=%7Bbroken", FORM, "not valid JSON"),
        (b"[" * 100_000, "application/json", "JSON nested too deeply"),
        (b"payload=" + b"[" * 100_000, FORM, "JSON nested too deeply"),
        (b"1e999999", "application/json", "body is not an object"),
        (b"9" * 5000, "application/json", "not valid JSON"),
        (b"&".join(b"f%d=1" % i for i in range(MAX_FORM_FIELDS + 1)), FORM, "not a readable form"),
    ],
)
def test_bodies_slack_would_not_send_are_unreadable_with_a_reason(
    raw: bytes, content_type: str, reason: str
) -> None:
    """Bad bytes, bad JSON, deep nesting, huge numbers, too many fields and non-objects each have a reason."""
    with pytest.raises(Unreadable, match=f"^{reason}$"):
        parse_slack_body(raw, content_type)


def _form_as_parse_qsl_reads_it(text: str) -> dict[str, str] | str:
    try:
        return dict(parse_qsl(text, keep_blank_values=True, errors="strict", max_num_fields=MAX_FORM_FIELDS))
    except ValueError:
        return "unreadable"


def test_forms_are_read_exactly_as_parse_qsl_reads_them() -> None:
    """The fast form reader agrees with parse_qsl on 20,000 random forms made of the awkward parts."""
    parts = [
        "a", "payload", "text", "=", "&", "+", "%2B", "%20", "%25", "%26", "%3D", "%7B%22k%22%3A1%7D",
        "%C3%A9", "%E2%9C%93", "%EF%BF%BD", "%FF", "%C3%28", "%2", "%ZZ", "%", ";", "?", "/", "#", "é", " ",
        "\ufffd",
    ]  # fmt: skip
    rng = random.Random(11)
    for _ in range(20_000):
        text = "".join(rng.choice(parts) for _ in range(rng.randint(1, 12)))
        try:
            ours: dict[str, str] | str = parse_slack_body(text.encode(), FORM)
        except Unreadable as unreadable:
            ours = "unreadable" if str(unreadable) == "not a readable form" else "other"
        expected = _form_as_parse_qsl_reads_it(text)
        if isinstance(expected, dict) and "payload" in expected:
            continue  # then parse_slack_body reads the payload as JSON, compared below
        assert ours == expected, text
    click = {"type": "block_actions", "message": {"text": "Ship it? 100% + ✓ & more #1"}}
    assert parse_slack_body(urlencode({"payload": json.dumps(click), "x": "1"}).encode(), FORM) == click


def test_start_up_objects_are_frozen_out_of_full_collections() -> None:
    """After start-up the modules' objects are frozen, so a full collection walks only what came since
    (in a child process: freezing is for the life of the process)."""
    code = (
        "import gc, bot.runtime.server as s;"
        "before = len(gc.get_objects());"
        "frozen = s.freeze_start_up();"
        "print(before, frozen, len(gc.get_objects()))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    before, frozen, tracked_after = map(int, done.stdout.split())
    assert frozen >= before * 0.9  # nearly everything start-up made is frozen
    assert tracked_after < before * 0.05  # and left out of what a collection walks
