"""A client of the OCI distribution API: ping, manifests, and blob reads.

Manifests are verified before anything uses them: their size is bounded,
their sha256 is computed from the bytes received and must equal the digest
asked for and any ``Docker-Content-Digest`` header. Blob uploads live in
upload.py; blob downloads, which verify while they write, in download.py.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass

from ..errors import DigestMismatchError, NotFoundError, RemoteError
from .auth import Authenticator, repository_scope
from .credentials import Credentials, find_credentials
from .reference import Reference
from .retry import RetryPolicy
from .transport import Body, Response, Transport

log = logging.getLogger(__name__)

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MANIFEST_TYPES = (OCI_MANIFEST, DOCKER_MANIFEST)
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
ACCEPT = ", ".join((*MANIFEST_TYPES, *INDEX_TYPES))
# The distribution specification requires registries to accept manifests of at least 4 MiB; larger ones are rejected here.
MANIFEST_LIMIT = 4 << 20


@dataclass(frozen=True)
class FetchedManifest:
    """A manifest's bytes as received, its media type and its verified sha256 digest."""

    data: bytes
    media_type: str
    digest: str


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Registry:
    """One registry, reached at the scheme its ping chose, with its credentials."""

    def __init__(self, reference: Reference, *, insecure: bool = False, credentials: Credentials | None = None,
                 policy: RetryPolicy | None = None) -> None:
        self.name = reference.registry
        if credentials is None:
            credentials = find_credentials(reference.registry)
        self.auth = Authenticator(reference.registry, credentials, insecure=insecure)
        self.policy = policy or RetryPolicy.from_env()
        self.transport = Transport(reference.registry, reference.host, scheme=reference.scheme, insecure=insecure,
                                   auth=self.auth, policy=self.policy)

    def ping(self) -> Registry:
        self.transport.ping()
        return self

    def close(self) -> None:
        self.transport.close()

    # -- manifests ---------------------------------------------------------------

    def get_manifest(self, repository: str, target: str) -> FetchedManifest:
        """Fetch a manifest by tag or digest and verify its digest; nothing is trusted before that."""
        where = f"{self.name}/{repository}"
        response = self.transport.request(
            "GET", f"/v2/{repository}/manifests/{target}", headers={"Accept": ACCEPT}, scope=repository_scope(repository, "pull")
        )
        if response.status != 200:
            raise self.error(response, f"manifest {where}{'@' if target.startswith('sha256:') else ':'}{target}")
        data = response.read(MANIFEST_LIMIT)
        digest = sha256_digest(data)
        if target.startswith("sha256:") and digest != target:
            raise DigestMismatchError(
                f"manifest {where}@{target} from {self.name} hashes to {digest}",
                hint="the registry or a proxy altered it; nothing was written",
                expected=target,
                actual=digest,
            )
        claimed = response.header("Docker-Content-Digest")
        if claimed and claimed.startswith("sha256:") and claimed != digest:
            raise DigestMismatchError(
                f"registry {self.name} sent manifest {where}:{target} with Docker-Content-Digest {claimed}, "
                f"but its content hashes to {digest}",
                hint="the registry or a proxy is inconsistent; nothing was written",
                expected=claimed,
                actual=digest,
            )
        media_type = (response.header("Content-Type") or "").split(";")[0].strip()
        return FetchedManifest(data, _declared_type(data) or media_type, digest)

    def manifest_digest(self, repository: str, tag: str) -> str:
        """Return the digest a tag points at now, from HEAD or, if the registry omits it, from the manifest."""
        response = self.transport.request(
            "HEAD", f"/v2/{repository}/manifests/{tag}", headers={"Accept": ACCEPT}, scope=repository_scope(repository, "pull")
        )
        response.drain()
        if response.status == 200:
            claimed = response.header("Docker-Content-Digest")
            if claimed and claimed.startswith("sha256:"):
                return claimed
        elif response.status == 404:
            raise NotFoundError(
                f"tag {tag!r} not found in {self.name}/{repository}",
                hint="check the reference, or whether the tag was deleted",
                repository=repository,
                tag=tag,
            )
        return self.get_manifest(repository, tag).digest

    def put_manifest(self, repository: str, target: str, data: bytes, media_type: str) -> str:
        """Upload a manifest under a tag (or its digest) and return the digest the registry confirms."""
        response = self.transport.request(
            "PUT",
            f"/v2/{repository}/manifests/{target}",
            headers={"Content-Type": media_type},
            body=Body(data),
            scope=repository_scope(repository, "pull,push"),
        )
        if response.status not in (200, 201):
            raise self.error(response, f"upload of manifest {self.name}/{repository}:{target}")
        response.drain()
        digest = sha256_digest(data)
        claimed = response.header("Docker-Content-Digest")
        if claimed and claimed.startswith("sha256:") and claimed != digest:
            raise DigestMismatchError(
                f"registry {self.name} stored manifest {repository}:{target} as {claimed}, but it hashes to {digest}",
                hint="the registry rewrote the manifest; pin the digest ilab printed only after checking the registry",
                expected=digest,
                actual=claimed,
            )
        return digest

    # -- blobs -------------------------------------------------------------------

    def blob_size(self, repository: str, digest: str, scope_actions: str = "pull") -> int | None:
        """Return the size of a blob the repository has, or None when it lacks it (HEAD)."""
        response = self.transport.request(
            "HEAD", f"/v2/{repository}/blobs/{digest}", scope=repository_scope(repository, scope_actions)
        )
        response.drain()
        if response.status == 404:
            return None
        if response.status != 200:
            raise self.error(response, f"blob {digest} of {self.name}/{repository}")
        length = response.header("Content-Length")
        return int(length) if length and length.isdigit() else -1

    def open_blob(self, repository: str, digest: str, offset: int = 0) -> tuple[Response, int]:
        """Start reading a blob at ``offset``; return the response and the offset it really starts at.

        A registry that ignores ``Range`` responds with 200 and the whole blob, so
        the start is then 0 and the caller must discard its partial file.
        """
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        response = self.transport.request(
            "GET", f"/v2/{repository}/blobs/{digest}", headers=headers, scope=repository_scope(repository, "pull")
        )
        where = f"blob {digest} of {self.name}/{repository}"
        if response.status == 416 and offset:
            # The partial file is already complete (or longer than the blob); the caller checks it.
            response.drain()
            return response, -1
        if response.status not in (200, 206):
            raise self.error(response, where)
        claimed = response.header("Docker-Content-Digest")
        if claimed and claimed.startswith("sha256:") and claimed != digest:
            response.close()
            raise DigestMismatchError(
                f"registry {self.name} returned Docker-Content-Digest {claimed} for {where}",
                hint="the registry or a proxy is inconsistent; nothing was written",
                expected=digest,
                actual=claimed,
            )
        start = 0
        if response.status == 206:
            start = _content_range_start(response.header("Content-Range"))
            if start != offset:
                response.close()
                raise RemoteError(f"registry {self.name} resumed {where} at byte {start}, not {offset}", hint="run the command again")
        return response, start

    # -- errors ------------------------------------------------------------------

    def error(self, response: Response, what: str) -> RemoteError | NotFoundError:
        """Turn an unexpected response into an error naming ``what``, with the registry's own error codes."""
        body = response.drain()
        detail = error_detail(body)
        status = f"HTTP {response.status}" + (f" ({detail})" if detail else "")
        if response.status == 404:
            return NotFoundError(f"{what} not found: {status}", hint="check the repository, tag or digest", registry=self.name)
        if response.status in (401, 403):
            return RemoteError(
                f"access to {what} denied: {status}",
                hint="check that your user may pull (or push) this repository; see --username and Docker's config.json",
                registry=self.name,
            )
        return RemoteError(f"{what} failed: {status}", hint="check the registry's logs or run the command again", registry=self.name)


def _declared_type(data: bytes) -> str | None:
    try:
        value = json.loads(data).get("mediaType")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def _content_range_start(value: str | None) -> int:
    # Content-Range: bytes 100-199/200
    try:
        return int((value or "").split()[1].split("-")[0])
    except (IndexError, ValueError):
        return -1


def error_detail(body: bytes) -> str:
    """Return ``CODE: message`` pairs from the registry's JSON error body, or the start of its text."""
    try:
        errors = json.loads(body).get("errors") or []
        parts = [f"{error.get('code')}: {error.get('message')}" for error in errors if isinstance(error, dict)]
        return "; ".join(parts)[:300]
    except (ValueError, AttributeError):
        return body[:200].decode("utf-8", "replace").strip()
