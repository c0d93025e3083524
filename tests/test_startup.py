"""Start-up: help and the list commands import only what they need.

Each case runs one command in a new interpreter and then records every module
that interpreter loaded. Speed itself is measured by the benchmarks, not here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main

from conftest import cli_env, ilab_command, make_model, make_writable
from ilabfs_cli.main import app

# Hashing, extended attributes, HTTP and rich help formatting: none is needed to list or to print help.
FORBIDDEN = (
    "blake3",
    "xattr",
    "http.client",
    "urllib.request",
    "ssl",
    "ilabfs.hashing",
    "ilabfs.hashcache",
    "ilabfs.ingest",
    "ilabfs.oci",
    "pydantic",
    "rich",
)

# Runs the CLI like the console script does, then writes sys.modules to the file named first.
RUN_AND_RECORD = """
import json, sys
record = sys.argv[1]
sys.argv = ["ilab", *sys.argv[2:]]
from ilabfs_cli.main import run
try:
    run()
except SystemExit as exit:
    code = exit.code
else:
    code = 0
with open(record, "w") as handle:
    json.dump({"exitCode": code, "modules": sorted(sys.modules)}, handle)
"""

@pytest.fixture(scope="module")
def filled_store(tmp_path_factory) -> Path:
    """Return a store that contains one small model and one eval result of it."""
    root = tmp_path_factory.mktemp("startup")
    store = root / "store"
    make_model.write_model(root / "tiny", 64 << 10, shards=1, seed=0)
    for command in (
        ("model", "add", str(root / "tiny"), "--name", "tiny"),
        ("eval", "add", "tiny", "--metric", "MMLU", "--score", "0.61"),
    ):
        completed = subprocess.run(ilab_command(*command), env=cli_env(store), capture_output=True, text=True)
        assert completed.returncode == 0, completed.stderr
    yield store
    make_writable(root)


def loaded_modules(tmp_path: Path, store: Path, *args: str) -> list[str]:
    """Run ``ilab ARGS`` in a new interpreter and return the names of the modules it loaded."""
    record = tmp_path / "modules.json"
    # Empty config and data folders, so a config file of the machine cannot change what loads.
    env = cli_env(store, XDG_CONFIG_HOME=str(tmp_path / "config"), XDG_DATA_HOME=str(tmp_path / "data"))
    completed = subprocess.run(
        [sys.executable, "-c", RUN_AND_RECORD, str(record), *args], env=env, capture_output=True, text=True, cwd=tmp_path
    )
    assert completed.returncode == 0, completed.stderr
    result = json.loads(record.read_text())
    assert result["exitCode"] in (0, None), completed.stderr
    return result["modules"]


def forbidden_modules(modules: list[str]) -> list[str]:
    return [name for name in modules if any(name == prefix or name.startswith(prefix + ".") for prefix in FORBIDDEN)]


COMMANDS = [("--help",), ("model", "list"), ("data", "list"), ("eval", "list")]
COMMAND_IDS = [" ".join(command) for command in COMMANDS]


@pytest.mark.parametrize("command", COMMANDS, ids=COMMAND_IDS)
def test_empty_store_loads_no_heavy_module(tmp_path, command):
    modules = loaded_modules(tmp_path, tmp_path / "missing-store", *command)

    assert forbidden_modules(modules) == []


@pytest.mark.parametrize(
    "command",
    COMMANDS,
    ids=COMMAND_IDS,
)
def test_filled_store_loads_no_heavy_module(tmp_path, filled_store, command):
    modules = loaded_modules(tmp_path, filled_store, *command)

    assert forbidden_modules(modules) == []


def test_model_list_builds_only_model_group(tmp_path):
    modules = loaded_modules(tmp_path, tmp_path / "missing-store", "model", "list")

    for other in ("ilabfs_cli.config_cmd", "ilabfs_cli.data", "ilabfs_cli.evals", "ilabfs_cli.listing"):
        assert other not in modules


def test_every_command_formats_help_without_rich():
    def walk(command, path):
        yield path, command
        for name, child in getattr(command, "commands", {}).items():
            yield from walk(child, path + (name,))

    for path, command in walk(typer.main.get_command(app), ()):
        assert command.rich_markup_mode is None, f"ilab {' '.join(path)} formats its help with rich"


def test_lazy_group_lists_commands_in_help_order():
    names = list(typer.main.get_command(app).commands)

    assert names == ["gc", "df", "fsck", "migrate-legacy", "model", "lock", "config", "data", "eval", "list"]
