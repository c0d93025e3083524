"""Listing and checking the files of a source directory before ingest.

Nothing is written until the whole directory has passed these checks, so a
bad file cannot leave an artifact half-added.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from .errors import InvalidInputError, NotFoundError
from .titles import check_titles


@dataclass(frozen=True)
class SourceFile:
    """One regular file to ingest, named by its path relative to the source root."""

    title: str
    path: Path
    size: int


def scan_source(root: Path) -> list[SourceFile]:
    """Return the regular files under ``root`` sorted by title.

    Symlinks that stay inside ``root`` are followed and stored as the file they
    point to; symlinks that leave it, device files, sockets and FIFOs are rejected.
    """
    root = Path(os.path.abspath(root))
    if not root.exists():
        raise NotFoundError(f"source {root} does not exist", hint="check the path", path=str(root))
    if root.is_file():
        return [_source_file(root.name, root, root.parent)]
    if not root.is_dir():
        raise InvalidInputError(f"source {root} is neither a file nor a directory", path=str(root))

    files: list[SourceFile] = []
    real_root = Path(os.path.realpath(root))
    for folder, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        for name in dirnames:
            link = Path(folder) / name
            if link.is_symlink():
                _check_link_inside(link, real_root)
                raise InvalidInputError(
                    f"{link} is a symlink to a directory",
                    hint="replace it with the directory itself or remove it",
                    path=str(link),
                )
        for name in sorted(filenames):
            path = Path(folder) / name
            title = path.relative_to(root).as_posix()
            files.append(_source_file(title, path, real_root))
    files.sort(key=lambda item: item.title)
    check_titles([item.title for item in files], str(root))
    if not files:
        raise InvalidInputError(f"source {root} contains no files", hint="point at the model directory", path=str(root))
    return files


def _source_file(title: str, path: Path, real_root: Path) -> SourceFile:
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        _check_link_inside(path, real_root)
        info = os.stat(path)
    if not stat.S_ISREG(info.st_mode):
        kind = _kind(info.st_mode)
        raise InvalidInputError(
            f"{path} is a {kind}, not a regular file",
            hint="remove it from the source directory; only regular files can be stored",
            path=str(path),
        )
    return SourceFile(title=title, path=path, size=info.st_size)


def _check_link_inside(link: Path, real_root: Path) -> None:
    target = Path(os.path.realpath(link))
    if target != real_root and real_root not in target.parents:
        raise InvalidInputError(
            f"symlink {link} points outside the source directory (to {target})",
            hint="copy the target into the directory or remove the link",
            path=str(link),
        )


def _kind(mode: int) -> str:
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device file"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISDIR(mode):
        return "directory"
    return "special file"
