"""Hostile file names and planted symlinks never make ilabfs write outside its folders."""

from __future__ import annotations

import json
import os

import pytest

from ilabfs.errors import CorruptStoreError, InvalidInputError
from ilabfs.manifest import Layer, Manifest, parse_manifest
from ilabfs.titles import check_titles
from ilabfs.views import _fill, materialize

BAD_TITLES = ["../x", "/etc/passwd", "a/../../b", "a/./b", "nul\0byte", "tab\there", "line\nbreak", "back\\slash", "", "a//b", "a/"]


@pytest.mark.parametrize("title", BAD_TITLES)
def test_unsafe_titles_rejected(title):
    with pytest.raises(InvalidInputError):
        check_titles([title], "test")


def test_case_only_difference_rejected():
    with pytest.raises(InvalidInputError) as caught:
        check_titles(["Model.safetensors", "model.safetensors"], "test")
    assert "differ only in case" in str(caught.value)


def _manifest_with_title(title: str) -> bytes:
    layer = {"mediaType": "application/octet-stream", "digest": "blake3:" + "a" * 64, "size": 1,
             "annotations": {"org.opencontainers.image.title": title}}
    return json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": "application/vnd.ilabfs.model.v1",
        "config": {"mediaType": "application/vnd.ilabfs.model.config.v1+json", "digest": "blake3:" + "b" * 64, "size": 2},
        "layers": [layer],
    }).encode()


@pytest.mark.parametrize("title", BAD_TITLES)
def test_manifest_with_unsafe_title_rejected(title):
    with pytest.raises(CorruptStoreError) as caught:
        parse_manifest(_manifest_with_title(title), "evil.json")
    assert "evil.json" in str(caught.value)


def test_materialize_rechecks_titles(tmp_path):
    """A manifest object built in memory with a bad title is refused before any file is made."""
    from ilabfs.layout import open_layout

    layout = open_layout(tmp_path / "store", create=True)
    manifest = Manifest("model", "b" * 64, 2, (Layer("../escape", "a" * 64, 1),), None, {})
    with pytest.raises(InvalidInputError):
        materialize(layout, manifest, "c" * 64, tmp_path / "view")
    assert not (tmp_path / "escape").exists()
    assert not (tmp_path / "view").exists()


def test_planted_symlink_not_followed(tmp_path):
    """A symlink planted in the folder being filled, where a subfolder of the artifact goes,
    must not redirect the write outside."""
    from ilabfs.layout import open_layout

    layout = open_layout(tmp_path / "store", create=True)
    blob = layout.blob("a" * 64)
    blob.write_bytes(b"x")
    outside = tmp_path / "outside"
    outside.mkdir()
    target = tmp_path / "target"
    target.mkdir()
    os.symlink(outside, target / "sub")
    manifest = Manifest("model", "b" * 64, 2, (Layer("sub/file.bin", "a" * 64, 1),), None, {})

    with pytest.raises(OSError):
        _fill(layout, manifest, target, ["copy"])
    assert os.listdir(outside) == []


def test_planted_file_symlink_not_followed(tmp_path):
    from ilabfs.layout import open_layout

    layout = open_layout(tmp_path / "store", create=True)
    layout.blob("a" * 64).write_bytes(b"x")
    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    target = tmp_path / "target"
    target.mkdir()
    os.symlink(victim, target / "file.bin")
    manifest = Manifest("model", "b" * 64, 2, (Layer("file.bin", "a" * 64, 1),), None, {})
    for kind in ("copy", "hardlink", "symlink"):
        with pytest.raises(InvalidInputError):
            _fill(layout, manifest, target, [kind])
    assert victim.read_text() == "keep"


def test_view_into_symlink_target_rejected(ilab, store_dir, model_pair, tmp_path):
    assert ilab("model", "add", str(model_pair[0]), "--name", "base").code == 0
    outside = tmp_path / "outside"
    outside.mkdir()
    link = tmp_path / "view"
    os.symlink(outside, link)
    result = ilab("model", "path", "base", "--into", str(link))
    assert os.listdir(outside) == []
    assert result.code == 2
    assert "is a symlink" in result.err


def test_source_names_differing_in_case_rejected(ilab, store_dir, fresh_pair):
    model = fresh_pair[0]
    (model / "Config.json").write_text("{}")
    result = ilab("model", "add", str(model), "--name", "m")
    assert result.code == 2
    assert "differ only in case" in result.err
