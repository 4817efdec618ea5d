"""The house rules that keep the layers apart, checked on the source itself.

Imports point one way (``bot/slack -> bot/services -> models, flows``; ``flows`` imports nothing of
ours; ``models`` and ``migrations`` nothing from ``bot``), and the services room writes no Slack text.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = ("bot", "flows", "models", "migrations", "playground", "bench", "tests")


def _modules(package: str) -> Iterator[Path]:
    yield from sorted((ROOT / package).rglob("*.py"))


def _imports(path: Path, source: str | None = None) -> set[str]:
    """Every module the file at ``path`` imports, as dotted names (relative imports resolved)."""
    tree = ast.parse(path.read_text() if source is None else source, filename=str(path))
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _violations(package: str, forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _modules(package)
        for name in sorted(_imports(path))
        if any(name == f or name.startswith(f + ".") for f in forbidden)
    ]


RULES = {
    "flows": tuple(p for p in OURS if p != "flows"),
    "models": ("bot", "migrations", "playground", "bench", "tests"),
    "migrations": ("bot", "playground", "bench", "tests"),
    "bot/services": (
        "bot.slack",
        "bot.runtime",
        "bot.cli",
        "slack_bolt",
        "slack_sdk",
        "aiohttp",
        "playground",
    ),
    "bot/slack": ("bot.runtime", "bot.cli", "playground", "tests"),
    "bot/runtime": ("bot.cli", "playground", "tests"),
    "playground": ("bot", "models", "flows", "tests"),
}


@pytest.mark.parametrize("package", sorted(RULES))
def test_imports_point_one_way(package: str) -> None:
    """No module of a layer imports a layer it must not know about."""
    assert _violations(package, RULES[package]) == []


def test_the_checker_sees_forbidden_imports_and_markup() -> None:
    """Plain, from- and relative imports are resolved and a mention is spotted, so passing means something."""
    path = ROOT / "bot" / "services" / "example.py"
    source = "import slack_sdk\nfrom ..slack import messenger\nfrom bot.runtime.logs import x\n"
    assert {"slack_sdk", "bot.slack", "bot.slack.messenger", "bot.runtime.logs"} <= _imports(path, source)
    marked = 'def f():\n    """Docstrings may say <@U1>."""\n    return f"belongs to <@{owner}>"\n'
    assert [s for s in _string_constants(path, marked) if "<@" in s] == ["belongs to <@"]


SLACK_MARKUP = ("<@", "<#", "<!", "`", "mrkdwn", "plain_text", "blocks")


def _string_constants(path: Path, source: str | None = None) -> Iterator[str]:
    """String literals of a module, docstrings excluded (they may describe Slack freely)."""
    tree = ast.parse(path.read_text() if source is None else source, filename=str(path))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            yield node.value


@pytest.mark.parametrize("path", list(_modules("bot/services")), ids=lambda p: p.name)
def test_services_write_no_slack_text(path: Path) -> None:
    """Nothing in the services room formats Slack text: no mentions, links, code spans or blocks."""
    offending = [s for s in _string_constants(path) if any(mark in s for mark in SLACK_MARKUP)]
    assert offending == []
