"""Digests and canonical JSON.

A digest is written ``blake3:<64 lowercase hex>``, the same form OCI uses for
``sha256:<hex>``. Canonical JSON is what makes a manifest digest reproducible:
the same document always serialises to the same bytes.
"""

from __future__ import annotations

import json
import re

ALGORITHM = "blake3"
HEX_LENGTH = 64
_HEX = re.compile(r"^[0-9a-f]{64}$")


def format_digest(hex_digest: str) -> str:
    """Return the ``blake3:<hex>`` form of a hex digest."""
    return f"{ALGORITHM}:{hex_digest}"


def parse_digest(text: str) -> str | None:
    """Return the hex part of a full ``blake3:<hex>`` digest, or None."""
    algorithm, _, hex_digest = text.partition(":")
    if algorithm != ALGORITHM or not _HEX.match(hex_digest):
        return None
    return hex_digest


def is_hex_digest(text: str) -> bool:
    return bool(_HEX.match(text))


def short_id(digest: str) -> str:
    """Return the 12-hex-digit ID shown in listings."""
    return digest.partition(":")[2][:12] if ":" in digest else digest[:12]


def canonical_json(document: object) -> bytes:
    """Serialise a JSON document canonically: sorted keys, no spaces, UTF-8.

    Floats use Python's shortest round-trip form (``repr``), which other
    implementations must reproduce to get the same digest.
    """
    return json.dumps(
        document,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    ).encode("utf-8")


def hash_bytes(data: bytes) -> str:
    """Return the hex BLAKE3 digest of a byte string."""
    import blake3

    return blake3.blake3(data).hexdigest()
