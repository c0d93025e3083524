"""The config file as a YAML document that keeps its comments, key order and quoting.

ruamel.yaml's round-trip mode loads mappings as ``CommentedMap``, which
remembers the comments around each key and the line each key was read from.
Writing an unchanged document back reproduces the file, except that
indentation is rewritten with one width per file (guessed from the file) and
every null is written the way most nulls of the file were: empty, or ``null``.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.representer import RoundTripRepresenter

from ..errors import ConfigError

# Long paths stay on one line; the default of 80 columns folds them onto the next one.
_WIDTH = 4096
_SPELLED_NULL = re.compile(r"^[^#\n]*:[ \t]+(?:null|Null|NULL|~)[ \t]*(?:#.*)?$", re.MULTILINE)


class ConfigSyntaxError(ConfigError):
    """The config file is not valid YAML, so nothing in it can be read."""


@dataclass(frozen=True)
class Style:
    """Writing style of a file: spaces per mapping level, offset of a sequence's dash, and spelling of null."""

    mapping: int = 2
    offset: int = 0
    explicit_null: bool = False

    @property
    def sequence(self) -> int:
        return max(self.mapping, self.offset + 2)


class _ExplicitNullRepresenter(RoundTripRepresenter):
    """Write null as ``null``; ruamel.yaml writes an empty value, as InstructLab does."""

    def represent_none(self, data: None) -> object:
        return self.represent_scalar("tag:yaml.org,2002:null", "null")


_ExplicitNullRepresenter.add_representer(type(None), _ExplicitNullRepresenter.represent_none)


def _yaml(style: Style = Style()) -> YAML:
    yaml = YAML(typ="rt")
    if style.explicit_null:
        yaml.Representer = _ExplicitNullRepresenter
    yaml.preserve_quotes = True
    yaml.width = _WIDTH
    yaml.indent(mapping=style.mapping, sequence=style.sequence, offset=style.offset)
    return yaml


def parse(text: str, source: str) -> tuple[CommentedMap, Style]:
    """Parse the text of a config file; a syntax error raises ConfigSyntaxError naming the file, line and column."""
    try:
        document = _yaml().load(text)
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        problem = error.problem or error.context or "syntax error"
        raise ConfigSyntaxError(
            f"{where}: invalid YAML: {problem}",
            hint="fix the file with ilab config edit",
            path=source,
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
        ) from None
    except YAMLError as error:
        raise ConfigSyntaxError(f"{source}: invalid YAML: {error}", hint="fix the file with ilab config edit", path=source) from None

    if document is None:
        document = CommentedMap()
    if not isinstance(document, CommentedMap):
        raise ConfigError(
            f"{source}:1: invalid config: the file contains a {_kind_of(document)}, not a mapping of sections",
            hint="fix the file with ilab config edit, or recreate it with ilab config init --force",
            path=source,
            line=1,
        )
    return document, guess_style(text, _count_nulls(document))


def _kind_of(value: object) -> str:
    if isinstance(value, list):
        return "list"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return "string" if isinstance(value, str) else type(value).__name__


def _count_nulls(node: object) -> int:
    if isinstance(node, dict):
        return sum(1 if value is None else _count_nulls(value) for value in node.values())
    if isinstance(node, list):
        return sum(_count_nulls(item) for item in node)
    return 0


def guess_style(text: str, nulls: int = 0) -> Style:
    """Guess how a YAML file is written: its indentation, and whether most of its ``nulls`` are spelled out.

    ruamel.yaml does not record how each null was written, so a file is
    written back with the spelling that most of its nulls had.
    """
    mapping = offset = None
    previous_indent, previous_opens = 0, False
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(line) - len(line.lstrip(" "))
        if previous_opens and indent > previous_indent:
            if stripped.startswith("- ") and offset is None:
                offset = indent - previous_indent
            elif not stripped.startswith("-") and mapping is None:
                mapping = indent - previous_indent
        elif previous_opens and stripped.startswith("- ") and indent == previous_indent and offset is None:
            offset = 0
        previous_indent, previous_opens = indent, stripped.endswith(":")
    spelled = len(_SPELLED_NULL.findall(text))
    return Style(mapping or 2, offset or 0, explicit_null=spelled * 2 > nulls)


def dump(document: CommentedMap, style: Style = Style()) -> str:
    stream = io.StringIO()
    _yaml(style).dump(document, stream)
    return stream.getvalue()


def dump_value(value: object) -> str:
    """Dump a mapping or sequence as a YAML block, without the trailing newline."""
    return dump(value).rstrip("\n")


def parse_scalar(text: str) -> object:
    """Read a value given on the command line the way YAML would read it in the file."""
    try:
        return _yaml().load(text)
    except YAMLError:
        return text


def lookup(document: CommentedMap, dotted: str) -> tuple[bool, object]:
    """Return whether ``dotted`` is in the document, and its value."""
    node: object = document
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


def line_of(mapping: object, key: object) -> int | None:
    """Return the 1-based line where ``key`` was read, or None for a key added in memory."""
    try:
        return mapping.lc.key(key)[0] + 1
    except (AttributeError, KeyError, TypeError):
        return None


def to_plain(value: object) -> object:
    """Return plain dicts, lists and scalars, for comparisons and JSON."""
    if isinstance(value, dict):
        return {str(key): to_plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [to_plain(item) for item in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    return value


def to_commented(value: object) -> object:
    """Return a copy built of CommentedMap and CommentedSeq without any comment, for fresh documents."""
    if isinstance(value, dict):
        return CommentedMap((key, to_commented(item)) for key, item in value.items())
    if isinstance(value, list):
        sequence = CommentedSeq(to_commented(item) for item in value)
        if not value:
            sequence.fa.set_flow_style()
        return sequence
    return value
