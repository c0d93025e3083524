"""Registry references: ``REGISTRY/REPOSITORY[:TAG][@sha256:<hex>]``.

The grammar is that of the distribution project's reference package: a
registry host (with an optional port) that contains a dot or a colon or is
``localhost``, then lowercase path components, then a tag or a digest. A
``docker://`` prefix, as skopeo and InstructLab write it, is accepted. So is
``http://`` or ``https://``, which fixes the scheme; plain HTTP is allowed only
for loopback registries and for registries the user marks insecure.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, replace

from ..errors import InvalidInputError

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REPOSITORY = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")
_HOST = re.compile(r"^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*)(?::[0-9]{1,5})?$")
_SHA256 = re.compile(r"^sha256:[0-9a-f]{64}$")
MAX_NAME = 255
DEFAULT_TAG = "latest"
EXAMPLE = "quay.io/org/granite-7b-base:v1"


@dataclass(frozen=True)
class Reference:
    """A parsed registry reference; ``digest`` is ``sha256:<hex>`` when pinned."""

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None
    scheme: str | None = None

    @property
    def host(self) -> str:
        """Return the host without port and without IPv6 brackets."""
        host = self.registry
        if host.startswith("["):
            return host[1 : host.index("]")]
        return host.rsplit(":", 1)[0] if ":" in host else host

    @property
    def port(self) -> int | None:
        tail = self.registry.rsplit("]", 1)[-1]
        return int(tail.rsplit(":", 1)[1]) if ":" in tail else None

    @property
    def name(self) -> str:
        """Return ``REGISTRY/REPOSITORY``, the key under which the digest map records repositories."""
        return f"{self.registry}/{self.repository}"

    @property
    def target(self) -> str:
        """Return what goes after ``/manifests/`` in a URL: the digest when pinned, else the tag."""
        return self.digest or self.tag or DEFAULT_TAG

    def pinned(self, digest: str) -> Reference:
        return replace(self, digest=digest)

    def with_tag(self, tag: str | None) -> Reference:
        return replace(self, tag=tag, digest=None)

    def __str__(self) -> str:
        text = self.name
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def parse_reference(text: str, *, insecure: bool = False) -> Reference:
    """Parse ``text`` and check it; raise InvalidInputError naming the part that is wrong."""
    original = text
    text = text.strip()
    scheme = None
    for prefix in ("docker://", "http://", "https://"):
        if text.lower().startswith(prefix):
            scheme = None if prefix == "docker://" else prefix[:-3]
            text = text[len(prefix) :]
            break

    text, _, digest = text.partition("@")
    if digest and not _SHA256.match(digest):
        raise InvalidInputError(
            f"invalid digest {digest!r} in {original!r}",
            hint="registries are addressed by sha256 digests here: write @sha256:<64 lowercase hex digits>",
            reference=original,
        )

    registry, slash, rest = text.partition("/")
    if not slash or not _looks_like_registry(registry):
        raise InvalidInputError(
            f"reference {original!r} names no registry host",
            hint=f"write REGISTRY/REPOSITORY:TAG or REGISTRY/REPOSITORY@sha256:<hex>, for example {EXAMPLE}",
            reference=original,
        )
    repository, tag = rest, None
    colon = rest.rfind(":")
    if colon > rest.rfind("/"):
        repository, tag = rest[:colon], rest[colon + 1 :]
        if not _TAG.match(tag):
            raise InvalidInputError(
                f"invalid tag {tag!r} in {original!r}",
                hint="a tag has 1 to 128 letters, digits, '_', '.' or '-', and does not start with '.' or '-'",
                reference=original,
            )
    if not _REPOSITORY.match(repository) or len(registry) + 1 + len(repository) > MAX_NAME:
        raise InvalidInputError(
            f"invalid repository {repository!r} in {original!r}",
            hint="a repository is lowercase letters and digits in '/'-separated parts, joined by '.', '_', '__' or '-'",
            reference=original,
        )

    reference = Reference(registry.lower(), repository, tag, digest or None, scheme)
    if scheme == "http":
        check_plain_http(reference.host, insecure, reference.registry)
    return reference


def _looks_like_registry(text: str) -> bool:
    if not _HOST.match(text):
        return False
    return text == "localhost" or text.startswith("localhost:") or "." in text or ":" in text


def is_loopback(host: str) -> bool:
    """Tell whether ``host`` is a loopback address (127.0.0.0/8, ::1) or ``localhost``; names are not resolved."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def plain_http_allowed(host: str, insecure: bool) -> bool:
    return insecure or is_loopback(host)


def check_plain_http(host: str, insecure: bool, registry: str) -> None:
    """Reject plain HTTP to a registry that is neither on loopback nor marked insecure."""
    if not plain_http_allowed(host, insecure):
        raise InvalidInputError(
            f"plain HTTP to registry {registry} is not allowed: it is not a loopback address",
            hint="use https://, or pass --insecure if you trust every network between you and this registry",
            registry=registry,
        )


def split_tag(text: str) -> tuple[str, str | None]:
    """Split ``PATH[:TAG]`` at the last ``:`` when what follows is a valid tag without ``/``."""
    head, colon, tail = text.rpartition(":")
    if colon and head and "/" not in tail and _TAG.match(tail):
        return head, tail
    return text, None


def check_tag(tag: str, where: str) -> str:
    if not _TAG.match(tag):
        raise InvalidInputError(
            f"invalid tag {tag!r} for {where}",
            hint="a tag has 1 to 128 letters, digits, '_', '.' or '-', and does not start with '.' or '-'",
            tag=tag,
        )
    return tag
