"""Pulling a model from a registry (or an OCI layout) into the store.

The steps, in order:

1. Fetch the manifest, verify its sha256, and check every title, before
   anything is written.
2. Open an ingest whose failure keeps partial downloads, and take over the
   partial downloads that earlier pulls left in abandoned staging folders.
3. Find each blob in the store through the digest map, or by hashing stored
   blobs of the same size once; pin what is found.
4. Download the rest in parallel into ``pull-<sha256>.part`` files, each
   verified by size and sha256 while its BLAKE3 digest is computed.
5. Publish the downloads as blobs, record them in the digest map, and name
   the artifact with the config document ``ilab model add`` would write.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from ..digest import format_digest, short_id
from ..errors import AlreadyExistsError, DigestMismatchError, InvalidInputError, NoSpaceError
from ..fsutil import free_bytes
from ..ingest import LEASE, Ingest
from ..locks import try_lock_exclusive
from ..manifest import Layer
from ..refs import full_name
from ..scan import SourceFile
from ..store import SPACE_MARGIN, Store, utc_now
from .artifact import CONFIG_LIMIT, RemoteArtifact, RemoteBlob, declared_metadata, local_digest, model_documents, parse_remote_manifest
from .credentials import Credentials
from .digestmap import DigestMap
from .download import BlobSource, Cancellation, RegistryBlobs, Staged, Wanted, fetch, partial_path
from .reference import DEFAULT_TAG, Reference, parse_reference
from .registry import Registry
from .upload import BlobProgress

log = logging.getLogger(__name__)

ProgressFactory = Callable[[str, int], BlobProgress]
MAX_JOBS = 64


@dataclass
class PullResult:
    """The outcome of a pull: the model stored, where it came from, and what was transferred."""

    digest: str
    name: str | None
    new: bool
    source: str
    remote_digest: str
    files: int = 0
    blobs: int = 0
    downloaded: int = 0
    bytes_downloaded: int = 0
    reused: int = 0
    resumed_bytes: int = 0

    @property
    def id(self) -> str:
        return short_id(self.digest)


def pull(store: Store, reference: Reference | str, *, name: str | None = None, force: bool = False, jobs: int = 4,
         insecure: bool = False, credentials: Credentials | None = None, progress: ProgressFactory | None = None,
         expected_local: str | None = None, registry: Registry | None = None) -> PullResult:
    """Pull a model by tag or digest and name it.

    The name defaults to the repository's last part and the reference's tag.
    A model pulled by digest alone stays unnamed unless ``name`` is given, as
    Docker leaves an image pulled by digest untagged.
    """
    ref = parse_reference(reference, insecure=insecure) if isinstance(reference, str) else reference
    own = registry is None
    registry = registry or Registry(ref, insecure=insecure, credentials=credentials).ping()
    try:
        fetched = registry.get_manifest(ref.repository, ref.target)
        artifact = parse_remote_manifest(fetched.data, fetched.media_type, str(ref))
        result = adopt(
            store, artifact, RegistryBlobs(registry, ref.repository),
            name=name or default_name(ref), force=force, jobs=jobs, progress=progress,
            expected_local=expected_local, repository=ref.name,
        )
    finally:
        if own:
            registry.close()

    pinned = ref.pinned(fetched.digest)
    result.source, result.remote_digest = str(pinned), fetched.digest
    record_source(store, result.digest, pinned, "pull")
    return result


def default_name(ref: Reference) -> str | None:
    if ref.digest and not ref.tag:
        return None
    return f"{ref.repository.rsplit('/', 1)[-1]}:{ref.tag or DEFAULT_TAG}"


def record_source(store: Store, digest: str, ref: Reference, operation: str) -> None:
    """Remember where an artifact was pulled from or pushed to, for ``ilab lock write``."""
    DigestMap(store.layout).record_source(digest, {
        "reference": str(ref.with_tag(ref.tag)) if ref.tag else f"{ref.name}@{ref.digest}",
        "registry": ref.registry,
        "repository": ref.repository,
        "tag": ref.tag,
        "digest": ref.digest,
        "operation": operation,
        "time": utc_now(),
    })


def adopt(store: Store, artifact: RemoteArtifact, source: BlobSource, *, name: str | None, force: bool = False,
          jobs: int = 4, progress: ProgressFactory | None = None, expected_local: str | None = None,
          repository: str | None = None) -> PullResult:
    """Store a remote artifact's blobs from ``source`` and name the model; see the module doc for the steps."""
    if not 1 <= jobs <= MAX_JOBS:
        raise InvalidInputError(f"invalid --jobs {jobs}", hint=f"use 1 to {MAX_JOBS} parallel downloads", jobs=jobs)
    name = full_name(name) if name else None
    if artifact.config and artifact.config.size > CONFIG_LIMIT:
        raise InvalidInputError(f"config document of {source.description} is {artifact.config.size} bytes", hint="check the reference")
    index = store.index(with_blobs=True)
    _check_name(store, name, artifact, force)
    by_size: dict[int, list[str]] = defaultdict(list)
    for entry in index.entries.values():
        for blob, size in entry.blob_list().items():
            by_size[size].append(blob)

    digests = DigestMap(store.layout)
    result = PullResult("", name, False, source.description, "", files=len(artifact.files), blobs=len(artifact.blobs))
    with store.transaction() as ingest:
        ingest.keep_partials = True
        adopt_partials(store, ingest, {blob.sha256 for blob in artifact.blobs})

        local: dict[str, str] = {}
        missing: list[RemoteBlob] = []
        for blob in artifact.blobs:
            found = digests.find_stored(blob.sha256, blob.size, sorted(set(by_size.get(blob.size, ()))))
            if found and ingest.reuse(found):
                local[blob.sha256] = found
                result.reused += 1
                if repository:
                    digests.record(blob.sha256, found, blob.size, repository)
            else:
                missing.append(blob)

        _check_space(store, ingest, missing)
        # The config document comes first, so a config that cannot be taken over fails before the shards download.
        config_first = [blob for blob in missing if artifact.config and blob.sha256 == artifact.config.sha256]
        staged = download_all(source, config_first, ingest, jobs, progress)
        if artifact.config:
            config_path = staged[0].path if staged else store.layout.blob(local[artifact.config.sha256])
            declared = declared_metadata(config_path.read_bytes(), source.description)
        else:
            declared = {}
        staged += download_all(source, [blob for blob in missing if blob not in config_first], ingest, jobs, progress)

        for position, item in enumerate(staged):
            result.downloaded += 1
            result.bytes_downloaded += item.received
            result.resumed_bytes += item.resumed_from
            # The store gets the config document as an add writes it, so the remote config blob becomes a blob
            # only when a file has the same bytes.
            is_config = position < len(config_first)
            if not is_config or any(blob.sha256 == item.wanted.sha256 for blob in artifact.files):
                ingest.commit_staged(item.path, item.blake3, item.wanted.size)
            digests.record(item.wanted.sha256, item.blake3, item.wanted.size, repository)
            local[item.wanted.sha256] = item.blake3

        result.digest, result.new, result.name = _name(store, ingest, artifact, local, declared, name, force,
                                                       expected_local, source.description)
    return result


def _name(store: Store, ingest: Ingest, artifact: RemoteArtifact, local: dict[str, str], declared: dict,
          name: str | None, force: bool, expected_local: str | None, where: str) -> tuple[str, bool, str | None]:
    """Build the config document as ``ilab model add`` does, check a pinned local digest, then name the model."""
    layers = [Layer(blob.label, local[blob.sha256], blob.size) for blob in artifact.files]
    sources = [SourceFile(layer.title, store.layout.blob(layer.digest), layer.size) for layer in layers]
    config, summary = model_documents(sources, declared)
    digest = local_digest("model", config, layers)
    if expected_local and digest != expected_local:
        raise DigestMismatchError(
            f"{where} gives local digest {format_digest(digest)}, but the lock file pins {format_digest(expected_local)}",
            hint="the files or their declared metadata differ from what was locked; nothing was named",
            expected=expected_local,
            actual=digest,
        )
    added = store.finish_artifact(ingest, "model", layers, config, name, summary=summary, force=force)
    return added.digest, added.new, added.name


def download_all(source: BlobSource, blobs: list[RemoteBlob], ingest: Ingest, jobs: int,
                 progress: ProgressFactory | None) -> list[Staged]:
    """Download blobs in parallel, at most ``jobs`` at a time; the first failure stops the others."""
    if not blobs:
        return []
    stop = Cancellation()
    bars = {blob.sha256: progress(blob.label, blob.size) if progress else None for blob in blobs}

    def one(blob: RemoteBlob) -> Staged:
        return fetch(source, Wanted(blob.sha256, blob.size, blob.label), ingest.folder, bars[blob.sha256], stop)

    pool = ThreadPoolExecutor(max_workers=min(jobs, len(blobs)), thread_name_prefix="ilabfs-pull")
    try:
        futures = [pool.submit(one, blob) for blob in blobs]
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
        for future in done:
            if future.exception() is not None:
                raise future.exception()
        return [future.result() for future in futures]
    finally:
        # Stop the other downloads; their partial files stay for the next pull.
        stop.cancel()
        pool.shutdown(wait=True, cancel_futures=True)
        for bar in bars.values():
            if bar is not None:
                bar.close()


def adopt_partials(store: Store, ingest: Ingest, wanted: set[str]) -> int:
    """Move partial downloads of ``wanted`` digests from abandoned staging folders into ``ingest``'s folder.

    A folder counts as abandoned when no process holds its lease. Holding the
    lease while moving keeps gc and other pulls away from the files. Return
    how many partial files were taken over.
    """
    taken = 0
    try:
        folders = [entry for entry in os.scandir(store.layout.staging) if entry.is_dir(follow_symlinks=False)]
    except FileNotFoundError:
        return 0
    for folder in folders:
        if folder.path == str(ingest.folder) or folder.name.startswith("."):
            continue
        present = [digest for digest in wanted if partial_path(Path(folder.path), digest).exists()]
        if not present:
            continue
        lease = Path(folder.path) / LEASE
        fd = try_lock_exclusive(lease)
        if fd is None and lease.exists():
            continue
        try:
            for digest in present:
                source, target = partial_path(Path(folder.path), digest), partial_path(ingest.folder, digest)
                if target.exists() and target.stat().st_size >= source.stat().st_size:
                    continue
                os.replace(source, target)
                taken += 1
                log.info("taking over the partial download of sha256:%s from %s", digest, folder.name)
            # A folder left with nothing but its lease is of no further use; its lease is ours while locked.
            if fd is not None and [entry.name for entry in os.scandir(folder.path)] == [LEASE]:
                shutil.rmtree(folder.path, ignore_errors=True)
        except FileNotFoundError:
            continue
        finally:
            if fd is not None:
                os.close(fd)
    return taken


def _check_name(store: Store, name: str | None, artifact: RemoteArtifact, force: bool) -> None:
    """Fail before downloading when the name is taken by a model that cannot be these files."""
    if not name or force:
        return
    index = store.index()
    taken_by = index.name_map("model").get(name.casefold())
    if taken_by is None:
        return
    entry = index.entries[taken_by]
    if entry.size == artifact.size and entry.summary.get("files") in (None, len(artifact.files)):
        return
    raise AlreadyExistsError(
        f"model name {name!r} already points at {short_id(taken_by)}",
        hint="choose another name with --name, or pass --force to move the name",
        name=name,
        digest=taken_by,
    )


def _check_space(store: Store, ingest: Ingest, missing: list[RemoteBlob]) -> None:
    needed = 0
    for blob in missing:
        part = partial_path(ingest.folder, blob.sha256)
        needed += blob.size - (part.stat().st_size if part.exists() else 0)
    if needed <= 0:
        return
    free = free_bytes(store.layout.staging)
    if needed + SPACE_MARGIN > free:
        raise NoSpaceError(
            f"not enough space in {store.root} to pull: {needed + SPACE_MARGIN} bytes needed "
            f"({needed} to download and {SPACE_MARGIN} in reserve), {free} bytes free",
            hint="free some space (ilab gc reclaims unused blobs) and pull again",
            needed=needed,
            free=free,
        )

