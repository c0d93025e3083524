"""Listing and checking the files of a source directory before ingest.

Nothing is written until the whole directory has passed these checks, so a
bad file cannot leave an artifact half-added.
"""

from __future__ import annotations

import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from .errors import InvalidInputError, NotFoundError
from .titles import check_titles

log = logging.getLogger(__name__)


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
    if not root.exists() and not root.is_symlink():
        raise NotFoundError(f"source {root} does not exist", hint="check the path", path=str(root))
    if root.is_file():
        # A file named on the command line is taken wherever its symlink points.
        return [_source_file(root.name, root, None)]
    if not root.is_dir():
        raise InvalidInputError(f"source {root} is neither a file nor a directory", hint="check the path", path=str(root))

    files: list[SourceFile] = []
    real_root = Path(os.path.realpath(root))
    for folder, dirnames, filenames in os.walk(root, followlinks=False, onerror=_unreadable):
        dirnames.sort()
        skipped = [name for name in dirnames if _is_tool_metadata(Path(folder) / name, root)]
        for name in skipped:
            log.info("not storing %s: it is version-control or download metadata", Path(folder) / name)
            dirnames.remove(name)
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


def _unreadable(error: OSError) -> None:
    raise InvalidInputError(
        f"cannot read folder {error.filename}: {error.strerror}",
        hint="make it readable, or move it out of the source; nothing was added",
        path=error.filename,
    ) from error


# Folders that tools keep beside a model and that are not part of it: git's
# object store (LFS copies of every shard) and huggingface_hub's download state.
_TOOL_METADATA = (".git", ".cache/huggingface")


def _is_tool_metadata(path: Path, root: Path) -> bool:
    relative = path.relative_to(root).as_posix()
    return relative in _TOOL_METADATA


def _source_file(title: str, path: Path, real_root: Path | None) -> SourceFile:
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        if real_root is not None:
            _check_link_inside(path, real_root)
        try:
            info = os.stat(path)
        except OSError as error:
            raise InvalidInputError(
                f"symlink {path} is dangling or loops ({error.strerror})",
                hint="fix or remove the link; nothing was added",
                path=str(path),
            ) from error
    if not stat.S_ISREG(info.st_mode):
        kind = _kind(info.st_mode)
        raise InvalidInputError(
            f"{path} is a {kind}, not a regular file",
            hint="remove it from the source directory; only regular files can be stored",
            path=str(path),
        )
    return SourceFile(title=title, path=path, size=info.st_size)


def _check_link_inside(link: Path, real_root: Path) -> None:
    try:
        target = Path(os.path.realpath(link, strict=True))
    except OSError as error:
        raise InvalidInputError(
            f"symlink {link} is dangling or loops ({error.strerror})",
            hint="fix or remove the link; nothing was added",
            path=str(link),
        ) from error
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
