"""The xattr digest cache: re-adds read nothing, and a stale entry is never trusted."""

from __future__ import annotations

import os
import time

import blake3
import pytest
import xattr

from ilabfs import hashcache
from ilabfs.models import add_model
from ilabfs.store import Store


def _xattrs_supported(path) -> bool:
    probe = path / "probe"
    probe.write_bytes(b"x")
    try:
        xattr.setxattr(str(probe), "user.ilabfs.probe", b"1")
        return True
    except OSError:
        return False
    finally:
        probe.unlink()


@pytest.fixture
def aged_model(fresh_pair):
    """A private model copy whose files were last written well before hashing starts."""
    model = fresh_pair[0]
    old = time.time() - 3600
    for name in os.listdir(model):
        os.utime(model / name, (old, old))
    if not _xattrs_supported(model):
        pytest.skip("this filesystem has no user xattrs")
    return model


def test_readd_unchanged_reads_nothing(tmp_path, aged_model):
    store = Store(tmp_path / "store")
    first = add_model(store, aged_model, "m")
    again = add_model(store, aged_model, "m")

    files = len(os.listdir(aged_model))
    assert first.stats.bytes_read > 0
    assert again.digest == first.digest
    assert again.stats.bytes_read == 0
    assert again.stats.cache_hits == files


def test_rewrite_with_restored_mtime_is_rehashed(tmp_path, aged_model):
    store = Store(tmp_path / "store")
    add_model(store, aged_model, "m")
    target = aged_model / "config.json"
    info = os.stat(target)
    original = target.read_bytes()
    changed = original.replace(b"bfloat16", b"float16x")
    assert len(changed) == len(original)

    target.write_bytes(changed)
    os.utime(target, ns=(info.st_atime_ns, info.st_mtime_ns))
    assert os.stat(target).st_mtime_ns == info.st_mtime_ns

    result = add_model(store, aged_model, "m2")
    layers = {layer.title: layer.digest for layer in store.read_manifest(result.digest).layers}
    assert layers["config.json"] == blake3.blake3(changed).hexdigest()
    assert result.stats.cache_hits == len(os.listdir(aged_model)) - 1


def test_file_modified_within_granularity_not_cached(tmp_path):
    path = tmp_path / "fresh.bin"
    path.write_bytes(b"data" * 100)
    fd = os.open(path, os.O_RDONLY)
    try:
        before = os.fstat(fd)
        # Hashing starts in the same tick as the last write: the entry must not be trusted.
        assert hashcache.store(fd, "0" * 64, before, before.st_mtime_ns + 1) is False
        assert hashcache.lookup(fd, os.fstat(fd)) is None
    finally:
        os.close(fd)


def test_entry_for_other_inode_ignored(tmp_path, aged_model):
    if not _xattrs_supported(tmp_path):
        pytest.skip("this filesystem has no user xattrs")
    source = aged_model / "config.json"
    fd = os.open(source, os.O_RDONLY)
    try:
        before = os.fstat(fd)
        assert hashcache.store(fd, "a" * 64, before, time.time_ns())
        assert hashcache.lookup(fd, os.fstat(fd)) == "a" * 64
    finally:
        os.close(fd)
    # A copy that carries the attribute over is a different inode and must be rehashed.
    copy = tmp_path / "copy.json"
    copy.write_bytes(source.read_bytes())
    xattr.setxattr(str(copy), hashcache.ATTRIBUTE, xattr.getxattr(str(source), hashcache.ATTRIBUTE))
    fd = os.open(copy, os.O_RDONLY)
    try:
        assert hashcache.lookup(fd, os.fstat(fd)) is None
    finally:
        os.close(fd)


def test_link_mode_readd_recognises_blob(tmp_path, aged_model):
    store = Store(tmp_path / "store")
    first = add_model(store, aged_model, "m", mode="link")
    again = add_model(store, aged_model, "m", mode="link")
    assert again.digest == first.digest
    assert again.stats.bytes_read == 0
