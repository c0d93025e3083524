"""The parsing parts of the OCI client, checked without a registry."""

from __future__ import annotations

import json

import pytest

from ilabfs.errors import InvalidInputError
from ilabfs.manifest import Layer, build_manifest, config_bytes
from ilabfs.digest import hash_bytes
from ilabfs.oci.artifact import build_remote_manifest, declared_metadata, local_digest, parse_remote_manifest
from ilabfs.oci.auth import parse_challenge
from ilabfs.oci.reference import parse_reference, split_tag
from ilabfs.oci.retry import Retrier, RetryPolicy, retry_after
from ilabfs.oci.upload import _range_end
from ilabfs.errors import RemoteError

SHA = "a" * 64


@pytest.mark.parametrize("text,registry,repository,tag,digest", [
    ("quay.io/org/model:v1", "quay.io", "org/model", "v1", None),
    ("docker://quay.io/org/model", "quay.io", "org/model", None, None),
    (f"127.0.0.1:5000/a/b/c@sha256:{SHA}", "127.0.0.1:5000", "a/b/c", None, f"sha256:{SHA}"),
    (f"localhost:5000/m:v2@sha256:{SHA}", "localhost:5000", "m", "v2", f"sha256:{SHA}"),
    ("[::1]:5000/models/granite:latest", "[::1]:5000", "models/granite", "latest", None),
])
def test_reference_parsing(text, registry, repository, tag, digest):
    ref = parse_reference(text)
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == (registry, repository, tag, digest)


def test_reference_host_and_port():
    assert (parse_reference("[::1]:5000/m").host, parse_reference("[::1]:5000/m").port) == ("::1", 5000)
    assert (parse_reference("quay.io/m").host, parse_reference("quay.io/m").port) == ("quay.io", None)


@pytest.mark.parametrize("text,message", [
    ("granite:v1", "names no registry host"),
    ("models/granite:v1", "names no registry host"),
    ("quay.io/Org/model:v1", "invalid repository"),
    ("quay.io/org/model:-v1", "invalid tag"),
    ("quay.io/org/model@sha512:" + "a" * 128, "invalid digest"),
    ("quay.io/org/model@sha256:ABC", "invalid digest"),
])
def test_reference_errors(text, message):
    with pytest.raises(InvalidInputError, match=message):
        parse_reference(text)


@pytest.mark.parametrize("text,expected", [
    ("./out:v1", ("./out", "v1")),
    ("./out", ("./out", None)),
    ("/tmp/a:b/c", ("/tmp/a:b/c", None)),
])
def test_split_tag(text, expected):
    assert split_tag(text) == expected


def test_challenge_parsing():
    scheme, params = parse_challenge('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"')
    assert scheme == "bearer"
    assert params == {"realm": "https://auth.example/token", "service": "registry.example", "scope": "repository:a/b:pull,push"}
    assert parse_challenge('Basic realm="ilabfs-test"') == ("basic", {"realm": "ilabfs-test"})


def test_retry_after_parsing():
    assert retry_after("3") == 3.0
    assert retry_after(None) is None
    assert retry_after("soon") is None
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


def test_retrier_is_bounded():
    retrier = Retrier(RetryPolicy(retries=2, budget=1.0, base_delay=0.0), "GET x")
    retrier.wait("HTTP 503")
    retrier.wait("HTTP 503")
    with pytest.raises(RemoteError, match="failed after 3 tries: HTTP 503"):
        retrier.wait("HTTP 503")


@pytest.mark.parametrize("value,expected", [("0-0", 0), ("0-99", 100), ("bytes=0-1023", 1024), (None, 0), ("junk", 0)])
def test_upload_range(value, expected):
    assert _range_end(value) == expected


def manifest(**changes) -> bytes:
    document = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": f"sha256:{SHA}", "size": 2},
        "layers": [{"mediaType": "application/octet-stream", "digest": f"sha256:{'b' * 64}", "size": 5,
                    "annotations": {"org.opencontainers.image.title": "model.safetensors"}}],
    }
    document.update(changes)
    return json.dumps(document).encode()


def test_foreign_config_not_fetched():
    artifact = parse_remote_manifest(manifest(), "", "x")
    assert artifact.config is None
    assert [blob.label for blob in artifact.files] == ["model.safetensors"]


@pytest.mark.parametrize("changes,message", [
    ({"manifests": []}, "is an image index"),
    ({"mediaType": "application/vnd.oci.image.index.v1+json"}, "is an image index"),
    ({"layers": []}, "has no layers"),
    ({"layers": [{"mediaType": "x", "digest": "sha512:" + "c" * 128, "size": 1,
                  "annotations": {"org.opencontainers.image.title": "a"}}]}, "not sha256"),
    ({"layers": [{"mediaType": "x", "digest": f"sha256:{SHA}", "size": -1,
                  "annotations": {"org.opencontainers.image.title": "a"}}]}, "invalid size"),
    ({"artifactType": "application/vnd.ilabfs.dataset.v1"}, "is an ilabfs dataset"),
])
def test_remote_manifest_rejections(changes, message):
    with pytest.raises(InvalidInputError, match=message):
        parse_remote_manifest(manifest(**changes), "", "x")


def test_remote_manifest_mirrors_local_structure():
    layers = [Layer("b.json", "1" * 64, 3), Layer("a.safetensors", "2" * 64, 7)]
    data = build_remote_manifest("model", (SHA, 40), [(layers[0], "c" * 64), (layers[1], "d" * 64)])
    document = json.loads(data)
    assert [layer["annotations"]["org.opencontainers.image.title"] for layer in document["layers"]] == ["a.safetensors", "b.json"]
    assert document["config"] == {"mediaType": "application/vnd.ilabfs.model.config.v1+json", "digest": f"sha256:{SHA}", "size": 40}
    assert parse_remote_manifest(data, "", "x").config.sha256 == SHA


def test_declared_metadata_keeps_lineage_and_drops_computed():
    config = {"kind": "model", "format": "gguf", "dataType": "F16", "base": "e" * 64, "phase": "phase1", "step": 3, "source": {"repo": "a/b"}}
    assert declared_metadata(json.dumps(config).encode(), "x") == {"base": "e" * 64, "phase": "phase1", "step": 3, "source": {"repo": "a/b"}}


@pytest.mark.parametrize("member,value", [("base", "not-a-digest"), ("step", -1), ("phase", "two\nlines"), ("step", True)])
def test_declared_metadata_rejects_invalid_lineage(member, value):
    with pytest.raises(InvalidInputError):
        declared_metadata(json.dumps({"kind": "model", member: value}).encode(), "x")


def test_local_digest_matches_store_encoding():
    layers = [Layer("README.md", "8e4c7c1b99dbfd50e7a95185fead5ee1448fa904a2fdd778eaf5f2dbfd629a99", 6)]
    config = {"format": "other", "kind": "model"}
    expected = hash_bytes(build_manifest("model", hash_bytes(config_bytes(config)), len(config_bytes(config)), layers))
    assert local_digest("model", config, layers) == expected
    # The worked example of docs/format.md: a README.md holding "hello\n", added with no lineage.
    assert expected == "1f146c9fce3a1d9b8b3d36c119fe34bf28a9b054ea54e59e3b00ffb3af3a9cbe"
