"""Read flow YAML files into validated :class:`~flows.schema.Flow` objects.

Every problem is reported as a :class:`FlowError` naming the file, the line and the offending key,
so a broken flow is refused with one readable sentence instead of a traceback.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import ValidationError

from flows.schema import Flow, reference_problems

BUILTIN_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        key = f" [{self.key}]" if self.key else ""
        return f"{where}{key}: {self.message}"


class FlowError(Exception):
    """One or more flow files are broken; ``problems`` says where and why."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def _dotted(path: tuple[str | int, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _line_of(root: yaml.Node | None, path: tuple[str | int, ...]) -> int | None:
    """Return the 1-based line of the deepest node along ``path`` in a composed YAML tree."""
    node = root
    line = node.start_mark.line + 1 if node is not None else None
    for part in path:
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            match = next((kv for kv in node.value if kv[0].value == part), None)
            if match is None:
                break
            line = match[0].start_mark.line + 1
            node = match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                break
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


# libyaml's C loader when available: the flows are read at every start-up.
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_flow(text: str, file: str) -> Flow:
    """Validate one flow's YAML text; ``file`` is only used to name it in errors."""
    try:
        data = yaml.load(text, Loader=_Loader)  # a safe loader, chosen above
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc)
        raise FlowError([Problem(file, line, "", f"not valid YAML: {reason}")]) from None
    if not isinstance(data, dict):
        raise FlowError([Problem(file, 1, "", "a flow file must be a mapping of keys to values")])
    if isinstance(data.get("version"), (int, float)):
        data["version"] = str(data["version"])  # `version: 1` is as good as `version: "1"`
    try:
        flow = Flow.model_validate(data)
    except ValidationError as exc:
        # Only a broken file pays for the second, line-numbered parse.
        root = yaml.compose(text, Loader=_Loader)
        problems = []
        for error in exc.errors():
            loc = tuple(error["loc"])
            message = error["msg"]
            if error["type"] == "extra_forbidden":
                message = "unknown key (check its spelling)"
            elif error["type"] == "value_error":
                message = str(error["ctx"]["error"])  # the schema's own sentence, without pydantic's prefix
            problems.append(Problem(file, _line_of(root, loc), _dotted(loc), message))
        raise FlowError(problems) from None
    broken_references = reference_problems(flow)
    if broken_references:
        root = yaml.compose(text, Loader=_Loader)
        raise FlowError(
            [Problem(file, _line_of(root, path), _dotted(path), msg) for path, msg in broken_references]
        )
    return flow


def load_flow(path: Path) -> Flow:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FlowError([Problem(str(path), None, "", f"cannot read: {exc}")]) from None
    return parse_flow(text, str(path))


def flow_files(paths: Iterable[Path]) -> list[Path]:
    """Expand directories into their *.yaml / *.yml files, sorted by name."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir() if p.suffix in {".yaml", ".yml"}))
        else:
            files.append(path)
    return files


def load_flows(extra_dirs: Iterable[Path] = ()) -> dict[str, Flow]:
    """Load the shipped flows plus every flow in ``extra_dirs``; all problems are raised together.

    A team's own flow may reuse a shipped id to replace it; two files with one id in the same
    directory are an error.
    """
    problems: list[Problem] = []
    flows: dict[str, Flow] = {}
    files: dict[str, Path] = {}
    for directory in [BUILTIN_DIR, *extra_dirs]:
        if not directory.is_dir():
            problems.append(Problem(str(directory), None, "", "flows directory does not exist"))
            continue
        seen_here: dict[str, Path] = {}
        for file in flow_files([directory]):
            try:
                flow = load_flow(file)
            except FlowError as exc:
                problems.extend(exc.problems)
                continue
            if flow.id in seen_here:
                problems.append(
                    Problem(
                        str(file), None, "id", f"flow id '{flow.id}' is also used by {seen_here[flow.id]}"
                    )
                )
                continue
            seen_here[flow.id] = file
            flows[flow.id] = flow
            files[flow.id] = file
    if not problems:
        problems = same_as_problems(flows, files)
    if problems:
        raise FlowError(problems)
    return flows


def same_as_problems(flows: dict[str, Flow], files: dict[str, Path]) -> list[Problem]:
    """Check every ``same_as`` against the flows loaded with it: the flow, question and options exist."""
    problems: list[Problem] = []
    for flow in flows.values():
        file = files[flow.id]
        root: yaml.Node | None = None
        for qi, question in enumerate(flow.questions):
            for si, same in enumerate(question.same_as):
                where: tuple[str | int, ...] = ("questions", qi, "same_as", si)
                other = flows.get(same.flow)
                target = other.question(same.question) if other is not None else None
                if same.flow == flow.id:
                    found = [((*where, "flow"), "must name another flow")]
                elif other is None:
                    found = [((*where, "flow"), f"unknown flow '{same.flow}'")]
                elif target is None:
                    found = [((*where, "question"), f"'{same.flow}' has no question '{same.question}'")]
                else:
                    found = [
                        (
                            (*where, "options", theirs),
                            f"'{theirs}' is not an option of {same.flow}/{same.question}",
                        )
                        for theirs in same.options
                        if target.option(theirs) is None
                    ]
                if found and root is None:
                    root = yaml.compose(file.read_text(encoding="utf-8"), Loader=_Loader)
                problems += [
                    Problem(str(file), _line_of(root, path), _dotted(path), msg) for path, msg in found
                ]
    return problems
