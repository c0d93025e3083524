"""One test per kind of damage: fsck names it and the artifact it affects; --repair never deletes."""

from __future__ import annotations

import json
import os

import pytest

from conftest import read_index
from indexdb import execute, index_path


@pytest.fixture
def two_models(ilab, store_dir, model_pair):
    base, tuned = model_pair
    assert ilab("model", "add", str(base), "--name", "base").code == 0
    assert ilab("model", "add", str(tuned), "--name", "tuned", "--base", "base").code == 0
    index = read_index(store_dir)
    digests = {entry["names"][0]: digest for digest, entry in index["artifacts"].items()}
    return digests


def _blob(store, digest):
    return store / "blobs" / "blake3" / digest


def _layer(store, manifest_digest, title):
    manifest = json.loads(_blob(store, manifest_digest).read_bytes())
    for layer in manifest["layers"]:
        if layer["annotations"]["org.opencontainers.image.title"] == title:
            return layer["digest"].split(":")[1]
    raise KeyError(title)


def _damage(path, change):
    os.chmod(path, 0o644)
    change(path)
    os.chmod(path, 0o444)


def _flip(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def _fsck(ilab, *flags):
    result = ilab("fsck", "--json", *flags)
    return result.code, result.json()


def _codes(report):
    return {problem["code"] for problem in report["problems"] if problem["severity"] == "error"}


def test_clean_store_passes(ilab, two_models):
    code, report = _fsck(ilab)
    assert code == 0
    assert report["clean"] is True
    assert report["problems"] == []


def test_flipped_byte_reported_with_both_models(ilab, store_dir, two_models):
    shard = _layer(store_dir, two_models["base:latest"], "model-00001-of-00004.safetensors")
    _damage(_blob(store_dir, shard), _flip)
    code, report = _fsck(ilab)
    assert code == 8
    [problem] = [p for p in report["problems"] if p["severity"] == "error"]
    assert problem["code"] == "blob-digest"
    assert problem["subject"] == f"blake3:{shard}"
    assert any("base:latest" in label for label in problem["affects"])
    assert any("tuned:latest" in label for label in problem["affects"])


def test_truncated_blob_reported(ilab, store_dir, two_models):
    shard = _layer(store_dir, two_models["tuned:latest"], "model-00004-of-00004.safetensors")
    _damage(_blob(store_dir, shard), lambda p: os.truncate(p, 100))
    code, report = _fsck(ilab, "--fast")
    assert code == 8
    assert _codes(report) == {"blob-size"}
    [problem] = [p for p in report["problems"] if p["code"] == "blob-size"]
    assert problem["affects"] == [f"model {two_models['tuned:latest'][:12]} (tuned:latest)"]


def test_zeroed_blob_of_right_size_reported(ilab, store_dir, two_models):
    shard = _layer(store_dir, two_models["base:latest"], "model-00004-of-00004.safetensors")
    path = _blob(store_dir, shard)
    size = path.stat().st_size
    _damage(path, lambda p: p.write_bytes(b"\0" * size))
    fast_code, _ = _fsck(ilab, "--fast")
    code, report = _fsck(ilab)
    assert fast_code == 0
    assert code == 8
    assert _codes(report) == {"blob-digest"}


def test_missing_blob_reported(ilab, store_dir, two_models):
    shard = _layer(store_dir, two_models["base:latest"], "tokenizer.json")
    os.unlink(_blob(store_dir, shard))
    code, report = _fsck(ilab, "--fast")
    assert code == 8
    assert _codes(report) == {"blob-missing"}
    affected = {label for p in report["problems"] for label in p["affects"]}
    assert any("base:latest" in label for label in affected)
    assert any("tuned:latest" in label for label in affected)


def test_manifest_not_json_reported(ilab, store_dir, two_models):
    digest = two_models["tuned:latest"]
    _damage(_blob(store_dir, digest), lambda p: p.write_bytes(b"{not json"))
    code, report = _fsck(ilab, "--fast")
    assert code == 8
    assert "manifest-invalid" in _codes(report)
    [problem] = [p for p in report["problems"] if p["code"] == "manifest-invalid"]
    assert "not valid JSON" in problem["message"]
    assert "tuned:latest" in problem["affects"][0]


def test_name_pointing_at_missing_manifest(ilab, store_dir, two_models):
    os.unlink(_blob(store_dir, two_models["tuned:latest"]))
    code, report = _fsck(ilab, "--fast")
    assert code == 8
    assert "manifest-missing" in _codes(report)


def test_unreadable_index_reported(ilab, store_dir, two_models):
    index_path(store_dir).write_bytes(b"SQLite format 3\x00 but nothing after the header")
    code, report = _fsck(ilab, "--fast")
    assert code == 8
    [problem] = report["problems"]
    assert problem["code"] == "index-unreadable"
    assert "index.db" in problem["message"]


def test_garbage_alone_is_clean(ilab, store_dir, two_models):
    stray = _blob(store_dir, "0" * 64)
    stray.write_bytes(b"")
    stray.chmod(0o444)
    (store_dir / "staging" / "dead-ingest").mkdir()
    result = ilab("fsck", "--json", "--fast", env={"ILABFS_STAGING_GRACE": "0"})
    assert result.code == 0
    assert {p["code"] for p in result.json()["problems"]} == {"blob-unreferenced", "staging-stale"}


def test_repair_quarantines_without_deleting(ilab, store_dir, two_models):
    shard = _layer(store_dir, two_models["base:latest"], "model-00002-of-00004.safetensors")
    path = _blob(store_dir, shard)
    _damage(path, _flip)
    damaged = path.read_bytes()

    result = ilab("fsck", "--repair")
    assert result.code == 8
    assert "Add or pull again: model" in result.out
    assert not path.exists()
    [folder] = list((store_dir / "quarantine").iterdir())
    assert (folder / shard).read_bytes() == damaged

    again = ilab("fsck", "--json")
    assert {p["code"] for p in again.json()["problems"]} == {"blob-missing"}


def test_readd_after_repair_heals(ilab, store_dir, two_models, model_pair):
    shard = _layer(store_dir, two_models["base:latest"], "model-00002-of-00004.safetensors")
    _damage(_blob(store_dir, shard), _flip)
    ilab("fsck", "--repair")
    assert ilab("model", "add", str(model_pair[0]), "--name", "base").code == 0
    code, report = _fsck(ilab)
    assert code == 0


def test_hardlink_view_edit_detected(ilab, store_dir, two_models, tmp_path):
    """A user makes a hardlinked view file writable and edits it: fsck reports the blob."""
    view = tmp_path / "view"
    assert ilab("model", "path", "base", "--link", "hardlink", "--into", str(view)).code == 0
    target = view / "config.json"
    os.chmod(target, 0o644)
    with open(target, "r+b") as handle:
        handle.write(b"[")
    code, report = _fsck(ilab)
    assert code == 8
    assert "blob-digest" in _codes(report)
    assert "blob-writable" in {p["code"] for p in report["problems"]}


def test_listing_row_disagreement_found_and_rebuilt(ilab, store_dir, two_models):
    tuned = two_models["tuned:latest"]
    summary = read_index(store_dir)["artifacts"][tuned]["summary"]
    execute(store_dir, "UPDATE artifact SET summary = ?, size = size + 1 WHERE digest = ?", (json.dumps({**summary, "phase": "phase9"}), tuned))

    code, report = _fsck(ilab, "--fast")
    assert code == 8
    assert _codes(report) == {"index-mismatch"}

    result = ilab("fsck", "--fast", "--rebuild-index", "--json")
    assert result.code == 0
    assert result.json()["rebuild"]["refreshed"] == 1
    rebuilt = read_index(store_dir)["artifacts"][tuned]
    assert "phase" not in rebuilt["summary"]
    assert rebuilt["names"] == ["tuned:latest"]


def test_lost_index_recovered_from_manifests(ilab, store_dir, two_models):
    path = index_path(store_dir)
    path.write_text("{ truncated")
    result = ilab("fsck", "--fast", "--rebuild-index")
    assert result.code == 0, result.out + result.err
    assert "recovered without a name" in result.out
    rows = ilab("model", "list", "--json").json()["artifacts"]
    assert {row["digest"].split(":")[1] for row in rows} == set(two_models.values())
    assert all(row["names"] == [] for row in rows)
    [saved] = list((store_dir / "quarantine").glob("*/index.db"))
    assert saved.read_text() == "{ truncated"
