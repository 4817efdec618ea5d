"""The flow schema: what a maturity model's YAML file must say, validated by pydantic.

Field-level rules live on the models; rules that relate fields to each other (ids that must
exist, levels that must be contiguous) live in :func:`reference_problems`, which reports each
problem with the path of the offending key so the loader can name its line.
"""

from __future__ import annotations

import re
from collections import Counter
from enum import StrEnum
from functools import cached_property
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

# Slack's Block Kit limits shape these bounds: a button's text is at most 75 characters, an
# action value and a block id are short strings, and a section holds at most 3000 characters.
# Answer labels are kept to 40 characters so a row of buttons stays readable; an option that
# needs a sentence says it in ``detail``, shown in the question text.
Id = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")]
ButtonLabel = Annotated[str, StringConstraints(min_length=1, max_length=40, strip_whitespace=True)]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=150, strip_whitespace=True)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=600, strip_whitespace=True)]
LongText = Annotated[str, StringConstraints(min_length=1, max_length=1500, strip_whitespace=True)]

Path = tuple[str | int, ...]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OverallRule(StrEnum):
    """How per-category levels combine into the overall level."""

    LOWEST = "lowest"  # staged, CMMI-like: the team is at the level every category has reached
    MEDIAN = "median"  # the lower median of the category levels


# A source is rendered as Slack's `<url|title>` link, so its URL must not be able to close the link
# early and open a mention: `https://a><!channel><https://b` would post a live @channel.
_LINK_URL = re.compile(r"https?://[^\s<>|]+")


def _link_url(value: str) -> str:
    if not _LINK_URL.fullmatch(value):
        raise ValueError("must be an http:// or https:// URL without spaces, '<', '>' or '|'")
    return value


LinkUrl = Annotated[str, StringConstraints(max_length=500), AfterValidator(_link_url)]


class Source(_Strict):
    title: ShortText
    url: LinkUrl


class Level(_Strict):
    number: Annotated[int, Field(ge=0, le=9)]
    name: ShortText
    meaning: LongText


class Category(_Strict):
    id: Id
    name: ShortText
    description: Text | None = None


class OptionKind(StrEnum):
    PRACTICE = "practice"  # an observable practice, worth its credit
    UNSURE = "unsure"  # "Not sure": scored as 0 and listed in the result as something to find out
    NOT_APPLICABLE = "not_applicable"  # left out of its level's threshold; never passes a level alone


UNSURE_ID = "unsure"
NOT_APPLICABLE_ID = "n-a"
RESERVED_OPTION_IDS = frozenset({UNSURE_ID, NOT_APPLICABLE_ID})


class Option(_Strict):
    id: Id
    label: ButtonLabel
    detail: ShortText | None = None  # the full wording when the label is too short to say it
    # 1.0 means the criterion is fully met; less is partial credit. A level passes on its
    # criteria's mean credit (see Scoring), so partial credit counts towards levels too.
    credit: Annotated[float, Field(ge=0.0, le=1.0)]
    kind: OptionKind = OptionKind.PRACTICE


class SameAs(_Strict):
    """This question asks about the same practice as another flow's question.

    ``options`` maps that question's option ids to this question's option ids; an answer given
    there (in the last 90 days) is offered here as the pre-selected answer.
    """

    flow: Id
    question: Id
    options: dict[Id, Id]


class Question(_Strict):
    id: Id
    category: Id
    level: Annotated[int, Field(ge=0, le=9)]
    text: Text
    why: Text
    options: Annotated[list[Option], Field(min_length=2, max_length=7)]
    advice: Text  # the concrete action for a team that has not fully met this criterion
    # Offer "Not applicable" where the practice may not apply to a team (e.g. no application
    # consumes the model); "Not sure" is offered on every question.
    not_applicable: bool = False
    same_as: list[SameAs] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _add_standard_options(cls, data: Any) -> Any:
        """Append "Not sure" (and "Not applicable" where allowed) to the file's options."""
        if not isinstance(data, dict) or not isinstance(data.get("options"), list):
            return data
        extra = [{"id": UNSURE_ID, "label": "Not sure", "credit": 0, "kind": OptionKind.UNSURE}]
        if data.get("not_applicable") is True:
            extra.append(
                {
                    "id": NOT_APPLICABLE_ID,
                    "label": "Not applicable",
                    "credit": 0,
                    "kind": OptionKind.NOT_APPLICABLE,
                }
            )
        return {**data, "options": [*data["options"], *extra]}

    def option(self, option_id: str) -> Option | None:
        return self._options_by_id.get(option_id)

    @cached_property
    def _options_by_id(self) -> dict[str, Option]:
        return {o.id: o for o in self.options}

    @property
    def practices(self) -> list[Option]:
        """The options that describe a practice (not "Not sure" / "Not applicable")."""
        return [o for o in self.options if o.kind is OptionKind.PRACTICE]

    @property
    def best_option(self) -> Option:
        return max(self.practices, key=lambda o: o.credit)

    @property
    def worst_option(self) -> Option:
        return min(self.practices, key=lambda o: o.credit)

    def lower(self, option: Option) -> Option | None:
        """The practice one step below ``option`` (by credit), None at the bottom or off the scale."""
        if option.kind is not OptionKind.PRACTICE:
            return None
        below = [o for o in self.practices if o.credit < option.credit]
        return max(below, key=lambda o: o.credit) if below else None


class Step(_Strict):
    text: Text
    # Left out of a result when every one of these questions was answered with full credit:
    # never advise building what the team just said it has.
    covered_by: list[Id] = Field(default_factory=list)


def _step(value: Any) -> Any:
    return {"text": value} if isinstance(value, str) else value


_BeforeStep = BeforeValidator(_step)  # a step is a plain string unless it names what covers it


class NextSteps(_Strict):
    category: Id
    level: Annotated[int, Field(ge=0, le=9)]  # steps for a category now at this level
    steps: Annotated[list[Annotated[Step, _BeforeStep]], Field(min_length=1, max_length=10)]


class Scoring(_Strict):
    """When a (category, level) cell passes: its criteria's mean credit reaches ``pass_mean``
    and, with ``zero_fails``, none of them is at 0 ("Not sure" counts as 0; "Not applicable"
    answers are left out, and a cell with only those does not pass)."""

    pass_mean: Annotated[float, Field(gt=0.0, le=1.0)] = 0.75
    zero_fails: bool = True


class Flow(_Strict):
    id: Id
    title: ShortText
    version: Annotated[str, StringConstraints(min_length=1, max_length=20)]
    description: LongText
    notice: Text | None = None  # shown with every result, e.g. how the content was derived
    sources: Annotated[list[Source], Field(min_length=1)]
    overall: OverallRule = OverallRule.LOWEST
    scoring: Scoring = Field(default_factory=Scoring)
    levels: Annotated[list[Level], Field(min_length=2)]
    categories: Annotated[list[Category], Field(min_length=1, max_length=10)]
    questions: Annotated[list[Question], Field(min_length=1, max_length=100)]
    next_steps: Annotated[list[NextSteps], Field(min_length=1)]

    # Derived on first use and kept on the (frozen) instance: the engine looks questions and cells
    # up many times per click. A cached_property is read as a plain attribute afterwards; a
    # pydantic private attribute would go through BaseModel.__getattr__ on every read. (A
    # model_copy(update=...) of questions or options would keep the old index: validate anew.)
    @cached_property
    def _by_id(self) -> dict[str, Question]:
        return {q.id: q for q in self.questions}

    @cached_property
    def _cells(self) -> dict[tuple[str, int], tuple[Question, ...]]:
        cells: dict[tuple[str, int], list[Question]] = {}
        for q in self.questions:
            cells.setdefault((q.category, q.level), []).append(q)
        return {key: tuple(qs) for key, qs in cells.items()}

    @property
    def max_level(self) -> int:
        return self.levels[-1].number

    def level(self, number: int) -> Level:
        return self.levels[number]

    def question(self, question_id: str) -> Question | None:
        return self._by_id.get(question_id)

    def category(self, category_id: str) -> Category:
        return next(c for c in self.categories if c.id == category_id)

    def steps_for(self, category_id: str, level: int) -> list[Step]:
        for block in self.next_steps:
            if block.category == category_id and block.level == level:
                return list(block.steps)
        return []

    def cell(self, category_id: str, level: int) -> tuple[Question, ...]:
        """The criteria of one level of one category, in file order (most telling first)."""
        return self._cells.get((category_id, level), ())


def reference_problems(flow: Flow) -> list[tuple[Path, str]]:
    """Return (path, message) for every cross-reference problem in a schema-valid flow."""
    problems: list[tuple[Path, str]] = []
    numbers = [lv.number for lv in flow.levels]
    if numbers != list(range(len(numbers))):
        problems.append((("levels",), f"level numbers must be 0, 1, 2, ... in order; got {numbers}"))
    level_set = set(numbers)

    def duplicates(ids: list[str]) -> set[str]:
        return {i for i, n in Counter(ids).items() if n > 1}

    category_ids = [c.id for c in flow.categories]
    for index, category in enumerate(flow.categories):
        if category.id in duplicates(category_ids):
            problems.append((("categories", index, "id"), f"duplicate category id '{category.id}'"))

    question_ids = [q.id for q in flow.questions]
    dup_questions = duplicates(question_ids)
    for qi, question in enumerate(flow.questions):
        if question.id in dup_questions:
            problems.append((("questions", qi, "id"), f"duplicate question id '{question.id}'"))
        if question.category not in category_ids:
            problems.append((("questions", qi, "category"), f"unknown category '{question.category}'"))
        if question.level not in level_set:
            problems.append((("questions", qi, "level"), f"unknown level {question.level}"))
        if question.level == 0:
            problems.append(
                (
                    ("questions", qi, "level"),
                    "level 0 is where every team starts; ask about a practice of level 1 or higher",
                )
            )
        option_ids = [o.id for o in question.options]
        dup_options = duplicates(option_ids)
        for oi, option in enumerate(question.options):
            if option.kind is OptionKind.PRACTICE and option.id in RESERVED_OPTION_IDS:
                problems.append(
                    (
                        ("questions", qi, "options", oi, "id"),
                        f"option id '{option.id}' is reserved for the standard "
                        "'Not sure' / 'Not applicable' answers",
                    )
                )
            elif option.kind is not OptionKind.PRACTICE and option.id not in RESERVED_OPTION_IDS:
                problems.append(
                    (("questions", qi, "options", oi, "kind"), "only practices can be listed as options")
                )
            elif option.id in dup_options and option.kind is OptionKind.PRACTICE:
                problems.append(
                    (("questions", qi, "options", oi, "id"), f"duplicate option id '{option.id}'")
                )
        credits = [o.credit for o in question.practices]
        if len(credits) < 2:
            problems.append((("questions", qi, "options"), "a question needs at least two practices"))
        elif not any(c >= 1.0 for c in credits):
            problems.append((("questions", qi, "options"), "no option fully meets the criterion"))
        elif all(c >= 1.0 for c in credits):
            problems.append(
                (("questions", qi, "options"), "every option meets the criterion; it decides nothing")
            )
        for si, same in enumerate(question.same_as):
            for theirs, ours in same.options.items():
                if ours not in option_ids:
                    problems.append(
                        (
                            ("questions", qi, "same_as", si, "options", theirs),
                            f"'{ours}' is not an option of this question",
                        )
                    )

    seen_steps: set[tuple[str, int]] = set()
    for si, block in enumerate(flow.next_steps):
        if block.category not in category_ids:
            problems.append((("next_steps", si, "category"), f"unknown category '{block.category}'"))
        if block.level not in level_set:
            problems.append((("next_steps", si, "level"), f"unknown level {block.level}"))
        key = (block.category, block.level)
        if key in seen_steps:
            problems.append(
                (("next_steps", si), f"next steps for '{block.category}' level {block.level} twice")
            )
        seen_steps.add(key)
        for ti, step in enumerate(block.steps):
            for qid in step.covered_by:
                if qid not in question_ids:
                    problems.append(
                        (("next_steps", si, "steps", ti, "covered_by"), f"unknown question '{qid}'")
                    )
    if not problems:
        for category_id in category_ids:
            for number in numbers[:-1]:
                if (category_id, number) not in seen_steps:
                    problems.append(
                        (
                            ("next_steps",),
                            f"missing next steps for category '{category_id}' at level {number}",
                        )
                    )
    return problems
