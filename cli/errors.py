"""The one place where failures become messages and exit codes.

Exit codes are stable and listed in docs/cli.md. Library errors carry their
own code; the rest are mapped here. Tracebacks are shown only with
ILABFS_DEBUG=1.
"""

from __future__ import annotations

import errno
import os
import sys

EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_CORRUPT = 8
EXIT_OS_ERROR = 14
EXIT_INTERRUPTED = 130


class Interrupted(BaseException):
    """Raised from the SIGINT handler; click turns a KeyboardInterrupt into a silent exit instead."""


def on_interrupt(signum: int, frame: object) -> None:
    raise Interrupted()


def debug_enabled() -> bool:
    return os.environ.get("ILABFS_DEBUG", "") not in ("", "0")


def report(error: BaseException) -> int:
    """Print a one-line message for ``error`` on stderr and return the exit code."""
    from ilabfs.errors import IlabfsError

    if isinstance(error, IlabfsError):
        _print(error.message, error.hint)
        return error.exit_code
    if isinstance(error, (KeyboardInterrupt, Interrupted)):
        _print("interrupted", "run ilab model list to see what was stored; ilab gc reclaims partial work")
        return EXIT_INTERRUPTED
    if isinstance(error, OSError):
        target = f": {error.filename}" if error.filename else ""
        hint = "check the path and its permissions"
        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            hint = "free some space and run the command again"
        _print(f"{error.strerror or error}{target}", hint)
        return EXIT_OS_ERROR
    if type(error).__module__ == "sqlite3":
        # The index is the only SQLite database; a failure not mapped where it was raised still means it.
        _print(f"the index database failed: {type(error).__name__}: {error}", "run ilab fsck, and ilab fsck --rebuild-index if it reports the index")
        return EXIT_CORRUPT
    if isinstance(error, Exception):
        _print(
            f"unexpected failure: {type(error).__name__}: {error}",
            "nothing in this message is a known problem; run again with ILABFS_DEBUG=1 for the traceback and report it",
        )
        return EXIT_UNEXPECTED
    raise error


def _print(message: str, hint: str | None) -> None:
    text = f"Error: {message}"
    if hint:
        text += f"; {hint}"
    sys.stderr.write(text + "\n")
