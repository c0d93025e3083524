"""HTTP to one registry: connections, retries with backoff, redirects and authentication.

Bodies stream in both directions: a request body is sent from a file in
blocks of ``BLOCK`` bytes and a response body is read by the caller, so
memory stays flat whatever the blob size. Each thread keeps its own
keep-alive connections, because http.client connections are not thread-safe.

Responses 429 and 5xx, and connections that fail before a response, are
retried with exponential backoff. The retries of one request are bounded in
count and in total waiting time, and a ``Retry-After`` header sets the wait
when it fits in what is left of that time.
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import socket
import ssl
import threading
import urllib.parse
from collections.abc import Callable

from .. import __version__
from ..errors import RemoteError
from .auth import Authenticator
from .reference import plain_http_allowed
from .retry import Retrier, RetryPolicy, retry_after

log = logging.getLogger(__name__)

BLOCK = 1 << 20
USER_AGENT = f"ilabfs/{__version__}"
RETRY_STATUSES = frozenset({429, *range(500, 600)})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5
# Error bodies and challenges are small; more than this is not read.
ERROR_BODY_LIMIT = 64 << 10
TRANSIENT_ERRORS = (OSError, http.client.HTTPException)
# Failures of a connection that is already sending or receiving a body; local disk errors are not among them.
NETWORK_ERRORS = (ConnectionError, TimeoutError, ssl.SSLError, http.client.HTTPException)


class Body:
    """A request body that can be sent again on a retry: bytes, or a range of a file."""

    def __init__(self, data: bytes | None = None, *, path: str | None = None, offset: int = 0, length: int = 0,
                 progress: Callable[[int], None] | None = None) -> None:
        self.data = data
        self.path = path
        self.offset = offset
        self.length = len(data) if data is not None else length
        self.progress = progress

    def send(self, connection: http.client.HTTPConnection) -> None:
        if self.data is not None:
            connection.send(self.data)
            return
        buffer = bytearray(min(BLOCK, max(self.length, 1)))
        view = memoryview(buffer)
        with open(self.path, "rb", buffering=0) as handle:
            handle.seek(self.offset)
            remaining = self.length
            while remaining:
                count = handle.readinto(view[: min(remaining, len(buffer))])
                if not count:
                    raise RemoteError(f"{self.path} ended {remaining} bytes early while it was uploaded", hint="run ilab fsck")
                connection.send(view[:count])
                remaining -= count
                if self.progress:
                    self.progress(count)


class Response:
    """A response whose body the caller reads; close() returns the connection for reuse."""

    def __init__(self, raw: http.client.HTTPResponse, release: Callable[[http.client.HTTPResponse], None], url: str,
                 sock: socket.socket | None = None) -> None:
        self.raw = raw
        self.sock = sock
        self.status = raw.status
        self.reason = raw.reason
        self.headers = raw.headers
        self.url = url
        self._release = release

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def read(self, limit: int) -> bytes:
        """Read the whole body; raise RemoteError when it is longer than ``limit`` bytes."""
        data = self.raw.read(limit + 1)
        self.close()
        if len(data) > limit:
            raise RemoteError(f"response from {_display(self.url)} is larger than {limit} bytes", hint="check the reference", url=self.url)
        return data

    def drain(self) -> bytes:
        """Read at most ERROR_BODY_LIMIT bytes of an error body and close the response."""
        data = self.raw.read(ERROR_BODY_LIMIT)
        self.close()
        return data

    def readinto(self, buffer: memoryview) -> int:
        """Read what the connection has now, up to the buffer's size; 0 at the end or when the peer closed early.

        One read per call (read1), so bytes are handed on as they arrive and a
        broken connection loses none that were received.
        """
        data = self.raw.read1(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def abort(self) -> None:
        """Shut the connection down from another thread, so a read blocked on it fails at once."""
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._release(self.raw)


class Transport:
    """Requests to one registry, with its scheme chosen by ping()."""

    def __init__(self, registry: str, host: str, *, scheme: str | None, insecure: bool, auth: Authenticator,
                 policy: RetryPolicy) -> None:
        self.registry = registry
        self.host = host
        self.scheme = scheme
        self.insecure = insecure
        self.auth = auth
        self.policy = policy
        self._local = threading.local()
        self._tls = _tls_context(insecure)

    def url(self, path: str) -> str:
        return f"{self.scheme}://{self.registry}{path}"

    # -- choosing the scheme -------------------------------------------------

    def ping(self) -> None:
        """Check that the registry speaks the distribution API (``GET /v2/``) and learn its authentication."""
        if self.scheme is None and plain_http_allowed(self.host, self.insecure):
            self.scheme = "https"
            try:
                response = self._send_once("GET", self.url("/v2/"), {}, None)
            except TRANSIENT_ERRORS as error:
                log.info("registry %s does not respond over HTTPS (%s); using plain HTTP", self.registry, error)
                self.scheme = "http"
            else:
                if response.status not in RETRY_STATUSES:
                    self._finish_ping(response)
                    return
                # A busy registry that speaks HTTPS: ping it again below, with retries.
                response.drain()
        self.scheme = self.scheme or "https"
        self._finish_ping(self.request("GET", "/v2/", authenticate=False))

    def _finish_ping(self, response: Response) -> None:
        status = response.status
        challenge = response.header("WWW-Authenticate")
        response.drain()
        if status == 401 and challenge:
            self.auth.learn(challenge)
            return
        if status != 200:
            raise RemoteError(
                f"{self.registry} is not a registry: GET /v2/ returned HTTP {status}",
                hint="check the registry host and port in the reference",
                registry=self.registry,
            )

    # -- requests --------------------------------------------------------------

    def request(self, method: str, target: str, *, headers: dict | None = None, body: Body | None = None,
                scope: str | None = None, authenticate: bool = True, retry: bool = True) -> Response:
        """Send a request, retrying what a retry can fix; the caller checks the status.

        With ``retry`` False, a failed connection raises and a 429 or 5xx is
        returned, for requests whose body must not be sent twice.
        """
        url = target if "://" in target else self.url(target)
        retrier = Retrier(self.policy, f"{method} {_display(url)}")
        challenged = False
        while True:
            sent = dict(headers or {})
            if authenticate:
                authorization = self.auth.header(scope, self)
                if authorization:
                    sent["Authorization"] = authorization
            try:
                response = self._send_following(method, url, sent, body)
            except TRANSIENT_ERRORS as error:
                if not retry:
                    raise
                retrier.wait(_describe(error))
                continue

            if response.status == 401 and authenticate:
                challenge = response.header("WWW-Authenticate") or ""
                response.drain()
                if challenged:
                    raise self.auth.failure()
                self.auth.respond(challenge, scope, self)
                challenged = True
                continue
            if response.status in RETRY_STATUSES and retry:
                wait_seconds = retry_after(response.header("Retry-After"))
                response.drain()
                retrier.wait(f"HTTP {response.status} {response.reason}", wait_seconds)
                continue
            return response

    def _send_following(self, method: str, url: str, headers: dict, body: Body | None) -> Response:
        """Send, following redirects for GET and HEAD; Authorization is never sent to another host."""
        for _ in range(MAX_REDIRECTS + 1):
            response = self._send_once(method, url, headers, body)
            location = response.header("Location")
            if response.status not in REDIRECT_STATUSES or method not in ("GET", "HEAD") or not location:
                return response
            response.drain()
            target = urllib.parse.urljoin(url, location)
            self.check_url(target)
            if urllib.parse.urlsplit(target).netloc != urllib.parse.urlsplit(url).netloc:
                headers = {key: value for key, value in headers.items() if key.lower() != "authorization"}
            url = target
        raise RemoteError(f"{method} {_display(url)} redirected more than {MAX_REDIRECTS} times", hint="check the registry")

    def check_url(self, url: str) -> None:
        """Reject a URL (a redirect or an upload location) that would downgrade to plain HTTP."""
        parts = urllib.parse.urlsplit(url)
        if parts.scheme == "https":
            return
        if parts.scheme == "http" and plain_http_allowed(parts.hostname or "", self.insecure):
            return
        raise RemoteError(
            f"registry {self.registry} sent the client to {_display(url)}, which is not HTTPS",
            hint="pass --insecure only if you trust that address",
            url=url,
        )

    def _send_once(self, method: str, url: str, headers: dict, body: Body | None) -> Response:
        parts = urllib.parse.urlsplit(url)
        key = (parts.scheme, parts.netloc)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        sent = {"User-Agent": USER_AGENT, **headers}
        if body is not None or method in ("POST", "PUT", "PATCH"):
            sent["Content-Length"] = str(body.length if body else 0)

        for fresh in (False, True):
            connection, reused = self._connection(key, fresh)
            try:
                connection.putrequest(method, path, skip_accept_encoding=True)
                for name, value in sent.items():
                    connection.putheader(name, value)
                connection.endheaders()
                if body is not None:
                    body.send(connection)
                raw = connection.getresponse()
            except TRANSIENT_ERRORS:
                self._drop(key, connection)
                # A kept-alive connection that the server has closed fails at once, so try a new one.
                # Part of a file is never sent again, because the server may have kept it.
                if reused and not fresh and (body is None or body.data is not None):
                    continue
                raise
            release = lambda raw, key=key, connection=connection: self._release(key, connection, raw)  # noqa: E731
            return Response(raw, release, url, connection.sock)
        raise AssertionError("unreachable")

    # -- connections -----------------------------------------------------------

    def _connection(self, key: tuple[str, str], fresh: bool) -> tuple[http.client.HTTPConnection, bool]:
        pool = self._pool()
        if not fresh and key in pool:
            return pool[key], True
        scheme, netloc = key
        if scheme == "https":
            connection = http.client.HTTPSConnection(netloc, timeout=self.policy.timeout, context=self._tls, blocksize=BLOCK)
        else:
            connection = http.client.HTTPConnection(netloc, timeout=self.policy.timeout, blocksize=BLOCK)
        pool[key] = connection
        return connection, False

    def _release(self, key: tuple[str, str], connection: http.client.HTTPConnection, raw: http.client.HTTPResponse) -> None:
        # A body read to its end closes the response itself; anything else leaves bytes on the socket.
        if raw.isclosed() and not raw.will_close:
            return
        raw.close()
        self._drop(key, connection)

    def _drop(self, key: tuple[str, str], connection: http.client.HTTPConnection | None = None) -> None:
        pool = self._pool()
        if connection is None or pool.get(key) is connection:
            pool.pop(key, None)
        if connection is None:
            return
        connection.close()

    def _pool(self) -> dict:
        if not hasattr(self._local, "pool"):
            self._local.pool = {}
        return self._local.pool

    def close(self) -> None:
        pool = self._pool()
        for key, connection in list(pool.items()):
            self._drop(key, connection)


def _tls_context(insecure: bool) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if insecure:
        # An insecure registry may have a self-signed certificate, as Docker allows for such registries.
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _describe(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return f"{type(error).__name__}: {text}" if type(error).__name__ not in text else text


def _display(url: str) -> str:
    """Return ``url`` without its query, which may hold signed upload state or tokens."""
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"
