"""Broken flow files are refused with file, line and key; good ones load."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from flows.loader import BUILTIN_DIR, FlowError, load_flow, load_flows, parse_flow

TINY = (Path(__file__).parent / "data" / "tiny.yaml").read_text()
ROOT = Path(__file__).resolve().parents[2]


def problems_of(text: str) -> list[str]:
    with pytest.raises(FlowError) as caught:
        parse_flow(text, "team.yaml")
    return [str(p) for p in caught.value.problems]


def test_the_tiny_flow_loads() -> None:
    """A valid file loads with its questions in order; an integer version becomes a string."""
    flow = parse_flow(TINY.replace('version: "1"', "version: 3"), "tiny.yaml")
    assert [q.id for q in flow.questions] == ["b1", "b1v", "b2", "r1", "r1m"]
    assert flow.version == "3"


def test_yaml_syntax_errors_name_the_line() -> None:
    """A YAML syntax error is reported with its file and line, no traceback."""
    (problem,) = problems_of("id: x\ntitle: [unclosed\n")
    assert problem.startswith("team.yaml:3: not valid YAML: ")
    assert "']'" in problem


def test_a_misspelt_key_names_its_line_and_path() -> None:
    """An unknown key inside a question is reported at its own line with its dotted path."""
    broken = TINY.replace("    why: Hand-run training drifts.", "    wy: Hand-run training drifts.")
    problems = problems_of(broken)
    line = broken.splitlines().index("    wy: Hand-run training drifts.") + 1
    assert f"team.yaml:{line} [questions[0].wy]: unknown key (check its spelling)" in problems
    assert any("[questions[0].why]: Field required" in p for p in problems)


def test_an_overlong_button_label_is_refused() -> None:
    """Answer labels are short (40 characters; a sentence goes in `detail`), refused at their line."""
    broken = TINY.replace("label: Tested in CI", "label: " + "x" * 41)
    (problem,) = problems_of(broken)
    assert "[questions[2].options[2].label]" in problem
    assert "at most 40 characters" in problem


def test_unknown_references_are_refused() -> None:
    """A question naming an undefined category or level is reported where it is written."""
    broken = TINY.replace(
        "    category: run\n    level: 1\n    text: Are", "    category: ops\n    level: 7\n    text: Are"
    )
    problems = problems_of(broken)
    assert any("[questions[3].category]: unknown category 'ops'" in p for p in problems)
    assert any("[questions[3].level]: unknown level 7" in p for p in problems)


def test_duplicate_ids_and_questions_that_decide_nothing() -> None:
    """Duplicate question ids and a question whose every option meets it are both refused."""
    broken = (
        TINY.replace("id: b1v\n", "id: b1\n")
        .replace("{id: untested, label: Untested, credit: 0}", "{id: untested, label: Untested, credit: 1}")
        .replace(
            "{id: smoke, label: A smoke test, credit: 0.5}", "{id: smoke, label: A smoke test, credit: 1}"
        )
    )
    problems = problems_of(broken)
    assert any("duplicate question id 'b1'" in p for p in problems)
    assert any("every option meets the criterion" in p for p in problems)


def test_level_zero_questions_and_reserved_option_ids_are_refused() -> None:
    """Level 0 is where every team starts; 'unsure' and 'n-a' belong to the standard answers."""
    broken = TINY.replace("    category: build\n    level: 2", "    category: build\n    level: 0").replace(
        "{id: hand, label: By hand, credit: 0}", "{id: unsure, label: By hand, credit: 0}"
    )
    problems = problems_of(broken)
    assert any("[questions[2].level]: level 0 is where every team starts" in p for p in problems)
    assert any("[questions[0].options[0].id]: option id 'unsure' is reserved" in p for p in problems)


def test_a_step_covered_by_an_unknown_question_is_refused() -> None:
    broken = TINY.replace("covered_by: [b1]", "covered_by: [b9]")
    assert any("[next_steps[0].steps[1].covered_by]: unknown question 'b9'" in p for p in problems_of(broken))


def _with_same_as(tmp_path: Path, same_as: str) -> list[str]:
    text = TINY.replace("    not_applicable: true\n", f"    not_applicable: true\n    same_as: {same_as}\n")
    (tmp_path / "tiny.yaml").write_text(text)
    with pytest.raises(FlowError) as caught:
        load_flows([tmp_path])
    return [str(p) for p in caught.value.problems]


def test_same_as_is_checked_against_the_other_flow(tmp_path: Path) -> None:
    """`same_as` must name another loaded flow's question, its options and this question's options."""
    (problem,) = _with_same_as(tmp_path, "[{flow: nope, question: x, options: {a: log}}]")
    assert "[questions[3].same_as[0].flow]: unknown flow 'nope'" in problem
    (problem,) = _with_same_as(tmp_path, "[{flow: tiny, question: r1m, options: {alerts: log}}]")
    assert "must name another flow" in problem
    problems = problems_of(
        TINY.replace(
            "    not_applicable: true\n",
            "    not_applicable: true\n    same_as: [{flow: google, question: x, options: {a: bad}}]\n",
        )
    )
    assert any(
        "[questions[3].same_as[0].options.a]: 'bad' is not an option of this question" in p for p in problems
    )


def test_missing_next_steps_are_named() -> None:
    """Every category needs next steps for every level below the top."""
    broken = TINY.replace("  - {category: run, level: 1, steps: [Watch for drift.]}\n", "")
    assert any("missing next steps for category 'run' at level 1" in p for p in problems_of(broken))


def test_a_directory_of_team_flows_adds_and_replaces(tmp_path: Path) -> None:
    """FLOWS_DIR adds a team's flows next to the shipped ones; a broken one stops the whole load."""
    (tmp_path / "tiny.yaml").write_text(TINY)
    flows = load_flows([tmp_path])
    assert sorted(flows) == ["azure", "gigaom", "google", "tiny"]
    (tmp_path / "broken.yml").write_text("id: [")
    with pytest.raises(FlowError) as caught:
        load_flows([tmp_path])
    assert caught.value.problems[0].file.endswith("broken.yml")
    with pytest.raises(FlowError):
        load_flows([tmp_path / "missing"])


def test_shipped_flows_all_load() -> None:
    """Every YAML file shipped in flows/ loads."""
    for path in BUILTIN_DIR.glob("*.yaml"):
        assert load_flow(path).id == path.stem


@pytest.mark.parametrize(
    "url",
    [
        '"https://a><!channel><https://b"',
        '"https://example.org/a|label"',
        '"https://a b"',
        "ftp://example.org",
    ],
)
def test_a_source_url_that_could_break_its_slack_link_is_refused(url: str) -> None:
    """A source URL with `<`, `>`, `|` or a space, or not http(s), is refused at its line and key."""
    broken = TINY.replace("url: https://example.org/tiny", f"url: {url}")
    line = next(i for i, text in enumerate(broken.splitlines(), 1) if "url:" in text)
    (problem,) = problems_of(broken)
    assert problem == (
        f"team.yaml:{line} [sources[0].url]: "
        "must be an http:// or https:// URL without spaces, '<', '>' or '|'"
    )


def _flows_check(flow_file: Path) -> subprocess.CompletedProcess[str]:
    """`python -m bot flows check FILE` as a separate process, run from the file's folder."""
    return subprocess.run(
        [sys.executable, "-m", "bot", "flows", "check", str(flow_file)],
        env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT)},
        cwd=flow_file.parent,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_flows_check_names_a_bad_source_url(tmp_path: Path) -> None:
    """`python -m bot flows check` prints the bad URL's file, line and key and exits 1."""
    flow_file = tmp_path / "tiny.yaml"
    flow_file.write_text(TINY.replace("url: https://example.org/tiny", 'url: "https://a><!channel>"'))
    done = _flows_check(flow_file)
    assert done.returncode == 1
    assert f"{flow_file}:9 [sources[0].url]: must be an http:// or https:// URL" in done.stderr


def test_flows_check_of_one_file_checks_its_same_as_against_the_shipped_flows(tmp_path: Path) -> None:
    """A team's flow linked to a shipped flow's question that does not exist is named by the check."""
    flow_file = tmp_path / "tiny.yaml"
    flow_file.write_text(
        TINY.replace(
            "    not_applicable: true\n",
            "    not_applicable: true\n    same_as: [{flow: google, question: nope, options: {a: log}}]\n",
        )
    )
    done = _flows_check(flow_file)
    assert done.returncode == 1
    assert "[questions[3].same_as[0].question]: 'google' has no question 'nope'" in done.stderr
