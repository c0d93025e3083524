"""Converting a store of layout version 1 to the current version in place.

Version 1 kept the index as one JSON document, ``manifests/index.json``,
rewritten whole on every change. Version 2 keeps the same entries in the
SQLite database ``manifests/index.db``. Blobs, manifests, staging and views
are the same in both versions, so only the index is converted.

The steps are ordered so that a crash at any point leaves a store that the
next open converts again from the start: the database is written first, the
marker second, and the JSON index is removed last.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from .digest import is_hex_digest
from .errors import CorruptStoreError
from .index import Entry, Index, LINK_FIELDS, check_entry, load_index, save_index
from .layout import LAYOUT_VERSION, Layout, read_version, write_marker
from .locks import file_lock
from .manifest import KINDS

log = logging.getLogger(__name__)

V1_INDEX = "index.json"


def upgrade(layout: Layout) -> None:
    """Convert the store to the current layout version; a no-op when another process already did."""
    with file_lock(layout.locks / "index.lock"):
        if read_version(layout) == LAYOUT_VERSION:
            return
        path = layout.manifests / V1_INDEX
        if path.exists():
            index = _read_v1(path)
            save_index(layout, index)
        elif layout.index.exists():
            # A version 2 index under a version 1 marker: the marker was
            # restored or edited. The database is the only record of names,
            # so it is kept, and must be readable before the marker changes.
            index = load_index(layout)
        else:
            index = Index()
        write_marker(layout)
        path.unlink(missing_ok=True)
    log.info("converted the store at %s to layout version %d (%d artifacts)", layout.root, LAYOUT_VERSION, len(index.entries))


def _read_v1(path: Path) -> Index:
    try:
        document = json.loads(path.read_bytes())
    except (OSError, ValueError) as error:
        _unreadable(path, f"not valid JSON ({error})")
    if not isinstance(document, dict) or document.get("schemaVersion") != 1 or not isinstance(document.get("artifacts"), dict):
        _unreadable(path, "it is not a version 1 index")
    index = Index()
    for digest, raw in document["artifacts"].items():
        entry = _entry(path, digest, raw)
        # The same checks a version 2 reader makes, so that nothing converted is unreadable afterwards.
        check_entry(entry, path, strict_names=True)
        index.entries[digest] = entry
    for name, first, second in index.duplicate_names()[:1]:
        _unreadable(path, f"{second.kind} name {name!r} is on both {first.digest} and {second.digest}")
    return index


def _entry(path: Path, digest: str, raw: object) -> Entry:
    if not is_hex_digest(digest) or not isinstance(raw, dict) or raw.get("kind") not in KINDS:
        _unreadable(path, f"artifact {digest!r} is malformed")
    names, blobs, summary = raw.get("names"), raw.get("blobs"), raw.get("summary", {})
    well_formed = (
        isinstance(names, list)
        and all(isinstance(name, str) for name in names)
        and isinstance(blobs, dict)
        and all(is_hex_digest(blob) and type(size) is int and size >= 0 for blob, size in blobs.items())
        and type(raw.get("size")) is int
        and isinstance(raw.get("created"), str)
        and isinstance(summary, dict)
        and all(is_hex_digest(summary[key]) for key in LINK_FIELDS if isinstance(summary.get(key), str))
    )
    if not well_formed:
        _unreadable(path, f"artifact {digest} is malformed")
    return Entry(digest, raw["kind"], raw["created"], list(names), raw["size"], dict(blobs), summary)


def _unreadable(path: Path, reason: str) -> None:
    raise CorruptStoreError(
        f"cannot convert the version 1 index {path}: {reason}",
        hint="restore the file from a backup and open the store again; nothing was changed",
        path=str(path),
    )
