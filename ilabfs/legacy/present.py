"""Recognising legacy items the store already contains, so a second migration imports nothing.

A model or dataset is already stored when an artifact of its kind has
exactly its files: the same titles, sizes and digests. Lineage is not
compared, so a folder that was added by hand under another name, or
imported before with other settings, is recognised too and keeps its names.

No file is read to find out. A file that ilabfs has stored before carries
its digest in the hash cache attribute, and after a migration in link mode
the file is a hardlink of its blob. A file without such a digest has never
been added from this path, so its item counts as new. The add that follows
still stores nothing twice: blobs are shared by digest, and an artifact with
the same manifest is the same artifact.

An eval result is already stored when an eval of the same model has the
same metric and score.
"""

from __future__ import annotations

import os

from .. import hashcache
from ..index import Entry, Index
from ..scan import SourceFile
from ..store import Store


def find_stored_files(store: Store | None, index: Index, kind: str, files: tuple[SourceFile, ...]) -> Entry | None:
    """Return the artifact of ``kind`` whose files are exactly ``files``, or None."""
    if store is None:
        return None
    total = sum(source.size for source in files)
    candidates = [entry for entry in index.of_kind(kind) if entry.size == total and entry.summary.get("files") in (None, len(files))]
    if not candidates:
        return None

    digests = {source.title: known_digest(store, source) for source in files}
    if None in digests.values():
        return None
    expected = sorted((source.title, source.size, digests[source.title]) for source in files)
    for entry in sorted(candidates, key=lambda entry: (entry.created, entry.digest)):
        layers = store.read_manifest(entry.digest).layers
        if sorted((layer.title, layer.size, layer.digest) for layer in layers) == expected:
            return entry
    return None


def known_digest(store: Store, source: SourceFile) -> str | None:
    """Return the file's hex digest when the hash cache proves it without reading the file, else None."""
    fd = os.open(source.path, os.O_RDONLY)
    try:
        info = os.fstat(fd)
        digest = hashcache.lookup(fd, info)
        if digest:
            return digest

        # A file hardlinked into the store is its blob: same device and inode.
        claimed = hashcache.cached_digest(fd)
        if claimed and _same_inode(store.layout.blob(claimed), info):
            return claimed
        return None
    finally:
        os.close(fd)


def _same_inode(path: os.PathLike, info: os.stat_result) -> bool:
    try:
        other = os.stat(path)
    except OSError:
        return False
    return (other.st_dev, other.st_ino) == (info.st_dev, info.st_ino)


def find_stored_eval(index: Index, model_digest: str, metric: str, score: float) -> Entry | None:
    """Return an eval of the model with this metric and score, or None."""
    for entry in sorted(index.of_kind("eval"), key=lambda entry: (entry.created, entry.digest)):
        summary = entry.summary
        if summary.get("subject") == model_digest and summary.get("metric") == metric and summary.get("score") == score:
            return entry
    return None
