"""A real registry for the OCI tests: Debian's docker-registry (distribution 2.8) on 127.0.0.1.

The session starts one registry without authentication and, for the auth
tests, one with htpasswd basic authentication, each on a free port with its
storage in a temporary folder, and stops them at the end. A fault-injecting
proxy (tests/faultproxy.py) sits in front of the first. Test modules import
the fixtures from here; without the registry binary they are skipped.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import CliResult, cli_env, ilab_command
from faultproxy import FaultProxy

REGISTRY_BINARY = os.environ.get("ILABFS_TEST_REGISTRY") or shutil.which("docker-registry")
requires_registry = pytest.mark.skipif(
    REGISTRY_BINARY is None,
    reason="the docker-registry binary (distribution 2.8) is missing: apt-get install docker-registry",
)
AUTH_USER = "alice"
AUTH_PASSWORD = "wonderland-7"


@dataclass
class RegistryServer:
    """A running registry: its host:port, storage folder and process."""

    host: str
    folder: Path
    process: subprocess.Popen

    def repository(self, prefix: str = "test") -> str:
        """Return a repository name no other test uses."""
        return f"{prefix}/{uuid.uuid4().hex[:12]}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_registry(folder: Path, htpasswd: Path | None = None) -> RegistryServer:
    """Write a config that listens on 127.0.0.1 only, start the registry and wait for /v2/."""
    port = free_port()
    auth = f"auth:\n  htpasswd:\n    realm: ilabfs-test\n    path: {htpasswd}\n" if htpasswd else ""
    config = (
        "version: 0.1\n"
        "log:\n  level: error\n  accesslog:\n    disabled: true\n"
        f"storage:\n  filesystem:\n    rootdirectory: {folder / 'data'}\n  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
        f"{auth}"
    )
    (folder / "config.yml").write_text(config)
    log = open(folder / "registry.log", "wb")
    process = subprocess.Popen([REGISTRY_BINARY, "serve", str(folder / "config.yml")], stdout=log, stderr=subprocess.STDOUT)
    log.close()
    server = RegistryServer(f"127.0.0.1:{port}", folder, process)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            get(server.host, "/v2/")
            return server
        except OSError:
            time.sleep(0.1)
    stop_registry(server)
    raise RuntimeError(f"the registry did not start: {(folder / 'registry.log').read_text()[-2000:]}")


def stop_registry(server: RegistryServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


def htpasswd_line(user: str, password: str) -> str | None:
    """Return a bcrypt htpasswd entry, from htpasswd when installed, else from the C library's crypt()."""
    tool = shutil.which("htpasswd")
    if tool:
        completed = subprocess.run([tool, "-nbB", user, password], capture_output=True, text=True, check=True)
        return completed.stdout.strip()
    import crypt

    hashed = crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH))
    return f"{user}:{hashed}" if hashed and hashed.startswith("$2") else None


@pytest.fixture(scope="session")
def registry(tmp_path_factory) -> RegistryServer:
    if REGISTRY_BINARY is None:
        pytest.skip("the docker-registry binary (distribution 2.8) is missing: apt-get install docker-registry")
    server = start_registry(tmp_path_factory.mktemp("registry"))
    yield server
    stop_registry(server)


@pytest.fixture(scope="session")
def auth_registry(tmp_path_factory) -> RegistryServer:
    if REGISTRY_BINARY is None:
        pytest.skip("the docker-registry binary (distribution 2.8) is missing: apt-get install docker-registry")
    folder = tmp_path_factory.mktemp("auth-registry")
    line = htpasswd_line(AUTH_USER, AUTH_PASSWORD)
    if line is None:
        pytest.skip("no bcrypt htpasswd generator: install apache2-utils")
    (folder / "htpasswd").write_text(line + "\n")
    server = start_registry(folder, folder / "htpasswd")
    yield server
    stop_registry(server)


@pytest.fixture(scope="session")
def session_proxy(registry) -> FaultProxy:
    with FaultProxy(registry.host) as proxy:
        yield proxy


@pytest.fixture
def proxy(session_proxy) -> FaultProxy:
    """The fault proxy with no faults and zeroed counters."""
    session_proxy.reset()
    yield session_proxy
    session_proxy.reset()


def get(host: str, path: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
    """Send one GET straight to ``host`` (no proxy from the environment) and return status, headers and body."""
    connection = http.client.HTTPConnection(host, timeout=10)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def remote_manifest(host: str, repository: str, target: str) -> dict:
    """Fetch a manifest straight from the registry, bypassing ilab."""
    status, _, body = get(host, f"/v2/{repository}/manifests/{target}", {"Accept": "application/vnd.oci.image.manifest.v1+json"})
    assert status == 200, body
    return json.loads(body)


def remote_env(store: Path, **extra: str) -> dict:
    """Return the environment of an ilab run, with the default staging grace whatever this process has set."""
    return {**cli_env(store), "ILABFS_STAGING_GRACE": "3600", **extra}


def run_ilab(store: Path, *args: str, stdin: str | None = None, env: dict | None = None, timeout: float = 120) -> CliResult:
    """Run the real CLI against ``store``, optionally writing ``stdin`` to it."""
    completed = subprocess.run(
        ilab_command(*args),
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        env=remote_env(store, **(env or {})),
        timeout=timeout,
    )
    return CliResult(completed.returncode, completed.stdout, completed.stderr)
