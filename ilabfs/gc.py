"""Garbage collection: a pure mark, a pure sweep, and the disk pass around them.

The disk pass holds ``locks/gc.lock`` exclusively, reads every live ingest
lease first and the index second: an ingest that finishes between the two
reads is then seen in the index, and one still running is seen by its pins.
An unreadable index stops gc, because skipping what cannot be parsed would
shrink the root set and delete live data.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .digest import is_hex_digest
from .index import load_roots, still_referenced
from .layout import Layout
from .locks import file_lock, try_lock_exclusive

log = logging.getLogger(__name__)

# Staging folders whose lease is free but that are younger than this are left
# alone: their ingest may be starting up and not have locked its lease yet.
def staging_grace() -> float:
    from .settings import env_seconds

    return env_seconds("ILABFS_STAGING_GRACE", 3600.0)


@dataclass(frozen=True)
class SweepPlan:
    """The unreferenced blobs and abandoned staging folders one sweep removes."""

    blobs: tuple[tuple[str, int], ...]
    staging: tuple[tuple[str, int], ...]

    @property
    def bytes_freed(self) -> int:
        return sum(size for _, size in self.blobs) + sum(size for _, size in self.staging)


def mark(referenced: Iterable[str], pins: Iterable[str]) -> set[str]:
    """Return every blob that must be kept: reachable from the index or pinned by an ingest."""
    return set(referenced) | set(pins)


def sweep(present: dict[str, int], marked: set[str]) -> list[tuple[str, int]]:
    """Return the present blobs that are not marked, with their sizes, sorted by digest."""
    return sorted((digest, size) for digest, size in present.items() if digest not in marked)


def manifest_references(layout: Layout, artifacts: Iterable[str]) -> set[str]:
    """Return the blobs the kept manifests themselves reference.

    A full gc marks from the manifests as well as from the index's blob lists,
    so a disagreement between the two can only keep more. A manifest that
    cannot be read stops gc: skipping it would shrink the root set.
    """
    from .errors import CorruptStoreError
    from .manifest import parse_manifest

    reached: set[str] = set()
    for digest in artifacts:
        path = layout.blob(digest)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            continue
        try:
            reached.update(parse_manifest(data, str(path), check_titles=False).blob_digests)
        except CorruptStoreError as error:
            raise CorruptStoreError(
                f"gc stopped: {error.message}",
                hint="nothing was deleted; run ilab fsck, and ilab fsck --repair to move the damaged manifest aside",
                path=str(path),
            ) from error
    return reached


def list_blobs(layout: Layout) -> dict[str, int]:
    """Return every blob file under ``blobs/blake3`` with its size; other names are ignored."""
    present: dict[str, int] = {}
    with os.scandir(layout.blobs) as entries:
        for entry in entries:
            if is_hex_digest(entry.name) and not entry.is_dir(follow_symlinks=False):
                try:
                    present[entry.name] = entry.stat(follow_symlinks=False).st_size
                except FileNotFoundError:
                    continue
    return present


def live_pins(layout: Layout) -> set[str]:
    """Return the pins of every ingest whose lease is still locked by a running process."""
    from .ingest import LEASE, read_pins

    pins: set[str] = set()
    for folder in _staging_folders(layout):
        lease = folder / LEASE
        fd = try_lock_exclusive(lease)
        if fd is None and lease.exists():
            with contextlib.suppress(OSError):
                pins |= read_pins(lease)
        elif fd is not None:
            os.close(fd)
    return pins


def abandoned_staging(layout: Layout, grace: float | None = None) -> list[tuple[str, int]]:
    """Return staging folders with no live ingest, older than ``grace`` seconds."""
    from .ingest import LEASE

    grace = staging_grace() if grace is None else grace
    now = time.time()
    found = []
    for folder in _staging_folders(layout):
        try:
            age = now - folder.stat().st_mtime
        except FileNotFoundError:
            continue
        if age < grace:
            continue
        fd = try_lock_exclusive(folder / LEASE)
        if fd is None and (folder / LEASE).exists():
            continue
        if fd is not None:
            os.close(fd)
        found.append((folder.name, _tree_size(folder)))
    return found


def _staging_folders(layout: Layout) -> list[Path]:
    try:
        return [Path(entry.path) for entry in os.scandir(layout.staging) if entry.is_dir(follow_symlinks=False)]
    except FileNotFoundError:
        return []


def _tree_size(folder: Path) -> int:
    total = 0
    for base, _, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(base, name)).st_size
    return total


def plan_gc(layout: Layout, only: set[str] | None = None, grace: float | None = None) -> SweepPlan:
    """Build the sweep plan; call with gc.lock held exclusively when the plan is to be executed.

    ``only`` restricts the blob sweep to those digests (delete reclaims just
    what it unreferenced) and skips staging.
    """
    pins = live_pins(layout)
    if only is not None:
        # A delete reclaims a few blobs, so look up just those, not the whole store.
        # NOTE: this trusts the reference rows. When a damaged index lacks a row
        # (fsck: index-mismatch), a blob that a manifest still lists can go.
        # Only a full gc reads the manifests too.
        present = stat_blobs(layout, only)
        return SweepPlan(tuple(sweep(present, mark(still_referenced(layout, only), pins))), ())

    artifacts, referenced = load_roots(layout)
    present = list_blobs(layout)
    marked = mark(referenced, pins) | manifest_references(layout, artifacts)
    return SweepPlan(tuple(sweep(present, marked)), tuple(abandoned_staging(layout, grace)))


def stat_blobs(layout: Layout, digests: Iterable[str]) -> dict[str, int]:
    """Return the sizes of those of ``digests`` that are present as blob files."""
    present: dict[str, int] = {}
    for digest in digests:
        if not is_hex_digest(digest):
            continue
        try:
            present[digest] = os.lstat(layout.blob(digest)).st_size
        except FileNotFoundError:
            continue
    return present


def execute(layout: Layout, plan: SweepPlan) -> int:
    """Remove what the plan lists; return the bytes actually freed."""
    freed = 0
    for digest, size in plan.blobs:
        try:
            os.unlink(layout.blob(digest))
            freed += size
        except FileNotFoundError:
            continue
    for name, size in plan.staging:
        shutil.rmtree(layout.staging / name, ignore_errors=True)
        log.info("removed abandoned staging folder %s", name)
        freed += size
    if plan.blobs:
        with contextlib.suppress(OSError):
            from .fsutil import fsync_dir

            fsync_dir(layout.blobs)
    return freed


def collect(layout: Layout, dry_run: bool = False, only: set[str] | None = None, timeout: float | None = None) -> tuple[SweepPlan, int]:
    """Plan and, unless ``dry_run``, execute a sweep under the exclusive gc lock."""
    with file_lock(layout.locks / "gc.lock", timeout=timeout):
        plan = plan_gc(layout, only=only)
        if dry_run:
            return plan, 0
        if only is None:
            _remove_stale_views(layout)
        return plan, execute(layout, plan)


def clean_staging(layout: Layout) -> int:
    """Remove abandoned staging folders older than the grace period; return how many.

    Every command that writes the store calls this first, so a crashed add
    does not leave its partial files behind until the next gc.
    """
    from .errors import LockedError

    removed = 0
    try:
        # Exclusive, so no ingest is between creating its folder and locking its lease.
        with file_lock(layout.locks / "gc.lock", timeout=0):
            for name, _ in abandoned_staging(layout):
                shutil.rmtree(layout.staging / name, ignore_errors=True)
                log.info("removed abandoned staging folder %s", name)
                removed += 1
    except LockedError:
        # A gc or another add holds the lock; the next command cleans up instead.
        pass
    return removed


def _remove_stale_views(layout: Layout) -> None:
    from .views import stale_views

    kept, _ = load_roots(layout, with_references=False)
    for path in stale_views(layout, kept):
        shutil.rmtree(path, ignore_errors=True)
