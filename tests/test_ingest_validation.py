"""Bad input is rejected with a clear error before anything is written."""

from __future__ import annotations

import json
import os
import socket
import struct

import pytest

from conftest import blob_names


def _snapshot(store):
    index = store / "manifests" / "index.json"
    return blob_names(store), index.read_bytes() if index.exists() else None


@pytest.fixture
def stored(ilab, store_dir, model_pair):
    assert ilab("model", "add", str(model_pair[0]), "--name", "base").code == 0
    return _snapshot(store_dir)


def _broken_copy(fresh_pair, mutate):
    model = fresh_pair[1]
    shard = model / "model-00004-of-00004.safetensors"
    mutate(shard)
    return model


def test_truncated_header_rejected(ilab, store_dir, stored, fresh_pair):
    model = _broken_copy(fresh_pair, lambda p: p.write_bytes(b"\x01\x02"))
    result = ilab("model", "add", str(model), "--name", "bad")
    assert result.code == 2
    assert "model-00004-of-00004.safetensors" in result.err
    assert "shorter than the 8-byte header length" in result.err
    assert "Traceback" not in result.err
    assert _snapshot(store_dir) == stored


def test_header_not_json_rejected(ilab, store_dir, stored, fresh_pair):
    model = _broken_copy(fresh_pair, lambda p: p.write_bytes(struct.pack("<Q", 4) + b"{{{{" + b"\0" * 16))
    result = ilab("model", "add", str(model), "--name", "bad")
    assert result.code == 2
    assert "header is not valid JSON" in result.err
    assert _snapshot(store_dir) == stored


def test_offsets_outside_file_rejected(ilab, store_dir, stored, fresh_pair):
    def mutate(path):
        header = json.dumps({"w": {"dtype": "BF16", "shape": [4], "data_offsets": [0, 8]}}).encode()
        path.write_bytes(struct.pack("<Q", len(header)) + header + b"\0\0")

    result = ilab("model", "add", str(_broken_copy(fresh_pair, mutate)), "--name", "bad")
    assert result.code == 2
    assert "outside the 2-byte data area" in result.err
    assert _snapshot(store_dir) == stored


def test_symlink_outside_rejected(ilab, store_dir, stored, fresh_pair, tmp_path):
    outside = tmp_path / "secret.txt"
    outside.write_text("x")
    model = fresh_pair[1]
    os.symlink(outside, model / "link.txt")
    result = ilab("model", "add", str(model), "--name", "bad")
    assert result.code == 2
    assert "points outside the source directory" in result.err
    assert _snapshot(store_dir) == stored


def test_symlink_inside_is_stored_as_file(ilab, store_dir, fresh_pair):
    model = fresh_pair[0]
    os.symlink("config.json", model / "config-copy.json")
    assert ilab("model", "add", str(model), "--name", "ok").code == 0
    files = {f["path"] for f in ilab("model", "inspect", "ok", "--json").json()["fileList"]}
    assert "config-copy.json" in files


def test_fifo_rejected(ilab, store_dir, stored, fresh_pair):
    model = fresh_pair[1]
    os.mkfifo(model / "pipe")
    result = ilab("model", "add", str(model), "--name", "bad")
    assert result.code == 2
    assert "is a FIFO" in result.err
    assert _snapshot(store_dir) == stored


def test_socket_rejected(ilab, store_dir, stored, fresh_pair):
    model = fresh_pair[1]
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(model / "sock"))
        result = ilab("model", "add", str(model), "--name", "bad")
    finally:
        server.close()
    assert result.code == 2
    assert "is a socket" in result.err
    assert _snapshot(store_dir) == stored


def test_unknown_base_fails_before_copy(ilab, store_dir, stored, model_pair):
    result = ilab("model", "add", str(model_pair[1]), "--name", "t", "--base", "nope")
    assert result.code == 3
    assert result.err.strip() == "Error: model 'nope' not found; run ilab model list to see what the store holds"
    assert _snapshot(store_dir) == stored


def test_missing_source(ilab, tmp_path):
    result = ilab("model", "add", str(tmp_path / "none"), "--name", "x")
    assert result.code == 3
    assert "does not exist" in result.err


def test_name_taken_by_other_model(ilab, store_dir, stored, model_pair):
    result = ilab("model", "add", str(model_pair[1]), "--name", "base")
    assert result.code == 5
    assert "already points at" in result.err
    assert "--force" in result.err
