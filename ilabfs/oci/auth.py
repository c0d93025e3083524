"""Registry authentication: HTTP basic credentials and the bearer-token flow.

A registry that requires credentials responds with 401 and a
``WWW-Authenticate`` challenge. ``Basic`` means the credentials go with every request. ``Bearer``
names a token server: ``realm`` (its URL), ``service`` and ``scope``. The
client asks the realm for a token for the scopes it needs, sending the
credentials (or nothing, for anonymous pulls), and sends
``Authorization: Bearer <token>`` until the token expires. This is the flow of
Docker's token specification, which distribution, Quay, GHCR and Harbor use.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
import urllib.parse
from typing import TYPE_CHECKING

from ..errors import RemoteError
from .credentials import Credentials

if TYPE_CHECKING:
    from .transport import Transport

log = logging.getLogger(__name__)

_PARAM = re.compile(r'([A-Za-z0-9_-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)')
# Tokens are renewed this long before they expire, so a request never carries a stale one.
EXPIRY_MARGIN = 10.0
DEFAULT_TOKEN_SECONDS = 60.0
TOKEN_RESPONSE_LIMIT = 1 << 20


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """Split ``Bearer realm="...",service="..."`` into the scheme and its parameters."""
    scheme, _, rest = header.strip().partition(" ")
    params = {}
    for key, value in _PARAM.findall(rest):
        if value.startswith('"'):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        params[key.lower()] = value
    return scheme.lower(), params


def repository_scope(repository: str, actions: str) -> str:
    return f"repository:{repository}:{actions}"


class Authenticator:
    """The authentication state of one registry: its challenge, the credentials, and the tokens obtained."""

    def __init__(self, registry: str, credentials: Credentials | None, *, insecure: bool = False) -> None:
        self.registry = registry
        self.credentials = credentials
        self.insecure = insecure
        self.scheme: str | None = None
        self.realm: str | None = None
        self.service: str | None = None
        self._tokens: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def learn(self, challenge: str) -> None:
        """Record the scheme and token server of a challenge, before any request needs them."""
        scheme, params = parse_challenge(challenge)
        if scheme == "basic":
            self.scheme = "basic"
        elif scheme == "bearer":
            if not params.get("realm"):
                raise RemoteError(f"registry {self.registry} sent a Bearer challenge without a realm", hint="check the registry's auth configuration")
            self.scheme = "bearer"
            self.realm = params["realm"]
            self.service = params.get("service")
        else:
            raise RemoteError(
                f"registry {self.registry} asks for {scheme or 'an unnamed'} authentication, which ilab does not support",
                hint="use a registry with basic or bearer-token authentication",
                registry=self.registry,
            )

    def header(self, scope: str | None, transport: Transport) -> str | None:
        """Return the Authorization value for a request in ``scope``, fetching a token when one is due."""
        if self.scheme == "basic":
            return self._basic() if self.credentials else None
        if self.scheme == "bearer" and scope:
            return f"Bearer {self._token(scope, transport)}"
        return None

    def respond(self, challenge: str, scope: str | None, transport: Transport) -> None:
        """Handle a 401: learn its challenge and make sure the next try can authenticate."""
        if not challenge:
            raise self.failure()
        sent_basic = self.scheme == "basic" and self.credentials is not None
        self.learn(challenge)
        if self.scheme == "basic":
            if self.credentials is None:
                raise self.missing()
            if sent_basic:
                raise self.failure()
            return
        _, params = parse_challenge(challenge)
        wanted = params.get("scope") or scope
        if not wanted:
            raise self.failure()
        if wanted != scope and scope:
            # The registry names the scope it wants; ask for both, so the retry carries it.
            wanted = f"{scope} {wanted}"
        token = self._fetch(wanted, transport)
        with self._lock:
            if scope:
                self._tokens[scope] = token

    def missing(self) -> RemoteError:
        return RemoteError(
            f"registry {self.registry} requires authentication and no credentials were found for it",
            hint="log in with docker login (or write its auths entry to $DOCKER_CONFIG/config.json), "
            "or pass --username and --password-stdin",
            registry=self.registry,
        )

    def failure(self) -> RemoteError:
        if self.credentials is None:
            return self.missing()
        return RemoteError(
            f"authentication failed at registry {self.registry} for user {self.credentials.username!r} "
            f"(credentials from {self.credentials.origin})",
            hint="check the user name and password, and that this user may access the repository",
            registry=self.registry,
        )

    def _basic(self) -> str:
        assert self.credentials is not None
        pair = f"{self.credentials.username}:{self.credentials.password}".encode()
        return "Basic " + base64.b64encode(pair).decode("ascii")

    def _token(self, scope: str, transport: Transport) -> str:
        with self._lock:
            cached = self._tokens.get(scope)
        if cached and cached[1] > time.monotonic():
            return cached[0]
        token = self._fetch(scope, transport)
        with self._lock:
            self._tokens[scope] = token
        return token[0]

    def _fetch(self, scopes: str, transport: Transport) -> tuple[str, float]:
        """Ask the token server for a token covering every space-separated scope in ``scopes``."""
        assert self.realm is not None
        transport.check_url(self.realm)
        query = [("service", self.service)] if self.service else []
        query += [("scope", scope) for scope in scopes.split()]
        headers: dict[str, str] = {"Accept": "application/json"}
        body = None
        method = "GET"
        url = self.realm
        if self.credentials and self.credentials.identity_token:
            from .transport import Body

            form = [("grant_type", "refresh_token"), ("refresh_token", self.credentials.identity_token), ("client_id", "ilabfs"), *query]
            body = Body(urllib.parse.urlencode(form).encode())
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            method = "POST"
        else:
            if self.credentials:
                headers["Authorization"] = self._basic()
            separator = "&" if urllib.parse.urlsplit(url).query else "?"
            url = f"{url}{separator}{urllib.parse.urlencode(query)}" if query else url

        response = transport.request(method, url, headers=headers, body=body, authenticate=False)
        if response.status in (401, 403):
            response.drain()
            raise self.failure()
        if response.status != 200:
            response.drain()
            raise RemoteError(
                f"token server {urllib.parse.urlsplit(self.realm).netloc} of registry {self.registry} returned HTTP {response.status}",
                hint="check the registry's auth configuration and run the command again",
                registry=self.registry,
            )
        try:
            document = json.loads(response.read(TOKEN_RESPONSE_LIMIT))
            token = document.get("token") or document.get("access_token")
            lifetime = float(document.get("expires_in") or DEFAULT_TOKEN_SECONDS)
        except (ValueError, AttributeError, TypeError) as error:
            raise RemoteError(f"token server of registry {self.registry} returned an invalid answer", hint="check the registry") from error
        if not isinstance(token, str) or not token:
            raise RemoteError(f"token server of registry {self.registry} returned no token", hint="check the registry")
        log.debug("got a token for %s at %s", scopes, self.registry)
        return token, time.monotonic() + max(lifetime - EXPIRY_MARGIN, 1.0)
