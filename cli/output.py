"""Formatting for terminals: sizes, ages, tables, JSON and the progress bar."""

from __future__ import annotations

import datetime
import json
import sys
import time

_UNITS = ("Ki", "Mi", "Gi", "Ti", "Pi")


def size(value: int | None) -> str:
    """Format bytes in binary units the way kubectl and the ilab proposal do: ``28Gi``, ``1.5Mi``."""
    if value is None:
        return "-"
    if value < 1024:
        return f"{value}B"
    amount = float(value)
    unit = ""
    for unit in _UNITS:
        amount /= 1024
        # Compare the rounded figure, so 1048575 bytes prints as 1Mi, not 1024Ki.
        if round(amount, 1 if amount < 10 else 0) < 1024:
            break
    text = f"{amount:.1f}" if amount < 10 else f"{amount:.0f}"
    return f"{text.removesuffix('.0')}{unit}"


def count(number: int, noun: str) -> str:
    """Return ``1 blob`` or ``3 blobs``."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def age(iso: str | None) -> str:
    if not iso:
        return "-"
    import humanize

    created = datetime.datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return humanize.naturaltime(datetime.datetime.now(datetime.timezone.utc) - created)


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [len(header) for header in headers]
    for values in rows:
        widths = [max(width, len(value)) for width, value in zip(widths, values)]
    lines = ["   ".join(text.ljust(width) for text, width in zip(values, widths)).rstrip() for values in [headers, *rows]]
    return "\n".join(lines)


def emit_json(document: object) -> None:
    sys.stdout.write(json.dumps(document, indent=2, sort_keys=False) + "\n")


class ProgressBar:
    """A one-line byte progress bar on stderr, drawn only when stderr is a terminal.

    The library sets ``total`` once it knows how many bytes it will read.
    """

    def __init__(self, label: str, total: int = 0, enabled: bool = True) -> None:
        self.label = label
        self.total = total
        self.done = 0
        self.enabled = enabled and sys.stderr.isatty()
        self.started = time.monotonic()
        self._drawn = 0.0

    def __call__(self, amount: int) -> None:
        self.done += amount
        now = time.monotonic()
        if self.enabled and (now - self._drawn > 0.1 or self.done >= self.total):
            self._drawn = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        elapsed = max(now - self.started, 1e-6)
        rate = self.done / elapsed
        fraction = min(self.done / max(self.total, 1), 1.0)
        # An estimate from the first fraction of a second swings too much to show.
        remaining = max(self.total - self.done, 0) / rate if rate > 0 and elapsed > 0.5 else 0
        bar = "#" * int(fraction * 30)
        sys.stderr.write(
            f"\r{self.label} [{bar:<30}] {fraction:4.0%} {size(self.done)}/{size(self.total)} "
            f"{size(int(rate))}/s ETA {remaining:4.0f}s"
        )
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled and self._drawn:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
