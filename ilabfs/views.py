"""Materialised views: a folder with an artifact's files under their original names.

Each file is made by the first link kind that works, in this order:

* reflink: a copy-on-write clone. Writing to it never reaches the blob.
* hardlink: the view file is the blob's inode. It is read-only like the
  blob; a user who makes it writable and edits it changes the blob, which
  ``ilab fsck`` then reports as damaged.
* symlink: points at the blob; read-only through the blob's mode.
* copy: an independent copy, the slowest and largest.

Views are built in a temporary folder and renamed into place, so a reader
never sees a half-built view. Every name is created relative to an open
directory descriptor with O_NOFOLLOW, so a symlink planted in the target
cannot redirect a write outside it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import secrets
import shutil
import time
from pathlib import Path

from .digest import is_hex_digest
from .errors import AlreadyExistsError, CorruptStoreError, InvalidInputError
from .fsutil import FICLONE
from .layout import Layout
from .manifest import Manifest
from .titles import check_titles

LINK_KINDS = ("reflink", "hardlink", "symlink", "copy")


def views_root(layout: Layout) -> Path:
    return layout.root / "views"


def view_path(layout: Layout, kind: str, digest: str) -> Path:
    return views_root(layout) / kind / digest


def materialize(layout: Layout, manifest: Manifest, digest: str, target: Path | None = None, link: str | None = None) -> tuple[Path, str]:
    """Build (or reuse) a view of ``manifest`` and return its path and the link kind used."""
    check_titles([layer.title for layer in manifest.layers], f"manifest {digest}")
    final = target or view_path(layout, manifest.kind, digest)
    if target is None and _view_complete(layout, manifest, final):
        existing = _existing_kind(final)
        if link and link != existing and not (link == "reflink" and existing == "copy"):
            raise AlreadyExistsError(
                f"a {existing} view of this artifact already exists at {final}",
                hint=f"pass --into DIR to build a {link} view elsewhere",
                path=str(final),
            )
        return final, existing
    if target is not None and os.path.islink(final):
        raise InvalidInputError(
            f"target {final} is a symlink",
            hint="give a real folder path; views are never written through links",
            path=str(final),
        )
    if target is not None and final.exists() and not final.is_dir():
        raise InvalidInputError(f"target {final} is not a folder", hint="give a new or empty folder", path=str(final))
    if target is not None and final.exists() and any(final.iterdir()):
        raise AlreadyExistsError(f"target folder {final} is not empty", hint="choose an empty or new folder", path=str(final))

    missing = [layer.title for layer in manifest.layers if not layout.blob(layer.digest).exists()]
    if missing:
        raise CorruptStoreError(
            f"cannot build a view of {digest[:12]}: the blobs of {', '.join(missing[:3])} are missing",
            hint="run ilab fsck, then add or pull the artifact again",
            digest=digest,
        )
    final.parent.mkdir(parents=True, exist_ok=True)
    building = final.parent / f".building-{final.name}-{secrets.token_hex(4)}"
    os.mkdir(building)
    try:
        kinds = [link] if link else list(LINK_KINDS)
        used = _fill(layout, manifest, building, kinds)
        if target is None:
            _publish(building, final, layout, manifest)
        else:
            os.rename(building, final)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    return final, used


def _fill(layout: Layout, manifest: Manifest, folder: Path, kinds: list[str]) -> str:
    root_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    used = kinds[0]
    try:
        for layer in manifest.layers:
            *parents, name = layer.title.split("/")
            parent_fd = _open_parents(root_fd, parents)
            try:
                used = _place(layout.blob(layer.digest), parent_fd, name, kinds)
            finally:
                if parent_fd != root_fd:
                    os.close(parent_fd)
    finally:
        os.close(root_fd)
    return used


def _open_parents(root_fd: int, parents: list[str]) -> int:
    fd = root_fd
    for part in parents:
        with contextlib.suppress(FileExistsError):
            os.mkdir(part, 0o755, dir_fd=fd)
        next_fd = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
        if fd != root_fd:
            os.close(fd)
        fd = next_fd
    return fd


def _place(blob: Path, dir_fd: int, name: str, kinds: list[str]) -> str:
    """Create ``name`` under ``dir_fd`` from ``blob`` by the first kind that works."""
    for kind in kinds:
        try:
            if kind == "hardlink":
                os.link(blob, name, dst_dir_fd=dir_fd, follow_symlinks=False)
            elif kind == "symlink":
                os.symlink(blob, name, dir_fd=dir_fd)
            else:
                _clone_or_copy(blob, dir_fd, name, reflink_only=kind == "reflink")
            return kind
        except OSError as error:
            if error.errno == errno.EEXIST:
                raise InvalidInputError(f"two files of the artifact are both named {name!r}", path=name) from error
            if len(kinds) == 1:
                raise InvalidInputError(
                    f"cannot make a {kind} of {blob}: {error.strerror}",
                    hint="choose another --link kind",
                    link=kind,
                ) from error
            continue
    raise InvalidInputError(f"no link kind worked for {name!r}")


def _clone_or_copy(blob: Path, dir_fd: int, name: str, reflink_only: bool) -> None:
    out = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o444, dir_fd=dir_fd)
    try:
        with open(blob, "rb") as src:
            if reflink_only:
                fcntl.ioctl(out, FICLONE, src.fileno())
            else:
                shutil.copyfileobj(src, os.fdopen(os.dup(out), "wb"), 1 << 20)
    except BaseException:
        os.close(out)
        with contextlib.suppress(OSError):
            os.unlink(name, dir_fd=dir_fd)
        raise
    os.close(out)


def _publish(building: Path, final: Path, layout: Layout, manifest: Manifest) -> None:
    try:
        os.rename(building, final)
        return
    except OSError as error:
        if error.errno not in (errno.ENOTEMPTY, errno.EEXIST):
            raise
    if _view_complete(layout, manifest, final):
        # Another process published the same view first; theirs is as good as ours.
        shutil.rmtree(building, ignore_errors=True)
        return
    # The old view is damaged (a file was removed or replaced): swap the new one in.
    stale = final.parent / f".stale-{final.name}-{secrets.token_hex(4)}"
    os.rename(final, stale)
    os.rename(building, final)
    shutil.rmtree(stale, ignore_errors=True)


def _view_complete(layout: Layout, manifest: Manifest, folder: Path) -> bool:
    """Tell whether a view holds exactly the manifest's files, each of the right size or link target."""
    if not folder.is_dir():
        return False
    present = {
        os.path.relpath(os.path.join(base, name), folder)
        for base, _, files in os.walk(folder)
        for name in files
    }
    if present != {layer.title for layer in manifest.layers}:
        return False
    for layer in manifest.layers:
        path = folder / layer.title
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            return False
        if os.path.islink(path):
            if os.readlink(path) != str(layout.blob(layer.digest)):
                return False
        elif info.st_size != layer.size:
            return False
    return True


def _existing_kind(folder: Path) -> str:
    for base, _, files in os.walk(folder):
        for name in files:
            path = Path(base) / name
            if path.is_symlink():
                return "symlink"
            return "hardlink" if os.lstat(path).st_nlink > 1 else "copy"
    return "copy"


def remove_views(layout: Layout, kind: str, digests: list[str]) -> None:
    """Remove the views of deleted artifacts; their hardlinks would otherwise keep blob space in use."""
    for digest in digests:
        shutil.rmtree(view_path(layout, kind, digest), ignore_errors=True)


def stale_views(layout: Layout, kept: set[str]) -> list[Path]:
    """Return views whose artifact is no longer in the index."""
    found = []
    root = views_root(layout)
    if not root.is_dir():
        return found
    for kind_dir in root.iterdir():
        if kind_dir.is_dir():
            for path in kind_dir.iterdir():
                if is_hex_digest(path.name) and path.name not in kept:
                    found.append(path)
                # A ".building-" folder belongs to a view being made; one an hour old was abandoned.
                elif path.name.startswith((".building-", ".stale-")) and time.time() - path.stat().st_mtime > 3600:
                    found.append(path)
    return found
