"""OCI image layouts: exporting a model to one and importing a model from one.

A layout is a folder with ``oci-layout`` (``{"imageLayoutVersion": "1.0.0"}``),
``index.json`` (an image index whose descriptors carry the tag in the
annotation ``org.opencontainers.image.ref.name``) and ``blobs/sha256/<hex>``.
skopeo reads and writes this format as ``oci:DIR:TAG``, and InstructLab keeps
the models it downloads from registries as layouts under
``~/.cache/instructlab/oci/<name>``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import blake3

from ..errors import CorruptStoreError, DigestMismatchError, InvalidInputError, NotFoundError
from ..fsutil import atomic_write, fsync_dir
from ..manifest import ARTIFACT_TYPES
from ..store import Store
from .artifact import build_remote_manifest, parse_remote_manifest
from .digestmap import DigestMap
from .download import LayoutBlobs
from .pull import ProgressFactory, PullResult, adopt
from .push import local_tag
from .reference import DEFAULT_TAG, check_tag, split_tag
from .registry import INDEX_TYPES, MANIFEST_LIMIT, OCI_INDEX, OCI_MANIFEST
from .transport import BLOCK

LAYOUT_FILE = "oci-layout"
LAYOUT_VERSION = "1.0.0"
REF_NAME = "org.opencontainers.image.ref.name"


@dataclass
class ExportResult:
    """The outcome of an export: the folder, tag and manifest digest, and the blobs copied."""

    folder: str
    tag: str
    digest: str
    local_digest: str
    blobs: int = 0
    copied: int = 0
    bytes_copied: int = 0


def export_layout(store: Store, ref: str, target: str) -> ExportResult:
    """Write the model ``ref`` into the layout ``DIR[:TAG]``, adding to a layout that already exists."""
    path_text, tag = split_tag(target)
    entry = store.resolve("model", ref)
    tag = check_tag(tag or local_tag(ref, entry.names), target)
    folder = Path(os.path.abspath(os.path.expanduser(path_text)))
    _prepare(folder)

    manifest = store.read_manifest(entry.digest)
    digests = DigestMap(store.layout)
    result = ExportResult(str(folder), tag, "", entry.digest)
    sha256_of: dict[str, str] = {}
    for blake3_hex, size in [(manifest.config_digest, manifest.config_size), *((l.digest, l.size) for l in manifest.layers)]:
        if blake3_hex not in sha256_of:
            sha256_of[blake3_hex] = _export_blob(store, digests, blake3_hex, size, folder, result)
            result.blobs += 1

    data = build_remote_manifest(manifest.kind, (sha256_of[manifest.config_digest], manifest.config_size), [
        (layer, sha256_of[layer.digest]) for layer in manifest.layers
    ])
    digest = hashlib.sha256(data).hexdigest()
    _write_blob(folder, digest, data)
    _add_to_index(folder, {
        "mediaType": OCI_MANIFEST,
        "digest": f"sha256:{digest}",
        "size": len(data),
        "artifactType": ARTIFACT_TYPES[manifest.kind],
        "annotations": {REF_NAME: tag},
    })
    result.digest = f"sha256:{digest}"
    return result


def _prepare(folder: Path) -> None:
    if folder.exists() and not folder.is_dir():
        raise InvalidInputError(f"{folder} is not a folder", hint="give a new folder or an OCI layout", path=str(folder))
    if folder.is_dir() and any(folder.iterdir()) and not (folder / LAYOUT_FILE).exists():
        raise InvalidInputError(
            f"{folder} is neither empty nor an OCI layout",
            hint="give a new or empty folder, or an existing layout to add the model to",
            path=str(folder),
        )
    (folder / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    if not (folder / LAYOUT_FILE).exists():
        atomic_write(folder / LAYOUT_FILE, json.dumps({"imageLayoutVersion": LAYOUT_VERSION}).encode())


def _export_blob(store: Store, digests: DigestMap, blake3_hex: str, size: int, folder: Path, result: ExportResult) -> str:
    """Copy one stored blob into the layout, checking its BLAKE3 digest and computing its sha256 on the way."""
    known = digests.sha256_of(blake3_hex)
    if known:
        existing = folder / "blobs" / "sha256" / known
        if existing.is_file() and existing.stat().st_size == size:
            return known

    temporary = folder / "blobs" / "sha256" / f".{blake3_hex}.{secrets.token_hex(4)}.tmp"
    sha256, checked = hashlib.sha256(), blake3.blake3()
    buffer = memoryview(bytearray(BLOCK))
    try:
        with open(store.layout.blob(blake3_hex), "rb", buffering=0) as source, open(temporary, "wb") as out:
            while count := source.readinto(buffer):
                sha256.update(buffer[:count])
                checked.update(buffer[:count])
                out.write(buffer[:count])
            out.flush()
            os.fsync(out.fileno())
        if checked.hexdigest() != blake3_hex:
            raise CorruptStoreError(
                f"blob {blake3_hex} in the store does not match its digest",
                hint="run ilab fsck; nothing was exported under that blob's name",
                digest=blake3_hex,
            )
        sha256_hex = sha256.hexdigest()
        os.replace(temporary, folder / "blobs" / "sha256" / sha256_hex)
    except FileNotFoundError as error:
        raise CorruptStoreError(f"blob {blake3_hex} is missing from the store", hint="run ilab fsck", digest=blake3_hex) from error
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
    digests.record(sha256_hex, blake3_hex, size)
    result.copied += 1
    result.bytes_copied += size
    return sha256_hex


def _write_blob(folder: Path, digest: str, data: bytes) -> None:
    target = folder / "blobs" / "sha256" / digest
    if not target.exists():
        atomic_write(target, data)


def _add_to_index(folder: Path, descriptor: dict) -> None:
    """Add a descriptor to ``index.json``, replacing any that carries the same tag."""
    index = _read_json(folder / "index.json", folder) if (folder / "index.json").exists() else {}
    manifests = [item for item in index.get("manifests", []) if isinstance(item, dict)]
    tag = descriptor["annotations"][REF_NAME]
    manifests = [item for item in manifests if (item.get("annotations") or {}).get(REF_NAME) != tag]
    manifests.append(descriptor)
    document = {**index, "schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}
    atomic_write(folder / "index.json", json.dumps(document, indent=2).encode() + b"\n")
    fsync_dir(folder)


def import_layout(store: Store, spec: str, *, name: str | None = None, force: bool = False, jobs: int = 4,
                  progress: ProgressFactory | None = None) -> PullResult:
    """Store the model of the layout ``DIR[:TAG]``, verifying every blob's size and sha256."""
    path_text, tag = split_tag(spec)
    folder = Path(os.path.abspath(os.path.expanduser(path_text)))
    if not (folder / LAYOUT_FILE).is_file() or not (folder / "index.json").is_file():
        raise NotFoundError(
            f"{folder} is not an OCI image layout: it has no {LAYOUT_FILE} or index.json",
            hint="give the folder skopeo copy wrote (oci:DIR) or that ilab model export wrote",
            path=str(folder),
        )
    layout_version = _read_json(folder / LAYOUT_FILE, folder).get("imageLayoutVersion")
    if not isinstance(layout_version, str) or not layout_version.startswith("1."):
        raise InvalidInputError(f"{folder} has layout version {layout_version!r}", hint="only version 1.x layouts can be read")

    descriptor = _select(folder, _read_json(folder / "index.json", folder), tag)
    where = f"oci:{folder}" + (f":{tag}" if tag else "")
    data = _read_manifest(folder, descriptor, where)
    artifact = parse_remote_manifest(data, str(descriptor.get("mediaType") or ""), where)
    default = f"{folder.name}:{tag or (descriptor.get('annotations') or {}).get(REF_NAME) or DEFAULT_TAG}"
    result = adopt(store, artifact, LayoutBlobs(folder), name=name or default, force=force, jobs=jobs, progress=progress)
    result.source, result.remote_digest = where, str(descriptor["digest"])
    return result


def _select(folder: Path, index: dict, tag: str | None) -> dict:
    manifests = [item for item in index.get("manifests") or [] if isinstance(item, dict)]
    tags = [str((item.get("annotations") or {}).get(REF_NAME)) for item in manifests]
    if tag:
        chosen = [item for item, item_tag in zip(manifests, tags) if item_tag == tag]
        if not chosen:
            raise NotFoundError(
                f"OCI layout {folder} has no manifest tagged {tag!r}",
                hint=f"its tags are {', '.join(tags) or 'none'}",
                path=str(folder),
            )
        manifests = chosen[-1:]
    if len(manifests) != 1:
        raise InvalidInputError(
            f"OCI layout {folder} contains {len(manifests)} manifests",
            hint=f"name one as oci:{folder}:TAG; its tags are {', '.join(tags) or 'none'}",
            path=str(folder),
        )
    if manifests[0].get("mediaType") in INDEX_TYPES:
        raise InvalidInputError(f"the selected entry of {folder} is an image index, not a model", hint="select a model manifest")
    return manifests[0]


def _read_manifest(folder: Path, descriptor: dict, where: str) -> bytes:
    digest, size = str(descriptor.get("digest")), descriptor.get("size")
    algorithm, _, hex_digest = digest.partition(":")
    if algorithm != "sha256" or len(hex_digest) != 64 or type(size) is not int or not 0 <= size <= MANIFEST_LIMIT:
        raise InvalidInputError(f"{where} has an invalid manifest descriptor ({digest}, size {size!r})", hint="check the layout")
    try:
        with open(folder / "blobs" / "sha256" / hex_digest, "rb") as handle:
            data = handle.read(MANIFEST_LIMIT + 1)
    except FileNotFoundError:
        raise NotFoundError(f"{where} lacks its manifest blob {digest}", hint="copy the layout again", path=str(folder)) from None
    actual = hashlib.sha256(data).hexdigest()
    if len(data) != size or actual != hex_digest:
        raise DigestMismatchError(
            f"manifest {digest} of {where} is {len(data)} bytes hashing to sha256:{actual}",
            hint="the layout is damaged; copy it again; nothing was written",
            expected=hex_digest,
            actual=actual,
        )
    return data


def _read_json(path: Path, folder: Path) -> dict:
    try:
        document = json.loads(path.read_bytes())
    except (OSError, ValueError) as error:
        raise InvalidInputError(f"cannot read {path}: {error}", hint="check the layout", path=str(folder)) from error
    if not isinstance(document, dict):
        raise InvalidInputError(f"{path} is not a JSON object", hint="check the layout", path=str(folder))
    return document
