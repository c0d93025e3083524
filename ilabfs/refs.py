"""Parsing names and resolving refs to manifest digests.

A ref is one of: a full digest (``blake3:<hex>``), a unique prefix of four or
more hex digits (with or without ``blake3:``), ``NAME``, ``NAME:TAG`` or
``NAME@blake3:<hex>``. A bare ``NAME`` means ``NAME:latest``. Names are
compared case-folded, so ``Granite`` and ``granite`` cannot both exist.
"""

from __future__ import annotations

import re

from .digest import ALGORITHM, parse_digest, short_id
from .errors import AmbiguousRefError, InvalidInputError, NotFoundError
from .index import Entry, Index

DEFAULT_TAG = "latest"
MIN_PREFIX = 4
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")
_PREFIX = re.compile(r"^[0-9a-f]{4,64}$")
MAX_NAME = 255

_COMMANDS = {"model": "ilab model list", "dataset": "ilab data list", "eval": "ilab eval list"}


def split_name(text: str) -> tuple[str, str]:
    """Split ``NAME[:TAG]`` and check both parts; the tag defaults to ``latest``."""
    slash = text.rfind("/")
    colon = text.rfind(":")
    if colon > slash:
        name, tag = text[:colon], text[colon + 1 :]
    else:
        name, tag = text, DEFAULT_TAG
    # blake3:<hex> must stay a digest ref, so the algorithm name is no name.
    if parse_digest(text.strip().lower()) or re.fullmatch(r"[0-9a-fA-F]{64}", name) or name.lower() == ALGORITHM:
        raise InvalidInputError(f"name {text!r} looks like a digest", hint="choose a name that is not a digest", name=text)
    if not name or len(name) > MAX_NAME or not _NAME.fullmatch(name):
        raise InvalidInputError(
            f"invalid name {name!r}",
            hint="use letters, digits, '.', '_', '-' and '/' separators, starting with a letter or digit",
            name=name,
        )
    if not _TAG.fullmatch(tag):
        raise InvalidInputError(
            f"invalid tag {tag!r} in {text!r}",
            hint="a tag has 1 to 128 letters, digits, '.', '_' or '-', not starting with '.' or '-'",
            tag=tag,
        )
    return name, tag


def check_label(value: str | None, option: str) -> str | None:
    """Check a free-text field such as a phase or run: printable, one line, not empty."""
    if value is None:
        return None
    if not value.strip() or any(ord(ch) < 32 or ord(ch) == 127 for ch in value) or len(value) > 256:
        raise InvalidInputError(
            f"invalid {option} {value!r}",
            hint=f"{option} takes 1 to 256 printable characters on one line",
            value=value,
        )
    return value


def full_name(text: str) -> str:
    name, tag = split_name(text)
    return f"{name}:{tag}"


def resolve(index: Index, kind: str, ref: str) -> Entry:
    """Return the artifact of ``kind`` that ``ref`` names."""
    ref = ref.strip()
    if "@" in ref:
        return _resolve_pinned(index, kind, ref)
    full = parse_digest(ref)
    if full:
        return _by_digest(index, kind, full, ref)
    named = _by_name(index, kind, ref)
    if named:
        return named
    has_algorithm = ref.lower().startswith(f"{ALGORITHM}:")
    prefix = (ref[len(ALGORITHM) + 1 :] if has_algorithm else ref).lower()
    if _PREFIX.fullmatch(prefix):
        return _by_prefix(index, kind, prefix, ref)
    if has_algorithm and not re.fullmatch(r"[0-9a-f]+", prefix):
        raise InvalidInputError(
            f"invalid digest {ref!r}", hint=f"write {ALGORITHM}: and 4 to 64 hex digits, or a name", ref=ref
        )
    if re.fullmatch(r"[0-9a-fA-F]{1,3}", prefix):
        raise NotFoundError(
            f"{kind} {ref!r} not found",
            hint=f"no {kind} has that name, and a digest prefix needs at least 4 hex digits",
            ref=ref,
            kind=kind,
        )
    raise _not_found(kind, ref)


def _resolve_pinned(index: Index, kind: str, ref: str) -> Entry:
    name, _, digest_text = ref.partition("@")
    digest = parse_digest(digest_text)
    if digest is None:
        raise InvalidInputError(f"invalid digest {digest_text!r} in ref {ref!r}", hint="write NAME@blake3:<64 hex digits>", ref=ref)
    entry = _by_digest(index, kind, digest, ref)
    # NAME@digest matches any tag of NAME; NAME:TAG@digest matches that tag only.
    has_tag = name.rfind(":") > name.rfind("/")
    known = {(n if has_tag else n.rsplit(":", 1)[0]).casefold() for n in entry.names}
    if name.casefold() not in known:
        raise NotFoundError(
            f"{kind} {short_id(digest)} is not named {name!r}",
            hint=f"its names are {', '.join(entry.names) or 'none'}",
            ref=ref,
        )
    return entry


def _by_digest(index: Index, kind: str, digest: str, ref: str) -> Entry:
    entry = index.entries.get(digest)
    if entry is None or entry.kind != kind:
        raise _not_found(kind, ref)
    return entry


def _by_name(index: Index, kind: str, ref: str) -> Entry | None:
    try:
        name = full_name(ref)
    except InvalidInputError:
        return None
    digest = index.name_map(kind).get(name.casefold())
    return index.entries[digest] if digest else None


def _by_prefix(index: Index, kind: str, prefix: str, ref: str) -> Entry:
    matches = sorted(digest for digest, entry in index.entries.items() if entry.kind == kind and digest.startswith(prefix))
    if not matches:
        raise _not_found(kind, ref)
    if len(matches) > 1:
        raise AmbiguousRefError(ref, [_describe(index.entries[digest]) for digest in matches])
    return index.entries[matches[0]]


def _describe(entry: Entry) -> str:
    label = entry.names[0] if entry.names else "<none>"
    return f"{entry.digest[:16]} ({label})"


def _not_found(kind: str, ref: str) -> NotFoundError:
    return NotFoundError(
        f"{kind} {ref!r} not found",
        hint=f"run {_COMMANDS[kind]} to see what the store holds",
        ref=ref,
        kind=kind,
    )
