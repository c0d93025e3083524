"""Downloads into an ingest's staging folder, hashed with sha256 and BLAKE3 in the one pass that writes them.

A download goes to ``<staging folder>/pull-<sha256 hex>.part``. When a
connection breaks, the download requests the rest with ``Range: bytes=N-``.
When a later pull finds a partial file, it hashes the bytes already there
and continues the same way. A source that ignores ``Range`` sends the whole
blob again, and the partial file is then started over. Nothing becomes a
blob until its size and sha256 match the descriptor.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import blake3

from ..errors import DigestMismatchError, NotFoundError
from ..fsutil import raise_if_no_space
from ..ingest import PARTIAL_SUFFIX
from .registry import Registry
from .retry import Cancelled, Retrier, RetryPolicy
from .transport import BLOCK, NETWORK_ERRORS
from .upload import BlobProgress

log = logging.getLogger(__name__)

PARTIAL_PREFIX = "pull-"
# How often a running download touches its staging folder, so gc's grace period never runs out under it.
TOUCH_SECONDS = 60.0


class Cancellation:
    """The stop signal of one pull's downloads; cancel() also unblocks reads waiting on a silent connection."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._readers: set[Reader] = set()

    def is_set(self) -> bool:
        return self._event.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; return True as soon as the pull is cancelled."""
        return self._event.wait(seconds)

    def cancel(self) -> None:
        self._event.set()
        with self._lock:
            readers = list(self._readers)
        for reader in readers:
            reader.abort()

    def track(self, reader: Reader) -> None:
        with self._lock:
            self._readers.add(reader)
        if self._event.is_set():
            reader.abort()

    def untrack(self, reader: Reader) -> None:
        with self._lock:
            self._readers.discard(reader)


@dataclass(frozen=True)
class Wanted:
    """A blob to fetch: its sha256 hex digest, size, and a label (its title) for messages."""

    sha256: str
    size: int
    label: str


@dataclass(frozen=True)
class Staged:
    """A verified download in the staging folder, with its BLAKE3 digest and the bytes this run received."""

    wanted: Wanted
    path: Path
    blake3: str
    received: int
    resumed_from: int


class Reader(Protocol):
    def readinto(self, buffer: memoryview) -> int: ...

    def abort(self) -> None: ...

    def close(self) -> None: ...


class BlobSource(Protocol):
    """A source of blobs: a registry repository or an OCI layout folder."""

    description: str
    policy: RetryPolicy

    def open(self, digest: str, offset: int) -> tuple[Reader, int, int | None]:
        """Return a reader positioned at the returned start offset (-1 when nothing is left) and the length it will send."""
        ...


class RegistryBlobs:
    """Blobs of one repository of a registry."""

    def __init__(self, registry: Registry, repository: str) -> None:
        self.registry = registry
        self.repository = repository
        self.description = f"{registry.name}/{repository}"
        self.policy = registry.policy

    def open(self, digest: str, offset: int) -> tuple[Reader, int, int | None]:
        response, start = self.registry.open_blob(self.repository, digest, offset)
        length = response.header("Content-Length")
        return response, start, int(length) if length and length.isdigit() else None


class _FileReader:
    def __init__(self, path: Path, offset: int) -> None:
        self.handle = open(path, "rb", buffering=0)
        self.handle.seek(offset)

    def readinto(self, buffer: memoryview) -> int:
        return self.handle.readinto(buffer)

    def abort(self) -> None:
        """Do nothing, because a read from a local file does not wait for a peer."""

    def close(self) -> None:
        self.handle.close()


class LayoutBlobs:
    """Blobs of an OCI image layout folder, ``blobs/sha256/<hex>``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.description = f"OCI layout {folder}"
        self.policy = RetryPolicy(retries=0)

    def open(self, digest: str, offset: int) -> tuple[Reader, int, int | None]:
        algorithm, _, hex_digest = digest.partition(":")
        path = self.folder / "blobs" / algorithm / hex_digest
        try:
            size = os.stat(path).st_size
        except FileNotFoundError:
            raise NotFoundError(
                f"{self.description} has no blob {digest}",
                hint="the layout is incomplete; copy it again (skopeo copy) and retry",
                path=str(path),
            ) from None
        return _FileReader(path, offset), offset, max(size - offset, 0)


def partial_path(folder: Path, sha256: str) -> Path:
    return folder / f"{PARTIAL_PREFIX}{sha256}{PARTIAL_SUFFIX}"


def fetch(source: BlobSource, wanted: Wanted, folder: Path, progress: BlobProgress | None = None,
          stop: Cancellation | None = None) -> Staged:
    """Download one blob into ``folder``, resuming a partial file, and verify its size and sha256."""
    path = partial_path(folder, wanted.sha256)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        state = _Partial(fd, folder)
        state.rehash(wanted.size)
        resumed_from = state.offset
        if resumed_from:
            log.info("resuming %s at byte %d of %d", wanted.label, resumed_from, wanted.size)

        while True:
            _transfer(source, wanted, state, progress, stop)
            actual = state.sha256.hexdigest()
            if state.offset == wanted.size and actual == wanted.sha256:
                break
            if resumed_from == 0:
                os.unlink(path)
                raise DigestMismatchError(
                    f"blob {wanted.label} (sha256:{wanted.sha256}, {wanted.size} bytes) from {source.description} "
                    f"arrived as {state.offset} bytes hashing to sha256:{actual}",
                    hint="the source or the network altered it; the download was discarded and nothing was named",
                    expected=wanted.sha256,
                    actual=actual,
                )
            # The bytes kept from an earlier pull may be the damaged ones: fetch the blob whole, once.
            log.warning("%s does not match its digest after resuming; downloading it again from the start", wanted.label)
            state.restart()
            resumed_from = 0

        os.fsync(fd)
        return Staged(wanted, path, state.blake3.hexdigest(), state.received, resumed_from)
    finally:
        os.close(fd)


class _Partial:
    """A partial file and the hash state of the bytes it holds."""

    def __init__(self, fd: int, folder: Path) -> None:
        self.fd = fd
        self.folder = folder
        self.sha256 = hashlib.sha256()
        self.blake3 = blake3.blake3()
        self.offset = 0
        self.received = 0
        self._buffer = memoryview(bytearray(BLOCK))
        self._touched = time.monotonic()

    def rehash(self, limit: int) -> None:
        """Hash the bytes the file already holds; a file longer than the blob is started over."""
        size = os.fstat(self.fd).st_size
        if size > limit:
            self.restart()
            return
        while self.offset < size:
            count = os.preadv(self.fd, [self._buffer[: min(BLOCK, size - self.offset)]], self.offset)
            if not count:
                break
            self._hash(self._buffer[:count])
            self.offset += count
        if self.offset < size:
            os.ftruncate(self.fd, self.offset)

    def restart(self) -> None:
        os.ftruncate(self.fd, 0)
        self.sha256 = hashlib.sha256()
        self.blake3 = blake3.blake3()
        self.offset = 0

    def copy(self, reader: Reader, size: int, progress: BlobProgress | None, stop: Cancellation | None) -> None:
        """Append what ``reader`` sends, up to ``size`` bytes in all, hashing each block as it is written."""
        while self.offset < size:
            _check_stop(stop)
            count = reader.readinto(self._buffer[: min(BLOCK, size - self.offset)])
            if not count:
                return
            chunk = self._buffer[:count]
            written = 0
            try:
                while written < count:
                    written += os.pwrite(self.fd, chunk[written:], self.offset + written)
            except OSError as error:
                raise_if_no_space(error, self.folder, size - self.offset)
                raise
            self._hash(chunk)
            self.offset += count
            self.received += count
            if progress:
                progress(count)
            self._touch()

    def _hash(self, chunk: memoryview) -> None:
        self.sha256.update(chunk)
        self.blake3.update(chunk)

    def _touch(self) -> None:
        now = time.monotonic()
        if now - self._touched > TOUCH_SECONDS:
            self._touched = now
            os.utime(self.folder)


def _transfer(source: BlobSource, wanted: Wanted, state: _Partial, progress: BlobProgress | None,
              stop: Cancellation | None) -> None:
    """Receive the rest of a blob, asking for it again from the current offset after each broken connection."""
    retrier = Retrier(source.policy, f"download of {wanted.label} from {source.description}", stop)
    if progress:
        progress.set(state.offset)
    while state.offset < wanted.size:
        _check_stop(stop)
        reader, start, length = source.open(f"sha256:{wanted.sha256}", state.offset)
        if stop is not None:
            stop.track(reader)
        try:
            if start != state.offset:
                # The source ignored Range (or rejected it as past the end): take the blob from its start.
                log.info("%s sent %s from byte 0, not %d; starting it over", source.description, wanted.label, state.offset)
                state.restart()
                if progress:
                    progress.set(0)
                if start < 0:
                    continue
            if length is not None and length != wanted.size - state.offset:
                raise DigestMismatchError(
                    f"blob {wanted.label} (sha256:{wanted.sha256}) from {source.description} is "
                    f"{state.offset + length} bytes, but its descriptor says {wanted.size}",
                    hint="the manifest and the blob disagree; nothing was named",
                    expected=wanted.size,
                    actual=state.offset + length,
                )
            state.copy(reader, wanted.size, progress, stop)
        except NETWORK_ERRORS as error:
            _check_stop(stop)
            retrier.wait(f"{type(error).__name__}: {error} at byte {state.offset} of {wanted.size}")
            continue
        finally:
            if stop is not None:
                stop.untrack(reader)
            reader.close()
        if state.offset < wanted.size:
            _check_stop(stop)
            retrier.wait(f"the connection ended at byte {state.offset} of {wanted.size}")


def _check_stop(stop: Cancellation | None) -> None:
    if stop is not None and stop.is_set():
        raise Cancelled()

