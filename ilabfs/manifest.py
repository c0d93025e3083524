"""Manifests and config documents: building them and checking them on read.

A manifest is an OCI image manifest (schemaVersion 2) whose layers are the
artifact's files, one per file, named by ``org.opencontainers.image.title``,
and whose config descriptor points at a typed ilabfs config document.
Manifests carry no wall-clock time, so the same files and the same declared
metadata always give the same manifest digest.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from .digest import canonical_json, format_digest, parse_digest
from .errors import CorruptStoreError
from .titles import title_problem

MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json"
TITLE = "org.opencontainers.image.title"
KINDS = ("model", "dataset", "eval")
ARTIFACT_TYPES = {kind: f"application/vnd.ilabfs.{kind}.v1" for kind in KINDS}
CONFIG_MEDIA_TYPES = {kind: f"application/vnd.ilabfs.{kind}.config.v1+json" for kind in KINDS}
KIND_OF_ARTIFACT_TYPE = {value: key for key, value in ARTIFACT_TYPES.items()}

_LAYER_TYPES = {
    ".json": "application/json",
    ".jsonl": "application/jsonl",
    ".yaml": "application/yaml",
    ".yml": "application/yaml",
    ".txt": "text/plain",
    ".md": "text/markdown",
}
DEFAULT_LAYER_TYPE = "application/octet-stream"


@dataclass(frozen=True)
class Layer:
    """One file of an artifact: its path inside the artifact, digest and size."""

    title: str
    digest: str  # hex
    size: int

    @property
    def media_type(self) -> str:
        dot = self.title.rfind(".")
        return _LAYER_TYPES.get(self.title[dot:].lower(), DEFAULT_LAYER_TYPE) if dot >= 0 else DEFAULT_LAYER_TYPE


@dataclass(frozen=True)
class Manifest:
    """A parsed manifest: the kind, the config descriptor and the layers."""

    kind: str
    config_digest: str  # hex
    config_size: int
    layers: tuple[Layer, ...]
    subject: str | None  # hex digest of the manifest this one refers to
    document: dict

    @property
    def blob_digests(self) -> list[str]:
        """Return every blob this manifest references, config first."""
        return [self.config_digest, *(layer.digest for layer in self.layers)]

    @property
    def size(self) -> int:
        return sum(layer.size for layer in self.layers)


def descriptor(media_type: str, hex_digest: str, size: int, annotations: dict | None = None) -> dict:
    entry: dict = {"mediaType": media_type, "digest": format_digest(hex_digest), "size": size}
    if annotations:
        entry["annotations"] = annotations
    return entry


def config_bytes(config: dict) -> bytes:
    """Serialise a config document; keys whose value is None are left out."""
    return canonical_json({key: value for key, value in config.items() if value is not None})


def build_manifest(
    kind: str,
    config_digest: str,
    config_size: int,
    layers: list[Layer],
    subject: tuple[str, int] | None = None,
) -> bytes:
    """Return the canonical bytes of a manifest; layers are sorted by title."""
    document: dict = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "artifactType": ARTIFACT_TYPES[kind],
        "config": descriptor(CONFIG_MEDIA_TYPES[kind], config_digest, config_size),
        "layers": [
            descriptor(layer.media_type, layer.digest, layer.size, {TITLE: layer.title})
            for layer in sorted(layers, key=lambda item: item.title)
        ],
    }
    if subject:
        document["subject"] = descriptor(MANIFEST_MEDIA_TYPE, subject[0], subject[1])
    return canonical_json(document)


def parse_manifest(data: bytes, where: str, *, check_titles: bool = True) -> Manifest:
    """Parse and check a manifest; raise CorruptStoreError naming ``where`` on any problem.

    gc needs only the digests and passes ``check_titles=False``. A title is
    checked when the artifact is added and again before any file is written
    out under it. Checking each character of every title in a large store
    took most of a gc's time.
    """
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, ValueError) as error:
        _corrupt(where, f"not valid JSON ({error})")
    if not isinstance(document, dict):
        _corrupt(where, "not a JSON object")
    if document.get("schemaVersion") != 2 or document.get("mediaType") != MANIFEST_MEDIA_TYPE:
        _corrupt(where, "not an OCI image manifest (schemaVersion 2)")
    kind = KIND_OF_ARTIFACT_TYPE.get(document.get("artifactType"))
    if kind is None:
        _corrupt(where, f"unknown artifactType {document.get('artifactType')!r}")
    config_digest, config_size = _descriptor_fields(document.get("config"), where, "config")
    layers = _layers(document.get("layers"), where, check_titles)
    subject = None
    if "subject" in document:
        subject, _ = _descriptor_fields(document["subject"], where, "subject")
    return Manifest(kind, config_digest, config_size, layers, subject, document)


def _layers(entries: object, where: str, check_titles: bool) -> tuple[Layer, ...]:
    if not isinstance(entries, list):
        _corrupt(where, "layers is not a list")
    layers = []
    for position, entry in enumerate(entries):
        digest, size = _descriptor_fields(entry, where, f"layer {position}")
        title = (entry.get("annotations") or {}).get(TITLE)
        problem = title_problem(title) if check_titles else None
        if problem:
            _corrupt(where, f"layer {position} has an unsafe title {title!r}: {problem}")
        layers.append(Layer(title, digest, size))
    return tuple(layers)


def _descriptor_fields(entry: object, where: str, name: str) -> tuple[str, int]:
    if not isinstance(entry, dict):
        _corrupt(where, f"{name} descriptor is missing")
    digest = parse_digest(str(entry.get("digest")))
    size = entry.get("size")
    if digest is None:
        _corrupt(where, f"{name} descriptor has an invalid digest {entry.get('digest')!r}")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        _corrupt(where, f"{name} descriptor has an invalid size {size!r}")
    return digest, size


def _corrupt(where: str, reason: str) -> None:
    raise CorruptStoreError(
        f"manifest {where} is invalid: {reason}",
        hint="run ilab fsck to see what it affects",
        path=where,
    )


def parse_config(data: bytes, kind: str, where: str) -> dict:
    """Parse a config document and check that it is an object of the expected kind."""
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, ValueError) as error:
        raise CorruptStoreError(f"config document {where} is not valid JSON ({error})", path=where) from error
    if not isinstance(document, dict) or document.get("kind") != kind:
        raise CorruptStoreError(f"config document {where} is not a {kind} config", path=where)
    return document
