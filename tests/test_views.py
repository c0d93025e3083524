"""``ilab model path``: a folder a trainer can load, made by each link kind."""

from __future__ import annotations

import json
import os
import stat

import pytest

from conftest import make_model


@pytest.mark.parametrize("kind", ["hardlink", "symlink", "copy"])
def test_view_holds_original_files(ilab, store_dir, model_pair, kind, tmp_path):
    base = model_pair[0]
    assert ilab("model", "add", str(base), "--name", "base").code == 0
    target = tmp_path / f"view-{kind}"
    result = ilab("model", "path", "base", "--link", kind, "--into", str(target))
    assert result.code == 0, result.err
    assert result.out.strip() == str(target)

    assert sorted(os.listdir(target)) == sorted(os.listdir(base))
    for name in os.listdir(base):
        assert (target / name).read_bytes() == (base / name).read_bytes()
    if kind == "symlink":
        assert os.path.islink(target / "config.json")
    if kind == "hardlink":
        info = os.stat(target / "config.json")
        assert info.st_nlink >= 2
        assert not info.st_mode & stat.S_IWUSR
    # The view loads the way transformers reads a sharded checkpoint: index, then each shard header.
    weight_map = json.loads((target / "model.safetensors.index.json").read_text())["weight_map"]
    for shard in set(weight_map.values()):
        make_model.verify_safetensors(target / shard)


def test_default_view_is_reused(ilab, store_dir, model_pair):
    assert ilab("model", "add", str(model_pair[0]), "--name", "base").code == 0
    first = ilab("model", "path", "base").out.strip()
    second = ilab("model", "path", "base").out.strip()
    assert first == second
    assert first.startswith(str(store_dir))


def test_view_removed_with_model(ilab, store_dir, model_pair):
    assert ilab("model", "add", str(model_pair[0]), "--name", "base").code == 0
    folder = ilab("model", "path", "base").out.strip()
    assert os.path.isdir(folder)
    assert ilab("model", "delete", "base").code == 0
    assert not os.path.exists(folder)
    assert os.listdir(store_dir / "blobs" / "blake3") == []


def test_into_non_empty_folder_rejected(ilab, store_dir, model_pair, tmp_path):
    assert ilab("model", "add", str(model_pair[0]), "--name", "base").code == 0
    target = tmp_path / "busy"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    result = ilab("model", "path", "base", "--into", str(target))
    assert result.code == 5
    assert "is not empty" in result.err
    assert os.listdir(target) == ["keep.txt"]
