"""Killing ``ilab model add`` with SIGKILL at random points loses nothing and leaves no partial blob."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time

from conftest import STRESS, cli_env, ilab_command, make_model
from storecheck import check_store, named_artifacts


def _model(folder, seed):
    make_model.write_model(folder, 12 << 20, shards=4, seed=seed)
    for number in range(20):
        (folder / f"extra-{number:02d}.json").write_text(json.dumps({"seed": seed, "n": number}))


def _timed_add(store, folder, name) -> float:
    started = time.monotonic()
    completed = subprocess.run(ilab_command("model", "add", str(folder), "--name", name), env=cli_env(store), capture_output=True)
    assert completed.returncode == 0, completed.stderr
    return time.monotonic() - started


def test_kill_add_at_random_points(tmp_path):
    """Each round starts an add of a new model and kills it after a random delay inside the
    measured duration of a full add. After every kill, blobs/ holds only blobs whose content
    hashes to their name, every name points at complete content, earlier models are intact,
    and gc (with no grace period) runs cleanly and empties staging/."""
    store = tmp_path / "store"
    rng = random.Random(20261204)
    env = cli_env(store, ILABFS_STAGING_GRACE="0")

    _model(tmp_path / "first", seed=1000)
    duration = _timed_add(store, tmp_path / "first", "first")
    listed_before = named_artifacts(store)
    rounds = 100 if STRESS else 20
    killed = 0

    for number in range(rounds):
        folder = tmp_path / f"m{number}"
        _model(folder, seed=number)
        process = subprocess.Popen(ilab_command("model", "add", str(folder), "--name", f"m{number}"), env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0, duration * 1.1))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            killed += 1
        process.wait()

        assert check_store(store) == []
        for digest, names in listed_before.items():
            assert named_artifacts(store).get(digest) == names
        gc = subprocess.run(ilab_command("gc"), env=env, capture_output=True, text=True)
        assert gc.returncode == 0, gc.stderr
        assert os.listdir(store / "staging") == []
        assert check_store(store) == []
        listed_before = named_artifacts(store)

    assert killed >= rounds // 3


def _garbage(store, count, seed):
    """Write read-only blobs that no artifact names, the way interrupted adds leave them."""
    import blake3

    rng = random.Random(seed)
    folder = store / "blobs" / "blake3"
    for _ in range(count):
        data = rng.randbytes(rng.randint(1, 4096))
        path = folder / blake3.blake3(data).hexdigest()
        path.write_bytes(data)
        path.chmod(0o444)


def _many_files_model(folder, seed, files=150):
    folder.mkdir(parents=True)
    rng = random.Random(seed)
    for number in range(files):
        (folder / f"part-{number:03d}.bin").write_bytes(rng.randbytes(2048))


def _kill_after(command, env, delay):
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(delay)
    killed = process.poll() is None
    if killed:
        process.send_signal(signal.SIGKILL)
    process.wait()
    return killed


def _timed_run(command, env) -> float:
    started = time.monotonic()
    completed = subprocess.run(command, env=env, capture_output=True)
    assert completed.returncode == 0, completed.stderr
    return time.monotonic() - started


def test_kill_delete_and_gc_at_random_points(tmp_path):
    """Rounds alternate between killing ``ilab model delete`` of a model with many files and
    killing ``ilab gc`` over many garbage blobs, each after a random delay inside the measured
    duration of a full run of the same command. After every kill the models not being deleted
    are intact, the one being deleted is either whole or gone, no blob is partial, and a
    following gc runs cleanly."""
    store = tmp_path / "store"
    env = cli_env(store, ILABFS_STAGING_GRACE="0")
    rng = random.Random(4)
    _many_files_model(tmp_path / "keep", seed=-1)
    assert subprocess.run(ilab_command("model", "add", str(tmp_path / "keep"), "--name", "keep"), env=env).returncode == 0
    keep = named_artifacts(store)

    # A delay drawn from the duration of a full run lands inside the command, however fast the CLI starts.
    _many_files_model(tmp_path / "timed", seed=-2)
    assert subprocess.run(ilab_command("model", "add", str(tmp_path / "timed"), "--name", "victim"), env=env).returncode == 0
    durations = {"delete": _timed_run(ilab_command("model", "delete", "victim"), env)}
    _garbage(store, 3000, seed=-3)
    durations["gc"] = _timed_run(ilab_command("gc"), env)
    rounds = 100 if STRESS else 12
    killed = 0

    for number in range(rounds):
        if number % 2 == 0:
            folder = tmp_path / f"victim-{number}"
            _many_files_model(folder, seed=number)
            assert subprocess.run(ilab_command("model", "add", str(folder), "--name", "victim"), env=env).returncode == 0
            command = ilab_command("model", "delete", "victim")
            duration = durations["delete"]
        else:
            _garbage(store, 3000, seed=number)
            command = ilab_command("gc")
            duration = durations["gc"]
        killed += _kill_after(command, env, rng.uniform(0, duration * 1.1))

        assert check_store(store) == []
        current = named_artifacts(store)
        for digest, names in keep.items():
            assert current.get(digest) == names
        gc = subprocess.run(ilab_command("gc"), env=env, capture_output=True, text=True)
        assert gc.returncode == 0, gc.stderr
        assert check_store(store) == []
        remaining = subprocess.run(ilab_command("model", "delete", "victim"), env=env, capture_output=True)
        assert remaining.returncode in (0, 3)

    assert killed >= rounds // 3
