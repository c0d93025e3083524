"""Damaged index or manifests: clear errors naming the file, and gc deletes nothing."""

from __future__ import annotations

import json
import os

import pytest

from conftest import blob_names, read_index
from indexdb import execute, index_path


@pytest.fixture
def populated(ilab, store_dir, model_pair):
    base, tuned = model_pair
    assert ilab("model", "add", str(base), "--name", "base").code == 0
    assert ilab("model", "add", str(tuned), "--name", "tuned", "--base", "base").code == 0
    stray = store_dir / "blobs" / "blake3" / ("f" * 64)
    stray.write_bytes(b"garbage")
    return read_index(store_dir)


def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


INDEX_DAMAGE = {
    "truncated": _truncate,
    "not sqlite": lambda path: path.write_text("<html>oops</html>"),
    "empty": lambda path: path.write_bytes(b""),
    "foreign database": lambda path: execute(path.parent.parent, "PRAGMA application_id = 0"),
    "unknown kind": lambda path: execute(path.parent.parent, "UPDATE artifact SET kind = 'bogus'"),
    "summary not json": lambda path: execute(path.parent.parent, "UPDATE artifact SET summary = '{'"),
}


@pytest.mark.parametrize("damage", sorted(INDEX_DAMAGE))
def test_damaged_index_stops_gc(ilab, store_dir, populated, damage):
    index = index_path(store_dir)
    INDEX_DAMAGE[damage](index)
    before = blob_names(store_dir)

    result = ilab("gc")
    assert result.code == 8
    assert str(index) in result.err
    assert "Traceback" not in result.err
    assert blob_names(store_dir) == before

    listing = ilab("model", "list")
    assert listing.code == 8
    assert "index.db" in listing.err


def test_unreadable_manifest_stops_gc(ilab, store_dir, populated):
    tuned = next(d for d, e in populated["artifacts"].items() if e["names"] == ["tuned:latest"])
    path = store_dir / "blobs" / "blake3" / tuned
    os.chmod(path, 0o644)
    path.write_bytes(b'{"schemaVersion": 2, "layers": "not a list"')
    before = blob_names(store_dir)

    result = ilab("gc")
    assert result.code == 8
    assert "gc stopped" in result.err
    assert tuned in result.err
    assert "nothing was deleted" in result.err
    assert blob_names(store_dir) == before


def test_manifest_of_wrong_schema_named(ilab, store_dir, populated):
    tuned = next(d for d, e in populated["artifacts"].items() if e["names"] == ["tuned:latest"])
    path = store_dir / "blobs" / "blake3" / tuned
    os.chmod(path, 0o644)
    path.write_text(json.dumps({"schemaVersion": 1, "mediaType": "text/plain"}))
    result = ilab("model", "inspect", "tuned")
    assert result.code == 8
    assert tuned in result.err
    assert "not an OCI image manifest" in result.err
