"""The digest map: the sha256 digest of each local blob that met a registry, and where artifacts came from.

Registries name blobs by sha256 and the store by BLAKE3, so the store keeps,
under ``remote/``, one small JSON file per digest:

* ``remote/sha256/<sha256 hex>``: ``{"blake3": <hex>, "size": <bytes>,
  "repositories": ["<registry>/<repository>", ...]}``, the local blob with
  that content and the repositories known to hold it (for cross-repository
  mounts).
* ``remote/blake3/<blake3 hex>``: ``{"sha256": <hex>, "size": <bytes>}``, so
  a blob is hashed with sha256 once, not at every push.
* ``remote/sources/<manifest blake3 hex>.json``: ``{"sources": [...]}``, one
  record per pull or push of that artifact, which ``ilab lock write`` reads.

Each file is replaced atomically (temporary file, fsync, rename). An entry is
written only from hashes computed over the same bytes in one pass, or over a
stored blob. Nothing but the remote commands reads these files, and they are
caches: an entry that is missing or unreadable costs a hash or a download,
and an entry whose blob is gone is ignored.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..digest import is_hex_digest
from ..layout import Layout
from ..locks import file_lock

log = logging.getLogger(__name__)

# Records kept per artifact; the oldest are dropped first.
MAX_SOURCES = 50


@dataclass(frozen=True)
class Mapped:
    """The map entry of one sha256 digest."""

    blake3: str
    size: int
    repositories: tuple[str, ...]


class DigestMap:
    """The ``remote/`` folder of one store."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.root = layout.root / "remote"

    # -- blobs -------------------------------------------------------------------

    def lookup(self, sha256: str) -> Mapped | None:
        """Return the local blob recorded for a sha256 hex digest, or None."""
        document = _read(self.root / "sha256" / sha256)
        if not document or not is_hex_digest(str(document.get("blake3"))) or type(document.get("size")) is not int:
            return None
        repositories = document.get("repositories")
        if not isinstance(repositories, list):
            repositories = []
        return Mapped(document["blake3"], document["size"], tuple(str(item) for item in repositories))

    def stored_blob(self, sha256: str, size: int) -> str | None:
        """Return the BLAKE3 digest of a stored blob whose sha256 is ``sha256``, or None."""
        mapped = self.lookup(sha256)
        if mapped and mapped.size == size and self.layout.blob(mapped.blake3).exists():
            return mapped.blake3
        return None

    def sha256_of(self, blake3: str) -> str | None:
        document = _read(self.root / "blake3" / blake3)
        value = document.get("sha256") if document else None
        return value if isinstance(value, str) and is_hex_digest(value) else None

    def record(self, sha256: str, blake3: str, size: int, repository: str | None = None) -> None:
        """Record that the bytes with these two digests exist, and optionally in which repository."""
        mapped = self.lookup(sha256)
        repositories = list(mapped.repositories) if mapped and mapped.blake3 == blake3 else []
        if repository and repository not in repositories:
            repositories.append(repository)
        if mapped is None or mapped.blake3 != blake3 or tuple(repositories) != mapped.repositories:
            _write(self.root / "sha256" / sha256, {"blake3": blake3, "size": size, "repositories": repositories})
        if self.sha256_of(blake3) != sha256:
            _write(self.root / "blake3" / blake3, {"sha256": sha256, "size": size})

    def local_sha256(self, blake3: str, size: int) -> str:
        """Return the sha256 hex digest of a stored blob, hashing it (once) when the map lacks it."""
        known = self.sha256_of(blake3)
        if known:
            return known
        with open(self.layout.blob(blake3), "rb") as handle:
            sha256 = hashlib.file_digest(handle, "sha256").hexdigest()
        self.record(sha256, blake3, size)
        return sha256

    def find_stored(self, sha256: str, size: int, candidates: Iterable[str]) -> str | None:
        """Return a stored blob with this sha256: from the map, else by hashing ``candidates`` of the same size."""
        found = self.stored_blob(sha256, size)
        if found:
            return found
        for blake3 in candidates:
            if self.sha256_of(blake3) is None and self.layout.blob(blake3).exists():
                if self.local_sha256(blake3, size) == sha256:
                    return blake3
        return None

    def mount_sources(self, sha256: str, registry: str, repository: str) -> tuple[str, ...]:
        """Return the other repositories of ``registry`` that the map records as holding the blob."""
        mapped = self.lookup(sha256)
        if not mapped:
            return ()
        prefix = f"{registry}/"
        return tuple(
            name[len(prefix) :] for name in mapped.repositories if name.startswith(prefix) and name[len(prefix) :] != repository
        )

    # -- artifact sources --------------------------------------------------------

    def record_source(self, manifest: str, source: dict) -> None:
        """Append a pull or push record to an artifact's sources, replacing one for the same reference."""
        path = self.root / "sources" / f"{manifest}.json"
        with file_lock(self.layout.locks / "remote.lock"):
            sources = [item for item in self.sources(manifest) if item.get("reference") != source.get("reference")]
            sources.append(source)
            _write(path, {"sources": sources[-MAX_SOURCES:]})

    def sources(self, manifest: str) -> list[dict]:
        document = _read(self.root / "sources" / f"{manifest}.json")
        items = document.get("sources") if document else None
        return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def _read(path: Path) -> dict | None:
    try:
        document = json.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        log.info("ignoring unreadable digest map entry %s (%s)", path, error)
        return None
    return document if isinstance(document, dict) else None


def _write(path: Path, document: dict) -> None:
    """Replace ``path`` atomically; the name of the temporary file is unique per call, so threads never share one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    try:
        with open(temporary, "wb") as handle:
            handle.write(json.dumps(document, sort_keys=True).encode() + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
