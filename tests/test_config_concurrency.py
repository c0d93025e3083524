"""Concurrent ``ilab config set``: no lost write, no torn file."""

from __future__ import annotations

import subprocess
import sys
import time

from conftest import ROOT
from confighelp import FULL, copy_fixture, platform_env, run_ilab
from ilabfs.config.document import parse, to_plain

# Runs the real ``config set`` command COUNT times in one process, without a new interpreter per call.
WORKER = """
import os, sys
from ilabfs_cli.main import app

sys.stdout = open(os.devnull, "w")

config, key, first, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
for number in range(first, first + count):
    app(["--config", config, "config", "set", key, str(number)], prog_name="ilab", standalone_mode=False)
"""


def _values(text: str) -> tuple[int, int]:
    document = to_plain(parse(text, "config.yaml")[0])
    return document["serve"]["server"]["port"], document["train"]["num_epochs"]


def test_two_processes_set_100_times_each(tmp_path):
    config = copy_fixture(FULL, tmp_path / "cfg")
    env = platform_env(tmp_path)
    workers = [
        subprocess.Popen([sys.executable, "-c", WORKER, str(config), key, str(first), "100"], env=env, cwd=ROOT, stderr=subprocess.PIPE, text=True)
        # Both start above the fixture's values (8000 and 10), so every write raises its key.
        for key, first in (("serve.server.port", 9000), ("train.num_epochs", 11))
    ]

    reads = 0
    last_port, last_epochs = 8000, 10
    while any(worker.poll() is None for worker in workers):
        port, epochs = _values(config.read_text())
        # A lost update would show as a value going back to an older one.
        assert port >= last_port
        assert epochs >= last_epochs
        last_port, last_epochs = port, epochs
        reads += 1
        time.sleep(0.002)

    for worker in workers:
        assert worker.wait(timeout=120) == 0, worker.stderr.read()
    assert reads > 0
    assert _values(config.read_text()) == (9099, 110)
    text = config.read_text()
    assert "  context: cli_helper   # shell help by default\n" in text
    assert "version: 1.0.0\n" in text
    assert not list(config.parent.glob(".config.yaml.*.tmp"))


def test_two_ilab_commands_set_concurrently(tmp_path):
    config = copy_fixture(FULL, tmp_path / "cfg")
    env = platform_env(tmp_path)
    script = (
        'for i in $(seq 1 10); do "$0" -m ilabfs_cli.main --config "$1" config set "$2" $(( $3 + i )) >/dev/null || exit 1; done'
    )
    workers = [
        subprocess.Popen(["bash", "-c", script, sys.executable, str(config), key, str(base)], env=env, cwd=ROOT)
        for key, base in (("serve.server.port", 2000), ("train.num_epochs", 0))
    ]
    for worker in workers:
        assert worker.wait(timeout=120) == 0
    assert _values(config.read_text()) == (2010, 10)
    assert run_ilab("--config", str(config), "config", "validate", env=env).code == 0
