"""The source-file digest cache kept in an extended attribute.

Re-adding an unchanged directory must not read file contents, so after a
file is hashed its digest is stored in the ``user.ilabfs.blake3`` attribute
together with the file's identity: device, inode, size, mtime_ns and the
ctime_ns the attribute write itself produced. Any later change to the
file's data or metadata moves its ctime, which invalidates the entry.

Two races are handled the way git handles its index:

* A file whose mtime lies within ``GRANULARITY_NS`` of the moment hashing
  started may have been changed again inside the same timestamp tick, so no
  entry is written for it; the next add hashes it again and then caches it.
* Writing the attribute changes ctime, and on kernels with fine-grained
  timestamps the second write (the one that records the first write's
  ctime) lands a few microseconds later. A lookup therefore accepts a ctime
  up to ``CTIME_SLACK_NS`` after the recorded one; a change inside that
  window, within the same tick as the cache write, is the one case the cache
  cannot see.

Filesystems without xattr support, or files the user may not write, are
skipped silently: the cache only ever saves work.
"""

from __future__ import annotations

import errno
import json
import logging
import os

from .digest import is_hex_digest

log = logging.getLogger(__name__)

ATTRIBUTE = "user.ilabfs.blake3"
GRANULARITY_NS = 10_000_000
CTIME_SLACK_NS = 1_000_000
_IGNORED = {errno.ENOTSUP, errno.EOPNOTSUPP, errno.EACCES, errno.EPERM, errno.EROFS, errno.ENODATA, errno.E2BIG, errno.ENOSPC}
_VERSION = 1


def _key(info: os.stat_result) -> dict:
    return {"dev": info.st_dev, "ino": info.st_ino, "size": info.st_size, "mtime": info.st_mtime_ns}


def _granularity(info: os.stat_result) -> int:
    # A whole-second mtime suggests a coarse filesystem (FAT, some network mounts).
    if info.st_mtime_ns % 1_000_000_000 == 0:
        return 2_000_000_000
    return GRANULARITY_NS


def read_entry(fd: int) -> dict | None:
    import xattr

    try:
        raw = xattr.getxattr(fd, ATTRIBUTE)
    except OSError:
        return None
    try:
        entry = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(entry, dict) or entry.get("v") != _VERSION or not is_hex_digest(str(entry.get("digest"))):
        return None
    return entry


def lookup(fd: int, info: os.stat_result) -> str | None:
    """Return the cached digest for the open file if it provably has not changed."""
    entry = read_entry(fd)
    if entry is None:
        return None
    if any(entry.get(name) != value for name, value in _key(info).items()):
        return None
    if not 0 <= info.st_ctime_ns - int(entry.get("ctime", -1)) <= CTIME_SLACK_NS:
        return None
    if info.st_mtime_ns >= int(entry.get("hashed", 0)) - _granularity(info):
        return None
    return entry["digest"]


def cached_digest(fd: int) -> str | None:
    """Return the digest an entry claims, unchecked; callers must prove it some other way."""
    entry = read_entry(fd)
    return entry["digest"] if entry else None


def store(fd: int, digest: str, before: os.stat_result, hashed_at_ns: int) -> bool:
    """Record ``digest`` for the open file hashed from ``hashed_at_ns`` on; return whether it stuck.

    ``before`` is the file's stat taken before hashing; if the file changed
    since then, nothing is recorded.
    """
    if before.st_mtime_ns >= hashed_at_ns - _granularity(before):
        return False
    import xattr

    entry = {"v": _VERSION, "digest": digest, "hashed": hashed_at_ns, **_key(before)}
    try:
        for _ in range(3):
            now = os.fstat(fd)
            if _key(now) != _key(before):
                return False
            entry["ctime"] = now.st_ctime_ns
            xattr.setxattr(fd, ATTRIBUTE, json.dumps(entry, separators=(",", ":")).encode())
            after = os.fstat(fd)
            # The write itself moved ctime; record the pre-write value only if the move stayed small.
            if 0 <= after.st_ctime_ns - now.st_ctime_ns <= CTIME_SLACK_NS:
                return True
        return False
    except OSError as error:
        if error.errno not in _IGNORED:
            log.debug("hash cache not written: %s", error)
        return False
