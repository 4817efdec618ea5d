"""The leaderboard through Slack: private by default, shared on request, privacy for small teams."""

from __future__ import annotations

from playground.drive import click, command, finish
from playground.slack_api import Person, SlackClient, SlackDouble, all_text, button, buttons

ANA, BO, CHEN = Person("U111", name="ana"), Person("U222", name="bo"), Person("U333", name="chen")


async def test_a_team_of_three_is_ranked_privately_and_shared_on_request(
    slack: SlackClient, double: SlackDouble
) -> None:
    for person in (ANA, BO, CHEN):
        await finish(slack, "google", who=person)
    await finish(slack, "google", who=Person("U111", "C222", name="ana"))  # one member in C222
    reply = await command(slack, "leaderboard")
    text = all_text(reply)
    assert "Leaderboard: Google" in text
    assert "*1.* <#C111>  *level 2*" in text
    assert "3 members" in text
    assert "C222" not in text  # one member's result: not a team on the board
    labels = [b["text"]["text"] for b in buttons(reply)]
    assert "Most improved" in labels
    assert "Share in channel" in labels
    posted_before = len(double.posts("C111"))
    await slack.click(button(reply, "Share in channel"))
    await double.wait_until(lambda: len(double.posts("C111")) == posted_before + 1)
    shared = all_text(double.posts("C111")[-1])
    assert "<#C111>" in shared
    assert "Share in channel" not in shared
    improved = await click(slack, button(reply, "Most improved"))
    assert improved.get("replace_original") is True  # the private board is replaced, not stacked
    assert "most improved" in all_text(improved)


async def test_a_channel_with_too_few_results_sees_no_numbers(slack: SlackClient) -> None:
    await finish(slack, "google", who=Person("U111", "C222", name="ana"))
    await finish(slack, "google", who=Person("U222", "C222", name="bo"))
    text = all_text(await command(slack, "leaderboard google", Person("U111", "C222")))
    assert "not enough results yet to show this team (2 of the 3 members needed have one)" in text
    assert "level 2" not in text


async def test_leaderboard_arguments_it_cannot_read_get_the_syntax(slack: SlackClient) -> None:
    text = all_text(await command(slack, "leaderboard sideways"))
    assert "I can't read `sideways`" in text
    assert "/maturity leaderboard [model] [improved] [post]" in text
    empty = all_text(await command(slack, "leaderboard azure"))
    assert "No team has a result on" in empty


async def test_the_team_view_shows_levels_over_time_and_where_members_disagree(slack: SlackClient) -> None:
    """Three people answer azure differently: the team view lists the categories, the history and
    the questions they answered differently (counts only, no names)."""
    small = all_text(await command(slack, "status team"))
    assert "Nobody here has a result yet" in small
    await finish(slack, "azure", pick=-1, who=ANA)
    await finish(slack, "azure", pick=-1, who=BO)
    two = all_text(await command(slack, "status team"))
    assert "shown once 3 of them have a result" in two
    await finish(slack, "azure", pick=0, who=CHEN)
    text = all_text(await command(slack, "status team"))
    assert "Team view" in text
    assert "3 members with a result" in text
    assert "Per category (median level)" in text
    assert "Over time:" in text
    assert "Where the team sees its practice differently" in text
    assert "2 people say" in text
    assert "1 person says" in text
    assert "U333" not in text  # counts, never who said what


async def test_trend_charts_go_to_the_persons_dms(slack: SlackClient, double: SlackDouble) -> None:
    """The "Trend chart" button on the team view and on the most improved board: a PNG in a DM."""
    for person in (ANA, BO, CHEN):
        await finish(slack, "google", who=person)
    view = await command(slack, "status team")
    reply = await click(slack, button(view, "Trend chart"))
    assert "I sent you the team trend chart" in all_text(reply)
    board = await command(slack, "leaderboard improved")
    reply = await click(slack, button(board, "Trend chart"))
    assert "I sent you the most improved chart" in all_text(reply)
    charts = [f for f in double.files.values() if f.completed and f.channel == "D111"]
    assert len(charts) == 2
    assert all(f.content and f.content.startswith(b"\x89PNG") for f in charts)
    assert all(f.alt_txt and "line chart of levels over time" in f.alt_txt for f in charts)
    assert all(f.alt_txt and " to " in f.alt_txt for f in charts)  # where it started and ended, in numbers
