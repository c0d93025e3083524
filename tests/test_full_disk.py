"""A full disk during an add: rolled back, source untouched, and a message with the sizes."""

from __future__ import annotations

import errno
import os
import subprocess

import pytest

from conftest import cli_env, ilab_command, make_model
from ilabfs.errors import NoSpaceError
from ilabfs.models import add_model
from ilabfs.store import Store
from storecheck import blake3_file, check_store


@pytest.fixture
def small_fs(tmp_path):
    """A 24 MiB tmpfs mount, which needs root; tests that need it are skipped without."""
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mount_point)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=False)


@pytest.fixture
def big_model(tmp_path):
    folder = tmp_path / "big"
    make_model.write_model(folder, 40 << 20, shards=4, seed=5)
    return folder


def _digests(folder):
    return {name: blake3_file(folder / name) for name in sorted(os.listdir(folder))}


def test_precheck_refuses_before_writing(small_fs, big_model):
    store = small_fs / "store"
    before = _digests(big_model)
    result = subprocess.run(ilab_command("model", "add", str(big_model), "--name", "big"), env=cli_env(store),
                            capture_output=True, text=True)
    assert result.returncode == 11
    assert "bytes needed" in result.stderr
    assert "bytes free" in result.stderr
    assert "ilab gc" in result.stderr
    assert _digests(big_model) == before
    assert os.listdir(store / "blobs" / "blake3") == []


def test_enospc_mid_add_rolls_back(small_fs, big_model, monkeypatch):
    """The free-space check is bypassed so the copy itself hits ENOSPC on the real filesystem."""
    store = Store(small_fs / "store")
    monkeypatch.setattr(Store, "_check_space", lambda self, sources, mode: None)
    before = _digests(big_model)

    with pytest.raises(NoSpaceError) as caught:
        add_model(store, big_model, "big")

    error = caught.value
    assert error.values["needed"] > 0
    assert error.values["free"] < error.values["needed"]
    assert f"{error.values['needed']} bytes needed" in str(error)
    assert _digests(big_model) == before
    assert os.listdir(store.layout.blobs) == []
    assert os.listdir(store.layout.staging) == []
    assert store.index().entries == {}
    assert check_store(store.root) == []


def test_injected_enospc_rolls_back(tmp_path, big_model, monkeypatch):
    """Where no small filesystem can be mounted, a write failure is injected after 20 MiB."""
    store = Store(tmp_path / "store")
    written = {"bytes": 0}
    real_copy = os.copy_file_range

    def failing_copy(src, dst, count, *args):
        if written["bytes"] > 20 << 20:
            raise OSError(errno.ENOSPC, "No space left on device")
        copied = real_copy(src, dst, count, *args)
        written["bytes"] += copied
        return copied

    monkeypatch.setattr(os, "copy_file_range", failing_copy)
    before = _digests(big_model)
    with pytest.raises(NoSpaceError):
        add_model(store, big_model, "big")
    assert _digests(big_model) == before
    assert os.listdir(store.layout.blobs) == []
    assert os.listdir(store.layout.staging) == []
    assert store.index().entries == {}


def test_enospc_keeps_earlier_models(tmp_path, model_pair, big_model, monkeypatch):
    store = Store(tmp_path / "store")
    kept = add_model(store, model_pair[0], "base")
    blobs_before = set(os.listdir(store.layout.blobs))
    real_copy = os.copy_file_range

    def failing_copy(src, dst, count, *args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "copy_file_range", failing_copy)
    with pytest.raises(NoSpaceError):
        add_model(store, big_model, "big")
    monkeypatch.setattr(os, "copy_file_range", real_copy)
    assert set(os.listdir(store.layout.blobs)) == blobs_before
    assert list(store.index().entries) == [kept.digest]
    assert check_store(store.root) == []
