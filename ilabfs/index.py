"""The index: which manifests the store keeps, under which names, since when.

``manifests/index.json`` is the single root set of the store. It maps each
kept manifest digest to its kind, names (``name:tag``), creation time, the
blobs its manifest references and the summary row that listings print, so
listing, delete and gc never open a manifest per artifact. It is rewritten
whole, atomically, under ``locks/index.lock``.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .digest import is_hex_digest
from .errors import CorruptStoreError
from .fsutil import atomic_write
from .layout import Layout
from .locks import file_lock
from .manifest import KINDS

INDEX_SCHEMA_VERSION = 1


@dataclass
class Entry:
    """One kept artifact, keyed by its manifest digest (hex)."""

    digest: str
    kind: str
    created: str
    names: list[str] = field(default_factory=list)
    size: int = 0
    # Every blob the manifest reaches, the manifest itself included, with its size.
    blobs: dict[str, int] = field(default_factory=dict)
    summary: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {
            "kind": self.kind,
            "created": self.created,
            "names": sorted(self.names),
            "size": self.size,
            "blobs": dict(sorted(self.blobs.items())),
            "summary": self.summary,
        }


@dataclass
class Index:
    """The parsed index document."""

    entries: dict[str, Entry] = field(default_factory=dict)

    def of_kind(self, kind: str) -> list[Entry]:
        return [entry for entry in self.entries.values() if entry.kind == kind]

    def name_map(self, kind: str) -> dict[str, str]:
        """Return case-folded ``name:tag`` -> manifest digest for one kind."""
        names: dict[str, str] = {}
        for entry in self.entries.values():
            if entry.kind == kind:
                for name in entry.names:
                    names[name.casefold()] = entry.digest
        return names

    def referenced_blobs(self) -> set[str]:
        """Return every blob the kept artifacts reach: manifests, configs and files."""
        reached: set[str] = set()
        for entry in self.entries.values():
            reached.add(entry.digest)
            reached.update(entry.blobs)
        return reached

    def to_bytes(self) -> bytes:
        document = {
            "schemaVersion": INDEX_SCHEMA_VERSION,
            "artifacts": {digest: self.entries[digest].to_json() for digest in sorted(self.entries)},
        }
        return json.dumps(document, indent=1, sort_keys=True).encode() + b"\n"


def load_index(layout: Layout) -> Index:
    """Read the index; a missing index is an empty store, a damaged one an error."""
    path = layout.index
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return Index()
    return parse_index(data, path)


def parse_index(data: bytes, path: Path) -> Index:
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, ValueError) as error:
        _corrupt(path, f"not valid JSON ({error})")
    if not isinstance(document, dict) or type(document.get("schemaVersion")) is not int or document["schemaVersion"] != INDEX_SCHEMA_VERSION:
        _corrupt(path, f"schemaVersion is not {INDEX_SCHEMA_VERSION}")
    artifacts = document.get("artifacts")
    if not isinstance(artifacts, dict):
        _corrupt(path, "artifacts is not an object")
    index = Index()
    for digest, raw in artifacts.items():
        index.entries[digest] = _entry(digest, raw, path)
    return index


def _entry(digest: str, raw: object, path: Path) -> Entry:
    if not is_hex_digest(digest) or not isinstance(raw, dict):
        _corrupt(path, f"artifact {digest!r} is malformed")
    kind = raw.get("kind")
    names = raw.get("names")
    blobs = raw.get("blobs")
    if kind not in KINDS:
        _corrupt(path, f"artifact {digest} has unknown kind {kind!r}")
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        _corrupt(path, f"artifact {digest} has malformed names")
    if not isinstance(blobs, dict) or not all(is_hex_digest(b) and isinstance(n, int) and n >= 0 for b, n in blobs.items()):
        _corrupt(path, f"artifact {digest} has a malformed blob list")
    if type(raw.get("size")) is not int or not _is_timestamp(raw.get("created")):
        _corrupt(path, f"artifact {digest} has a malformed size or creation time")
    summary = raw.get("summary", {})
    if not isinstance(summary, dict):
        _corrupt(path, f"artifact {digest} has a malformed summary")
    for key in LINK_FIELDS:
        if key in summary and not (isinstance(summary[key], str) and is_hex_digest(summary[key])):
            _corrupt(path, f"artifact {digest} has a malformed {key} link {summary[key]!r}")
    return Entry(digest, kind, raw["created"], list(names), raw["size"], dict(blobs), summary)


# Summary fields that hold the manifest digest (hex) of another artifact.
LINK_FIELDS = ("base", "dataset", "subject", "teacher")


def _is_timestamp(value: object) -> bool:
    import datetime

    if not isinstance(value, str):
        return False
    try:
        datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _corrupt(path: Path, reason: str) -> None:
    raise CorruptStoreError(
        f"index {path} is unreadable: {reason}",
        hint="run ilab fsck; commands that change the store refuse to run until it is repaired",
        path=str(path),
    )


def save_index(layout: Layout, index: Index) -> None:
    atomic_write(layout.index, index.to_bytes())


@contextlib.contextmanager
def editing_index(layout: Layout, timeout: float | None = None) -> Iterator[Index]:
    """Hold the index lock, yield the current index, and save it if the block succeeds."""
    with file_lock(layout.locks / "index.lock", timeout=timeout):
        index = load_index(layout)
        yield index
        save_index(layout, index)
