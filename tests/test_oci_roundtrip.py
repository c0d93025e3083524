"""Push and pull against a real registry (distribution 2.8) through the counting proxy."""

from __future__ import annotations

import hashlib
import http.client
import json
import shutil
from pathlib import Path

import pytest

from conftest import make_writable, read_index
from conftest_registry import (  # noqa: F401 - fixtures
    proxy,
    registry,
    remote_manifest,
    requires_registry,
    run_ilab,
    session_proxy,
)
from storecheck import check_store

pytestmark = requires_registry


@pytest.fixture(scope="module")
def source_store(tmp_path_factory, model_pair) -> Path:
    """A store with the base model and a fine-tune of it, added with ilab model add."""
    root = tmp_path_factory.mktemp("source") / "store"
    base, tuned = model_pair
    assert run_ilab(root, "model", "add", str(base), "--name", "granite-base").code == 0
    added = run_ilab(root, "model", "add", str(tuned), "--name", "granite-ft:step-100", "--base", "granite-base", "--phase", "phase1")
    assert added.code == 0, added.err
    yield root
    make_writable(root.parent)


@pytest.fixture
def fresh_source(tmp_path, source_store) -> Path:
    """A copy of the source store without its digest map, so no push can mount or skip a blob by it."""
    copy = tmp_path / "source"
    shutil.copytree(source_store, copy, ignore=shutil.ignore_patterns("remote"))
    yield copy
    make_writable(tmp_path)


def digest_of(store: Path, name: str) -> str:
    for digest, entry in read_index(store)["artifacts"].items():
        if name in entry["names"]:
            return digest
    raise KeyError(name)


def blob_sizes(manifest: dict) -> int:
    return manifest["config"]["size"] + sum(layer["size"] for layer in manifest["layers"])


def push(store: Path, ref: str, destination: str, *extra: str) -> dict:
    result = run_ilab(store, "model", "push", ref, destination, "--json", *extra)
    assert result.code == 0, result.err
    return result.json()


def test_push_pull_roundtrip_same_digest(tmp_path, fresh_source, proxy, registry):
    repository = registry.repository()
    pushed = run_ilab(fresh_source, "model", "push", "granite-base", f"{proxy.host}/{repository}:v1")
    assert pushed.code == 0, pushed.err
    pinned = pushed.out.strip().splitlines()[-1]
    assert pinned.startswith(f"{proxy.host}/{repository}@sha256:")
    manifest = remote_manifest(registry.host, repository, "v1")

    target = tmp_path / "empty"
    proxy.stats.blob_bytes.clear()
    pulled = run_ilab(target, "model", "pull", pinned, "--json")
    assert pulled.code == 0, pulled.err
    assert pulled.json()["digest"] == f"blake3:{digest_of(fresh_source, 'granite-base:latest')}"
    assert proxy.stats.total_blob_bytes == blob_sizes(manifest)
    assert check_store(target) == []

    again = run_ilab(target, "model", "pull", pinned, "--json")
    assert again.code == 0, again.err
    assert again.json()["blobsDownloaded"] == 0
    assert again.json()["new"] is False
    assert proxy.stats.total_blob_bytes == blob_sizes(manifest)


def test_push_twice_same_digest_uploads_nothing(fresh_source, proxy, registry):
    destination = f"{proxy.host}/{registry.repository()}:v1"
    first = push(fresh_source, "granite-ft:step-100", destination)
    uploaded = proxy.stats.upload_bytes
    second = push(fresh_source, "granite-ft:step-100", destination)
    assert first["digest"] == second["digest"]
    assert first["blobsUploaded"] == first["blobs"]
    assert second["blobsUploaded"] == 0
    assert second["blobsPresent"] == second["blobs"]
    assert proxy.stats.upload_bytes == uploaded


def test_checkpoint_pull_downloads_only_changed_shard(tmp_path, fresh_source, proxy, registry):
    repository = registry.repository()
    base = push(fresh_source, "granite-base", f"{proxy.host}/{repository}:base")
    tuned = push(fresh_source, "granite-ft:step-100", f"{proxy.host}/{repository}:ft")
    target = tmp_path / "target"
    assert run_ilab(target, "model", "pull", base["pinned"]).code == 0

    proxy.stats.blob_bytes.clear()
    pulled = run_ilab(target, "model", "pull", tuned["pinned"], "--json")
    assert pulled.code == 0, pulled.err
    assert pulled.json()["digest"] == f"blake3:{digest_of(fresh_source, 'granite-ft:step-100')}"
    changed, config = _changed_blobs(registry, repository)
    assert set(proxy.stats.blob_bytes) == {changed["digest"], config["digest"]}
    assert proxy.stats.total_blob_bytes == changed["size"] + config["size"]


def test_checkpoint_pull_over_added_base(tmp_path, model_pair, fresh_source, proxy, registry):
    repository = registry.repository()
    tuned = push(fresh_source, "granite-ft:step-100", f"{proxy.host}/{repository}:ft")
    push(fresh_source, "granite-base", f"{proxy.host}/{repository}:base")
    target = tmp_path / "target"
    assert run_ilab(target, "model", "add", str(model_pair[0]), "--name", "granite-base").code == 0

    proxy.stats.blob_bytes.clear()
    pulled = run_ilab(target, "model", "pull", tuned["pinned"], "--json")
    assert pulled.code == 0, pulled.err
    changed, config = _changed_blobs(registry, repository)
    assert set(proxy.stats.blob_bytes) == {changed["digest"], config["digest"]}
    assert pulled.json()["digest"] == f"blake3:{digest_of(fresh_source, 'granite-ft:step-100')}"


def _changed_blobs(registry, repository: str) -> tuple[dict, dict]:
    """Return the one layer the fine-tune does not share with the base, and the fine-tune's config blob."""
    base = remote_manifest(registry.host, repository, "base")
    tuned = remote_manifest(registry.host, repository, "ft")
    shared = {layer["digest"] for layer in base["layers"]}
    changed = [layer for layer in tuned["layers"] if layer["digest"] not in shared]
    assert len(changed) == 1
    return changed[0], tuned["config"]


def test_push_mounts_from_other_repository(fresh_source, proxy, registry):
    push(fresh_source, "granite-base", f"{proxy.host}/{registry.repository()}:v1")
    uploaded = proxy.stats.upload_bytes
    second = push(fresh_source, "granite-base", f"{proxy.host}/{registry.repository()}:v1")
    assert second["blobsMounted"] == second["blobs"]
    assert proxy.stats.upload_bytes == uploaded
    assert any(method == "POST" for method, _ in proxy.stats.requests)


def test_chunked_push_then_pull(tmp_path, fresh_source, proxy, registry):
    pushed = push(fresh_source, "granite-base", f"{proxy.host}/{registry.repository()}:v1", "--chunk-size", "1Mi")
    assert pushed["blobsUploaded"] == pushed["blobs"]
    patches = [path for method, path in proxy.stats.requests if method == "PATCH"]
    assert len(patches) >= 4
    pulled = run_ilab(tmp_path / "target", "model", "pull", pushed["pinned"], "--json")
    assert pulled.json()["digest"] == f"blake3:{digest_of(fresh_source, 'granite-base:latest')}"


def test_pull_by_tag_names_model(tmp_path, fresh_source, proxy, registry):
    repository = registry.repository("models")
    push(fresh_source, "granite-base", f"{proxy.host}/{repository}:v3")
    target = tmp_path / "target"
    pulled = run_ilab(target, "model", "pull", f"{proxy.host}/{repository}:v3")
    assert pulled.code == 0, pulled.err
    assert pulled.out.startswith(f"Pulled {repository.rsplit('/', 1)[-1]}:v3 as ")
    listing = run_ilab(target, "model", "list", "--json").json()
    assert listing["artifacts"][0]["names"] == [f"{repository.rsplit('/', 1)[-1]}:v3"]


def test_pull_name_taken_fails_before_download(tmp_path, fresh_source, proxy, registry):
    pushed = push(fresh_source, "granite-ft:step-100", f"{proxy.host}/{registry.repository()}:v1")
    other = tmp_path / "other-model"
    other.mkdir()
    (other / "README.md").write_text("another model\n")
    target = tmp_path / "target"
    assert run_ilab(target, "model", "add", str(other), "--name", "taken").code == 0
    proxy.stats.blob_bytes.clear()
    pulled = run_ilab(target, "model", "pull", pushed["pinned"], "--name", "taken")
    assert pulled.code == 5
    assert "'taken:latest' already points at" in pulled.err
    assert proxy.stats.total_blob_bytes == 0


# -- artifacts that other tools push -----------------------------------------------


def push_raw(host: str, repository: str, tag: str, files: dict[str, bytes], config: tuple[str, bytes], extra: dict | None = None) -> str:
    """Push an artifact with plain HTTP requests, as ORAS lays it out, bypassing ilab; return the manifest digest."""
    connection = http.client.HTTPConnection(host, timeout=30)

    def upload(data: bytes) -> str:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        connection.request("POST", f"/v2/{repository}/blobs/uploads/", headers={"Content-Length": "0"})
        response = connection.getresponse()
        response.read()
        location = response.getheader("Location")
        separator = "&" if "?" in location else "?"
        connection.request("PUT", f"{location}{separator}digest={digest}", body=data, headers={"Content-Type": "application/octet-stream"})
        response = connection.getresponse()
        response.read()
        assert response.status == 201, response.status
        return digest

    layers = [
        {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": upload(data), "size": len(data),
         "annotations": {"org.opencontainers.image.title": title}}
        for title, data in files.items()
    ]
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": config[0], "digest": upload(config[1]), "size": len(config[1])},
        "layers": layers,
        **(extra or {}),
    }
    body = json.dumps(manifest).encode()
    connection.request("PUT", f"/v2/{repository}/manifests/{tag}", body=body, headers={"Content-Type": manifest["mediaType"]})
    response = connection.getresponse()
    response.read()
    assert response.status == 201, response.status
    connection.close()
    return "sha256:" + hashlib.sha256(body).hexdigest()


EMPTY_CONFIG = ("application/vnd.oci.empty.v1+json", b"{}")


def test_oras_style_artifact_gets_add_digest(tmp_path, model_pair, fresh_source, registry):
    base = model_pair[0]
    files = {path.relative_to(base).as_posix(): path.read_bytes() for path in sorted(base.rglob("*")) if path.is_file()}
    repository = registry.repository("oras")
    push_raw(registry.host, repository, "v1", files, EMPTY_CONFIG, {"artifactType": "application/vnd.example.model"})
    pulled = run_ilab(tmp_path / "target", "model", "pull", f"{registry.host}/{repository}:v1", "--json")
    assert pulled.code == 0, pulled.err
    assert pulled.json()["digest"] == f"blake3:{digest_of(fresh_source, 'granite-base:latest')}"


@pytest.mark.parametrize("title", ["../escape.txt", "/etc/passwd", "a/./b", "dir\\file"])
def test_unsafe_title_rejected_before_writing(tmp_path, registry, title):
    repository = registry.repository("unsafe")
    push_raw(registry.host, repository, "v1", {"ok.txt": b"fine\n", title: b"evil\n"}, EMPTY_CONFIG)
    target = tmp_path / "target"
    pulled = run_ilab(target, "model", "pull", f"{registry.host}/{repository}:v1")
    assert pulled.code == 2
    assert "unsafe file name" in pulled.err
    assert pulled.err.count("\n") == 1
    assert not (target / "manifests" / "index.json").exists()
    assert not list((target / "blobs" / "blake3").iterdir())
    assert not (tmp_path / "escape.txt").exists()


def test_layer_without_title_rejected(tmp_path, registry):
    repository = registry.repository("notitle")
    connection_files = {"model.safetensors": b"\0" * 16}
    digest = push_raw(registry.host, repository, "v1", connection_files, EMPTY_CONFIG)
    manifest = remote_manifest(registry.host, repository, digest)
    manifest["layers"][0]["annotations"] = {}
    body = json.dumps(manifest).encode()
    connection = http.client.HTTPConnection(registry.host, timeout=10)
    connection.request("PUT", f"/v2/{repository}/manifests/v2", body=body, headers={"Content-Type": manifest["mediaType"]})
    assert connection.getresponse().status == 201
    connection.close()
    pulled = run_ilab(tmp_path / "target", "model", "pull", f"{registry.host}/{repository}:v2")
    assert pulled.code == 2
    assert "has no org.opencontainers.image.title annotation" in pulled.err


def test_pull_missing_tag_is_not_found(tmp_path, registry):
    pulled = run_ilab(tmp_path / "target", "model", "pull", f"{registry.host}/{registry.repository()}:nope")
    assert pulled.code == 3
    assert "not found" in pulled.err
    assert "MANIFEST_UNKNOWN" in pulled.err or "NAME_UNKNOWN" in pulled.err
