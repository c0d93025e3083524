"""Edge cases found by trying to break the store as a new user would."""

from __future__ import annotations

import json
import os
import struct

import pytest

from conftest import blob_names
from ilabfs import hashing
from ilabfs.errors import InvalidInputError
from ilabfs.models import add_model
from ilabfs.store import Store
from ilabfs_cli.output import size
from indexdb import execute
from storecheck import check_store


def _tiny(folder, files=None):
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in (files or {"README.md": b"hello\n"}).items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return folder


def test_move_of_folder_holding_store_rejected(ilab, tmp_path):
    nest = _tiny(tmp_path / "nest", {"a.txt": b"a"})
    store = nest / ".store"
    result = ilab("--store", str(store), "model", "add", str(nest), "--name", "n", "--mode", "move")
    assert result.code == 2
    assert "the source contains the store" in result.err
    assert (nest / "a.txt").read_bytes() == b"a"


def test_add_from_inside_store_rejected(ilab, store_dir, model_pair):
    assert ilab("model", "add", str(model_pair[0]), "--name", "keep").code == 0
    before = blob_names(store_dir)
    result = ilab("model", "add", str(store_dir / "blobs" / "blake3"), "--name", "blobs", "--mode", "move")
    assert result.code == 2
    assert "inside the store" in result.err
    assert blob_names(store_dir) == before
    assert check_store(store_dir) == []


def test_file_replaced_after_hashing_rejected(tmp_path, monkeypatch):
    """A trainer replaces the file by rename between hashing and linking: nothing is published."""
    source = _tiny(tmp_path / "src", {"w.bin": b"A" * 4096})
    real_hash = hashing.hash_fd

    def hash_then_replace(fd, size, progress=None):
        digest = real_hash(fd, size, progress)
        replacement = tmp_path / "replacement"
        replacement.write_bytes(b"B" * 4096)
        os.rename(replacement, source / "w.bin")
        return digest

    monkeypatch.setattr("ilabfs.ingest.hash_fd", hash_then_replace)
    store = Store(tmp_path / "store")
    with pytest.raises(InvalidInputError) as caught:
        add_model(store, source, "r", mode="link")
    assert "changed while it was added" in str(caught.value)
    assert check_store(store.root) == []
    assert store.index().entries == {}


@pytest.mark.parametrize("mode", ["link", "move"])
def test_symlink_inside_source_in_link_modes(tmp_path, mode):
    source = _tiny(tmp_path / "syl", {"real.txt": b"12345678"})
    os.symlink("real.txt", source / "link.txt")
    store = Store(tmp_path / "store")
    result = add_model(store, source, "s", mode=mode)
    layers = {layer.title: layer.digest for layer in store.read_manifest(result.digest).layers}
    assert layers["link.txt"] == layers["real.txt"]
    assert check_store(store.root) == []


def test_move_removes_nested_empty_folders(tmp_path):
    source = _tiny(tmp_path / "mv", {"README.md": b"x", "sub/deep/f.txt": b"y"})
    add_model(Store(tmp_path / "store"), source, "mv", mode="move")
    assert not source.exists()


def test_dangling_symlink_rejected(ilab, tmp_path):
    source = _tiny(tmp_path / "dl")
    os.symlink("nothing", source / "dangling")
    result = ilab("model", "add", str(source), "--name", "dl")
    assert result.code == 2
    assert "dangling or loops" in result.err


def test_tool_metadata_folders_not_stored(tmp_path):
    source = _tiny(tmp_path / "repo", {"config.json": b"{}", ".git/objects/ab": b"x", ".cache/huggingface/download/x": b"y"})
    store = Store(tmp_path / "store")
    result = add_model(store, source, "repo")
    assert [layer.title for layer in store.read_manifest(result.digest).layers] == ["config.json"]


@pytest.mark.parametrize("bad", ["", "nl\n", "t:v1\n", "blake3:" + "a" * 64, "A" * 64])
def test_bad_names_rejected(ilab, tmp_path, bad):
    source = _tiny(tmp_path / "tiny")
    result = ilab("model", "add", str(source), "--name", bad)
    assert result.code == 2
    assert result.err.startswith("Error: ")
    assert "Traceback" not in result.err


@pytest.mark.parametrize("option", ["--phase", "--run"])
def test_control_characters_in_labels_rejected(ilab, tmp_path, option):
    source = _tiny(tmp_path / "tiny")
    result = ilab("model", "add", str(source), "--name", "t", option, "\x1b]0;pwned\x07")
    assert result.code == 2
    assert f"invalid {option}" in result.err


def _safetensors(folder, header, data):
    raw = json.dumps(header).encode() if not isinstance(header, bytes) else header
    _tiny(folder, {"model.safetensors": struct.pack("<Q", len(raw)) + raw + data})
    return folder


SAFETENSORS_CASES = {
    "overlap": ({"a": {"dtype": "U8", "shape": [8], "data_offsets": [0, 8]}, "b": {"dtype": "U8", "shape": [8], "data_offsets": [4, 12]}}, 12, "overlaps"),
    "gap": ({"a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]}, "b": {"dtype": "U8", "shape": [4], "data_offsets": [8, 12]}}, 12, "gap of 4 bytes"),
    "trailing": ({"a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]}}, 68, "cover 4 of the 68"),
    "metadata": ({"__metadata__": {"k": 1}, "a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]}}, 4, "object of strings"),
    "bool shape": ({"a": {"dtype": "U8", "shape": [True, 4], "data_offsets": [0, 4]}}, 4, "invalid shape"),
    "deep": (b"[" * 100000 + b"]" * 100000, 0, "not valid JSON"),
    "duplicate": (b'{"a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]}, "a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]}}', 4, "appears twice"),
    "nan": (b'{"a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]}, "__metadata__": {"x": NaN}}', 4, "NaN is not allowed"),
}


@pytest.mark.parametrize("case", sorted(SAFETENSORS_CASES))
def test_malformed_safetensors_rejected(ilab, tmp_path, case):
    header, data_size, reason = SAFETENSORS_CASES[case]
    folder = _safetensors(tmp_path / "st", header, b"\0" * data_size)
    result = ilab("model", "add", str(folder), "--name", "st")
    assert result.code == 2
    assert reason in result.err
    assert result.err.count("\n") == 1


def test_incomplete_view_rebuilt(ilab, store_dir, model_pair):
    assert ilab("model", "add", str(model_pair[0]), "--name", "base").code == 0
    view = ilab("model", "path", "base").out.strip()
    os.unlink(os.path.join(view, "tokenizer.json"))
    again = ilab("model", "path", "base")
    assert again.code == 0
    assert sorted(os.listdir(again.out.strip())) == sorted(os.listdir(model_pair[0]))


def test_view_with_missing_blob_is_corrupt(ilab, store_dir, tmp_path):
    source = _tiny(tmp_path / "tiny")
    assert ilab("model", "add", str(source), "--name", "t").code == 0
    shard = [f["digest"] for f in ilab("model", "inspect", "t", "--json").json()["fileList"]][0].split(":")[1]
    os.unlink(store_dir / "blobs" / "blake3" / shard)
    result = ilab("model", "path", "t")
    assert result.code == 8
    assert "README.md" in result.err
    assert "ilab fsck" in result.err


@pytest.mark.parametrize("marker", ['{"ilabfsLayoutVersion": [1]}', '{"ilabfsLayoutVersion": true}'])
def test_marker_of_wrong_type(ilab, store_dir, model_pair, marker):
    ilab("model", "add", str(model_pair[0]), "--name", "base")
    (store_dir / "ilabfs-layout").write_text(marker)
    result = ilab("model", "list")
    assert result.code == 10
    assert "Traceback" not in result.err


@pytest.mark.parametrize(
    "field,value", [("created", "yesterday"), ("size", "twelve"), ("summary", '{"base": ["x"]}'), ("names", '"base:latest"')]
)
def test_index_field_of_wrong_type(ilab, store_dir, model_pair, field, value):
    ilab("model", "add", str(model_pair[0]), "--name", "base")
    execute(store_dir, f"UPDATE artifact SET {field} = ?", (value,))
    result = ilab("model", "list")
    assert result.code == 8
    assert "index.db" in result.err


def test_gc_ignores_folder_in_blobs(ilab, store_dir, model_pair):
    ilab("model", "add", str(model_pair[0]), "--name", "base")
    (store_dir / "blobs" / "blake3" / ("a" * 64)).mkdir()
    assert ilab("gc").code == 0


def test_short_prefix_hint(ilab, store_dir, model_pair):
    ilab("model", "add", str(model_pair[0]), "--name", "base")
    result = ilab("model", "inspect", "abc")
    assert result.code == 3
    assert "at least 4 hex digits" in result.err
    upper = ilab("model", "list", "-q").out.strip()[:6].upper()
    assert ilab("model", "inspect", upper).code == 0


def test_size_rounding():
    assert size(1048575) == "1Mi"
    assert size(1023) == "1023B"
    assert size(28 * 1024**3) == "28Gi"
    assert size(1536) == "1.5Ki"


def test_digest_ref_with_non_hex_digits(ilab, store_dir, model_pair):
    ilab("model", "add", str(model_pair[0]), "--name", "base")

    result = ilab("model", "inspect", "blake3:zz")

    assert result.code == 2
    assert "invalid digest 'blake3:zz'" in result.err
