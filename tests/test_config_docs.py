"""docs/config.md covers every key, every migration step, the precedence and the path rules."""

from __future__ import annotations

import pytest

from conftest import ROOT
from ilabfs.config.keys import KEYS, ref_keys
from ilabfs.config.migrations import STEPS

TEXT = (ROOT / "docs" / "config.md").read_text()


@pytest.mark.parametrize("dotted", sorted(KEYS))
def test_every_key_in_config_docs(dotted):
    key = KEYS[dotted]
    assert f"| `{dotted}` | {key.type.allowed.replace('|', chr(92) + '|')} |" in TEXT


@pytest.mark.parametrize("version", sorted(STEPS))
def test_every_migration_step_in_docs(version):
    assert f"### Version {version} to {version + 1}\n" in TEXT


def test_ref_keys_in_docs():
    for key in ref_keys():
        assert f"| `{key.path}` | {key.role}" in TEXT


def test_precedence_and_paths_in_docs():
    for heading in ("## Which file", "## Precedence", "## Paths", "## Refs", "## Format versions"):
        assert f"\n{heading}\n" in TEXT
    assert "1. command-line options,\n2. environment variables,\n3. the config file,\n4. the built-in defaults" in TEXT
