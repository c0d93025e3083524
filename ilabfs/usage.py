"""Space accounting: the store-wide ``df`` figures.

Everything here is computed from the index, loaded with its blob lists, and
one scan of ``blobs/``; no manifest is opened. Per-artifact exclusive bytes
come from the index's own queries (``OpenIndex.exclusive_bytes``).
"""

from __future__ import annotations

from dataclasses import dataclass

from .gc import list_blobs, mark, sweep
from .index import Index
from .layout import Layout


@dataclass(frozen=True)
class Usage:
    """The store-wide figures ``ilab df`` prints, in bytes."""

    artifacts: int
    logical: int  # every artifact's files, a file shared by two artifacts counted twice
    undeduplicated: int  # what the artifacts' blobs would take if nothing were shared
    stored: int  # every blob on disk
    referenced: int  # the blobs the index reaches, each counted once
    reclaimable: int  # the blobs gc would free now
    blob_count: int

    @property
    def saved(self) -> int:
        """Return the bytes deduplication saves."""
        return max(self.undeduplicated - self.referenced, 0)


def usage(layout: Layout, index: Index) -> Usage:
    present = list_blobs(layout)
    reached = mark(index.referenced_blobs(), ())
    return Usage(
        artifacts=len(index.entries),
        logical=sum(entry.size for entry in index.entries.values()),
        undeduplicated=sum(sum(entry.blob_list().values()) for entry in index.entries.values()),
        stored=sum(present.values()),
        referenced=sum(size for digest, size in present.items() if digest in reached),
        reclaimable=sum(size for _, size in sweep(present, reached)),
        blob_count=len(present),
    )
