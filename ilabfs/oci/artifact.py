"""Remote manifests: reading artifacts laid out one file per layer, and writing ours with sha256 digests.

A registry manifest has the structure of a local one (see ilabfs/manifest.py)
with sha256 digests. Each file is one layer, named by
``org.opencontainers.image.title``, as ORAS and InstructLab's model images lay
them out. An ilabfs artifact also has its config document as the config blob.
The local config document of a pulled model is built exactly as
``ilab model add`` builds it, so the same files with the same declared
metadata get the same BLAKE3 manifest digest on both sides.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from ..digest import canonical_json, hash_bytes, is_hex_digest
from ..errors import InvalidInputError
from ..manifest import (
    ARTIFACT_TYPES,
    CONFIG_MEDIA_TYPES,
    KIND_OF_ARTIFACT_TYPE,
    MANIFEST_MEDIA_TYPE,
    TITLE,
    Layer,
    build_manifest,
    config_bytes,
)
from ..models import describe_model
from ..refs import check_label
from ..scan import SourceFile
from ..titles import check_titles
from .registry import INDEX_TYPES, MANIFEST_TYPES

_SHA256 = re.compile(r"^sha256:([0-9a-f]{64})$")
# ORAS marks a layer that contains a packed folder (a tar archive) with this annotation.
ORAS_UNPACK = "io.deis.oras.content.unpack"
# Members of a model config document that ilab computes from the files instead of taking them as declared.
COMPUTED = ("kind", "format", "dataType", "parameters")
LINEAGE = ("base", "dataset", "phase", "step", "run")
CONFIG_LIMIT = 1 << 20


@dataclass(frozen=True)
class RemoteBlob:
    """A blob a remote manifest references: sha256 hex digest, size, and the title or role that names it."""

    sha256: str
    size: int
    label: str


@dataclass(frozen=True)
class RemoteArtifact:
    """The files of a remote manifest and, when it is an ilabfs artifact, its config blob."""

    files: tuple[RemoteBlob, ...]
    config: RemoteBlob | None

    @property
    def blobs(self) -> list[RemoteBlob]:
        """Return every blob to fetch, each digest once, config first."""
        seen: dict[str, RemoteBlob] = {}
        for blob in ([self.config] if self.config else []) + list(self.files):
            seen.setdefault(blob.sha256, blob)
        return list(seen.values())

    @property
    def size(self) -> int:
        return sum(blob.size for blob in self.files)


def parse_remote_manifest(data: bytes, media_type: str, where: str) -> RemoteArtifact:
    """Check a manifest from a registry or a layout and return its files; raise before anything is written."""
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, ValueError) as error:
        raise InvalidInputError(f"manifest of {where} is not valid JSON ({error})", hint="check the reference") from error
    if not isinstance(document, dict):
        raise InvalidInputError(f"manifest of {where} is not a JSON object", hint="check the reference")
    declared = document.get("mediaType") or media_type
    if declared in INDEX_TYPES or "manifests" in document:
        raise InvalidInputError(
            f"{where} is an image index (a list of manifests), not a model",
            hint="pull one of its manifests by digest (skopeo inspect --raw lists them)",
        )
    if document.get("schemaVersion") != 2 or declared not in MANIFEST_TYPES:
        raise InvalidInputError(f"{where} is not an OCI image manifest (mediaType {declared!r})", hint="check the reference")

    kind = KIND_OF_ARTIFACT_TYPE.get(document.get("artifactType"))
    config = document.get("config") if isinstance(document.get("config"), dict) else {}
    if kind is None:
        kind = next((k for k, value in CONFIG_MEDIA_TYPES.items() if value == config.get("mediaType")), None)
    if kind not in (None, "model"):
        raise InvalidInputError(f"{where} is an ilabfs {kind}, not a model", hint="only models can be pulled")

    layers = document.get("layers")
    if not isinstance(layers, list) or not layers:
        raise InvalidInputError(f"{where} has no layers, so no files", hint="check the reference")
    files = tuple(_layer(layer, position, where) for position, layer in enumerate(layers))
    check_titles([blob.label for blob in files], where)
    config_blob = _descriptor(config, "config", where, "config") if kind == "model" else None
    return RemoteArtifact(files, config_blob)


def _layer(layer: object, position: int, where: str) -> RemoteBlob:
    if not isinstance(layer, dict):
        raise InvalidInputError(f"layer {position} of {where} is not a descriptor", hint="check the reference")
    annotations = layer.get("annotations") if isinstance(layer.get("annotations"), dict) else {}
    title = annotations.get(TITLE)
    if title is None:
        raise InvalidInputError(
            f"layer {position} of {where} ({layer.get('mediaType')}) has no {TITLE} annotation",
            hint="only artifacts with one file per layer, named by that annotation (as ORAS pushes them), can be pulled",
        )
    if str(annotations.get(ORAS_UNPACK, "")).lower() == "true":
        raise InvalidInputError(
            f"layer {title!r} of {where} is a packed folder",
            hint="push the folder's files one per layer instead",
        )
    return _descriptor(layer, title, where, f"layer {position}")


def _descriptor(entry: dict, label: object, where: str, role: str) -> RemoteBlob:
    digest = entry.get("digest")
    size = entry.get("size")
    match = _SHA256.match(digest) if isinstance(digest, str) else None
    if match is None:
        raise InvalidInputError(
            f"{role} of {where} has digest {digest!r}, which is not sha256",
            hint="only sha256 digests can be verified today",
        )
    if type(size) is not int or size < 0:
        raise InvalidInputError(f"{role} of {where} has an invalid size {size!r}", hint="check the reference")
    return RemoteBlob(match.group(1), size, label if isinstance(label, str) else role)


def build_remote_manifest(kind: str, config: tuple[str, int], layers: list[tuple[Layer, str]]) -> bytes:
    """Return the canonical bytes of the registry manifest: the local structure with sha256 digests.

    ``config`` is the config document's sha256 hex digest and size;
    ``layers`` pairs each local layer with its sha256 hex digest.
    """
    document = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "artifactType": ARTIFACT_TYPES[kind],
        "config": {"mediaType": CONFIG_MEDIA_TYPES[kind], "digest": f"sha256:{config[0]}", "size": config[1]},
        "layers": [
            {"mediaType": layer.media_type, "digest": f"sha256:{sha256}", "size": layer.size, "annotations": {TITLE: layer.title}}
            for layer, sha256 in sorted(layers, key=lambda pair: pair[0].title)
        ],
    }
    return canonical_json(document)


def declared_metadata(data: bytes | None, where: str) -> dict:
    """Return the members of a remote ilabfs config document that are declared, not computed from files."""
    if data is None:
        return {}
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, ValueError) as error:
        raise InvalidInputError(f"config document of {where} is not valid JSON ({error})", hint="check the reference") from error
    if not isinstance(document, dict) or document.get("kind") != "model":
        raise InvalidInputError(f"config document of {where} is not a model config", hint="check the reference")
    declared = {key: value for key, value in document.items() if key not in COMPUTED and value is not None}
    for key in ("base", "dataset"):
        if key in declared and not (isinstance(declared[key], str) and is_hex_digest(declared[key])):
            raise InvalidInputError(f"config document of {where} has an invalid {key} {declared[key]!r}", hint="check the reference")
    for key in ("phase", "run"):
        if key in declared:
            if not isinstance(declared[key], str):
                raise InvalidInputError(f"config document of {where} has an invalid {key}", hint="check the reference")
            check_label(declared[key], key)
    if "step" in declared and (type(declared["step"]) is not int or declared["step"] < 0):
        raise InvalidInputError(f"config document of {where} has an invalid step {declared['step']!r}", hint="check the reference")
    return declared


def model_documents(sources: list[SourceFile], declared: dict) -> tuple[dict, dict]:
    """Return the config document and listing summary that ``ilab model add`` makes for these files."""
    facts = describe_model(sources)
    config = {"kind": "model", **facts, **declared}
    summary = {
        "dataType": facts["dataType"],
        "format": facts["format"],
        "files": len(sources),
        **{key: declared[key] for key in LINEAGE if key in declared},
    }
    return config, summary


def local_digest(kind: str, config: dict, layers: list[Layer]) -> str:
    """Return the BLAKE3 manifest digest the store will give these layers and config, without writing."""
    data = config_bytes(config)
    return hash_bytes(build_manifest(kind, hash_bytes(data), len(data), layers))

