"""Retries: how often and how long a request is retried, and the waits between tries.

Each try after the first waits ``base_delay * 2**(try - 1)`` seconds, capped at
``max_delay`` and scaled by a random factor between 0.5 and 1 so that
parallel transfers do not retry in step. A ``Retry-After`` header sets the
wait instead when it fits in what is left of the budget.
"""

from __future__ import annotations

import email.utils
import logging
import os
import random
import time
from dataclasses import dataclass

from ..errors import ConfigError, RemoteError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long one request is retried, and the socket timeout, in seconds."""

    retries: int = 5
    budget: float = 60.0
    base_delay: float = 0.5
    max_delay: float = 10.0
    timeout: float = 60.0

    @classmethod
    def from_env(cls) -> RetryPolicy:
        from ..settings import env_seconds

        text = os.environ.get("ILABFS_REMOTE_RETRIES", "").strip()
        if text and not text.isdigit():
            raise ConfigError(
                f"invalid ILABFS_REMOTE_RETRIES={text!r}: expected a whole number, 0 or more",
                hint="fix or unset ILABFS_REMOTE_RETRIES",
            )
        return cls(
            retries=int(text) if text else cls.retries,
            budget=env_seconds("ILABFS_REMOTE_RETRY_SECONDS", cls.budget),
            timeout=env_seconds("ILABFS_REMOTE_TIMEOUT", cls.timeout) or cls.timeout,
        )


class Cancelled(Exception):
    """Another transfer of the same command failed, so this one stopped."""


class Retrier:
    """The tries of one operation: wait() sleeps before the next one, or raises when none is left.

    ``cancel``, an object with ``wait(seconds) -> bool`` such as a
    threading.Event, ends the sleep early and raises Cancelled once it is set.
    """

    def __init__(self, policy: RetryPolicy, what: str, cancel=None) -> None:
        self.policy = policy
        self.what = what
        self.cancel = cancel
        self.tries = 1
        self.waited = 0.0

    def wait(self, reason: str, retry_after: float | None = None) -> None:
        left = self.policy.budget - self.waited
        if self.tries > self.policy.retries or left <= 0:
            raise self.exhausted(reason)
        if retry_after is not None and retry_after > left:
            raise RemoteError(
                f"{self.what} failed: {reason}, and the registry asked to wait {retry_after:.0f}s, "
                f"more than the {left:.0f}s left of the retry budget",
                hint="run the command again later, or raise ILABFS_REMOTE_RETRY_SECONDS",
            )
        delay = retry_after
        if delay is None:
            delay = min(self.policy.base_delay * 2 ** (self.tries - 1), self.policy.max_delay) * random.uniform(0.5, 1.0)
        delay = min(delay, left)
        log.warning("%s: %s; retrying in %.1fs (retry %d of %d)", self.what, reason, delay, self.tries, self.policy.retries)
        if self.cancel is not None:
            if self.cancel.wait(delay):
                raise Cancelled()
        else:
            time.sleep(delay)
        self.waited += delay
        self.tries += 1

    def exhausted(self, reason: str) -> RemoteError:
        return RemoteError(
            f"{self.what} failed after {self.tries} {'try' if self.tries == 1 else 'tries'}: {reason}",
            hint="check that the registry is reachable and run the command again; a pull resumes where it stopped",
        )


def retry_after(value: str | None) -> float | None:
    """Parse Retry-After as seconds or as an HTTP date; None when absent or invalid."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)
