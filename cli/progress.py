"""Progress for transfers: one bar per blob on stderr, redrawn together, nothing when stderr is not a terminal."""

from __future__ import annotations

import shutil
import sys
import threading
import time

from . import output

LABEL_WIDTH = 36
BAR_WIDTH = 24
REDRAW_SECONDS = 0.1


class MultiProgress:
    """A block of lines on stderr: a bar for each blob in transfer, then a total.

    Finished and queued blobs have no line, so the block never grows past
    the number of parallel transfers and always fits the terminal.
    """

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self._bars: list[BlobBar] = []
        self._lock = threading.Lock()
        self._drawn = 0
        self._last = 0.0

    def bar(self, label: str, total: int) -> BlobBar:
        line = BlobBar(self, label, total)
        with self._lock:
            self._bars.append(line)
        return line

    def redraw(self, force: bool = False) -> None:
        if not self.enabled:
            return
        with self._lock:
            now = time.monotonic()
            if not force and now - self._last < REDRAW_SECONDS:
                return
            self._last = now
            rows = max(shutil.get_terminal_size().lines - 2, 1)
            active = [bar.render() for bar in self._bars if bar.started and not bar.finished][:rows]
            done = sum(bar.done for bar in self._bars)
            total = sum(bar.total for bar in self._bars)
            finished = sum(bar.finished for bar in self._bars)
            lines = [*active, f"{finished} of {output.count(len(self._bars), 'blob')} done, {output.size(done)}/{output.size(total)}"]
            text = (f"\033[{self._drawn}F" if self._drawn else "\r") + "\033[J"
            sys.stderr.write(text + "".join(f"{line}\n" for line in lines))
            sys.stderr.flush()
            self._drawn = len(lines)

    def close(self) -> None:
        """Erase the block, so the command's summary line follows the prompt directly."""
        if not self.enabled or not self._drawn:
            return
        with self._lock:
            sys.stderr.write(f"\033[{self._drawn}F\033[J")
            sys.stderr.flush()
            self._drawn = 0


class BlobBar:
    """The bar of one blob: called with byte counts, set() when a transfer starts, resumes or restarts."""

    def __init__(self, parent: MultiProgress, label: str, total: int) -> None:
        self.parent = parent
        self.label = label if len(label) <= LABEL_WIDTH else "..." + label[-(LABEL_WIDTH - 3):]
        self.total = total
        self.done = 0
        self.started = False
        self.finished = False

    def __call__(self, amount: int) -> None:
        self.started = True
        self.done += amount
        self.parent.redraw()

    def set(self, done: int) -> None:
        self.started = True
        self.done = done
        self.parent.redraw()

    def close(self) -> None:
        self.finished = True
        self.parent.redraw(force=True)

    def render(self) -> str:
        fraction = min(self.done / self.total, 1.0) if self.total else 1.0
        filled = "#" * int(fraction * BAR_WIDTH)
        return f"{self.label:<{LABEL_WIDTH}} [{filled:<{BAR_WIDTH}}] {fraction:4.0%} {output.size(self.done)}/{output.size(self.total)}"
