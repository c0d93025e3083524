"""Rebuilding the index from the manifests it names, or from every manifest when it is lost.

The index keeps, per artifact, a blob list, a size and a listing row that
are all derivable from the manifest and its config document; only names,
creation times and eval dates exist in the index alone.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from .errors import CorruptStoreError
from .gc import list_blobs
from .index import Entry, Index, check_entry, load_index, salvage_rows, save_index
from .layout import Layout
from .locks import file_lock
from .manifest import parse_config, parse_manifest
from .summary import summary_of

@dataclass(frozen=True)
class RebuildResult:
    """The outcome of ``rebuild_index``: entries rewritten, recovered and left as they were."""

    refreshed: int
    recovered: int
    unchanged: int
    broken: tuple[str, ...]
    saved_index: str | None


def rebuild_index(layout: Layout) -> RebuildResult:
    """Rewrite every index entry's blob list, size and listing row from its manifest and config.

    Names and creation times are kept. When the index cannot be read at all,
    it is moved to ``quarantine/`` and every manifest found among the blobs
    becomes an entry without a name, because names live only in the index.
    """
    with file_lock(layout.locks / "index.lock"):
        saved = None
        salvaged: dict[str, Entry] = {}
        try:
            index = load_index(layout, with_blobs=True)
        except CorruptStoreError:
            salvaged = salvage_rows(layout)
            saved = _quarantine_index(layout)
            index = Index()
        refreshed, unchanged, broken = _refresh_entries(layout, index)
        renamed = _drop_duplicate_names(index)
        # An entry both refreshed and renamed counts once.
        refreshed |= renamed
        unchanged -= renamed
        recovered = _recover_manifests(layout, index, salvaged) if saved else 0
        save_index(layout, index)
    return RebuildResult(len(refreshed), recovered, len(unchanged), tuple(broken), saved)


def _refresh_entries(layout: Layout, index: Index) -> tuple[set[str], set[str], list[str]]:
    """Rewrite each entry from its manifest; return the digests rewritten, those unchanged, and the broken ones."""
    refreshed: set[str] = set()
    unchanged: set[str] = set()
    broken = []
    for entry in index.entries.values():
        rebuilt = _entry_from_manifest(layout, entry.digest, entry)
        if rebuilt is None:
            broken.append(f"{entry.kind} {entry.digest[:12]} ({', '.join(entry.names) or '<none>'})")
            continue
        if (rebuilt.blobs, rebuilt.size, rebuilt.summary) == (entry.blobs, entry.size, entry.summary):
            unchanged.add(entry.digest)
            continue
        entry.blobs, entry.size, entry.summary = rebuilt.blobs, rebuilt.size, rebuilt.summary
        refreshed.add(entry.digest)
    return refreshed, unchanged, broken


def _drop_duplicate_names(index: Index) -> set[str]:
    """Keep each name of a kind on the artifact created first; return the digests of entries that lost one."""
    owners: set[tuple[str, str]] = set()
    changed: set[str] = set()
    for entry in sorted(index.entries.values(), key=lambda entry: (entry.created, entry.digest)):
        remaining = [name for name in entry.names if (entry.kind, name.casefold()) not in owners]
        owners.update((entry.kind, name.casefold()) for name in remaining)
        if remaining != entry.names:
            entry.names = remaining
            changed.add(entry.digest)
    return changed


def _entry_from_manifest(layout: Layout, digest: str, previous: Entry | None) -> Entry | None:
    from .store import utc_now

    try:
        data = layout.blob(digest).read_bytes()
        manifest = parse_manifest(data, str(layout.blob(digest)))
        config_path = layout.blob(manifest.config_digest)
        config = parse_config(config_path.read_bytes(), manifest.kind, str(config_path))
    except (OSError, CorruptStoreError):
        return None
    blobs = {layer.digest: layer.size for layer in manifest.layers}
    blobs[manifest.config_digest] = manifest.config_size
    blobs[digest] = len(data)
    return Entry(
        digest,
        manifest.kind,
        previous.created if previous else utc_now(),
        list(previous.names) if previous else [],
        manifest.size,
        blobs,
        summary_of(manifest, config, previous.summary if previous else None),
    )


def _recover_manifests(layout: Layout, index: Index, salvaged: dict[str, Entry]) -> int:
    """Add every blob that parses as an ilabfs manifest to the index.

    A manifest whose row could still be read from the damaged index gets that
    row's names and creation time back. Any other manifest is added without a
    name.
    """
    recovered = 0
    claimed: set[tuple[str, str]] = set()
    for digest, size in sorted(list_blobs(layout).items()):
        if digest in index.entries or size > MAX_MANIFEST_BYTES:
            continue
        try:
            head = layout.blob(digest).read_bytes()[:200]
        except OSError:
            continue
        if b"application/vnd.oci.image.manifest.v1+json" not in head and b'"artifactType"' not in head:
            continue
        previous = salvaged.get(digest)
        entry = _entry_from_manifest(layout, digest, previous) if previous else None
        if entry is None or not _is_listable(entry, layout):
            entry = _entry_from_manifest(layout, digest, None)
        if entry is not None:
            # Names stay unique per kind even when the damaged index repeated one.
            entry.names = [name for name in entry.names if (entry.kind, name.casefold()) not in claimed]
            claimed.update((entry.kind, name.casefold()) for name in entry.names)
            index.entries[digest] = entry
            recovered += 1
    return recovered


def _is_listable(entry: Entry, layout: Layout) -> bool:
    try:
        check_entry(entry, layout.index)
    except CorruptStoreError:
        return False
    return True


# Manifests hold one descriptor per file; even a dataset of many files stays far below this.
MAX_MANIFEST_BYTES = 16 << 20


def _quarantine_index(layout: Layout) -> str:
    """Move the unreadable index, and any journal of a crashed writer with it, aside."""
    folder = layout.quarantine / time.strftime("%Y%m%dT%H%M%S")
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / layout.index.name
    journal = layout.index.with_name(layout.index.name + "-journal")
    os.rename(layout.index, target)
    if journal.exists():
        os.rename(journal, folder / journal.name)
    return str(target)
