"""The SQLite index: conversion of version 1 stores, and disagreements that fsck and gc must catch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from conftest import blob_names, read_index
from indexdb import execute, index_path


def _populate(ilab, model_pair) -> None:
    base, tuned = model_pair
    assert ilab("model", "add", str(base), "--name", "base").code == 0
    assert ilab("model", "add", str(tuned), "--name", "tuned", "--base", "base").code == 0


def _make_version_1(store_dir) -> dict:
    """Turn the store back into layout version 1: the index as one JSON document."""
    artifacts = read_index(store_dir)["artifacts"]
    document = {"schemaVersion": 1, "artifacts": artifacts}
    (store_dir / "manifests" / "index.json").write_text(json.dumps(document, indent=1))
    index_path(store_dir).unlink()
    (store_dir / "ilabfs-layout").write_text('{"ilabfsLayoutVersion": 1}\n')
    return artifacts


def test_version_1_store_converted(ilab, store_dir, model_pair):
    _populate(ilab, model_pair)
    before = _make_version_1(store_dir)

    listing = ilab("model", "list", "--json")

    assert listing.code == 0, listing.err
    assert sorted(row["name"] for row in listing.json()["artifacts"]) == ["base:latest", "tuned:latest"]
    assert read_index(store_dir)["artifacts"] == before
    assert json.loads((store_dir / "ilabfs-layout").read_text()) == {"ilabfsLayoutVersion": 2}
    assert not (store_dir / "manifests" / "index.json").exists()
    assert ilab("fsck", "--fast").code == 0


def test_interrupted_conversion_runs_again(ilab, store_dir, model_pair):
    _populate(ilab, model_pair)
    before = _make_version_1(store_dir)
    # A conversion that wrote a database and died before the marker: the JSON
    # index is still the truth, and a stale database must not win.
    index_path(store_dir).write_bytes(b"")

    assert ilab("model", "list").code == 0
    assert read_index(store_dir)["artifacts"] == before


def test_unreadable_version_1_index(ilab, store_dir, model_pair):
    _populate(ilab, model_pair)
    _make_version_1(store_dir)
    (store_dir / "manifests" / "index.json").write_text('{"schemaVersion": 1, "artifacts": ')
    blobs = blob_names(store_dir)

    result = ilab("gc")

    assert result.code == 8
    assert "index.json" in result.err
    assert "Traceback" not in result.err
    assert json.loads((store_dir / "ilabfs-layout").read_text()) == {"ilabfsLayoutVersion": 1}
    assert blob_names(store_dir) == blobs


def test_missing_reference_row_found(ilab, store_dir, model_pair):
    _populate(ilab, model_pair)
    artifacts = read_index(store_dir)["artifacts"]
    tuned = next(digest for digest, entry in artifacts.items() if entry["names"] == ["tuned:latest"])
    manifest = json.loads((store_dir / "blobs" / "blake3" / tuned).read_bytes())
    only_in_tuned = next(
        layer["digest"].removeprefix("blake3:")
        for layer in manifest["layers"]
        if not any(layer["digest"].removeprefix("blake3:") in entry["blobs"] for digest, entry in artifacts.items() if digest != tuned)
    )
    execute(store_dir, "DELETE FROM reference WHERE blob = ?", (only_in_tuned,))

    fsck = ilab("fsck", "--fast", "--json")
    assert fsck.code == 8
    assert {problem["code"] for problem in fsck.json()["problems"]} == {"index-mismatch"}

    assert ilab("gc").code == 0
    assert only_in_tuned in blob_names(store_dir)

    assert ilab("fsck", "--fast", "--rebuild-index").code == 0
    assert only_in_tuned in read_index(store_dir)["artifacts"][tuned]["blobs"]
    assert ilab("fsck", "--fast").code == 0


def test_delete_reclaims_unshared_blobs(ilab, store_dir, model_pair):
    _populate(ilab, model_pair)
    artifacts = read_index(store_dir)["artifacts"]
    tuned = next(digest for digest, entry in artifacts.items() if entry["names"] == ["tuned:latest"])
    base_blobs = set(next(entry["blobs"] for digest, entry in artifacts.items() if digest != tuned))
    only_tuned = set(artifacts[tuned]["blobs"]) - base_blobs

    result = ilab("model", "delete", "tuned", "--json")

    assert result.code == 0, result.err
    assert result.json()["blobs"] == len(only_tuned)
    assert blob_names(store_dir) == base_blobs
    assert list(read_index(store_dir)["artifacts"]) == [digest for digest in artifacts if digest != tuned]


def test_hot_journal_rolled_back(ilab, store_dir, model_pair):
    """A writer killed inside a commit leaves a hot journal; the next reader restores the old state."""
    _populate(ilab, model_pair)
    before = read_index(store_dir)["artifacts"]
    path = index_path(store_dir)
    journal = path.with_name(path.name + "-journal")
    script = (
        "import os, sqlite3, sys\n"
        "db = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "db.execute('PRAGMA cache_size = 1')\n"
        "db.execute('BEGIN')\n"
        "db.execute('DELETE FROM reference')\n"
        "db.execute('DELETE FROM artifact')\n"
        "db.execute(\"INSERT INTO artifact (digest, kind, created, names, size, summary) VALUES (?, 'model', '2026-01-01T00:00:00Z', '[]', 0, '{}')\", ('0' * 64,))\n"
        # A tiny page cache makes SQLite spill changed pages into the file before the commit.
        "os._exit(9)\n"
    )
    subprocess.run([sys.executable, "-c", script, str(path)], check=False)
    assert journal.exists()
    assert os.path.getsize(journal) > 0

    listing = ilab("model", "list", "--json")
    assert listing.code == 0, listing.err
    assert read_index(store_dir)["artifacts"] == before


def test_busy_index_times_out_as_locked(ilab, store_dir, model_pair):
    _populate(ilab, model_pair)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys, time\n"
            "db = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
            "db.execute('BEGIN EXCLUSIVE')\n"
            "print('held', flush=True)\n"
            "time.sleep(30)\n",
            str(index_path(store_dir)),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline() == "held\n"
        result = ilab("model", "list", env={"ILABFS_LOCK_TIMEOUT": "1"})
    finally:
        holder.kill()
        holder.wait()

    assert result.code == 9
    assert "index.db" in result.err
    assert "ILABFS_LOCK_TIMEOUT" in result.err
    assert "Traceback" not in result.err


def test_version_1_marker_keeps_database(ilab, store_dir, model_pair):
    """A restored version 1 marker next to a version 2 index must not empty the store."""
    _populate(ilab, model_pair)
    before = read_index(store_dir)["artifacts"]
    (store_dir / "ilabfs-layout").write_text('{"ilabfsLayoutVersion": 1}\n')

    listing = ilab("model", "list", "--json")

    assert listing.code == 0, listing.err
    assert listing.json()["total"]["count"] == 2
    assert read_index(store_dir)["artifacts"] == before
    assert json.loads((store_dir / "ilabfs-layout").read_text()) == {"ilabfsLayoutVersion": 2}


def test_rebuild_keeps_readable_names(ilab, store_dir, model_pair):
    _populate(ilab, model_pair)
    execute(store_dir, "INSERT INTO reference (artifact, kind, blob, size) VALUES (999, 'model', ?, 5)", ("a" * 64,))

    rebuilt = ilab("fsck", "--fast", "--rebuild-index")

    assert rebuilt.code == 0, rebuilt.out + rebuilt.err
    names = sorted(name for entry in read_index(store_dir)["artifacts"].values() for name in entry["names"])
    assert names == ["base:latest", "tuned:latest"]
    assert ilab("fsck", "--fast").code == 0


def test_busy_gc_lock_defers_reclaim(ilab, store_dir, model_pair):
    _populate(ilab, model_pair)
    holder = subprocess.Popen(
        ["flock", "--shared", str(store_dir / "locks" / "gc.lock"), "sleep", "30"],
    )
    try:
        time.sleep(0.5)
        result = ilab("model", "delete", "tuned", env={"ILABFS_LOCK_TIMEOUT": "1"})
    finally:
        holder.kill()
        holder.wait()

    assert result.code == 0, result.err
    assert "for ilab gc to reclaim" in result.out
    assert [entry["names"] for entry in read_index(store_dir)["artifacts"].values()] == [["base:latest"]]
    assert "Removed 3 blobs" in ilab("gc").out


def test_duplicate_name_found_and_rebuilt(ilab, store_dir, model_pair):
    _populate(ilab, model_pair)
    execute(store_dir, "UPDATE artifact SET names = ? WHERE names = ?", ('["BASE:latest"]', '["tuned:latest"]'))

    fsck = ilab("fsck", "--fast", "--json")
    assert fsck.code == 8
    assert {problem["code"] for problem in fsck.json()["problems"]} == {"name-duplicate"}

    assert ilab("fsck", "--fast", "--rebuild-index").code == 0
    assert ilab("fsck", "--fast").code == 0


def test_algorithm_name_rejected(ilab, model_pair):
    result = ilab("model", "add", str(model_pair[0]), "--name", "blake3:9cdd9d29a5ad")

    assert result.code == 2
    assert "looks like a digest" in result.err


@pytest.mark.parametrize(
    "statement",
    [
        "DROP TABLE reference",
        "UPDATE artifact SET summary = json_set(summary, '$.files', 'ten')",
        "UPDATE artifact SET summary = '{\"files\": NaN}'",
    ],
)
def test_damaged_rows_give_exit_8(ilab, store_dir, model_pair, statement):
    _populate(ilab, model_pair)
    execute(store_dir, statement)

    result = ilab("model", "list")

    assert result.code == 8
    assert "Traceback" not in result.err
    assert result.err.count("\n") == 1
