"""Adopting models from a Hugging Face hub cache laid out as huggingface_hub writes it."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from conftest import make_writable, read_index
from conftest_registry import registry, requires_registry, run_ilab  # noqa: F401 - fixtures

COMMIT = "0123456789abcdef0123456789abcdef01234567"
OTHER_COMMIT = "fedcba9876543210fedcba9876543210fedcba98"
REPO = "ibm-granite/granite-test"


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def write_cache(hub: Path, model: Path, commit: str = COMMIT, repo: str = REPO) -> Path:
    """Lay out ``model`` as huggingface_hub caches it: blobs by hash, snapshot symlinks, refs/main."""
    folder = hub / f"models--{repo.replace('/', '--')}"
    (folder / "blobs").mkdir(parents=True, exist_ok=True)
    (folder / "refs").mkdir(exist_ok=True)
    snapshot = folder / "snapshots" / commit
    for path in sorted(model.rglob("*")):
        if not path.is_file():
            continue
        data = path.read_bytes()
        name = hashlib.sha256(data).hexdigest() if path.suffix == ".safetensors" else git_blob_sha1(data)
        blob = folder / "blobs" / name
        if not blob.exists():
            blob.write_bytes(data)
        title = path.relative_to(model)
        link = snapshot / title
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(os.path.relpath(blob, link.parent), link)
    (folder / "refs" / "main").write_text(commit)
    return folder


@pytest.fixture
def hub(tmp_path, model_pair) -> Path:
    hub = tmp_path / "hub"
    write_cache(hub, model_pair[0])
    yield hub
    make_writable(tmp_path)


def config_of(store: Path, digest: str) -> dict:
    manifest = json.loads((store / "blobs" / "blake3" / digest).read_bytes())
    config = manifest["config"]["digest"].split(":")[1]
    return json.loads((store / "blobs" / "blake3" / config).read_bytes())


def test_import_links_cache_blobs(tmp_path, hub):
    store = tmp_path / "store"
    result = run_ilab(store, "model", "import", f"hf-cache:{REPO}", env={"HF_HUB_CACHE": str(hub)})
    assert result.code == 0, result.err
    assert result.out.startswith(f"Imported {REPO}@{COMMIT[:12]} as granite-test:latest")
    assert "now read-only" in result.out

    [digest] = read_index(store)["artifacts"]
    config = config_of(store, digest)
    assert config["source"] == {"hub": "huggingface", "repo": REPO, "commit": COMMIT}
    assert config["format"] == "safetensors"
    blobs = hub / f"models--{REPO.replace('/', '--')}" / "blobs"
    for blob in blobs.iterdir():
        info = blob.stat()
        assert info.st_nlink >= 2
        assert oct(info.st_mode & 0o777) == "0o444"


def test_import_by_hf_home_and_commit(tmp_path, hub, model_pair):
    home = tmp_path / "hf-home"
    home.mkdir()
    hub.rename(home / "hub")
    store = tmp_path / "store"
    result = run_ilab(store, "model", "import", f"hf-cache:{REPO}@{COMMIT}", "--name", "granite:main", "--mode", "copy", "--json",
                      env={"HF_HOME": str(home), "HF_HUB_CACHE": ""})
    assert result.code == 0, result.err
    assert result.json()["commit"] == COMMIT
    files = sum(1 for path in model_pair[0].rglob("*") if path.is_file())
    assert result.json()["linkKinds"] == {"copy": files}
    blob = next((home / "hub" / f"models--{REPO.replace('/', '--')}" / "blobs").iterdir())
    assert blob.stat().st_nlink == 1


def test_unknown_revision_lists_refs(tmp_path, hub):
    result = run_ilab(tmp_path / "store", "model", "import", f"hf-cache:{REPO}@v9", env={"HF_HUB_CACHE": str(hub)})
    assert result.code == 3
    assert "revision 'v9'" in result.err
    assert "cached refs: main" in result.err


def test_missing_repository(tmp_path, hub):
    result = run_ilab(tmp_path / "store", "model", "import", "hf-cache:org/absent", env={"HF_HUB_CACHE": str(hub)})
    assert result.code == 3
    assert "huggingface-cli download org/absent" in result.err


def test_verify_finds_damaged_blob(tmp_path, hub):
    blobs = hub / f"models--{REPO.replace('/', '--')}" / "blobs"
    damaged = next(blob for blob in blobs.iterdir() if len(blob.name) == 64)
    data = bytearray(damaged.read_bytes())
    data[100] ^= 0x01
    damaged.write_bytes(bytes(data))
    store = tmp_path / "store"
    result = run_ilab(store, "model", "import", f"hf-cache:{REPO}", "--verify", env={"HF_HUB_CACHE": str(hub)})
    assert result.code == 7
    assert "does not hash to its name" in result.err
    assert not (store / "manifests" / "index.json").exists()


def test_link_outside_repository_rejected(tmp_path, hub):
    outside = tmp_path / "secret.txt"
    outside.write_text("not part of the model")
    snapshot = hub / f"models--{REPO.replace('/', '--')}" / "snapshots" / COMMIT
    os.symlink(outside, snapshot / "extra.txt")
    result = run_ilab(tmp_path / "store", "model", "import", f"hf-cache:{REPO}", env={"HF_HUB_CACHE": str(hub)})
    assert result.code == 2
    assert "links outside the cache folder" in result.err


def test_oci_import_rejects_hf_options(tmp_path):
    result = run_ilab(tmp_path / "store", "model", "import", f"oci:{tmp_path}", "--verify")
    assert result.code == 2
    assert "apply to hf-cache imports only" in result.err


@requires_registry
def test_source_survives_push_and_pull(tmp_path, hub, registry):
    store = tmp_path / "store"
    assert run_ilab(store, "model", "import", f"hf-cache:{REPO}", env={"HF_HUB_CACHE": str(hub)}).code == 0
    [digest] = read_index(store)["artifacts"]
    pushed = run_ilab(store, "model", "push", "granite-test", f"{registry.host}/{registry.repository('hf')}:v1", "--json")
    assert pushed.code == 0, pushed.err
    target = tmp_path / "target"
    pulled = run_ilab(target, "model", "pull", pushed.json()["pinned"], "--json")
    assert pulled.code == 0, pulled.err
    assert pulled.json()["digest"] == f"blake3:{digest}"
    assert config_of(target, digest)["source"]["commit"] == COMMIT
