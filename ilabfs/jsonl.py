"""Validation of training JSONL files in the shapes InstructLab writes.

Three record shapes are accepted, and a file may mix the first two (SDG 0.7
writes pretraining samples beside chat samples):

* chat messages: ``messages`` (a list of ``{role, content}`` with roles
  system, user, assistant), optional ``id`` (string), ``metadata`` (a JSON
  object encoded as a string) and ``unmask`` (boolean). Current SDG output.
* pretraining: ``messages`` holding one message of role ``pretraining``
  whose content carries inline ``<|user|>``/``<|assistant|>`` markers.
* legacy rows: ``system``, ``user`` and ``assistant`` strings, as the
  oldest ``train_<timestamp>.jsonl`` files have them.

Errors name the file, the line and the field.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .errors import InvalidInputError

CHAT_ROLES = ("system", "user", "assistant")
SHAPES = ("messages", "pretraining", "legacy")


@dataclass(frozen=True)
class JsonlInfo:
    """The record count and record shapes of one validated file."""

    records: int
    shapes: dict[str, int]


def validate_jsonl(path: Path, display: str | None = None) -> JsonlInfo:
    """Check every line of ``path``; raise InvalidInputError at the first bad record."""
    display = display or str(path)
    shapes: Counter[str] = Counter()
    records = 0
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            record = _parse_line(raw, display, number)
            shapes[_check_record(record, display, number)] += 1
            records += 1
    if records == 0:
        _fail(display, None, None, "the file holds no records")
    return JsonlInfo(records, dict(shapes))


def _parse_line(raw: bytes, display: str, number: int) -> dict:
    try:
        record = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as error:
        _fail(display, number, None, f"not valid JSON ({error})")
    except RecursionError:
        _fail(display, number, None, "not valid JSON (nested too deeply)")
    if not isinstance(record, dict):
        _fail(display, number, None, "the record is not a JSON object")
    return record


def _check_record(record: dict, display: str, number: int) -> str:
    if "messages" in record:
        return _check_messages_record(record, display, number)
    if all(key in record for key in CHAT_ROLES):
        for key in CHAT_ROLES:
            if not isinstance(record[key], str):
                _fail(display, number, key, f"expected a string, got {type(record[key]).__name__}")
        return "legacy"
    _fail(display, number, "messages", "missing: a record needs 'messages', or 'system', 'user' and 'assistant'")
    return ""


def _check_messages_record(record: dict, display: str, number: int) -> str:
    messages = record["messages"]
    if not isinstance(messages, list) or not messages:
        _fail(display, number, "messages", "expected a non-empty list of {role, content} objects")
    roles = []
    for position, message in enumerate(messages):
        field = f"messages[{position}]"
        if not isinstance(message, dict):
            _fail(display, number, field, "expected an object with 'role' and 'content'")
        role = message.get("role")
        if role not in (*CHAT_ROLES, "pretraining"):
            _fail(display, number, f"{field}.role", f"{role!r} is not one of system, user, assistant, pretraining")
        if not isinstance(message.get("content"), str):
            _fail(display, number, f"{field}.content", "expected a string")
        roles.append(role)
    if "pretraining" in roles and len(roles) != 1:
        _fail(display, number, "messages", "a pretraining record holds exactly one message")
    _check_optional(record, display, number)
    return "pretraining" if roles == ["pretraining"] else "messages"


def _check_optional(record: dict, display: str, number: int) -> None:
    if "id" in record and not isinstance(record["id"], str):
        _fail(display, number, "id", "expected a string")
    if "unmask" in record and not isinstance(record["unmask"], bool):
        _fail(display, number, "unmask", f"expected true or false, got {record['unmask']!r}")
    if "metadata" in record:
        metadata = record["metadata"]
        if not isinstance(metadata, str):
            _fail(display, number, "metadata", "expected a JSON object encoded as a string")
        try:
            decoded = json.loads(metadata)
        except ValueError:
            decoded = None
        if not isinstance(decoded, dict):
            _fail(display, number, "metadata", "the string does not hold a JSON object")


def _fail(display: str, line: int | None, field: str | None, reason: str) -> None:
    where = display if line is None else f"{display} line {line}"
    if field:
        where += f", field {field!r}"
    raise InvalidInputError(
        f"invalid dataset record in {where}: {reason}",
        hint="fix or regenerate the file; nothing was added",
        path=display,
        line=line,
        field=field,
    )
