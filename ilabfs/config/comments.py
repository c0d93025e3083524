"""Changing a YAML document so that every comment stays next to the key it describes.

ruamel.yaml (checked with 0.18 and 0.19) mostly stores a comment line with
the entry above it: in the comment slot of that entry's last key (the deepest
one when the entry is a mapping), or of the last item of a block sequence.
Inserting or removing a key naively therefore moves comment lines to the
wrong key. The functions here move those lines along, so that a line above a
key stays above it. They use ruamel.yaml's comment slots (``ca.items``)
directly, because its public comment API only adds comments.
"""

from __future__ import annotations

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark
from ruamel.yaml.tokens import CommentToken


def insert_in_order(mapping: CommentedMap, key: str, value: object, order: list[str]) -> None:
    """Set ``key``; a new key goes right after the last existing key that ``order`` puts before it.

    The file's own order is kept: keys are placed among it, never sorted.
    """
    if key in mapping:
        mapping[key] = value
        return
    rank = order.index(key) if key in order else len(order)
    position = 0
    for index, existing in enumerate(mapping):
        if existing in order and order.index(existing) < rank:
            position = index + 1
    insert_entry(mapping, position, key, value)


def _trailing_slot(mapping: CommentedMap, key: object) -> tuple[object, object, int]:
    """Return the container, slot key and slot index that hold the comment lines after entry ``key``."""
    value = mapping[key]
    if isinstance(value, CommentedMap) and len(value):
        return _trailing_slot(value, list(value)[-1])
    if isinstance(value, CommentedSeq) and len(value) and not value.fa.flow_style():
        last = len(value) - 1
        if isinstance(value[last], CommentedMap) and len(value[last]):
            return _trailing_slot(value[last], list(value[last])[-1])
        return value, last, 0
    return mapping, key, 2


def _detach_lines(mapping: CommentedMap, key: object) -> str | None:
    """Remove the full comment lines after entry ``key`` and return them; its end-of-line comment stays."""
    container, slot_key, index = _trailing_slot(mapping, key)
    slot = container.ca.items.get(slot_key)
    if not slot or slot[index] is None:
        return None
    token = slot[index]
    head, newline, tail = token.value.partition("\n")
    if not tail:
        return None
    token.value = head + newline
    return tail


def _attach_lines(mapping: CommentedMap, key: object, lines: str | None) -> None:
    if not lines:
        return
    container, slot_key, index = _trailing_slot(mapping, key)
    size = 4 if isinstance(container, CommentedMap) else 2
    slot = container.ca.items.setdefault(slot_key, [None] * size)
    token = slot[index]
    if token is None:
        slot[index] = CommentToken("\n" + lines, CommentMark(0), None)
    elif token.value.endswith("\n"):
        token.value += lines
    else:
        token.value += "\n" + lines


def insert_entry(mapping: CommentedMap, position: int, key: object, value: object) -> None:
    """Insert ``key`` at ``position``; comment lines that stood above the next key stay above it."""
    keys = list(mapping)
    lines = _detach_lines(mapping, keys[position - 1]) if 0 < position <= len(keys) else None
    mapping.insert(position, key, value)
    _attach_lines(mapping, key, lines)


def replace_entry(mapping: CommentedMap, old: object, new: object, value: object) -> None:
    """Put ``new: value`` where ``old`` was, with old's comments: those above it, on its line and below it."""
    position = list(mapping).index(old)
    slot = mapping.ca.items.pop(old, None)
    del mapping[old]
    mapping.insert(position, new, value)
    if not slot:
        return
    if slot[1]:
        mapping.ca.items.setdefault(new, [None, None, None, None])[1] = slot[1]
    if slot[2] is not None:
        container, slot_key, index = _trailing_slot(mapping, new)
        size = 4 if isinstance(container, CommentedMap) else 2
        container.ca.items.setdefault(slot_key, [None] * size)[index] = slot[2]


def remove_entry(mapping: CommentedMap, key: object) -> str | None:
    """Remove ``key`` and return its end-of-line comment; the comment lines above and below it stay in place."""
    keys = list(mapping)
    position = keys.index(key)
    lines = _detach_lines(mapping, key) or ""
    slot = mapping.ca.items.pop(key, None) or [None, None, None, None]
    above = "".join(token.value for token in slot[1] or [])
    del mapping[key]

    kept = above + lines
    if kept and position > 0:
        _attach_lines(mapping, keys[position - 1], kept)
    elif kept and len(mapping):
        following = mapping.ca.items.setdefault(keys[1], [None, None, None, None])
        following[1] = [CommentToken(kept, CommentMark(0), None), *(following[1] or [])]

    token = slot[2]
    if token is None or token.value.startswith("\n"):
        return None
    return token.value.partition("\n")[0]


def set_end_of_line_comment(mapping: CommentedMap, key: object, comment: str | None) -> None:
    """Give ``key`` an end-of-line comment, keeping the comment lines below it."""
    if not comment:
        return
    value = mapping[key]
    nested = isinstance(value, (CommentedMap, CommentedSeq)) and len(value) > 0
    lines = None if nested else _detach_lines(mapping, key)
    mapping.yaml_add_eol_comment(comment, key)
    _attach_lines(mapping, key, lines)
