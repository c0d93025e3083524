"""Settings read from environment variables, checked so a typo is an error, not a traceback."""

from __future__ import annotations

import math
import os

from .errors import ConfigError


def env_seconds(name: str, default: float) -> float:
    """Return a non-negative number of seconds from ``$name``, or ``default`` when it is unset."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not math.isfinite(value) or value < 0:
        raise ConfigError(
            f"invalid {name}={text!r}: expected a number of seconds, 0 or more",
            hint=f"fix or unset {name}",
            variable=name,
            value=text,
        )
    return value
