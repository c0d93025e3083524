"""Registry credentials: an explicit user and password, or Docker's ``config.json``.

Docker's client file (``$DOCKER_CONFIG/config.json``, else
``~/.docker/config.json``) lists credentials per registry under ``auths``:
an ``auth`` member with base64 ``user:password``, or ``username`` and
``password``, or an ``identitytoken`` (an OAuth2 refresh token). Registries
listed under ``credHelpers``, or every registry when ``credsStore`` is set,
get theirs from the program ``docker-credential-<helper>``.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError, RemoteError

log = logging.getLogger(__name__)

HELPER_TIMEOUT = 30.0
# docker-credential helpers return this user name when the secret is an identity token.
TOKEN_USER = "<token>"


@dataclass(frozen=True)
class Credentials:
    """A user name and password or identity token, and where they came from (for messages)."""

    username: str
    password: str = field(default="", repr=False)
    identity_token: str | None = field(default=None, repr=False)
    origin: str = "--username"


def docker_config_path() -> Path:
    folder = os.environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")
    return Path(folder) / "config.json"


def find_credentials(registry: str) -> Credentials | None:
    """Return the credentials Docker's config file holds for ``registry``, or None."""
    path = docker_config_path()
    try:
        document = json.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        raise ConfigError(
            f"cannot read Docker config {path}: {error}",
            hint="fix the file, point DOCKER_CONFIG at another folder, or pass --username and --password-stdin",
            path=str(path),
        ) from error
    if not isinstance(document, dict):
        raise ConfigError(f"Docker config {path} is not a JSON object", hint="fix or remove the file", path=str(path))

    helpers = document.get("credHelpers") or {}
    helper = helpers.get(registry) if isinstance(helpers, dict) else None
    if helper:
        return _from_helper(str(helper), registry)
    entry = _auth_entry(document.get("auths"), registry)
    if entry is not None:
        return _from_entry(entry, registry, path)
    store = document.get("credsStore")
    if isinstance(store, str) and store:
        return _from_helper(store, registry)
    return None


def normalize_registry(key: str) -> str:
    """Reduce an ``auths`` key such as ``https://quay.io/v2/`` to ``quay.io``, as Docker matches them."""
    text = key.strip().lower()
    for prefix in ("https://", "http://"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    return text.split("/", 1)[0]


def _auth_entry(auths: object, registry: str) -> dict | None:
    if not isinstance(auths, dict):
        return None
    wanted = registry.lower()
    for key, entry in auths.items():
        if normalize_registry(str(key)) == wanted and isinstance(entry, dict):
            return entry
    return None


def _from_entry(entry: dict, registry: str, path: Path) -> Credentials | None:
    origin = f"Docker config {path}"
    token = entry.get("identitytoken")
    encoded = entry.get("auth")
    username, password = entry.get("username"), entry.get("password")
    if isinstance(encoded, str) and encoded:
        try:
            decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as error:
            raise ConfigError(
                f"the auth entry for {registry} in {path} is not base64 of user:password",
                hint="log in again (docker login or podman login --authfile), or pass --username and --password-stdin",
                path=str(path),
            ) from error
        username, _, password = decoded.partition(":")
    if isinstance(token, str) and token:
        return Credentials(username or TOKEN_USER, "", token, origin)
    if isinstance(username, str) and username:
        return Credentials(username, password if isinstance(password, str) else "", None, origin)
    return None


def _from_helper(helper: str, registry: str) -> Credentials | None:
    program = f"docker-credential-{helper}"
    try:
        completed = subprocess.run(
            [program, "get"], input=registry, capture_output=True, text=True, timeout=HELPER_TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise RemoteError(
            f"credential helper {program} for {registry} failed: {error}",
            hint="install the helper, or pass --username and --password-stdin",
            registry=registry,
        ) from error
    if completed.returncode != 0:
        # Helpers exit non-zero with "credentials not found" for registries they do not know.
        log.debug("%s has no credentials for %s: %s", program, registry, completed.stdout.strip() or completed.stderr.strip())
        return None
    try:
        answer = json.loads(completed.stdout)
        username, secret = str(answer["Username"]), str(answer["Secret"])
    except (ValueError, KeyError, TypeError) as error:
        raise RemoteError(
            f"credential helper {program} returned no Username and Secret for {registry}",
            hint="log in again with the helper, or pass --username and --password-stdin",
            registry=registry,
        ) from error
    origin = f"credential helper {program}"
    if username == TOKEN_USER:
        return Credentials(username, "", secret, origin)
    return Credentials(username, secret, None, origin)
