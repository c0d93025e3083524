"""Pulls and pushes through the fault proxy: broken connections, damaged bytes, lying headers, busy registries."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import ilab_command, make_writable, read_index
from conftest_registry import (  # noqa: F401 - fixtures
    proxy,
    registry,
    remote_env,
    remote_manifest,
    requires_registry,
    run_ilab,
    session_proxy,
)
from faultproxy import Fault
from storecheck import check_store

pytestmark = requires_registry

SHARD = "model-00002-of-00004.safetensors"
NO_RETRY = {"ILABFS_REMOTE_RETRIES": "0"}


@pytest.fixture(scope="module")
def pushed(tmp_path_factory, model_pair, session_proxy, registry) -> dict:
    """The base model pushed once: its source store, pinned reference, local digest and remote manifest."""
    root = tmp_path_factory.mktemp("fault-source") / "store"
    assert run_ilab(root, "model", "add", str(model_pair[0]), "--name", "granite-base").code == 0
    repository = registry.repository("faults")
    result = run_ilab(root, "model", "push", "granite-base", f"{registry.host}/{repository}:v1", "--json")
    assert result.code == 0, result.err
    manifest = remote_manifest(registry.host, repository, "v1")
    shard = next(layer for layer in manifest["layers"] if layer["annotations"]["org.opencontainers.image.title"] == SHARD)
    yield {
        "reference": f"{session_proxy.host}/{repository}@{result.json()['digest']}",
        "tagged": f"{session_proxy.host}/{repository}:v1",
        "local": next(iter(read_index(root)["artifacts"])),
        "shard": shard["digest"],
        "shard_size": shard["size"],
        "manifest": manifest,
    }
    make_writable(root.parent)


def partials(store: Path, digest: str) -> list[Path]:
    return list((store / "staging").glob(f"*/pull-{digest.split(':')[1]}.part"))


def named(store: Path) -> dict:
    index = store / "manifests" / "index.json"
    return read_index(store)["artifacts"] if index.exists() else {}


def test_dropped_connection_resumes_in_same_pull(tmp_path, proxy, pushed):
    half = pushed["shard_size"] // 2
    proxy.add(Fault("drop", pushed["shard"], offset=half))
    pulled = run_ilab(tmp_path / "store", "model", "pull", pushed["reference"], "--json")
    assert pulled.code == 0, pulled.err
    assert pulled.json()["digest"] == f"blake3:{pushed['local']}"
    assert proxy.stats.blob_bytes[pushed["shard"]] == pushed["shard_size"]
    shard_gets = [path for method, path in proxy.stats.requests if method == "GET" and path.endswith(pushed["shard"])]
    assert len(shard_gets) == 2


def test_interrupted_pull_resumes_next_run(tmp_path, proxy, pushed):
    store = tmp_path / "store"
    half = pushed["shard_size"] // 2
    proxy.add(Fault("drop", pushed["shard"], offset=half))
    first = run_ilab(store, "model", "pull", pushed["reference"], "--jobs", "1", env=NO_RETRY)
    assert first.code == 13
    assert first.err.splitlines()[-1].startswith("Error: download of model-00002-of-00004.safetensors")
    assert named(store) == {}
    [partial] = partials(store, pushed["shard"])
    assert partial.stat().st_size == half

    # gc keeps partial downloads for the staging grace period, so the next pull can resume them.
    assert run_ilab(store, "gc").code == 0
    assert partials(store, pushed["shard"]) == [partial]

    proxy.stats.blob_bytes.clear()
    second = run_ilab(store, "model", "pull", pushed["reference"], "--json")
    assert second.code == 0, second.err
    assert second.json()["digest"] == f"blake3:{pushed['local']}"
    assert second.json()["bytesResumed"] >= half
    assert proxy.stats.blob_bytes[pushed["shard"]] == pushed["shard_size"] - half
    assert list((store / "staging").iterdir()) == []
    assert check_store(store) == []


def test_interrupt_keeps_partial_for_next_pull(tmp_path, proxy, pushed):
    store = tmp_path / "store"
    offset = pushed["shard_size"] // 3
    proxy.add(Fault("stall", pushed["shard"], offset=offset))
    process = subprocess.Popen(
        ilab_command("model", "pull", pushed["reference"]),
        env=remote_env(store), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert proxy.stalled.wait(60)
        deadline = time.monotonic() + 30
        while not any(path.stat().st_size == offset for path in partials(store, pushed["shard"])):
            assert time.monotonic() < deadline, "the partial download never reached the stall offset"
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, err
    assert named(store) == {}
    [partial] = partials(store, pushed["shard"])
    assert partial.stat().st_size == offset

    proxy.released.set()
    proxy.stats.blob_bytes.clear()
    second = run_ilab(store, "model", "pull", pushed["reference"], "--json")
    assert second.code == 0, second.err
    assert proxy.stats.blob_bytes[pushed["shard"]] == pushed["shard_size"] - offset


def test_range_ignored_restarts_blob(tmp_path, proxy, pushed):
    store = tmp_path / "store"
    proxy.add(Fault("drop", pushed["shard"], offset=pushed["shard_size"] // 2))
    assert run_ilab(store, "model", "pull", pushed["reference"], "--jobs", "1", env=NO_RETRY).code == 13
    proxy.ignore_range = True
    proxy.stats.blob_bytes.clear()
    second = run_ilab(store, "model", "pull", pushed["reference"], "--json")
    assert second.code == 0, second.err
    assert second.json()["digest"] == f"blake3:{pushed['local']}"
    assert proxy.stats.blob_bytes[pushed["shard"]] == pushed["shard_size"]
    assert check_store(store) == []


def test_flipped_byte_rejected_nothing_named(tmp_path, proxy, pushed):
    store = tmp_path / "store"
    proxy.add(Fault("flip", pushed["shard"], offset=1000))
    pulled = run_ilab(store, "model", "pull", pushed["reference"])
    assert pulled.code == 7
    assert pulled.err.count("\n") == 1, pulled.err
    assert f"blob {SHARD} ({pushed['shard']}" in pulled.err
    assert "nothing was named" in pulled.err
    assert named(store) == {}
    assert partials(store, pushed["shard"]) == []
    assert check_store(store) == []


@pytest.mark.parametrize("where", ["manifest", "blob"])
def test_wrong_digest_header_rejected(tmp_path, proxy, pushed, where):
    store = tmp_path / "store"
    proxy.wrong_digest = {where}
    pulled = run_ilab(store, "model", "pull", pushed["tagged"])
    assert pulled.code == 7
    assert "Docker-Content-Digest sha256:000000" in pulled.err
    assert named(store) == {}
    assert list((store / "blobs" / "blake3").iterdir()) == []
    if where == "manifest":
        assert proxy.stats.total_blob_bytes == 0


def test_retry_after_is_honoured(tmp_path, proxy, pushed):
    proxy.add(Fault("fail", method="GET", path="/manifests/", status=503, retry_after="1"))
    started = time.monotonic()
    pulled = run_ilab(tmp_path / "store", "model", "pull", pushed["reference"])
    assert pulled.code == 0, pulled.err
    assert time.monotonic() - started >= 1.0
    assert "HTTP 503" in pulled.err
    assert "retrying in 1.0s" in pulled.err


def test_retries_are_bounded(tmp_path, proxy, pushed):
    proxy.add(Fault("fail", method="GET", path="/manifests/", status=429, retry_after="0", times=100))
    pulled = run_ilab(tmp_path / "store", "model", "pull", pushed["reference"], env={"ILABFS_REMOTE_RETRIES": "2"})
    assert pulled.code == 13
    last = pulled.err.splitlines()[-1]
    assert last.startswith("Error: GET ")
    assert "failed after 3 tries: HTTP 429" in last


def test_retry_after_past_budget_fails_at_once(tmp_path, proxy, pushed):
    proxy.add(Fault("fail", method="GET", path="/manifests/", status=503, retry_after="3600", times=5))
    started = time.monotonic()
    pulled = run_ilab(tmp_path / "store", "model", "pull", pushed["reference"])
    assert pulled.code == 13
    assert "asked to wait 3600s" in pulled.err
    assert time.monotonic() - started < 30


@pytest.mark.parametrize("chunk,method", [("1Mi", "PATCH"), ("64Mi", "PUT")])
def test_push_recovers_from_cut_upload(tmp_path, model_pair, proxy, registry, chunk, method):
    store = tmp_path / "store"
    assert run_ilab(store, "model", "add", str(model_pair[1]), "--name", "ft").code == 0
    proxy.add(Fault("cut_upload", method=method, path="/blobs/uploads/", offset=300_000))
    repository = registry.repository("cut")
    pushed = run_ilab(store, "model", "push", "ft", f"{proxy.host}/{repository}:v1", "--chunk-size", chunk, "--jobs", "1", "--json")
    assert pushed.code == 0, pushed.err
    assert "retrying" in pushed.err
    pulled = run_ilab(tmp_path / "copy", "model", "pull", pushed.json()["pinned"], "--json")
    assert pulled.code == 0, pulled.err
    assert pulled.json()["digest"] == f"blake3:{next(iter(read_index(store)['artifacts']))}"
