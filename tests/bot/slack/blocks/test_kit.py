"""The Block Kit pieces: clipping to a limit and escaping mrkdwn's control characters."""

from __future__ import annotations

import pytest

from bot.slack.blocks.kit import clip, escape


@pytest.mark.parametrize("limit", [1, 2, 3, 10, 75, 150, 3000])
def test_clip_never_exceeds_its_limit_and_marks_the_cut(limit: int) -> None:
    """Clipped text is at most `limit` characters and ends with an ellipsis whenever it was cut."""
    for length in (0, 1, limit - 1, limit, limit + 1, limit * 3):
        for text in ("a" * length, ("word " * length)[:length], ("  " * length)[:length] + "z"):
            clipped = clip(text, limit)
            assert len(clipped) <= limit
            if len(text) <= limit:
                assert clipped == text
            else:
                assert clipped.endswith("…")
                assert text.startswith(clipped[:-1])


def test_escape_escapes_the_three_control_characters() -> None:
    """`escape` turns & < > into entities, ampersands first so entities are not double-escaped."""
    assert escape("a & b < c > d") == "a &amp; b &lt; c &gt; d"
    assert escape("<@U1> & <!here>") == "&lt;@U1&gt; &amp; &lt;!here&gt;"
    assert escape("&lt;") == "&amp;lt;"
    assert escape("plain *bold* _it_") == "plain *bold* _it_"
