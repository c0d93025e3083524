"""Ref resolution: digests, prefixes, names, tags, pinned names and ambiguity."""

from __future__ import annotations

import pytest

from ilabfs.errors import AmbiguousRefError, InvalidInputError, NotFoundError
from ilabfs.index import Entry, Index
from ilabfs.refs import resolve, split_name

A = "abcd" + "1" * 60
B = "abcd" + "2" * 60
C = "ef01" + "3" * 60


@pytest.fixture
def index() -> Index:
    entries = {
        A: Entry(A, "model", "2026-01-01T00:00:00Z", ["granite-7b-base:latest", "granite-7b-base:v1"]),
        B: Entry(B, "model", "2026-01-02T00:00:00Z", ["ibm-granite/granite-ft:step-100"]),
        C: Entry(C, "dataset", "2026-01-03T00:00:00Z", ["skills:latest"]),
    }
    return Index(entries)


def test_full_digest(index):
    assert resolve(index, "model", f"blake3:{A}").digest == A


def test_unique_prefix(index):
    assert resolve(index, "model", "abcd1").digest == A
    assert resolve(index, "model", "blake3:abcd2").digest == B


def test_ambiguous_prefix_lists_candidates(index):
    with pytest.raises(AmbiguousRefError) as caught:
        resolve(index, "model", "abcd")
    assert len(caught.value.candidates) == 2
    assert "granite-7b-base:latest" in str(caught.value)
    assert "ibm-granite/granite-ft:step-100" in str(caught.value)


def test_short_prefix_rejected(index):
    with pytest.raises(NotFoundError):
        resolve(index, "model", "abc")


def test_name_defaults_to_latest(index):
    assert resolve(index, "model", "granite-7b-base").digest == A
    assert resolve(index, "model", "granite-7b-base:v1").digest == A


def test_names_are_case_folded(index):
    assert resolve(index, "model", "Granite-7B-Base:V1").digest == A


def test_name_with_slash_and_tag(index):
    assert resolve(index, "model", "ibm-granite/granite-ft:step-100").digest == B


def test_pinned_name(index):
    assert resolve(index, "model", f"granite-7b-base@blake3:{A}").digest == A
    with pytest.raises(NotFoundError):
        resolve(index, "model", f"granite-7b-base@blake3:{B}")


def test_kind_is_respected(index):
    with pytest.raises(NotFoundError) as caught:
        resolve(index, "model", "skills")
    assert "ilab model list" in str(caught.value)
    assert resolve(index, "dataset", "ef01").digest == C


def test_invalid_names():
    for bad in ("", "-x", "a b", "x:", "x:-tag", "a//b", "a" * 300, "f" * 64):
        with pytest.raises(InvalidInputError):
            split_name(bad)
    assert split_name("host/org/name:tag") == ("host/org/name", "tag")
