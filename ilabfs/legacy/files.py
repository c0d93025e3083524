"""Listing the files of legacy model folders, which ``scan_source`` alone cannot take.

Two things differ from a folder given to ``ilab model add``. A Hugging Face
folder downloaded by huggingface_hub keeps its download metadata in
``.cache/``, which is no part of the model. And ``ilab model download`` makes
an OCI model a folder of symlinks to the blobs of its OCI image layout,
``<cache>/oci/<name>/blobs/sha256/<hex>``, which lies outside the folder. A
symlink may point inside the model folder or into exactly that blob folder.
Any other target makes the whole folder invalid, so a link can never pull a
file from elsewhere into the store.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ..errors import InvalidInputError
from ..scan import SourceFile
from ..titles import check_titles

HF_METADATA = ".cache"
GGUF_MAGIC = b"GGUF"
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".gguf")


def oci_blob_root(oci_dir: Path, folder: Path) -> Path:
    """Return the one folder that symlinks of the model ``folder`` may point into."""
    return oci_dir / folder.name / "blobs" / "sha256"


def scan_model_folder(folder: Path, link_root: Path | None = None) -> list[SourceFile]:
    """Return the files of a model folder sorted by title, without huggingface_hub's ``.cache/``.

    Symlinks are followed when their target is inside ``folder`` or inside
    ``link_root``. Raises InvalidInputError for any other symlink, a file that
    is not regular, unsafe file names, or a folder with no model files.
    """
    folder = Path(os.path.abspath(folder))
    real_folder = Path(os.path.realpath(folder))
    real_link_root = Path(os.path.realpath(link_root)) if link_root else None

    files: list[SourceFile] = []
    for current, dirnames, filenames in os.walk(folder, followlinks=False):
        current_folder = Path(current)
        if current_folder == folder and HF_METADATA in dirnames:
            dirnames.remove(HF_METADATA)
        dirnames.sort()
        for name in dirnames:
            if (current_folder / name).is_symlink():
                raise InvalidInputError(
                    f"{current_folder / name} is a symlink to a folder",
                    hint="replace it with the folder itself, then run the migration again",
                    path=str(current_folder / name),
                )
        for name in sorted(filenames):
            path = current_folder / name
            files.append(_source_file(path.relative_to(folder).as_posix(), path, real_folder, real_link_root))
    files.sort(key=lambda source: source.title)

    check_titles([source.title for source in files], str(folder))
    if not any(source.title == "config.json" or source.title.endswith(WEIGHT_SUFFIXES) for source in files):
        raise InvalidInputError(
            f"{folder} has no config.json and no weight file",
            hint="it does not look like a model folder; add it with ilab model add if it is one",
            path=str(folder),
        )
    return files


def _source_file(title: str, path: Path, real_folder: Path, real_link_root: Path | None) -> SourceFile:
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        target = Path(os.path.realpath(path))
        allowed = _inside(target, real_folder) or (real_link_root is not None and _inside(target, real_link_root))
        if not allowed:
            where = f"the model folder and {real_link_root}" if real_link_root else "the model folder"
            raise InvalidInputError(
                f"symlink {path} points outside {where} (to {target})",
                hint="copy the target into the folder or remove the link, then run the migration again",
                path=str(path),
            )
        try:
            info = os.stat(target)
        except FileNotFoundError:
            raise InvalidInputError(f"symlink {path} is broken: {target} does not exist", hint="download the model again", path=str(path)) from None
    if not stat.S_ISREG(info.st_mode):
        raise InvalidInputError(f"{path} is not a regular file", hint="remove it from the model folder", path=str(path))
    return SourceFile(title, path, info.st_size)


def _inside(target: Path, root: Path) -> bool:
    return root in target.parents


def scan_single_file(path: Path) -> SourceFile:
    """Return a regular file as a one-file source; symlinks are rejected because their target may be anywhere."""
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        raise InvalidInputError(f"{path} is a symlink", hint="add its target with ilab model add", path=str(path))
    if not stat.S_ISREG(info.st_mode):
        raise InvalidInputError(f"{path} is not a regular file", hint="remove it or add it by hand", path=str(path))
    return SourceFile(path.name, path, info.st_size)


def has_gguf_magic(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(len(GGUF_MAGIC)) == GGUF_MAGIC
    except OSError:
        return False
