"""Deduplication between a base model and its checkpoint, and what deleting each frees."""

from __future__ import annotations

import os

from conftest import blob_names, read_index


def _du_blobs(store) -> int:
    folder = store / "blobs" / "blake3"
    return sum(os.lstat(folder / name).st_size for name in os.listdir(folder))


def test_checkpoint_adds_only_changed_shard(ilab, store_dir, model_pair):
    base, tuned = model_pair
    assert ilab("model", "add", str(base), "--name", "base").code == 0
    before = blob_names(store_dir)

    assert ilab("model", "add", str(tuned), "--name", "tuned", "--base", "base").code == 0
    added = blob_names(store_dir) - before

    changed = [name for name in os.listdir(tuned) if (tuned / name).read_bytes() != (base / name).read_bytes()]
    assert changed == ["model-00004-of-00004.safetensors"]
    index = read_index(store_dir)
    tuned_digest = next(d for d, e in index["artifacts"].items() if e["names"] == ["tuned:latest"])
    tuned_blobs = index["artifacts"][tuned_digest]["blobs"]
    # One changed shard, the checkpoint's config document and its manifest.
    assert len(added) == 3
    assert tuned_digest in added
    shard_size = (tuned / changed[0]).stat().st_size
    assert sorted(tuned_blobs[name] for name in added)[-1] == shard_size


def test_df_reports_dedup_saving(ilab, store_dir, model_pair):
    base, tuned = model_pair
    ilab("model", "add", str(base), "--name", "base")
    ilab("model", "add", str(tuned), "--name", "tuned", "--base", "base")
    figures = ilab("df", "--json").json()

    shared = sum((base / n).stat().st_size for n in os.listdir(base) if (base / n).read_bytes() == (tuned / n).read_bytes())
    assert figures["storedSize"] == _du_blobs(store_dir)
    assert figures["savedByDedup"] >= shared
    assert figures["reclaimable"] == 0
    assert figures["artifacts"] == 2


def test_list_total_matches_blobs_on_disk(ilab, store_dir, model_pair):
    base, tuned = model_pair
    ilab("model", "add", str(base), "--name", "base")
    ilab("model", "add", str(tuned), "--name", "tuned", "--base", "base")
    listing = ilab("model", "list", "--json").json()
    assert listing["total"]["storedSize"] == _du_blobs(store_dir)
    assert listing["total"]["count"] == 2


def test_delete_base_then_checkpoint_frees_everything(ilab, store_dir, model_pair):
    base, tuned = model_pair
    ilab("model", "add", str(base), "--name", "base")
    ilab("model", "add", str(tuned), "--name", "tuned", "--base", "base")
    shared = {
        name: (base / name).stat().st_size
        for name in os.listdir(base)
        if (base / name).read_bytes() == (tuned / name).read_bytes()
    }
    size_before = _du_blobs(store_dir)

    refused = ilab("model", "delete", "base")
    assert refused.code == 6
    assert "tuned:latest" in refused.err

    result = ilab("model", "delete", "base", "--force", "--json").json()
    base_only = (base / "model-00004-of-00004.safetensors").stat().st_size
    assert result["bytesFreed"] == size_before - _du_blobs(store_dir)
    # Only the base's own shard and its two JSON documents go; no shared byte is freed.
    assert base_only <= result["bytesFreed"] < base_only + 64 * 1024
    assert size_before - result["bytesFreed"] >= sum(shared.values())

    lineage = ilab("model", "list", "--json").json()["artifacts"][0]
    assert lineage["baseModel"]["missing"] is True

    assert ilab("model", "delete", "tuned").code == 0
    assert blob_names(store_dir) == set()
    assert read_index(store_dir)["artifacts"] == {}


def test_delete_dry_run_changes_nothing(ilab, store_dir, model_pair):
    ilab("model", "add", str(model_pair[0]), "--name", "base")
    before = blob_names(store_dir)
    plan = ilab("model", "delete", "base", "--dry-run", "--json").json()
    assert plan["dryRun"] is True
    assert plan["bytesToFree"] == _du_blobs(store_dir)
    assert blob_names(store_dir) == before
    assert ilab("model", "list", "-q").out.strip() != ""


def test_delete_one_tag_keeps_artifact(ilab, store_dir, model_pair):
    ilab("model", "add", str(model_pair[0]), "--name", "base:v1")
    ilab("model", "add", str(model_pair[0]), "--name", "base:v2")
    before = blob_names(store_dir)
    result = ilab("model", "delete", "base:v1")
    assert result.code == 0
    assert "Untagged base:v1" in result.out
    assert blob_names(store_dir) == before
    assert ilab("model", "list", "--json").json()["artifacts"][0]["names"] == ["base:v2"]


def test_gc_removes_only_unreferenced(ilab, store_dir, model_pair, tmp_path):
    ilab("model", "add", str(model_pair[0]), "--name", "base")
    stray = store_dir / "blobs" / "blake3" / ("0" * 64)
    stray.write_bytes(b"orphan")
    referenced = blob_names(store_dir) - {stray.name}

    dry = ilab("gc", "--dry-run", "--json").json()
    assert dry["blobs"] == 1
    assert stray.exists()
    done = ilab("gc", "--json").json()
    assert done["bytesFreed"] == 6
    assert blob_names(store_dir) == referenced
