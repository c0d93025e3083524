"""Pushing a model to a registry as an OCI artifact with sha256 digests.

The registry manifest has the structure of the local one: one layer per
file, named by its title, and the config document as the config blob with its
ilabfs media type. It is canonical JSON without timestamps, so pushing the
same model twice gives the same manifest digest. Each blob's sha256 is computed
once and kept in the digest map. Only blobs the repository lacks are sent:
HEAD first, then a cross-repository mount when the map knows another
repository of the registry that holds the blob, then an upload.
"""

from __future__ import annotations

import threading
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass

from ..digest import short_id
from ..errors import CorruptStoreError, InvalidInputError
from ..store import Store
from .artifact import build_remote_manifest
from .credentials import Credentials
from .digestmap import DigestMap
from .pull import MAX_JOBS, ProgressFactory, record_source
from .reference import DEFAULT_TAG, Reference, parse_reference
from .registry import OCI_MANIFEST, Registry
from .retry import Cancelled
from .upload import DEFAULT_CHUNK, MOUNTED, PRESENT, UPLOADED, BlobProgress, upload_blob

MIN_CHUNK = 1 << 20


@dataclass
class PushResult:
    """The pushed manifest digest, the pinned reference, and what each blob needed."""

    local_digest: str
    reference: str
    digest: str = ""
    pinned: str = ""
    blobs: int = 0
    uploaded: int = 0
    mounted: int = 0
    present: int = 0
    bytes_uploaded: int = 0

    @property
    def id(self) -> str:
        return short_id(self.local_digest)


@dataclass(frozen=True)
class _Blob:
    blake3: str
    sha256: str
    size: int
    label: str


def push(store: Store, ref: str, destination: str | Reference, *, jobs: int = 4, chunk_size: int = DEFAULT_CHUNK,
         insecure: bool = False, credentials: Credentials | None = None, progress: ProgressFactory | None = None,
         registry: Registry | None = None) -> PushResult:
    """Push the model ``ref`` to ``destination`` (``REGISTRY/REPO[:TAG]``) and return the manifest digest."""
    if not 1 <= jobs <= MAX_JOBS:
        raise InvalidInputError(f"invalid --jobs {jobs}", hint=f"use 1 to {MAX_JOBS} parallel uploads", jobs=jobs)
    if chunk_size < MIN_CHUNK:
        raise InvalidInputError(f"invalid chunk size {chunk_size}", hint=f"use at least {MIN_CHUNK} bytes", chunk_size=chunk_size)
    entry = store.resolve("model", ref)
    dest = parse_reference(destination, insecure=insecure) if isinstance(destination, str) else destination
    if dest.digest:
        raise InvalidInputError(
            f"push destination {destination} has a digest",
            hint="give REGISTRY/REPOSITORY:TAG; the digest is computed from the model and printed",
        )
    dest = dest.with_tag(dest.tag or local_tag(ref, entry.names))
    manifest = store.read_manifest(entry.digest)
    digests = DigestMap(store.layout)

    config = _Blob(manifest.config_digest, _sha256(digests, manifest.config_digest, manifest.config_size), manifest.config_size, "config")
    files = [_Blob(layer.digest, _sha256(digests, layer.digest, layer.size), layer.size, layer.title) for layer in manifest.layers]
    data = build_remote_manifest(manifest.kind, (config.sha256, config.size), [
        (layer, blob.sha256) for layer, blob in zip(manifest.layers, files)
    ])
    unique = list({blob.sha256: blob for blob in [config, *files]}.values())

    result = PushResult(entry.digest, str(dest), blobs=len(unique))
    own = registry is None
    registry = registry or Registry(dest, insecure=insecure, credentials=credentials).ping()
    try:
        _upload_all(store, registry, dest, unique, digests, result, jobs, chunk_size, progress)
        result.digest = registry.put_manifest(dest.repository, dest.tag, data, OCI_MANIFEST)
    finally:
        if own:
            registry.close()

    result.pinned = f"{dest.name}@{result.digest}"
    record_source(store, entry.digest, dest.pinned(result.digest), "push")
    return result


def local_tag(ref: str, names: list[str]) -> str:
    """Return the tag of the local name ``ref`` names, or ``latest`` when ``ref`` is a digest."""
    wanted = ref.strip().casefold()
    for name in names:
        base, _, tag = name.rpartition(":")
        if wanted in (name.casefold(), base.casefold()):
            return tag
    return DEFAULT_TAG


def _sha256(digests: DigestMap, blake3: str, size: int) -> str:
    try:
        return digests.local_sha256(blake3, size)
    except FileNotFoundError:
        raise CorruptStoreError(
            f"blob {blake3} is missing from the store",
            hint="run ilab fsck, then add or pull the model again",
            digest=blake3,
        ) from None


def _upload_all(store: Store, registry: Registry, dest: Reference, blobs: list[_Blob], digests: DigestMap,
                result: PushResult, jobs: int, chunk_size: int, progress: ProgressFactory | None) -> None:
    """Upload blobs in parallel, at most ``jobs`` at a time, recording each in the digest map."""
    lock = threading.Lock()
    stop = threading.Event()

    def one(blob: _Blob) -> None:
        bar = _Stoppable(progress(blob.label, blob.size) if progress else None, stop)
        try:
            mounts = digests.mount_sources(blob.sha256, registry.name, dest.repository)
            outcome = upload_blob(
                registry, dest.repository, f"sha256:{blob.sha256}", blob.size, str(store.layout.blob(blob.blake3)),
                chunk_size=chunk_size, mount_from=mounts, progress=bar, cancel=stop,
            )
        finally:
            bar.close()
        digests.record(blob.sha256, blob.blake3, blob.size, dest.name)
        with lock:
            result.present += outcome == PRESENT
            result.mounted += outcome == MOUNTED
            result.uploaded += outcome == UPLOADED
            result.bytes_uploaded += blob.size if outcome == UPLOADED else 0

    pool = ThreadPoolExecutor(max_workers=min(jobs, len(blobs)), thread_name_prefix="ilabfs-push")
    try:
        futures = [pool.submit(one, blob) for blob in blobs]
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
        for future in done:
            if future.exception() is not None:
                raise future.exception()
    finally:
        # Uploads still running stop at their next block; the registry drops their sessions later.
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)


class _Stoppable:
    """A blob's progress display that also ends its upload once another upload has failed."""

    def __init__(self, bar: BlobProgress | None, stop: threading.Event) -> None:
        self.bar = bar
        self.stop = stop

    def __call__(self, amount: int) -> None:
        if self.stop.is_set():
            raise Cancelled()
        if self.bar is not None:
            self.bar(amount)

    def set(self, done: int) -> None:
        if self.bar is not None:
            self.bar.set(done)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
