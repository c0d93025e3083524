"""Registry authentication: Docker's config file, --username with --password-stdin, bearer tokens, plain HTTP rules."""

from __future__ import annotations

import base64
import json
import os
import socket
import stat
from pathlib import Path

import pytest

from conftest import make_writable
from conftest_registry import (  # noqa: F401 - fixtures
    AUTH_PASSWORD,
    AUTH_USER,
    auth_registry,
    proxy,
    registry,
    requires_registry,
    run_ilab,
    session_proxy,
)
from ilabfs.errors import InvalidInputError
from ilabfs.oci.credentials import normalize_registry
from ilabfs.oci.reference import is_loopback, parse_reference, plain_http_allowed


@pytest.fixture
def source(tmp_path, model_pair) -> Path:
    store = tmp_path / "source"
    assert run_ilab(store, "model", "add", str(model_pair[0]), "--name", "granite-base").code == 0
    yield store
    make_writable(tmp_path)


def docker_config(folder: Path, document: dict) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(document))
    return {"DOCKER_CONFIG": str(folder)}


def basic(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


@requires_registry
def test_docker_config_basic_auth(tmp_path, source, auth_registry):
    env = docker_config(tmp_path / "docker", {"auths": {auth_registry.host: {"auth": basic(AUTH_USER, AUTH_PASSWORD)}}})
    destination = f"{auth_registry.host}/{auth_registry.repository()}:v1"
    pushed = run_ilab(source, "model", "push", "granite-base", destination, "--json", env=env)
    assert pushed.code == 0, pushed.err
    pulled = run_ilab(tmp_path / "target", "model", "pull", pushed.json()["pinned"], "--json", env=env)
    assert pulled.code == 0, pulled.err


@requires_registry
def test_docker_config_key_with_scheme_and_path(tmp_path, source, auth_registry):
    key = f"http://{auth_registry.host}/v2/"
    env = docker_config(tmp_path / "docker", {"auths": {key: {"username": AUTH_USER, "password": AUTH_PASSWORD}}})
    pushed = run_ilab(source, "model", "push", "granite-base", f"{auth_registry.host}/{auth_registry.repository()}:v1", env=env)
    assert pushed.code == 0, pushed.err


@requires_registry
def test_username_and_password_stdin(tmp_path, source, auth_registry):
    env = docker_config(tmp_path / "empty-docker", {})
    destination = f"{auth_registry.host}/{auth_registry.repository()}:v1"
    pushed = run_ilab(source, "model", "push", "granite-base", destination, "--username", AUTH_USER, "--password-stdin",
                      stdin=AUTH_PASSWORD + "\n", env=env)
    assert pushed.code == 0, pushed.err
    pulled = run_ilab(tmp_path / "target", "model", "pull", destination, "-u", AUTH_USER, "--password-stdin",
                      stdin=AUTH_PASSWORD + "\n", env=env)
    assert pulled.code == 0, pulled.err


@requires_registry
def test_wrong_password_is_one_line_exit_13(tmp_path, source, auth_registry):
    env = docker_config(tmp_path / "empty-docker", {})
    result = run_ilab(source, "model", "push", "granite-base", f"{auth_registry.host}/{auth_registry.repository()}:v1",
                      "--username", AUTH_USER, "--password-stdin", stdin="not-the-password\n", env=env)
    assert result.code == 13
    assert result.err.count("\n") == 1
    assert result.err.startswith(f"Error: authentication failed at registry {auth_registry.host} for user 'alice'")
    assert "Traceback" not in result.err


@requires_registry
def test_missing_credentials_exit_13(tmp_path, auth_registry):
    env = docker_config(tmp_path / "empty-docker", {})
    result = run_ilab(tmp_path / "target", "model", "pull", f"{auth_registry.host}/{auth_registry.repository()}:v1", env=env)
    assert result.code == 13
    assert f"registry {auth_registry.host} requires authentication" in result.err


@requires_registry
def test_credential_helper(tmp_path, source, auth_registry):
    bin_folder = tmp_path / "bin"
    bin_folder.mkdir()
    helper = bin_folder / "docker-credential-ilabtest"
    answer = json.dumps({"Username": AUTH_USER, "Secret": AUTH_PASSWORD})
    helper.write_text(f"#!/bin/sh\nread server\necho '{answer}'\n")
    helper.chmod(helper.stat().st_mode | stat.S_IXUSR)
    env = docker_config(tmp_path / "docker", {"credHelpers": {auth_registry.host: "ilabtest"}})
    env["PATH"] = f"{bin_folder}{os.pathsep}{os.environ['PATH']}"
    pushed = run_ilab(source, "model", "push", "granite-base", f"{auth_registry.host}/{auth_registry.repository()}:v1", env=env)
    assert pushed.code == 0, pushed.err


@requires_registry
def test_bearer_token_flow(tmp_path, source, proxy):
    proxy.token_auth = ("bob", "token-secret")
    env = docker_config(tmp_path / "docker", {"auths": {proxy.host: {"auth": basic("bob", "token-secret")}}})
    repository = "bearer/granite"
    pushed = run_ilab(source, "model", "push", "granite-base", f"{proxy.host}/{repository}:v1", "--json", env=env)
    assert pushed.code == 0, pushed.err
    assert [f"repository:{repository}:pull,push"] in proxy.stats.token_scopes
    pulled = run_ilab(tmp_path / "target", "model", "pull", f"{proxy.host}/{repository}:v1", env=env)
    assert pulled.code == 0, pulled.err
    assert [f"repository:{repository}:pull"] in proxy.stats.token_scopes


@requires_registry
def test_bearer_wrong_password_exit_13(tmp_path, proxy):
    proxy.token_auth = ("bob", "token-secret")
    env = docker_config(tmp_path / "docker", {})
    result = run_ilab(tmp_path / "target", "model", "pull", f"{proxy.host}/bearer/granite:v1",
                      "--username", "bob", "--password-stdin", stdin="wrong\n", env=env)
    assert result.code == 13
    assert f"authentication failed at registry {proxy.host}" in result.err


# -- plain HTTP rules, checked without connecting anywhere -----------------------------


def test_plain_http_to_remote_registry_refused(tmp_path, monkeypatch):
    def no_connection(*args, **kwargs):
        raise AssertionError("a connection was attempted")

    monkeypatch.setattr(socket, "create_connection", no_connection)
    with pytest.raises(InvalidInputError, match="plain HTTP to registry 192.0.2.10:5000 is not allowed"):
        parse_reference("http://192.0.2.10:5000/models/granite:v1")
    with pytest.raises(InvalidInputError, match="registry.example.com"):
        parse_reference("http://registry.example.com/models/granite:v1")
    assert parse_reference("http://192.0.2.10:5000/models/granite:v1", insecure=True).scheme == "http"


def test_plain_http_cli_refused_before_connecting(tmp_path):
    result = run_ilab(tmp_path / "store", "model", "pull", "http://192.0.2.10:5000/models/granite:v1")
    assert result.code == 2
    assert "plain HTTP to registry 192.0.2.10:5000 is not allowed" in result.err
    assert "--insecure" in result.err


@pytest.mark.parametrize("host,allowed", [
    ("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("localhost", True),
    ("10.0.0.1", False), ("192.168.1.5", False), ("registry.example.com", False), ("localhost.example.com", False),
])
def test_loopback_detection(host, allowed):
    assert is_loopback(host) is allowed
    assert plain_http_allowed(host, insecure=False) is allowed
    assert plain_http_allowed(host, insecure=True) is True


@pytest.mark.parametrize("key,expected", [
    ("quay.io", "quay.io"), ("https://quay.io/v2/", "quay.io"), ("http://127.0.0.1:5000", "127.0.0.1:5000"),
    ("https://index.docker.io/v1/", "index.docker.io"),
])
def test_docker_config_keys_normalized(key, expected):
    assert normalize_registry(key) == expected
