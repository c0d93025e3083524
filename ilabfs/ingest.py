"""One ingest transaction: stage, hash, fsync, check, rename into ``blobs/``.

Each ingest owns ``staging/<id>/`` and holds an flock on its ``lease`` file
for as long as it runs. Before a blob is committed or reused, its digest is
appended to the lease under a shared ``gc.lock``. gc takes that lock
exclusively and reads every live lease before it sweeps, so a blob that an
ingest has committed but not yet named in the index is never collected.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import hashcache
from .digest import hash_bytes
from .errors import InvalidInputError
from .fsutil import fsync_dir, hardlink, make_read_only, raise_if_no_space, try_reflink_fd
from .hashing import Progress, copy_and_hash, hash_fd
from .layout import Layout
from .locks import file_lock, holder_record
from .scan import SourceFile

log = logging.getLogger(__name__)

LEASE = "lease"
MODES = ("copy", "link", "move")
# Files of a download still in progress; a failed pull leaves them in its folder for the next pull.
PARTIAL_SUFFIX = ".part"


@dataclass
class IngestStats:
    """Counts of the files and bytes an ingest handled, for the command's summary line."""

    files: int = 0
    bytes_read: int = 0
    bytes_written: int = 0
    reused: int = 0
    cache_hits: int = 0
    link_kinds: dict[str, int] = field(default_factory=dict)


class Ingest:
    """A running ingest; use as a context manager so its staging folder is always removed."""

    def __init__(self, layout: Layout, known_sizes: frozenset[int] = frozenset()) -> None:
        self.layout = layout
        # Sizes of blobs the store already has: a file of another size cannot be a duplicate.
        self.known_sizes = known_sizes
        self.id = f"{time.time_ns():x}-{os.getpid()}-{os.urandom(4).hex()}"
        self.folder = layout.staging / self.id
        self.pins: set[str] = set()
        self.stats = IngestStats()
        self._lease_fd: int | None = None
        self._counter = 0
        # Bytes this ingest still expects to write, for the message when the disk fills up.
        self.planned_bytes = 0
        # The commit thread starts with the first copied file; a re-add never needs it.
        self._finisher = None
        self._pending: list = []
        self._renamed = False
        # A pull sets this so that a failure keeps its partial downloads for the next pull to resume.
        self.keep_partials = False

    def __enter__(self) -> Ingest:
        import fcntl

        # gc and staging cleanup hold gc.lock exclusively while they look at
        # staging/, so they never see this folder before its lease is locked.
        with file_lock(self.layout.locks / "gc.lock", shared=True):
            self.folder.mkdir(parents=True)
            fd = os.open(self.folder / LEASE, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
            fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, (json.dumps(holder_record()) + "\n").encode())
        self._lease_fd = fd
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        for future in self._pending:
            with contextlib.suppress(BaseException):
                future.result()
        if self._finisher is not None:
            self._finisher.shutdown(wait=True)
        if not (exc_type is not None and self.keep_partials and _prune_to_partials(self.folder)):
            shutil.rmtree(self.folder, ignore_errors=True)
        if self._lease_fd is not None:
            os.close(self._lease_fd)
            self._lease_fd = None

    # -- committing ---------------------------------------------------------

    def commit_bytes(self, data: bytes) -> str:
        """Store a small document (config or manifest) and return its hex digest."""
        digest = hash_bytes(data)
        # A re-add produces the same documents: skip the write and its fsync.
        if self._pin_if_stored(digest):
            return digest
        staged = self._staged_path()
        try:
            fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            try:
                os.write(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as error:
            raise_if_no_space(error, staged, len(data))
            raise
        self._publish(staged, digest, len(data))
        return digest

    def commit_file(self, source: SourceFile, mode: str, progress: Progress | None = None) -> str:
        """Store one source file by ``mode`` and return its hex digest."""
        fd = os.open(source.path, os.O_RDONLY)
        try:
            before = os.fstat(fd)
            self.stats.files += 1
            digest = self._reuse(fd, before)
            if digest:
                self.stats.cache_hits += 1
                if progress:
                    progress(before.st_size)
                return digest
            if mode == "copy":
                digest = self._reuse_by_hash(fd, before, source)
                if digest:
                    if progress:
                        progress(before.st_size)
                    return digest
                return self._copy_in(fd, before, source, progress)
            return self._link_in(fd, before, source, mode, progress)
        finally:
            os.close(fd)

    def commit_staged(self, staged: Path, digest: str, size: int) -> bool:
        """Publish a file the caller wrote into this ingest's folder, fsynced and hashed to ``digest``.

        Return whether a new blob was written.
        """
        return self._publish(staged, digest, size)

    def reuse(self, digest: str) -> bool:
        """Pin ``digest`` and return True if its blob is already in the store."""
        return self._pin_if_stored(digest)

    def _reuse_by_hash(self, fd: int, before: os.stat_result, source: SourceFile) -> str | None:
        """Hash a file that may duplicate a stored blob before copying it.

        Only files whose size matches a stored blob take this extra read; a
        shard shared with a base model is then never written a second time.
        """
        if before.st_size not in self.known_sizes:
            return None
        hashed_at = time.time_ns()
        digest = hash_fd(fd, before.st_size)
        self._check_unchanged(fd, before, source)
        self.stats.bytes_read += before.st_size
        if not self._pin_if_stored(digest):
            return None
        self.stats.reused += 1
        hashcache.store(fd, digest, before, hashed_at)
        return digest

    def _pin_if_stored(self, digest: str) -> bool:
        """Pin ``digest`` and return True if its blob is already in the store."""
        with file_lock(self.layout.locks / "gc.lock", shared=True):
            if not self.layout.blob(digest).exists():
                return False
            self._pin(digest)
            return True

    def _reuse(self, fd: int, before: os.stat_result) -> str | None:
        """Return the digest of a file the store already holds, without reading it."""
        digest = hashcache.lookup(fd, before)
        if digest is None:
            # A file hardlinked from the store is its blob: same device and inode.
            claimed = hashcache.cached_digest(fd)
            if claimed and _same_inode(self.layout.blob(claimed), before):
                digest = claimed
        if digest is None:
            return None
        if self._pin_if_stored(digest):
            self.stats.reused += 1
            return digest
        return None

    def _copy_in(self, fd: int, before: os.stat_result, source: SourceFile, progress: Progress | None) -> str:
        staged = self._staged_path()
        hashed_at = time.time_ns()
        try:
            out = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            try:
                digest = copy_and_hash(fd, out, before.st_size, progress)
                written = os.fstat(out).st_size
            finally:
                os.close(out)
        except OSError as error:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(staged)
            raise_if_no_space(error, staged, max(self.planned_bytes, before.st_size))
            raise
        self.planned_bytes = max(self.planned_bytes - before.st_size, 0)
        self._check_unchanged(fd, before, source)
        if written != before.st_size:
            raise InvalidInputError(
                f"copied {written} of {before.st_size} bytes of {source.path}",
                hint="the file shrank while it was read; run the command again",
                path=str(source.path),
            )
        self.stats.bytes_read += before.st_size
        self._count_kind("copy")
        hashcache.store(fd, digest, before, hashed_at)
        # The fsync and rename run in the background while the next file is
        # copied; seal() waits for them before anything names the blob.
        if self._finisher is None:
            from concurrent.futures import ThreadPoolExecutor

            self._finisher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ilabfs-commit")
        self._pending.append(self._finisher.submit(self._finish_copy, staged, digest, before.st_size))
        return digest

    def _finish_copy(self, staged: Path, digest: str, size: int) -> None:
        fd = os.open(staged, os.O_RDONLY)
        try:
            os.fsync(fd)
        except OSError as error:
            raise_if_no_space(error, staged, size)
            raise
        finally:
            os.close(fd)
        if self._publish(staged, digest, size, sync_dir=False):
            self.stats.bytes_written += size
        else:
            self.stats.reused += 1

    def seal(self) -> None:
        """Wait for background commits, then make every rename into ``blobs/`` durable.

        Call before naming anything: after seal() returns, every blob this
        ingest committed is on disk under its final name.
        """
        pending, self._pending = self._pending, []
        errors = []
        for future in pending:
            try:
                future.result()
            except BaseException as error:  # every future must finish before the first error is raised
                errors.append(error)
        if errors:
            raise errors[0]
        if self._renamed:
            fsync_dir(self.layout.blobs)
            self._renamed = False

    def _link_in(self, fd: int, before: os.stat_result, source: SourceFile, mode: str, progress: Progress | None) -> str:
        hashed_at = time.time_ns()
        # Written before linking, while the user can still write the file; a
        # later re-add recognises the blob by its inode.
        digest = hash_fd(fd, before.st_size, progress)
        self._check_unchanged(fd, before, source)
        self.stats.bytes_read += before.st_size
        hashcache.store(fd, digest, before, hashed_at)
        if self._pin_if_stored(digest):
            self.stats.reused += 1
            return digest
        # The blob will share this inode's data, so it must be on disk before it is named.
        os.fsync(fd)

        staged = self._staged_path()
        kind = self._stage_link(fd, before, source.path, staged, mode)
        if kind == "copy":
            self._copy_staged(source, staged, digest)
        self._count_kind(kind)
        if not self._publish(staged, digest, before.st_size):
            self.stats.reused += 1
        return digest

    def _stage_link(self, fd: int, before: os.stat_result, path: Path, staged: Path, mode: str) -> str:
        """Stage the very inode that was hashed, by reflink or hardlink; return the kind used.

        A reflink shares extents copy-on-write, so a write to the source can
        never reach the blob; a hardlink shares the inode itself. Move mode
        hardlinks too: the source is unlinked only once the artifact is
        named, so a crash before that loses nothing.
        """
        if mode == "link" and try_reflink_fd(fd, staged):
            # The clone's extents are new metadata of its own, made durable here.
            clone = os.open(staged, os.O_RDONLY)
            try:
                os.fsync(clone)
            finally:
                os.close(clone)
            return "reflink"
        failure = hardlink(path, staged)
        if failure == 0:
            linked = os.lstat(staged)
            if (linked.st_dev, linked.st_ino) != (before.st_dev, before.st_ino):
                # The path now names another file: it was replaced after hashing.
                os.unlink(staged)
                raise InvalidInputError(
                    f"{path} changed while it was added",
                    hint="wait until the file is complete, then run the command again",
                    path=str(path),
                )
            return "hardlink"
        if mode == "move":
            reason = "it is on another filesystem" if failure == errno.EXDEV else os.strerror(failure)
            raise InvalidInputError(
                f"cannot move {path} into the store: {reason}",
                hint="use --mode copy, or keep the store on the same filesystem as the source" if failure == errno.EXDEV
                else "use --mode copy, or fix the file's ownership and permissions",
                path=str(path),
            )
        log.info("cannot link %s into the store (%s); copying it instead", path, os.strerror(failure))
        return "copy"

    def _copy_staged(self, source: SourceFile, staged: Path, digest: str) -> None:
        with open(source.path, "rb") as src:
            try:
                out = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
                try:
                    copied = copy_and_hash(src.fileno(), out, source.size)
                    os.fsync(out)
                finally:
                    os.close(out)
            except OSError as error:
                raise_if_no_space(error, staged, source.size)
                raise
        if copied != digest:
            raise InvalidInputError(
                f"{source.path} changed while it was added",
                hint="wait until the file is complete, then run the command again",
                path=str(source.path),
            )
        self.stats.bytes_written += source.size

    def _check_unchanged(self, fd: int, before: os.stat_result, source: SourceFile) -> None:
        after = os.fstat(fd)
        if (after.st_size, after.st_mtime_ns, after.st_ino) != (before.st_size, before.st_mtime_ns, before.st_ino):
            raise InvalidInputError(
                f"{source.path} changed while it was added",
                hint="wait until the file is complete, then run the command again",
                path=str(source.path),
            )

    def _publish(self, staged: Path, digest: str, size: int, sync_dir: bool = True) -> bool:
        """Rename a staged, fsynced file into ``blobs/`` unless the blob is already there.

        Return whether a new blob was written.

        After the rename and the directory fsync the blob is durable; from
        then on failures can only leave garbage, never a damaged blob.
        """
        target = self.layout.blob(digest)
        with file_lock(self.layout.locks / "gc.lock", shared=True):
            self._pin(digest)
            if target.exists():
                os.unlink(staged)
                return False
            if os.lstat(staged).st_size != size:
                raise InvalidInputError(f"staged blob {staged} has the wrong size", path=str(staged))
            make_read_only(staged)
            os.rename(staged, target)
            if sync_dir:
                fsync_dir(target.parent)
            else:
                self._renamed = True
            return True

    def _pin(self, digest: str) -> None:
        if digest in self.pins:
            return
        assert self._lease_fd is not None, "ingest used outside its context"
        os.write(self._lease_fd, f"{digest}\n".encode())
        self.pins.add(digest)

    def _staged_path(self) -> Path:
        self._counter += 1
        return self.folder / f"blob-{self._counter}"

    def _count_kind(self, kind: str) -> None:
        self.stats.link_kinds[kind] = self.stats.link_kinds.get(kind, 0) + 1


def _same_inode(path: Path, info: os.stat_result) -> bool:
    try:
        other = os.stat(path)
    except OSError:
        return False
    return (other.st_dev, other.st_ino) == (info.st_dev, info.st_ino)


def _prune_to_partials(folder: Path) -> bool:
    """Remove everything in a failed ingest's folder but its lease and partial downloads.

    Return whether any partial download is left. The folder's time is reset,
    so gc's grace period for abandoned staging folders counts from now.
    """
    kept = False
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return False
    for entry in entries:
        if entry.name == LEASE:
            continue
        if entry.name.endswith(PARTIAL_SUFFIX) and entry.is_file(follow_symlinks=False) and entry.stat().st_size:
            kept = True
            continue
        with contextlib.suppress(OSError):
            os.unlink(entry.path)
    if kept:
        os.utime(folder)
    return kept


def read_pins(lease: Path) -> set[str]:
    """Return the digests a lease pins (its first line is the holder record)."""
    lines = lease.read_text(errors="replace").splitlines()
    return {line for line in lines[1:] if len(line) == 64}
