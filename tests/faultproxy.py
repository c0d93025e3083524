"""A fault-injecting HTTP proxy on 127.0.0.1 in front of the test registry.

It forwards every request to the registry, keeps the client's Host header
(so the registry's upload URLs point back at the proxy), counts the blob
bytes it sends and receives, and on demand:

* drops the connection after N bytes of a blob (``drop``),
* flips one byte of a blob (``flip``),
* stops sending a blob after N bytes until released (``stall``),
* sends a wrong ``Docker-Content-Digest`` header (``wrong_digest``),
* ignores ``Range`` requests (``ignore_range``),
* responds to some requests with a status such as 429 or 503 (``fail``),
* cuts an upload request's body after N bytes (``cut_upload``),
* demands bearer tokens from its own token endpoint (``token_auth``).
"""

from __future__ import annotations

import base64
import http.client
import json
import re
import secrets
import socket
import threading
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BLOB_PATH = re.compile(r"^/v2/(?P<repo>.+)/blobs/(?P<digest>sha256:[0-9a-f]{64})$")
MANIFEST_PATH = re.compile(r"^/v2/(?P<repo>.+)/manifests/(?P<target>[^/]+)$")
REPO_PATH = re.compile(r"^/v2/(?P<repo>.+)/(?:blobs|manifests|tags)/")
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-authorization", "proxy-authenticate", "te", "trailer", "upgrade"}
BLOCK = 64 << 10


@dataclass
class Fault:
    """One injected fault: its kind, the blob it hits (None for any), a byte offset, and how many times more."""

    kind: str
    digest: str | None = None
    offset: int = 0
    times: int = 1
    status: int = 0
    retry_after: str | None = None
    method: str | None = None
    path: str | None = None


@dataclass
class Stats:
    """What went through the proxy."""

    blob_bytes: Counter = field(default_factory=Counter)
    # Bytes of blob upload bodies (PATCH and PUT to upload URLs); manifests are not counted.
    upload_bytes: int = 0
    requests: list = field(default_factory=list)
    token_scopes: list = field(default_factory=list)

    @property
    def total_blob_bytes(self) -> int:
        return sum(self.blob_bytes.values())


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        # Clients that hang up (ilab after a verified failure, or a fault this proxy injected) are expected here.
        return


class FaultProxy:
    """The proxy server; use ``with FaultProxy(upstream) as proxy``."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.proxy = self
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        self.lock = threading.Lock()
        self.stats = Stats()
        self.faults: list[Fault] = []
        self.ignore_range = False
        self.wrong_digest: set[str] = set()
        self.token_auth: tuple[str, str] | None = None
        self.tokens: set[str] = set()
        self.released = threading.Event()
        self.stalled = threading.Event()
        self._thread = threading.Thread(target=self.server.serve_forever, name="fault-proxy", daemon=True)

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()

    def reset(self) -> None:
        # Let go of any request stalled by the previous test before the events are replaced.
        self.released.set()
        with self.lock:
            self.stats = Stats()
            self.faults = []
            self.ignore_range = False
            self.wrong_digest = set()
            self.token_auth = None
            self.tokens = set()
            self.released = threading.Event()
            self.stalled = threading.Event()

    def add(self, fault: Fault) -> Fault:
        with self.lock:
            self.faults.append(fault)
        return fault

    def take(self, kind: str, digest: str | None = None, method: str | None = None, path: str | None = None,
             length: int | None = None) -> Fault | None:
        """Return and use up one matching fault of ``kind``; a fault at an offset needs a body longer than it."""
        with self.lock:
            for fault in self.faults:
                if fault.kind != kind or fault.times <= 0:
                    continue
                if length is not None and fault.offset >= length:
                    continue
                if fault.digest and fault.digest != digest:
                    continue
                if fault.method and fault.method != method:
                    continue
                if fault.path and not re.search(fault.path, path or ""):
                    continue
                fault.times -= 1
                return fault
        return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        return

    def do_GET(self) -> None:
        self._forward()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    @property
    def proxy(self) -> FaultProxy:
        return self.server.proxy

    def _forward(self) -> None:
        proxy = self.proxy
        path = urllib.parse.urlsplit(self.path).path
        with proxy.lock:
            proxy.stats.requests.append((self.command, path))
        length = int(self.headers.get("Content-Length") or 0)

        if path == "/token":
            return self._token()
        if proxy.token_auth and path.startswith("/v2/") and not self._token_ok(path):
            self._discard(length)
            return self._reply(401, headers={"WWW-Authenticate": self._challenge(path)})
        failure = proxy.take("fail", method=self.command, path=path)
        if failure:
            self._discard(length)
            headers = {"Retry-After": failure.retry_after} if failure.retry_after is not None else {}
            return self._reply(failure.status, headers=headers)

        upstream = http.client.HTTPConnection(proxy.upstream, timeout=60)
        try:
            if not self._send_upstream(upstream, length, path):
                return
            response = upstream.getresponse()
            self._relay(response, path)
        finally:
            upstream.close()

    def _send_upstream(self, upstream: http.client.HTTPConnection, length: int, path: str) -> bool:
        """Forward the request; return False when a fault cut its body and both connections are gone."""
        upstream.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
        for name, value in self.headers.items():
            if name.lower() in HOP_BY_HOP or (name.lower() == "range" and self.proxy.ignore_range):
                continue
            if name.lower() == "authorization" and self.proxy.token_auth:
                continue
            upstream.putheader(name, value)
        upstream.endheaders()
        cut = self.proxy.take("cut_upload", method=self.command, path=path, length=length) if length else None
        sent = 0
        while sent < length:
            chunk = self.rfile.read(min(BLOCK, length - sent))
            if not chunk:
                break
            if cut and sent + len(chunk) > cut.offset:
                # Stop forwarding mid-body and drop both connections, as a network failure would.
                upstream.send(chunk[: cut.offset - sent])
                upstream.close()
                self._abort()
                return False
            upstream.send(chunk)
            sent += len(chunk)
            if "/blobs/uploads/" in path:
                with self.proxy.lock:
                    self.proxy.stats.upload_bytes += len(chunk)
        return True

    def _relay(self, response: http.client.HTTPResponse, path: str) -> None:
        proxy = self.proxy
        blob = BLOB_PATH.match(path)
        manifest = MANIFEST_PATH.match(path)
        headers = [(name, value) for name, value in response.getheaders() if name.lower() not in HOP_BY_HOP]
        kind = None
        if blob:
            kind = "blob"
        elif manifest:
            kind = "manifest"
        if kind in proxy.wrong_digest and response.status == 200:
            headers = [(n, v) for n, v in headers if n.lower() != "docker-content-digest"]
            headers.append(("Docker-Content-Digest", "sha256:" + "0" * 64))

        has_length = any(name.lower() == "content-length" for name, _ in headers)
        body = None
        if not has_length and self.command != "HEAD" and response.status not in (204, 304):
            body = response.read()
            headers.append(("Content-Length", str(len(body))))
        self.send_response(response.status, response.reason)
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command == "HEAD":
            return
        if body is not None:
            self.wfile.write(body)
            return
        start = 0
        content_range = response.getheader("Content-Range")
        if content_range:
            start = int(content_range.split()[1].split("-")[0])
        self._stream(response, blob.group("digest") if blob and self.command == "GET" else None, start)

    def _stream(self, response: http.client.HTTPResponse, digest: str | None, start: int) -> None:
        proxy = self.proxy
        drop = proxy.take("drop", digest) if digest else None
        flip = proxy.take("flip", digest) if digest else None
        stall = proxy.take("stall", digest) if digest else None
        offset = start
        while True:
            chunk = response.read(BLOCK)
            if not chunk:
                return
            end = offset + len(chunk)
            for fault in (stall, drop):
                if fault and offset <= fault.offset < end:
                    cut = fault.offset - offset
                    self._count(digest, cut)
                    self.wfile.write(chunk[:cut])
                    self.wfile.flush()
                    if fault is stall:
                        proxy.stalled.set()
                        proxy.released.wait(120)
                    self._abort()
                    return
            if flip and offset <= flip.offset < end:
                position = flip.offset - offset
                chunk = chunk[:position] + bytes([chunk[position] ^ 0xFF]) + chunk[position + 1 :]
            try:
                self.wfile.write(chunk)
            except OSError:
                return
            self._count(digest, len(chunk))
            offset = end

    def _count(self, digest: str | None, amount: int) -> None:
        if digest:
            with self.proxy.lock:
                self.proxy.stats.blob_bytes[digest] += amount

    def _abort(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _discard(self, length: int) -> None:
        while length > 0:
            chunk = self.rfile.read(min(BLOCK, length))
            if not chunk:
                break
            length -= len(chunk)

    def _reply(self, status: int, body: bytes = b"", headers: dict | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    # -- bearer tokens -----------------------------------------------------------

    def _challenge(self, path: str) -> str:
        repo = REPO_PATH.match(path)
        actions = "pull" if self.command in ("GET", "HEAD") else "pull,push"
        scope = f',scope="repository:{repo.group("repo")}:{actions}"' if repo else ""
        return f'Bearer realm="http://{self.proxy.host}/token",service="ilabfs-test"{scope}'

    def _token_ok(self, path: str) -> bool:
        header = self.headers.get("Authorization") or ""
        return header.startswith("Bearer ") and header[7:] in self.proxy.tokens

    def _token(self) -> None:
        user, password = self.proxy.token_auth or ("", "")
        header = self.headers.get("Authorization") or ""
        expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        if header != expected:
            return self._reply(401)
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        token = secrets.token_hex(16)
        with self.proxy.lock:
            self.proxy.tokens.add(token)
            self.proxy.stats.token_scopes.append(sorted(query.get("scope", [])))
        body = json.dumps({"token": token, "expires_in": 300}).encode()
        self._reply(200, body, {"Content-Type": "application/json"})
