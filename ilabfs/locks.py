"""Advisory locks on files under ``locks/`` and ingest leases under ``staging/``.

Locks are ``flock`` locks, so the kernel releases them when their holder
dies. The lock file also records who holds it (pid, process start time,
host, command), so a timeout can name the holder and a taker can log that it
took over from a dead one.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from .errors import LockedError

log = logging.getLogger(__name__)

def default_timeout() -> float:
    from .settings import env_seconds

    return env_seconds("ILABFS_LOCK_TIMEOUT", 60.0)
_POLL_SECONDS = 0.02


def process_start_time(pid: int) -> int | None:
    """Return the start time of ``pid`` in clock ticks since boot, or None if it is gone.

    A pid alone can be reused after its process dies; pid plus start time cannot.
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
        return int(fields[19])
    except (OSError, IndexError, ValueError):
        return None


def _host() -> str:
    # The same name as socket.gethostname(), without importing socket at start-up.
    return os.uname().nodename


def holder_record() -> dict:
    return {
        "pid": os.getpid(),
        "start": process_start_time(os.getpid()),
        "host": _host(),
        "command": " ".join(os.path.basename(arg) if i == 0 else arg for i, arg in enumerate(sys.argv))[:200],
        "since": time.time(),
    }


def holder_is_alive(record: dict) -> bool:
    """Tell whether the process a lock record names still runs on this host."""
    if record.get("host") != _host():
        return True
    pid = record.get("pid")
    if not isinstance(pid, int):
        return False
    start = process_start_time(pid)
    return start is not None and start == record.get("start")


def read_holder(path: Path) -> dict | None:
    try:
        text = path.read_text()
        return json.loads(text) if text.strip() else None
    except (OSError, ValueError):
        return None


def describe_holder(record: dict | None) -> str:
    if not record:
        return "an unknown process"
    held = time.time() - float(record.get("since", time.time()))
    return f"pid {record.get('pid')} on {record.get('host')} ({record.get('command')!r}, held {held:.0f}s)"


@contextlib.contextmanager
def file_lock(path: Path, *, shared: bool = False, timeout: float | None = None) -> Iterator[None]:
    """Hold an flock on ``path`` for the duration of the block.

    An exclusive holder writes its record into the file; shared holders leave it alone.
    """
    timeout = default_timeout() if timeout is None else timeout
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _acquire(fd, path, shared, timeout)
        if not shared:
            _take_over_record(fd, path)
        yield
    finally:
        if not shared:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
        os.close(fd)


def _acquire(fd: int, path: Path, shared: bool, timeout: float) -> None:
    operation = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, operation | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                holder = read_holder(path)
                raise LockedError(
                    f"timed out after {timeout:g}s waiting for lock {path}, held by {describe_holder(holder)}",
                    hint="wait for that command to finish, or raise ILABFS_LOCK_TIMEOUT",
                    path=str(path),
                    holder=holder,
                ) from None
            time.sleep(_POLL_SECONDS)


def _take_over_record(fd: int, path: Path) -> None:
    previous = read_holder(path)
    if previous and not holder_is_alive(previous):
        log.warning("took over lock %s from dead process %s", path, describe_holder(previous))
    data = json.dumps(holder_record()).encode()
    os.ftruncate(fd, 0)
    try:
        os.pwrite(fd, data, 0)
    except OSError as error:
        # The record only names the holder in messages. On a full disk gc must
        # still run, because it is what frees space.
        if error.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise


def try_lock_exclusive(path: Path) -> int | None:
    """Take an exclusive flock without waiting; return the open fd, or None if it is held."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return fd
    except BlockingIOError:
        os.close(fd)
        return None
