"""Checking a config document against the schema, with the line of every problem.

Validation never stops at the first problem and never changes the document:
it returns every invalid value, and every key the schema does not know, so
that ``ilab config validate`` can list them all. Unknown keys are warnings,
because InstructLab ignores keys it does not know and a newer release may
use them.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from ruamel.yaml.comments import CommentedMap

from .document import line_of, to_plain
from .keys import children, key_for, section_for


@dataclass(frozen=True)
class Problem:
    """An invalid value, or a key the schema does not know, at a line of the file."""

    key: str
    message: str
    line: int | None = None
    value: object = None

    def describe(self, source: str) -> str:
        where = f"{source}:{self.line}" if self.line else source
        return f"{where}: {self.message}"


@dataclass
class Report:
    """The outcome of validation: errors, and unknown keys, which are only warnings."""

    problems: list[Problem] = field(default_factory=list)
    unknown: list[Problem] = field(default_factory=list)


def show_value(value: object) -> str:
    """Spell a value the way YAML would, so a message quotes what the file contains."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(str(value))
    return repr(to_plain(value))


def invalid_value(key: str, value: object, allowed: str, line: int | None) -> Problem:
    return Problem(key, f"invalid value {show_value(value)} for {key}: expected {allowed}", line, value)


def close_key(dotted: str, version: int) -> str | None:
    """Return the known key spelled most like ``dotted`` under the same parent, if any is close."""
    parent, _, name = dotted.rpartition(".")
    close = difflib.get_close_matches(name, children(parent, version), n=1)
    if not close:
        return None
    return f"{parent}.{close[0]}" if parent else close[0]


def unknown_key(key: str, line: int | None, version: int) -> Problem:
    message = f"unknown key {key} is kept but not used"
    suggestion = close_key(key, version)
    if suggestion:
        message += f" (did you mean {suggestion}?)"
    return Problem(key, message, line)


def validate(document: CommentedMap, version: int, origins: dict[str, int] | None = None) -> Report:
    """Check every key of ``document`` against the schema of ``version``.

    ``origins`` gives the line of keys that a migration created, which have no
    line of their own: the line of the key they came from.
    """
    report = Report()
    _check_mapping(document, "", version, origins or {}, None, report)
    return report


def _check_mapping(mapping: dict, prefix: str, version: int, origins: dict[str, int], parent_line: int | None, report: Report) -> None:
    for name in list(mapping):
        dotted = f"{prefix}.{name}" if prefix else str(name)
        line = line_of(mapping, name) or origins.get(dotted) or parent_line
        value = mapping[name]
        if dotted == "version":
            continue

        section = section_for(dotted, version)
        key = key_for(dotted, version)
        if section is not None:
            if isinstance(value, dict):
                _check_mapping(value, dotted, version, origins, line, report)
            elif value is not None:
                report.problems.append(invalid_value(dotted, value, f"a section (a mapping of keys such as {dotted}.{children(dotted, version)[0]})", line))
        elif key is not None:
            if not key.type.check(value):
                report.problems.append(invalid_value(dotted, value, key.type.allowed, line))
        else:
            report.unknown.append(unknown_key(dotted, line, version))
