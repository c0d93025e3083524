"""BLAKE3 hashing of files and of a copy in flight."""

from __future__ import annotations

import mmap
import os
import threading
from collections.abc import Callable

import blake3

from .fsutil import copy_range

Progress = Callable[[int], None]
_CHUNK = 8 << 20


def hash_fd(fd: int, size: int, progress: Progress | None = None, threads: int = blake3.blake3.AUTO) -> str:
    """Hash ``size`` bytes of an open file through a read-only memory map.

    Mapping lets BLAKE3 hash with several threads and keeps anonymous memory
    flat whatever the file size; the mapped pages are page cache, not heap.
    """
    hasher = blake3.blake3(max_threads=threads)
    if size == 0:
        return hasher.hexdigest()
    with mmap.mmap(fd, size, access=mmap.ACCESS_READ) as mapped:
        view = memoryview(mapped)
        try:
            for start in range(0, size, _CHUNK):
                chunk = view[start : start + _CHUNK]
                try:
                    hasher.update(chunk)
                finally:
                    # An unreleased slice would make closing the map fail on Ctrl-C.
                    chunk.release()
                if progress:
                    progress(min(_CHUNK, size - start))
        finally:
            view.release()
    return hasher.hexdigest()


def hash_path(path: str | os.PathLike, progress: Progress | None = None) -> str:
    fd = os.open(path, os.O_RDONLY)
    try:
        return hash_fd(fd, os.fstat(fd).st_size, progress)
    finally:
        os.close(fd)


def copy_and_hash(src_fd: int, dst_fd: int, size: int, progress: Progress | None = None) -> str:
    """Copy ``size`` bytes from ``src_fd`` to ``dst_fd`` while hashing the source.

    The kernel copies (copy_file_range) while a second thread hashes the same
    page-cache pages, so each byte is read from disk once and the hash costs
    no extra wall time on a machine with two cores. The caller must check that
    the source did not change during the copy.
    """
    result: dict[str, object] = {}

    def hash_source() -> None:
        try:
            result["digest"] = hash_fd(src_fd, size, progress, threads=1)
        except BaseException as error:  # re-raised in the calling thread below
            result["error"] = error

    worker = threading.Thread(target=hash_source, name="ilabfs-hash")
    worker.start()
    try:
        os.lseek(src_fd, 0, os.SEEK_SET)
        copy_range(src_fd, dst_fd, size)
    finally:
        worker.join()
    if "error" in result:
        raise result["error"]  # type: ignore[misc]
    return result["digest"]  # type: ignore[return-value]
