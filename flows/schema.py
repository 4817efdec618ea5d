"""The flow schema: what a maturity model's YAML file must say, validated by pydantic.

Field-level rules live on the models; rules that relate fields to each other (ids that must
exist, levels that must be contiguous) live in :func:`reference_problems`, which reports each
problem with the path of the offending key so the loader can name its line.
"""

from __future__ import annotations

import re
from collections import Counter
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PrivateAttr, StringConstraints

# Slack's Block Kit limits shape these bounds: a button's text is at most 75 characters, an
# action value and a block id are short strings, and a section holds at most 3000 characters.
Id = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")]
ButtonLabel = Annotated[str, StringConstraints(min_length=1, max_length=75, strip_whitespace=True)]
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


class Option(_Strict):
    id: Id
    label: ButtonLabel
    # 1.0 means the criterion is fully met; anything less is partial credit that only feeds
    # the finer score. Levels are decided by full credit alone.
    credit: Annotated[float, Field(ge=0.0, le=1.0)]
    # Adaptive questioning: choosing this option makes every higher level of the question's
    # category unreachable, so their questions are skipped.
    skips_higher_levels: bool = False


class Question(_Strict):
    id: Id
    category: Id
    level: Annotated[int, Field(ge=0, le=9)]
    text: Text
    why: Text
    options: Annotated[list[Option], Field(min_length=2, max_length=5)]
    advice: Text  # the concrete action for a team that has not fully met this criterion

    def option(self, option_id: str) -> Option | None:
        return next((o for o in self.options if o.id == option_id), None)

    @property
    def best_option(self) -> Option:
        return max(self.options, key=lambda o: o.credit)


class NextSteps(_Strict):
    category: Id
    level: Annotated[int, Field(ge=0, le=9)]  # steps for a category now at this level
    steps: Annotated[list[Text], Field(min_length=1, max_length=10)]


class Flow(_Strict):
    id: Id
    title: ShortText
    version: Annotated[str, StringConstraints(min_length=1, max_length=20)]
    description: LongText
    notice: Text | None = None  # shown with every result, e.g. how the content was derived
    sources: Annotated[list[Source], Field(min_length=1)]
    overall: OverallRule = OverallRule.LOWEST
    levels: Annotated[list[Level], Field(min_length=2)]
    categories: Annotated[list[Category], Field(min_length=1, max_length=10)]
    questions: Annotated[list[Question], Field(min_length=1, max_length=100)]
    next_steps: Annotated[list[NextSteps], Field(min_length=1)]

    # Derived once after validation: the engine looks questions up by id on every click.
    _by_id: dict[str, Question] = PrivateAttr(default_factory=dict)

    def model_post_init(self, _context: Any) -> None:
        self._by_id = {q.id: q for q in self.questions}

    @property
    def max_level(self) -> int:
        return self.levels[-1].number

    def level(self, number: int) -> Level:
        return self.levels[number]

    def question(self, question_id: str) -> Question | None:
        return self._by_id.get(question_id)

    def category(self, category_id: str) -> Category:
        return next(c for c in self.categories if c.id == category_id)

    def steps_for(self, category_id: str, level: int) -> list[str]:
        for block in self.next_steps:
            if block.category == category_id and block.level == level:
                return list(block.steps)
        return []


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
        option_ids = [o.id for o in question.options]
        dup_options = duplicates(option_ids)
        for oi, option in enumerate(question.options):
            if option.id in dup_options:
                problems.append(
                    (("questions", qi, "options", oi, "id"), f"duplicate option id '{option.id}'")
                )
            if option.skips_higher_levels and option.credit >= 1.0:
                problems.append(
                    (
                        ("questions", qi, "options", oi, "skips_higher_levels"),
                        "an option that fully meets its criterion cannot skip higher levels",
                    )
                )
        plain = [o.credit for o in question.options if not o.skips_higher_levels]
        for oi, option in enumerate(question.options):
            if option.skips_higher_levels and plain and option.credit > min(plain):
                # Otherwise a better answer could skip questions and so lower the finer score.
                problems.append(
                    (
                        ("questions", qi, "options", oi, "credit"),
                        "an option that skips higher levels must not earn more credit than one that does not",
                    )
                )
        if not any(o.credit >= 1.0 for o in question.options):
            problems.append((("questions", qi, "options"), "no option fully meets the criterion"))
        if all(o.credit >= 1.0 for o in question.options):
            problems.append(
                (("questions", qi, "options"), "every option meets the criterion; it decides nothing")
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
