"""Layout tests: they read the store from disk with their own code, never through ilabfs."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess

import blake3
import pytest

from conftest import blob_names, read_index


def _blake3_file(path) -> str:
    hasher = blake3.blake3()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def test_blobs_named_by_their_blake3(ilab, store_dir, model_pair):
    base, tuned = model_pair
    assert ilab("model", "add", str(base), "--name", "base").code == 0
    assert ilab("model", "add", str(tuned), "--name", "tuned", "--base", "base").code == 0

    names = blob_names(store_dir)
    assert names
    for name in names:
        path = store_dir / "blobs" / "blake3" / name
        assert len(name) == 64
        assert all(c in "0123456789abcdef" for c in name)
        assert _blake3_file(path) == name


@pytest.mark.skipif(shutil.which("b3sum") is None, reason="b3sum is not installed")
def test_b3sum_agrees_with_blob_names(ilab, store_dir, model_pair):
    assert ilab("model", "add", str(model_pair[0]), "--name", "base").code == 0
    folder = store_dir / "blobs" / "blake3"
    output = subprocess.run(["b3sum", *sorted(os.listdir(folder))], cwd=folder, capture_output=True, text=True, check=True)
    for line in output.stdout.splitlines():
        digest, name = line.split()
        assert digest == name


def test_blobs_are_read_only(ilab, store_dir, model_pair):
    assert ilab("model", "add", str(model_pair[0]), "--name", "base").code == 0
    for name in blob_names(store_dir):
        mode = os.lstat(store_dir / "blobs" / "blake3" / name).st_mode
        assert stat.S_ISREG(mode)
        assert not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH), oct(mode)


def test_marker_and_folders(ilab, store_dir, model_pair):
    assert ilab("model", "add", str(model_pair[0]), "--name", "base").code == 0
    marker = json.loads((store_dir / "ilabfs-layout").read_text())
    assert marker == {"ilabfsLayoutVersion": 2}
    for folder in ("blobs/blake3", "manifests", "staging", "locks"):
        assert (store_dir / folder).is_dir()
    assert os.listdir(store_dir / "staging") == []


def test_manifest_is_oci_with_titles(ilab, store_dir, model_pair):
    base = model_pair[0]
    assert ilab("model", "add", str(base), "--name", "base").code == 0
    index = read_index(store_dir)
    [(digest, entry)] = index["artifacts"].items()
    raw = (store_dir / "blobs" / "blake3" / digest).read_bytes()
    manifest = json.loads(raw)

    assert raw == json.dumps(manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert manifest["schemaVersion"] == 2
    assert manifest["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    assert manifest["artifactType"] == "application/vnd.ilabfs.model.v1"
    assert manifest["config"]["mediaType"] == "application/vnd.ilabfs.model.config.v1+json"
    titles = [layer["annotations"]["org.opencontainers.image.title"] for layer in manifest["layers"]]
    assert titles == sorted(os.listdir(base))
    for layer in manifest["layers"]:
        title = layer["annotations"]["org.opencontainers.image.title"]
        assert layer["digest"] == "blake3:" + _blake3_file(base / title)
        assert layer["size"] == (base / title).stat().st_size
        assert all(not key.startswith("org.opencontainers") or key.endswith(".title") for key in layer["annotations"])
    assert "created" not in raw.decode()
    assert entry["names"] == ["base:latest"]
    assert set(entry["blobs"]) >= {digest, manifest["config"]["digest"].split(":")[1]}


def test_config_document_records_dtype(ilab, store_dir, model_pair):
    assert ilab("model", "add", str(model_pair[0]), "--name", "base").code == 0
    [(digest, _)] = read_index(store_dir)["artifacts"].items()
    manifest = json.loads((store_dir / "blobs" / "blake3" / digest).read_bytes())
    config = json.loads((store_dir / "blobs" / "blake3" / manifest["config"]["digest"].split(":")[1]).read_bytes())
    assert config["kind"] == "model"
    assert config["dataType"] == "BF16"
    assert config["format"] == "safetensors"
    assert config["parameters"] > 0
