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
