"""Lock files: pinning models by registry and local digest, and refusing a moved tag."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import make_writable, read_index
from conftest_registry import registry, requires_registry, run_ilab  # noqa: F401 - fixtures

pytestmark = requires_registry


@pytest.fixture
def published(tmp_path, model_pair, registry) -> dict:
    """A store whose base model and fine-tune were pushed to one repository, under the tags base and ft."""
    store = tmp_path / "source"
    base, tuned = model_pair
    assert run_ilab(store, "model", "add", str(base), "--name", "granite-base").code == 0
    assert run_ilab(store, "model", "add", str(tuned), "--name", "granite-ft:step-100", "--base", "granite-base").code == 0
    repository = f"{registry.host}/{registry.repository('lock')}"
    pushed = {}
    for name, tag in (("granite-base", "base"), ("granite-ft:step-100", "ft")):
        result = run_ilab(store, "model", "push", name, f"{repository}:{tag}", "--json")
        assert result.code == 0, result.err
        pushed[tag] = result.json()["digest"]
    local = {entry["names"][0]: digest for digest, entry in read_index(store)["artifacts"].items()}
    yield {"store": store, "repository": repository, "remote": pushed, "local": local}
    make_writable(tmp_path)


def test_lock_pins_two_models(tmp_path, published):
    lock = tmp_path / "models.lock"
    written = run_ilab(published["store"], "lock", "write", str(lock), "granite-base", "granite-ft:step-100")
    assert written.code == 0, written.err
    document = json.loads(lock.read_text())
    assert document["lockVersion"] == 1
    assert [entry["name"] for entry in document["artifacts"]] == ["granite-base:latest", "granite-ft:step-100"]
    base = document["artifacts"][0]
    assert base["source"] == f"{published['repository']}:base"
    assert base["digest"] == published["remote"]["base"]
    assert base["localDigest"] == f"blake3:{published['local']['granite-base:latest']}"

    target = tmp_path / "target"
    pulled = run_ilab(target, "model", "pull", "--lock", str(lock), "--json")
    assert pulled.code == 0, pulled.err
    results = pulled.json()["pulled"]
    assert [item["name"] for item in results] == ["granite-base:latest", "granite-ft:step-100"]
    assert {item["digest"].split(":")[1] for item in results} == set(published["local"].values())


def test_pull_lock_refuses_moved_tag(tmp_path, published):
    lock = tmp_path / "models.lock"
    assert run_ilab(published["store"], "lock", "write", str(lock), "granite-base", "granite-ft:step-100").code == 0
    moved = run_ilab(published["store"], "model", "push", "granite-ft:step-100", f"{published['repository']}:base")
    assert moved.code == 0, moved.err

    target = tmp_path / "target"
    pulled = run_ilab(target, "model", "pull", "--lock", str(lock))
    assert pulled.code == 7
    assert pulled.err.count("\n") == 1
    assert f"tag {published['repository']}:base has moved" in pulled.err
    assert published["remote"]["base"] in pulled.err
    assert published["remote"]["ft"] in pulled.err
    assert not (target / "manifests" / "index.json").exists()


def test_pull_lock_rejects_other_local_digest(tmp_path, published):
    lock = tmp_path / "models.lock"
    assert run_ilab(published["store"], "lock", "write", str(lock), "granite-base").code == 0
    document = json.loads(lock.read_text())
    document["artifacts"][0]["localDigest"] = "blake3:" + "ab" * 32
    lock.write_text(json.dumps(document))
    target = tmp_path / "target"
    pulled = run_ilab(target, "model", "pull", "--lock", str(lock))
    assert pulled.code == 7
    assert "but the lock file pins blake3:abab" in pulled.err
    assert not (target / "manifests" / "index.json").exists()


def test_pull_lock_selects_names(tmp_path, published):
    lock = tmp_path / "models.lock"
    assert run_ilab(published["store"], "lock", "write", str(lock), "granite-base", "granite-ft:step-100").code == 0
    target = tmp_path / "target"
    pulled = run_ilab(target, "model", "pull", "--lock", str(lock), "granite-ft:step-100", "--json")
    assert pulled.code == 0, pulled.err
    assert [item["name"] for item in pulled.json()["pulled"]] == ["granite-ft:step-100"]


def test_lock_write_needs_registry_source(tmp_path, model_pair):
    store = tmp_path / "store"
    assert run_ilab(store, "model", "add", str(model_pair[0]), "--name", "local-only").code == 0
    written = run_ilab(store, "lock", "write", str(tmp_path / "x.lock"), "local-only")
    assert written.code == 3
    assert "was never pulled from or pushed to a registry" in written.err
    assert not Path(tmp_path / "x.lock").exists()


def test_invalid_lock_file_is_rejected(tmp_path):
    lock = tmp_path / "broken.lock"
    lock.write_text('{"lockVersion": 9, "artifacts": []}')
    pulled = run_ilab(tmp_path / "store", "model", "pull", "--lock", str(lock))
    assert pulled.code == 2
    assert "is not a version 1 lock file" in pulled.err
