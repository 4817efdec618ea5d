"""Block Kit checks: the limits Slack enforces on the blocks of a message or of a Home tab view.

The double runs every surface through ``block_kit_problems``. Each problem reads like one of Slack's
own ``response_metadata.messages``: what is wrong, then a JSON pointer to where it is. Limits are the
ones in /work/shared/reference/slack-platform.md and the Block Kit reference.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Literal

Surface = Literal["message", "home"]

MESSAGE_BLOCKS = 50
HOME_BLOCKS = 100
SECTION_TEXT = 3000
FIELDS = 10
FIELD_TEXT = 2000
HEADER_TEXT = 150
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
URL = 3000
ID = 255
ACTIONS_ELEMENTS = 25
CONTEXT_ELEMENTS = 10
CONTEXT_TEXT = 3000
SELECT_OPTIONS = 100
OVERFLOW_OPTIONS = 5
RADIO_OPTIONS = 10
OPTION_TEXT = 75
OPTION_VALUE = 150
PLACEHOLDER = 150
CONFIRM_TITLE = 100
CONFIRM_TEXT = 300
CONFIRM_BUTTON = 30
IMAGE_ALT = 2000
IMAGE_TITLE = 2000
PRIVATE_METADATA = 3000
# Slack answers msg_blocks_too_long near 13k characters of blocks; the margin keeps the app clear of it.
MESSAGE_BLOCKS_JSON = 12000
VIEW_BYTES = 250_000
# Problems that start with this are about size alone, which Slack reports with its own error code.
TOO_LONG = "msg_blocks_too_long"

STYLES = {"primary", "danger"}
TEXT_TYPES = {"plain_text", "mrkdwn"}


def block_kit_problems(
    payload: Any, surface: Surface = "message", *, require_text: bool = False
) -> list[str]:
    """Every way ``payload`` (a message body, or a Home tab view) breaks Slack's limits; empty when fine.

    ``require_text`` adds this project's rule that a message with blocks carries a non-empty ``text``
    fallback (for notifications and screen readers). Slack only warns about a missing one, so the
    double leaves it off.
    """
    checker = _Checker()
    if not isinstance(payload, dict):
        checker.add("", "must be an object")
    elif surface == "home":
        checker.home(payload)
    else:
        checker.message(payload, require_text)
    return checker.problems


def too_long_only(problems: list[str]) -> bool:
    """True when the only problem is the size of the blocks, which Slack names msg_blocks_too_long."""
    return bool(problems) and all(p.startswith(TOO_LONG) for p in problems)


def _one_of(value: Any, allowed: set[str]) -> bool:
    # A payload is untrusted JSON: a list where a string belongs must be a problem, not a TypeError.
    return isinstance(value, str) and value in allowed


class _Checker:
    def __init__(self) -> None:
        self.problems: list[str] = []
        self._blocks: dict[str, Callable[[dict[str, Any], str], None]] = {
            "section": self.section,
            "header": self.header,
            "actions": self.actions,
            "context": self.context,
            "divider": lambda block, where: None,
            "image": self.image_block,
        }

    def add(self, where: str, message: str) -> None:
        self.problems.append(f"{message} [json-pointer:{where or '/'}]")

    # -- surfaces -------------------------------------------------------------------------------

    def message(self, msg: dict[str, Any], require_text: bool) -> None:
        text = msg.get("text")
        if text is not None and not isinstance(text, str):
            self.add("/text", "must be a string")
        elif require_text and "blocks" in msg and not (text or "").strip():
            self.add("/text", "a message with blocks needs a text fallback")
        if "blocks" not in msg:
            return
        self.blocks(msg["blocks"], MESSAGE_BLOCKS)
        size = len(json.dumps(msg["blocks"], ensure_ascii=False))
        if size >= MESSAGE_BLOCKS_JSON:
            self.add(
                "/blocks", f"{TOO_LONG}: blocks are {size} characters of JSON, limit {MESSAGE_BLOCKS_JSON}"
            )

    def home(self, view: dict[str, Any]) -> None:
        if view.get("type") != "home":
            self.add("/type", "must be home")
        if "blocks" not in view:
            self.add("/blocks", "is required")
        else:
            self.blocks(view["blocks"], HOME_BLOCKS)
        self.string(view, "private_metadata", "", PRIVATE_METADATA, required=False)
        self.string(view, "callback_id", "", ID, required=False)
        self.string(view, "external_id", "", ID, required=False)
        size = len(json.dumps(view, ensure_ascii=False).encode())
        if size > VIEW_BYTES:
            self.add("/", f"view is {size} bytes of JSON, limit {VIEW_BYTES}")

    def blocks(self, blocks: Any, limit: int) -> None:
        if not isinstance(blocks, list):
            self.add("/blocks", "must be an array")
            return
        if len(blocks) > limit:
            self.add("/blocks", f"no more than {limit} items allowed")
        seen: set[str] = set()
        for n, block in enumerate(blocks):
            where = f"/blocks/{n}"
            if not isinstance(block, dict):
                self.add(where, "must be an object")
                continue
            block_id = self.string(block, "block_id", where, ID, required=False)
            if block_id is not None:
                if block_id in seen:
                    self.add(f"{where}/block_id", f"duplicate block_id {block_id!r}")
                seen.add(block_id)
            kind = block.get("type")
            check = self._blocks.get(kind) if isinstance(kind, str) else None
            if check is None:
                self.add(f"{where}/type", f"unsupported block type {block.get('type')!r}")
            else:
                check(block, where)

    # -- blocks ---------------------------------------------------------------------------------

    def section(self, block: dict[str, Any], where: str) -> None:
        if "text" not in block and "fields" not in block:
            self.add(where, "must provide either text or fields")
        if "text" in block:
            self.text(block["text"], f"{where}/text", SECTION_TEXT)
        if "fields" in block:
            fields = self.array(block["fields"], f"{where}/fields", FIELDS)
            for n, item in enumerate(fields):
                self.text(item, f"{where}/fields/{n}", FIELD_TEXT)
        if "accessory" in block:
            self.element(
                block["accessory"],
                f"{where}/accessory",
                {"button", "static_select", "conversations_select", "overflow", "radio_buttons", "image"},
            )

    def header(self, block: dict[str, Any], where: str) -> None:
        self.text(block.get("text"), f"{where}/text", HEADER_TEXT, plain=True)

    def actions(self, block: dict[str, Any], where: str) -> None:
        elements = self.array(block.get("elements"), f"{where}/elements", ACTIONS_ELEMENTS)
        action_ids: set[str] = set()
        for n, element in enumerate(elements):
            action_id = self.element(
                element,
                f"{where}/elements/{n}",
                {"button", "static_select", "conversations_select", "overflow", "radio_buttons"},
            )
            if action_id is not None:
                if action_id in action_ids:
                    self.add(f"{where}/elements/{n}/action_id", f"duplicate action_id {action_id!r}")
                action_ids.add(action_id)

    def context(self, block: dict[str, Any], where: str) -> None:
        elements = self.array(block.get("elements"), f"{where}/elements", CONTEXT_ELEMENTS)
        for n, element in enumerate(elements):
            if isinstance(element, dict) and element.get("type") == "image":
                self.image(element, f"{where}/elements/{n}")
            else:
                self.text(element, f"{where}/elements/{n}", CONTEXT_TEXT)

    def image_block(self, block: dict[str, Any], where: str) -> None:
        self.image(block, where)
        if "title" in block:
            self.text(block["title"], f"{where}/title", IMAGE_TITLE, plain=True)

    # -- elements -------------------------------------------------------------------------------

    def element(self, element: Any, where: str, allowed: set[str]) -> str | None:
        """Check an interactive element (or image); returns its action_id, if it has one."""
        if not isinstance(element, dict):
            self.add(where, "must be an object")
            return None
        kind = element.get("type")
        if not _one_of(kind, allowed):
            self.add(f"{where}/type", f"unsupported element type {kind!r}")
            return None
        if kind == "image":
            self.image(element, where)
            return None
        if kind == "button":
            self.text(element.get("text"), f"{where}/text", BUTTON_TEXT, plain=True)
            self.string(element, "value", where, BUTTON_VALUE, required=False)
            self.string(element, "url", where, URL, required=False)
            if "style" in element and not _one_of(element["style"], STYLES):
                self.add(f"{where}/style", f"must be one of {sorted(STYLES)}")
        elif kind == "static_select":
            self.select(element, where)
        elif kind == "conversations_select":
            self.conversations_select(element, where)
        else:
            limit = OVERFLOW_OPTIONS if kind == "overflow" else RADIO_OPTIONS
            options = self.array(element.get("options"), f"{where}/options", limit)
            self.options(options, f"{where}/options", plain=kind == "overflow")
        if "confirm" in element:
            self.confirm(element["confirm"], f"{where}/confirm")
        return self.string(element, "action_id", where, ID, required=False)

    def conversations_select(self, element: dict[str, Any], where: str) -> None:
        if "placeholder" in element:
            self.text(element["placeholder"], f"{where}/placeholder", PLACEHOLDER, plain=True)
        self.string(element, "initial_conversation", where, ID, required=False)
        if "options" in element or "option_groups" in element:
            self.add(where, "a conversations_select lists Slack's conversations; it takes no options")
        found = element.get("filter")
        if found is None:
            return
        if not isinstance(found, dict):
            self.add(f"{where}/filter", "must be an object")
            return
        unknown = set(found) - {"include", "exclude_external_shared_channels", "exclude_bot_users"}
        if unknown:
            self.add(f"{where}/filter", f"unknown fields {sorted(unknown)}")
        include = found.get("include", [])
        if (
            not isinstance(include, list)
            or not include
            or not set(include) <= {"im", "mpim", "private", "public"}
        ):
            self.add(f"{where}/filter/include", "must be a non-empty list of im, mpim, private, public")

    def select(self, element: dict[str, Any], where: str) -> None:
        if "placeholder" in element:
            self.text(element["placeholder"], f"{where}/placeholder", PLACEHOLDER, plain=True)
        if ("options" in element) == ("option_groups" in element):
            self.add(where, "must provide exactly one of options or option_groups")
            return
        values: list[Any] = []
        if "options" in element:
            options = self.array(element["options"], f"{where}/options", SELECT_OPTIONS)
            values = self.options(options, f"{where}/options", plain=True)
        else:
            groups = self.array(element["option_groups"], f"{where}/option_groups", SELECT_OPTIONS)
            for n, group in enumerate(groups):
                at = f"{where}/option_groups/{n}"
                if not isinstance(group, dict):
                    self.add(at, "must be an object")
                    continue
                self.text(group.get("label"), f"{at}/label", OPTION_TEXT, plain=True)
                options = self.array(group.get("options"), f"{at}/options", SELECT_OPTIONS)
                values += self.options(options, f"{at}/options", plain=True)
        initial = element.get("initial_option")
        if initial is not None and (not isinstance(initial, dict) or initial.get("value") not in values):
            self.add(f"{where}/initial_option", "must match one of the options")

    def options(self, options: list[Any], where: str, plain: bool) -> list[Any]:
        values: list[Any] = []
        for n, option in enumerate(options):
            at = f"{where}/{n}"
            if not isinstance(option, dict):
                self.add(at, "must be an object")
                continue
            self.text(option.get("text"), f"{at}/text", OPTION_TEXT, plain=plain)
            values.append(self.string(option, "value", at, OPTION_VALUE, required=True))
            if "description" in option:
                self.text(option["description"], f"{at}/description", OPTION_TEXT, plain=plain)
        return values

    def confirm(self, confirm: Any, where: str) -> None:
        if not isinstance(confirm, dict):
            self.add(where, "must be an object")
            return
        self.text(confirm.get("title"), f"{where}/title", CONFIRM_TITLE, plain=True)
        self.text(confirm.get("text"), f"{where}/text", CONFIRM_TEXT)
        self.text(confirm.get("confirm"), f"{where}/confirm", CONFIRM_BUTTON, plain=True)
        self.text(confirm.get("deny"), f"{where}/deny", CONFIRM_BUTTON, plain=True)
        if "style" in confirm and not _one_of(confirm["style"], STYLES):
            self.add(f"{where}/style", f"must be one of {sorted(STYLES)}")

    def image(self, image: dict[str, Any], where: str) -> None:
        if "slack_file" not in image:
            self.string(image, "image_url", where, URL, required=True)
        self.string(image, "alt_text", where, IMAGE_ALT, required=True)

    # -- composition objects and plain values ---------------------------------------------------

    def text(self, obj: Any, where: str, limit: int, plain: bool = False) -> None:
        if not isinstance(obj, dict):
            self.add(where, "must be a text object")
            return
        allowed = {"plain_text"} if plain else TEXT_TYPES
        if not _one_of(obj.get("type"), allowed):
            self.add(f"{where}/type", f"must be one of {sorted(allowed)}")
        text = obj.get("text")
        if not isinstance(text, str):
            self.add(f"{where}/text", "must be a string")
        elif not text.strip():
            self.add(f"{where}/text", "must be more than 0 characters")
        elif len(text) > limit:
            self.add(f"{where}/text", f"must be less than {limit + 1} characters (is {len(text)})")
        if "emoji" in obj and obj.get("type") != "plain_text":
            self.add(f"{where}/emoji", "only allowed on plain_text")

    def string(self, obj: dict[str, Any], key: str, where: str, limit: int, *, required: bool) -> str | None:
        if key not in obj:
            if required:
                self.add(f"{where}/{key}", "is required")
            return None
        value = obj[key]
        if not isinstance(value, str):
            self.add(f"{where}/{key}", "must be a string")
            return None
        if key.endswith("_id") and not value:
            self.add(f"{where}/{key}", "must be more than 0 characters")
        elif len(value) > limit:
            self.add(f"{where}/{key}", f"must be less than {limit + 1} characters (is {len(value)})")
        return str(value)

    def array(self, items: Any, where: str, limit: int) -> list[Any]:
        if not isinstance(items, list):
            self.add(where, "must be an array")
            return []
        if not items:
            self.add(where, "must have at least 1 item")
        elif len(items) > limit:
            self.add(where, f"no more than {limit} items allowed")
        return items
