"""Documents for output: the effective config, its form with descriptions as comments, and its resolved form.

Precedence, lowest first: built-in defaults, the file, the environment, the
command line. Only ``storage.root`` has an environment variable
(``ILABFS_STORE``) and an option (``--store``) in ilabfs 0.1.0.
"""

from __future__ import annotations

import copy

from ruamel.yaml.comments import CommentedMap

from .comments import insert_in_order, set_end_of_line_comment
from .document import lookup, to_commented
from .keys import CURRENT_VERSION, children, key_for, section_for
from .loader import LoadedConfig, Override
from .paths import fill_placeholders
from .schema import Key

HEADER = (
    f"ilab configuration, format version {CURRENT_VERSION}.\n"
    "Each key has its description and default above it. Check the file with: ilab config validate"
)
UNKNOWN_COMMENT = "Unknown key: kept as it is, but not used by this version of ilab."


def default_value(key: Key) -> object:
    """Return the default of ``key`` with the data and cache folders filled in."""
    return to_commented(fill_placeholders(copy.deepcopy(key.default)))


def show_default(key: Key) -> str:
    value = fill_placeholders(key.default)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value == "":
        return "''"
    if isinstance(value, list):
        return "[]" if not value else repr(value)
    if isinstance(value, dict):
        return "{}" if not value else repr(value)
    return str(value)


def describe(key: Key) -> str:
    return f"{key.description}\nDefault: {show_default(key)}"


def effective_document(loaded: LoadedConfig, overrides: dict[str, Override]) -> CommentedMap:
    """Return the file's document, migrated, with defaults for missing keys and the overrides applied."""
    document = copy.deepcopy(loaded.document)
    _fill_defaults(document, "")
    for dotted, override in overrides.items():
        set_value(document, dotted, override.value, f"from {override.source}")
    return document


def _fill_defaults(mapping: CommentedMap, prefix: str) -> None:
    order = children(prefix)
    for name in order:
        dotted = f"{prefix}.{name}" if prefix else name
        if section_for(dotted) is not None:
            if mapping.get(name) is None:
                insert_in_order(mapping, name, CommentedMap(), order)
            if isinstance(mapping[name], CommentedMap):
                _fill_defaults(mapping[name], dotted)
        elif name not in mapping:
            insert_in_order(mapping, name, default_value(key_for(dotted)), order)


def set_value(document: CommentedMap, dotted: str, value: object, note: str | None = None) -> None:
    """Set ``dotted`` in a document whose sections exist, with an optional end-of-line note."""
    parent_path, _, name = dotted.rpartition(".")
    found, parent = lookup(document, parent_path) if parent_path else (True, document)
    if not found or not isinstance(parent, CommentedMap):
        return
    insert_in_order(parent, name, to_commented(value), children(parent_path))
    set_end_of_line_comment(parent, name, note)


def resolved_document(effective: CommentedMap, resolved: dict) -> CommentedMap:
    """Return ``effective`` with every resolved path and ref in place, each ref noted at its line."""
    document = copy.deepcopy(effective)
    for dotted, item in resolved.items():
        set_value(document, dotted, item.value, item.note)
    return document


def commented_document(document: CommentedMap, indent: int = 2, header: str | None = None) -> CommentedMap:
    """Return a copy of ``document`` with each key's description and default above it.

    The file's comment lines are replaced; comments at the end of a scalar's
    line, such as the note "from ILABFS_STORE", are kept.
    """
    result = commented_section(document, "", indent)
    if header:
        # The empty line keeps the header apart from the first section's description.
        result.yaml_set_start_comment(header + "\n\n")
    return result


def commented_section(mapping: CommentedMap, prefix: str, indent: int = 2) -> CommentedMap:
    """Return a copy of the section ``prefix`` with the descriptions of its keys, to print on its own."""
    return _copy_section(mapping, prefix, 0, indent, describe_keys=True)


def bare_section(mapping: CommentedMap) -> CommentedMap:
    """Return a copy of a section without the file's comment lines, to print on its own.

    Comment lines keep the indentation of their place in the file, so they
    would be misplaced in a section printed alone. Comments at the end of a
    scalar's line are kept.
    """
    return _copy_section(mapping, "", 0, 0, describe_keys=False)


def _copy_section(mapping: CommentedMap, prefix: str, level: int, indent: int, describe_keys: bool) -> CommentedMap:
    result = CommentedMap()
    for name, value in mapping.items():
        dotted = f"{prefix}.{name}" if prefix else str(name)
        section = section_for(dotted)
        key = key_for(dotted)
        if isinstance(value, CommentedMap):
            result[name] = _copy_section(value, dotted, level + 1, indent, describe_keys)
        else:
            result[name] = to_commented(value)
        if describe_keys:
            if section is not None and isinstance(value, dict):
                text = section.description
            else:
                text = describe(key) if key is not None else UNKNOWN_COMMENT
            result.yaml_set_comment_before_after_key(name, before=text, indent=level * indent)
        note = _end_of_line_note(mapping, name)
        if note:
            set_end_of_line_comment(result, name, note)
    return result


def _end_of_line_note(mapping: CommentedMap, name: object) -> str | None:
    """Return the comment at the end of a scalar key's line, such as a note that ``set_value`` put there."""
    if isinstance(mapping[name], (dict, list)):
        return None
    slot = mapping.ca.items.get(name)
    token = slot[2] if slot else None
    text = token.value.lstrip(" ") if token is not None else ""
    if not text.startswith("#"):
        return None
    return text.partition("\n")[0]


def default_document() -> CommentedMap:
    """Return the document that ``ilab config init`` writes: every key at its default, described."""
    document = CommentedMap()
    _fill_defaults(document, "")
    return commented_document(document, header=HEADER)
