"""Lock files: the exact registry and local digests of a set of models.

A lock file is JSON, written by ``ilab lock write``::

    {
      "lockVersion": 1,
      "artifacts": [
        {
          "name": "granite-7b-base:latest",
          "kind": "model",
          "source": "quay.io/org/granite-7b-base:v1",
          "digest": "sha256:<64 hex>",
          "localDigest": "blake3:<64 hex>"
        }
      ]
    }

``source`` is the reference the model was last pulled from or pushed to,
``digest`` the registry manifest digest, and ``localDigest`` the store's
manifest digest. ``ilab model pull --lock`` fetches exactly ``digest``,
fails when the tag in ``source`` now points elsewhere, and fails when the
files it stores get another local digest.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..digest import format_digest, parse_digest, short_id
from ..errors import DigestMismatchError, InvalidInputError, NotFoundError
from ..fsutil import atomic_write
from ..store import Store
from .credentials import Credentials
from .digestmap import DigestMap
from .pull import ProgressFactory, PullResult, pull
from .reference import Reference, parse_reference
from .registry import Registry

LOCK_VERSION = 1


@dataclass(frozen=True)
class Locked:
    """One artifact of a lock file."""

    name: str
    kind: str
    source: str
    digest: str
    local_digest: str

    def to_json(self) -> dict:
        return {"name": self.name, "kind": self.kind, "source": self.source, "digest": self.digest,
                "localDigest": format_digest(self.local_digest)}


def write_lock(store: Store, path: str | Path, refs: list[str]) -> list[Locked]:
    """Write a lock file for the models ``refs`` from what their last pull or push recorded."""
    index = store.index()
    digests = DigestMap(store.layout)
    entries = []
    for ref in refs:
        entry = store.resolve("model", ref, index)
        sources = digests.sources(entry.digest)
        if not sources:
            raise NotFoundError(
                f"model {ref!r} ({short_id(entry.digest)}) was never pulled from or pushed to a registry",
                hint=f"push it first (ilab model push {ref} REGISTRY/REPOSITORY:TAG), then write the lock file",
                ref=ref,
            )
        record = sources[-1]
        reference = record.get("reference")
        digest = record.get("digest")
        if not isinstance(reference, str) or not isinstance(digest, str):
            raise NotFoundError(f"the registry record of model {ref!r} is damaged", hint="pull or push it again", ref=ref)
        entries.append(Locked(_stored_name(ref, entry.names), "model", reference, digest, entry.digest))

    document = {"lockVersion": LOCK_VERSION, "artifacts": [item.to_json() for item in entries]}
    atomic_write(Path(path), json.dumps(document, indent=2).encode() + b"\n")
    return entries


def _stored_name(ref: str, names: list[str]) -> str:
    wanted = ref.strip().casefold()
    for name in names:
        if wanted in (name.casefold(), name.rpartition(":")[0].casefold()):
            return name
    return names[0] if names else ref


def read_lock(path: str | Path) -> list[Locked]:
    """Parse and check a lock file; raise InvalidInputError naming the entry that is wrong."""
    try:
        document = json.loads(Path(path).read_bytes())
    except FileNotFoundError:
        raise NotFoundError(f"lock file {path} does not exist", hint="write it with ilab lock write", path=str(path)) from None
    except (OSError, ValueError) as error:
        raise InvalidInputError(f"lock file {path} is not valid JSON ({error})", hint="write it again with ilab lock write", path=str(path)) from error
    if not isinstance(document, dict) or document.get("lockVersion") != LOCK_VERSION or not isinstance(document.get("artifacts"), list):
        raise InvalidInputError(
            f"lock file {path} is not a version {LOCK_VERSION} lock file",
            hint="write it again with ilab lock write",
            path=str(path),
        )
    entries = []
    for position, item in enumerate(document["artifacts"]):
        fields = item if isinstance(item, dict) else {}
        values = [fields.get(key) for key in ("name", "kind", "source", "digest", "localDigest")]
        local = parse_digest(values[4]) if isinstance(values[4], str) else None
        if not all(isinstance(value, str) and value for value in values) or values[1] != "model" or local is None:
            raise InvalidInputError(f"entry {position} of lock file {path} is incomplete", hint="write it again with ilab lock write", path=str(path))
        parse_reference(values[2], insecure=True)
        if not values[3].startswith("sha256:") or len(values[3]) != 71:
            raise InvalidInputError(f"entry {position} of lock file {path} has an invalid digest {values[3]!r}", hint="write it again", path=str(path))
        entries.append(Locked(values[0], values[1], values[2], values[3], local))
    return entries


def pull_locked(store: Store, path: str | Path, names: list[str] | None = None, *, jobs: int = 4, insecure: bool = False,
                credentials: Credentials | None = None, progress: ProgressFactory | None = None) -> list[PullResult]:
    """Pull every (or every named) model of a lock file by its pinned digest.

    Every tag is checked before anything is downloaded, so a moved tag fails
    the whole pull.
    """
    entries = read_lock(path)
    if names:
        wanted = {name.casefold() for name in names}
        entries = [item for item in entries if item.name.casefold() in wanted or item.name.rpartition(":")[0].casefold() in wanted]
        missing = wanted - {item.name.casefold() for item in entries} - {item.name.rpartition(":")[0].casefold() for item in entries}
        if missing:
            raise NotFoundError(f"lock file {path} has no entry for {', '.join(sorted(missing))}", hint="run ilab lock write for them")

    registries: dict[str, Registry] = {}
    try:
        references = []
        for item in entries:
            ref = parse_reference(item.source, insecure=insecure)
            registry = registries.get(ref.registry) or Registry(ref, insecure=insecure, credentials=credentials).ping()
            registries[ref.registry] = registry
            _check_tag(registry, ref, item)
            references.append((ref, registry))

        return [
            pull(store, ref.pinned(item.digest), name=item.name, force=True, jobs=jobs, progress=progress,
                 expected_local=item.local_digest, registry=registry)
            for item, (ref, registry) in zip(entries, references)
        ]
    finally:
        for registry in registries.values():
            registry.close()


def _check_tag(registry: Registry, ref: Reference, item: Locked) -> None:
    if not ref.tag or ref.digest:
        return
    current = registry.manifest_digest(ref.repository, ref.tag)
    if current != item.digest:
        raise DigestMismatchError(
            f"tag {ref.name}:{ref.tag} has moved: the lock file pins {item.digest}, the registry now has {current}",
            hint="if the new content is intended, pull it and run ilab lock write again; nothing was pulled",
            expected=item.digest,
            actual=current,
        )
