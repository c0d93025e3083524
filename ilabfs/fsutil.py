"""Small filesystem helpers shared by the store modules.

Everything that must survive a crash goes through ``atomic_write``: write a
temporary file in the same directory, fsync it, rename it over the target,
then fsync the directory so the rename itself is durable.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
from pathlib import Path

from .errors import NoSpaceError

# FICLONE from linux/fs.h: share the source's extents copy-on-write.
FICLONE = 0x40049409
READ_ONLY = 0o444
_NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Replace ``path`` with ``data`` so readers see the old or the new file, never a mix."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        try:
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as error:
        _unlink_quietly(tmp)
        raise_if_no_space(error, path, len(data))
        raise
    fsync_dir(path.parent)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _unlink_quietly(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def raise_if_no_space(error: OSError, path: Path, needed: int) -> None:
    """Turn ENOSPC or EDQUOT into a NoSpaceError that names the sizes."""
    if error.errno not in _NO_SPACE:
        return
    free = free_bytes(path.parent if not path.is_dir() else path)
    raise NoSpaceError(
        f"no space left on the store's filesystem while writing {path}: "
        f"{needed} bytes needed, {free} bytes free",
        hint="free some space (ilab gc reclaims unused blobs) and run the command again",
        path=str(path),
        needed=needed,
        free=free,
    ) from error


def free_bytes(path: Path) -> int:
    """Return the bytes an unprivileged user may still write on the filesystem of ``path``."""
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    info = os.statvfs(probe)
    return info.f_bavail * info.f_frsize


def make_read_only(path: Path) -> None:
    os.chmod(path, READ_ONLY, follow_symlinks=False)


def is_read_only(mode: int) -> bool:
    return not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)


def try_reflink_fd(src_fd: int, target: Path) -> bool:
    """Create ``target`` as a copy-on-write clone of the open file; return False where unsupported."""
    try:
        dst_fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except OSError:
        return False
    try:
        fcntl.ioctl(dst_fd, FICLONE, src_fd)
        cloned = True
    except OSError:
        cloned = False
    finally:
        os.close(dst_fd)
    if not cloned:
        _unlink_quietly(target)
    return cloned


def hardlink(source: Path, target: Path) -> int:
    """Hardlink ``target`` to the file ``source`` names (following a symlink); return 0 or the errno."""
    try:
        os.link(os.path.realpath(source), target, follow_symlinks=False)
        return 0
    except OSError as error:
        return error.errno or errno.EIO


def copy_file(source: Path, target: Path) -> None:
    """Copy bytes in the kernel where possible; used for views, not for ingest."""
    with open(source, "rb") as src, open(target, "xb") as dst:
        size = os.fstat(src.fileno()).st_size
        copy_range(src.fileno(), dst.fileno(), size)


def copy_range(src_fd: int, dst_fd: int, size: int) -> None:
    """Copy ``size`` bytes from the current offsets, by copy_file_range or read/write."""
    remaining = size
    try:
        while remaining > 0:
            copied = os.copy_file_range(src_fd, dst_fd, min(remaining, 1 << 30))
            if copied == 0:
                break
            remaining -= copied
    except OSError as error:
        if error.errno in _NO_SPACE:
            raise
        # Cross-device or unsupported: finish with a plain read/write loop.
    while remaining > 0:
        chunk = os.read(src_fd, min(remaining, 1 << 20))
        if not chunk:
            break
        _write_all(dst_fd, chunk)
        remaining -= len(chunk)
