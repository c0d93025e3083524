"""Store locks: a timeout names the holder, a dead holder's lock is taken over with a log line."""

from __future__ import annotations

import fcntl
import json
import logging
import os
import subprocess
import sys
import time

from ilabfs.locks import file_lock, process_start_time


def test_timeout_names_holder(ilab, store_dir, model_pair):
    assert ilab("model", "add", str(model_pair[0]), "--name", "base").code == 0
    lock = store_dir / "locks" / "gc.lock"
    with file_lock(lock):
        started = time.monotonic()
        result = ilab("gc", env={"ILABFS_LOCK_TIMEOUT": "1"})
        waited = time.monotonic() - started
    assert result.code == 9
    assert f"held by pid {os.getpid()}" in result.err
    assert "ILABFS_LOCK_TIMEOUT" in result.err
    assert 1 <= waited < 30


def test_dead_holder_taken_over(tmp_path, caplog):
    lock = tmp_path / "index.lock"
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    record = {"pid": child.pid, "start": process_start_time(child.pid), "host": os.uname().nodename, "command": "ilab model add", "since": time.time()}
    child.kill()
    child.wait()
    lock.write_text(json.dumps(record))

    with caplog.at_level(logging.WARNING, logger="ilabfs.locks"):
        with file_lock(lock, timeout=1):
            current = json.loads(lock.read_text())
    assert current["pid"] == os.getpid()
    assert any(f"pid {child.pid}" in message and "dead" in message for message in caplog.messages)


def test_reused_pid_is_not_alive(tmp_path):
    from ilabfs.locks import holder_is_alive

    record = {"pid": os.getpid(), "start": (process_start_time(os.getpid()) or 0) + 1, "host": os.uname().nodename}
    assert holder_is_alive(record) is False
    record["start"] = process_start_time(os.getpid())
    assert holder_is_alive(record) is True


def test_shared_holders_coexist(tmp_path):
    lock = tmp_path / "gc.lock"
    with file_lock(lock, shared=True):
        with file_lock(lock, shared=True, timeout=0.5):
            pass
        fd = os.open(lock, os.O_RDWR)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                raise AssertionError("an exclusive lock was granted while a shared one is held")
            except BlockingIOError:
                pass
        finally:
            os.close(fd)


def test_invalid_timeout_variable(ilab, store_dir, model_pair):
    ilab("model", "add", str(model_pair[0]), "--name", "base")
    result = ilab("gc", env={"ILABFS_LOCK_TIMEOUT": "soon"})
    assert result.code == 12
    assert result.err.strip() == "Error: invalid ILABFS_LOCK_TIMEOUT='soon': expected a number of seconds, 0 or more; fix or unset ILABFS_LOCK_TIMEOUT"
