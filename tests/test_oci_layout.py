"""OCI image layouts: export read by skopeo, skopeo copy to the registry and back, import with verification."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import make_writable, read_index
from conftest_registry import registry, requires_registry, run_ilab  # noqa: F401 - fixtures
from storecheck import check_store

SKOPEO = shutil.which("skopeo")
requires_skopeo = pytest.mark.skipif(SKOPEO is None, reason="skopeo is missing: apt-get install skopeo")


@pytest.fixture(scope="module")
def source(tmp_path_factory, model_pair) -> Path:
    root = tmp_path_factory.mktemp("layout-source") / "store"
    assert run_ilab(root, "model", "add", str(model_pair[0]), "--name", "granite-base:v1").code == 0
    yield root
    make_writable(root.parent)


def local_digest(store: Path) -> str:
    return "blake3:" + next(iter(read_index(store)["artifacts"]))


def skopeo(*args: str) -> subprocess.CompletedProcess:
    # An empty policy file name would make skopeo read /etc/containers/policy.json; accept everything here.
    return subprocess.run([SKOPEO, "--insecure-policy", *args], capture_output=True, text=True, timeout=120)


def export(store: Path, target: Path, tag: str = "v1") -> dict:
    result = run_ilab(store, "model", "export", "granite-base:v1", f"{target}:{tag}", "--json")
    assert result.code == 0, result.err
    return result.json()


def test_export_writes_standard_layout(tmp_path, source):
    exported = export(source, tmp_path / "layout")
    layout = tmp_path / "layout"
    assert json.loads((layout / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}
    index = json.loads((layout / "index.json").read_text())
    [entry] = index["manifests"]
    assert entry["annotations"]["org.opencontainers.image.ref.name"] == "v1"
    assert entry["digest"] == exported["digest"]
    for path in (layout / "blobs" / "sha256").iterdir():
        assert hashlib.sha256(path.read_bytes()).hexdigest() == path.name
    manifest = json.loads((layout / "blobs" / "sha256" / exported["digest"].split(":")[1]).read_bytes())
    assert manifest["artifactType"] == "application/vnd.ilabfs.model.v1"
    assert manifest["config"]["mediaType"] == "application/vnd.ilabfs.model.config.v1+json"

    again = export(source, tmp_path / "layout")
    assert again["digest"] == exported["digest"]
    assert again["blobsCopied"] == 0


@requires_skopeo
def test_skopeo_inspect_reads_export(tmp_path, source):
    exported = export(source, tmp_path / "layout", "v2")
    raw = skopeo("inspect", "--raw", f"oci:{tmp_path / 'layout'}:v2")
    assert raw.returncode == 0, raw.stderr
    assert "sha256:" + hashlib.sha256(raw.stdout.encode()).hexdigest() == exported["digest"]
    config = skopeo("inspect", "--config", "--raw", f"oci:{tmp_path / 'layout'}:v2")
    assert config.returncode == 0, config.stderr
    assert json.loads(config.stdout)["kind"] == "model"
    # skopeo's summary view describes container images only and rejects any other config type by name.
    summary = skopeo("inspect", f"oci:{tmp_path / 'layout'}:v2")
    assert summary.returncode == 0 or "application/vnd.ilabfs.model.config.v1+json" in summary.stderr


@requires_skopeo
@requires_registry
def test_skopeo_copy_then_pull_gives_original_digest(tmp_path, source, registry):
    export(source, tmp_path / "layout")
    repository = registry.repository("skopeo")
    copied = skopeo("copy", "--dest-tls-verify=false", f"oci:{tmp_path / 'layout'}:v1", f"docker://{registry.host}/{repository}:v1")
    assert copied.returncode == 0, copied.stderr
    pulled = run_ilab(tmp_path / "target", "model", "pull", f"{registry.host}/{repository}:v1", "--json")
    assert pulled.code == 0, pulled.err
    assert pulled.json()["digest"] == local_digest(source)


@requires_skopeo
@requires_registry
def test_import_skopeo_layout(tmp_path, source, registry):
    repository = registry.repository("skopeo")
    pushed = run_ilab(source, "model", "push", "granite-base:v1", f"{registry.host}/{repository}:v1")
    assert pushed.code == 0, pushed.err
    # The folder InstructLab's ilab model download fills with skopeo: ~/.cache/instructlab/oci/<name>.
    layout = tmp_path / "oci" / "granite-base"
    layout.mkdir(parents=True)
    copied = skopeo("copy", "--src-tls-verify=false", f"docker://{registry.host}/{repository}:v1", f"oci:{layout}")
    assert copied.returncode == 0, copied.stderr
    target = tmp_path / "target"
    imported = run_ilab(target, "model", "import", f"oci:{layout}", "--json")
    assert imported.code == 0, imported.err
    assert imported.json()["digest"] == local_digest(source)
    assert imported.json()["name"] == "granite-base:latest"
    assert check_store(target) == []


def test_import_rejects_damaged_blob(tmp_path, source):
    export(source, tmp_path / "layout")
    blobs = tmp_path / "layout" / "blobs" / "sha256"
    largest = max(blobs.iterdir(), key=lambda path: path.stat().st_size)
    data = bytearray(largest.read_bytes())
    data[len(data) // 2] ^= 0x01
    os.chmod(largest, 0o644)
    largest.write_bytes(bytes(data))
    target = tmp_path / "target"
    imported = run_ilab(target, "model", "import", f"oci:{tmp_path / 'layout'}:v1")
    assert imported.code == 7
    assert "hashing to sha256:" in imported.err
    assert not (target / "manifests" / "index.json").exists()


def test_import_needs_tag_when_layout_has_several(tmp_path, source):
    export(source, tmp_path / "layout", "a")
    export(source, tmp_path / "layout", "b")
    imported = run_ilab(tmp_path / "target", "model", "import", f"oci:{tmp_path / 'layout'}")
    assert imported.code == 2
    assert "contains 2 manifests" in imported.err
    assert "its tags are a, b" in imported.err
    chosen = run_ilab(tmp_path / "target", "model", "import", f"oci:{tmp_path / 'layout'}:b", "--name", "granite")
    assert chosen.code == 0, chosen.err


def test_export_refuses_unrelated_folder(tmp_path, source):
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "todo.txt").write_text("keep me")
    result = run_ilab(source, "model", "export", "granite-base:v1", str(folder))
    assert result.code == 2
    assert "neither empty nor an OCI layout" in result.err
