"""What a Web API method of the double answers, and the parameter helpers every method shares."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

Params = dict[str, Any]


@dataclass
class Answer:
    body: dict[str, Any]
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


def ok(**fields: Any) -> Answer:
    return Answer({"ok": True, **fields})


def fail(error: str, problems: list[str] | None = None, pointer_prefix: str = "") -> Answer:
    body: dict[str, Any] = {"ok": False, "error": error}
    if problems:
        # Slack lists validation problems twice: bare in ``errors`` and tagged in ``response_metadata``.
        located = [p.replace("[json-pointer:/", f"[json-pointer:{pointer_prefix}/") for p in problems]
        body["errors"] = located
        body["response_metadata"] = {"messages": [f"[ERROR] {p}" for p in located]}
    return Answer(body)


class Invalid(Exception):
    """A request Slack would refuse with ``error``; raised deep in a method, answered by the dispatcher."""

    def __init__(self, error: str, problems: list[str] | None = None):
        super().__init__(error)
        self.error = error
        self.problems = problems


def json_param(params: Params, name: str, error: str) -> Any:
    """A parameter that holds JSON: sent as JSON it is already parsed, sent as a form it is a string."""
    value = params.get(name)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise Invalid(error) from None
    return value


def flag(params: Params, name: str) -> bool:
    """A boolean parameter, however it was sent (JSON true, or "true"/"1" in a form or query string)."""
    return params.get(name) in (True, "true", "1", 1)
