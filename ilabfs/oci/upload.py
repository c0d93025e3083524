"""Blob uploads: HEAD first, cross-repository mount, monolithic or chunked upload, resume.

A blob no larger than the chunk size goes in one ``PUT``. A larger one goes
in ``PATCH`` requests of one chunk each and a final ``PUT`` with the digest.
When a request fails mid-upload, the client requests the upload's status
(``GET`` on the upload URL, returning ``204`` with ``Range: 0-<last byte>``)
and continues from there. When the registry has lost the upload (as
distribution 2.8 does after a broken ``PATCH``), it starts the blob again. A
broken body is never sent again blindly, because a registry may have kept
part of it.
"""

from __future__ import annotations

import logging
import urllib.parse
from typing import Protocol

from ..errors import RemoteError
from .auth import repository_scope
from .registry import Registry, error_detail
from .retry import Retrier
from .transport import TRANSIENT_ERRORS, Body

log = logging.getLogger(__name__)

DEFAULT_CHUNK = 64 << 20
PRESENT, MOUNTED, UPLOADED = "present", "mounted", "uploaded"


class BlobProgress(Protocol):
    """A progress display for one blob: called with byte counts, set() after a restart, close() at the end."""

    def __call__(self, amount: int) -> None: ...

    def set(self, done: int) -> None: ...

    def close(self) -> None: ...


class _Interrupted(Exception):
    """An upload request failed in a way that a retry can recover from, from the upload's status or from the start."""

    def __init__(self, reason: str, restart: bool = False) -> None:
        super().__init__(reason)
        self.restart = restart


def upload_blob(registry: Registry, repository: str, digest: str, size: int, path: str, *,
                chunk_size: int = DEFAULT_CHUNK, mount_from: tuple[str, ...] = (), progress: BlobProgress | None = None,
                cancel=None) -> str:
    """Make ``repository`` contain the blob at ``path``; return PRESENT, MOUNTED or UPLOADED.

    ``cancel`` (a threading.Event) ends the waits between retries once it is set.
    """
    if registry.blob_size(repository, digest, "pull,push") == size:
        return PRESENT

    location = None
    for source in mount_from:
        location = _mount(registry, repository, digest, source)
        if location is None:
            return MOUNTED
        # The registry fell back to a plain upload session, which serves as well.
        break

    retrier = Retrier(registry.policy, f"upload of {digest} to {registry.name}/{repository}", cancel)
    offset = 0
    while True:
        if location is None:
            location, offset = _start(registry, repository), 0
        if progress:
            progress.set(offset)
        try:
            _send(registry, repository, location, digest, size, offset, path, chunk_size, progress)
            return UPLOADED
        except _Interrupted as error:
            retrier.wait(str(error))
            location, offset = (None, 0) if error.restart else _status(registry, repository, location)
            if location is None:
                log.info("registry %s lost the upload of %s; starting it again", registry.name, digest)


def _send(registry: Registry, repository: str, location: str, digest: str, size: int, offset: int, path: str,
          chunk_size: int, progress: BlobProgress | None) -> None:
    if offset == 0 and size <= chunk_size:
        _finish(registry, repository, location, digest, Body(path=path, offset=0, length=size, progress=progress))
        return
    while offset < size:
        length = min(chunk_size, size - offset)
        body = Body(path=path, offset=offset, length=length, progress=progress)
        headers = {"Content-Type": "application/octet-stream", "Content-Range": f"{offset}-{offset + length - 1}"}
        response = _request(registry, repository, "PATCH", location, headers, body)
        if response.status != 202:
            _fail(registry, response, f"upload of {digest} (bytes {offset}-{offset + length - 1})")
        response.drain()
        location = _location(registry, response, location)
        offset += length
    _finish(registry, repository, location, digest, None)


def _finish(registry: Registry, repository: str, location: str, digest: str, body: Body | None) -> None:
    url = _with_query(location, digest=digest)
    response = _request(registry, repository, "PUT", url, {"Content-Type": "application/octet-stream"}, body)
    if response.status not in (201, 204):
        _fail(registry, response, f"upload of {digest}")
    response.drain()


def _request(registry: Registry, repository: str, method: str, url: str, headers: dict, body: Body | None):
    """Send one upload request; a broken connection or a 5xx becomes _Interrupted, never a blind resend."""
    registry.transport.check_url(url)
    try:
        response = registry.transport.request(method, url, headers=headers, body=body,
                                              scope=repository_scope(repository, "pull,push"), retry=False)
    except TRANSIENT_ERRORS as error:
        raise _Interrupted(f"{type(error).__name__}: {error}") from error
    if response.status >= 500 or response.status == 429:
        response.drain()
        raise _Interrupted(f"HTTP {response.status} {response.reason}")
    return response


def _fail(registry: Registry, response, what: str) -> None:
    if response.status in (404, 416):
        # The session expired or disagrees about the offset, so its status decides how to go on.
        response.drain()
        raise _Interrupted(f"HTTP {response.status} for {what}")
    if response.status == 400:
        detail = error_detail(response.drain())
        if "DIGEST_INVALID" in detail:
            # The registry holds other bytes than the file, as after a chunk sent twice: start the blob again.
            raise _Interrupted(f"HTTP 400 for {what} ({detail})", restart=True)
        raise RemoteError(f"{what} failed: HTTP 400 ({detail})", hint="check the registry's logs", registry=registry.name)
    raise registry.error(response, what)


def _start(registry: Registry, repository: str) -> str:
    response = registry.transport.request(
        "POST", f"/v2/{repository}/blobs/uploads/", scope=repository_scope(repository, "pull,push"), body=Body(b"")
    )
    if response.status != 202:
        raise registry.error(response, f"start of an upload to {registry.name}/{repository}")
    response.drain()
    return _location(registry, response, None)


def _mount(registry: Registry, repository: str, digest: str, source: str) -> str | None:
    """Ask the registry to link a blob from another repository; return None when it did, else an upload URL."""
    query = urllib.parse.urlencode({"mount": digest, "from": source})
    scope = f"{repository_scope(repository, 'pull,push')} {repository_scope(source, 'pull')}"
    response = registry.transport.request("POST", f"/v2/{repository}/blobs/uploads/?{query}", scope=scope, body=Body(b""))
    response.drain()
    if response.status == 201:
        log.info("mounted %s from %s into %s", digest, source, repository)
        return None
    if response.status == 202:
        return _location(registry, response, None)
    log.info("cannot mount %s from %s (HTTP %d); uploading it", digest, source, response.status)
    return _start(registry, repository)


def _status(registry: Registry, repository: str, location: str) -> tuple[str | None, int]:
    """Ask how much of an upload the registry holds; (None, 0) when it lost the upload."""
    try:
        response = registry.transport.request("GET", location, scope=repository_scope(repository, "pull,push"))
    except RemoteError:
        return None, 0
    response.drain()
    if response.status not in (202, 204):
        return None, 0
    received = _range_end(response.header("Range"))
    return _location(registry, response, location), received


def _range_end(value: str | None) -> int:
    """Return the number of bytes that ``Range: 0-<last>`` (or ``bytes=0-<last>``) reports as received."""
    if not value:
        return 0
    text = value.strip().removeprefix("bytes=")
    try:
        first, last = (int(part) for part in text.split("-", 1))
    except ValueError:
        return 0
    # distribution returns 0-0 both for an empty upload and for one byte. Reading it as 0 can only
    # make the final digest check fail, which starts the blob again.
    return 0 if last <= first else last + 1


def _location(registry: Registry, response, previous: str | None) -> str:
    location = response.header("Location")
    if not location:
        if previous:
            return previous
        raise RemoteError(f"registry {registry.name} started an upload without a Location header", hint="check the registry")
    base = previous or registry.transport.url("/")
    url = urllib.parse.urljoin(base, location)
    registry.transport.check_url(url)
    return url


def _with_query(url: str, **params: str) -> str:
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))

