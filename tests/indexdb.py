"""Reading a store's index database with the sqlite3 module alone, for tests.

The tests check the index through this reader rather than through ilabfs, so
a bug in ilabfs's own reader cannot hide itself. The shape returned is the
one docs/format.md gives for each artifact row.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path


def index_path(store: Path) -> Path:
    return Path(store) / "manifests" / "index.db"


def read_index(store: Path) -> dict:
    """Return ``{"artifacts": {digest: {kind, created, names, size, blobs, summary}}}``; empty when there is no index."""
    path = index_path(store)
    if not path.exists():
        return {"artifacts": {}}
    # Read-write, like every SQLite reader that may find a hot journal left by a
    # killed writer: opening it rolls that write back, which read-only cannot.
    db = sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=30)
    try:
        artifacts = {}
        by_id = {}
        for id_, digest, kind, created, names, size, summary in db.execute("SELECT id, digest, kind, created, names, size, summary FROM artifact"):
            row = {"kind": kind, "created": created, "names": json.loads(names), "size": size, "blobs": {}, "summary": json.loads(summary)}
            artifacts[digest] = by_id[id_] = row
        for artifact, blob, size in db.execute("SELECT artifact, blob, size FROM reference"):
            by_id[artifact]["blobs"][blob] = size
    finally:
        db.close()
    return {"artifacts": artifacts}


def execute(store: Path, statement: str, parameters: tuple = ()) -> None:
    """Run one SQL statement on the index and commit it: tests use this to damage rows on purpose."""
    db = sqlite3.connect(index_path(store))
    try:
        db.execute(statement, parameters)
        db.commit()
    finally:
        db.close()
