"""Shared fixtures: scratch stores, generated models, and a runner for the real CLI."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STRESS = os.environ.get("ILABFS_STRESS", "") not in ("", "0")


def _load_make_model():
    spec = importlib.util.spec_from_file_location("make_model", ROOT / "examples" / "make_model.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_model"] = module
    spec.loader.exec_module(module)
    return module


make_model = _load_make_model()


@dataclass
class CliResult:
    """The outcome of one ``ilab`` process."""

    code: int
    out: str
    err: str

    def json(self) -> object:
        return json.loads(self.out)


def ilab_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "ilabfs_cli.main", *args]


def cli_env(store: Path | None, **extra: str) -> dict:
    env = dict(os.environ)
    env.pop("ILABFS_DEBUG", None)
    if store is not None:
        env["ILABFS_STORE"] = str(store)
    env.update(extra)
    return env


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    path = tmp_path / "store"
    yield path
    make_writable(tmp_path)


@pytest.fixture
def ilab(store_dir: Path):
    """Run the real CLI in a subprocess against the scratch store."""

    def run(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 120) -> CliResult:
        completed = subprocess.run(
            ilab_command(*args),
            capture_output=True,
            text=True,
            cwd=cwd,
            env={**cli_env(store_dir), **(env or {})},
            timeout=timeout,
        )
        return CliResult(completed.returncode, completed.stdout, completed.stderr)

    return run


@pytest.fixture(scope="session")
def model_pair(tmp_path_factory) -> tuple[Path, Path]:
    """Return a 4-shard base model and a fine-tune that shares 3 shards and all small files with it."""
    root = tmp_path_factory.mktemp("models")
    base = root / "granite-7b-base"
    tuned = root / "granite-7b-ft"
    make_model.write_model(base, 8 << 20, shards=4, seed=0)
    make_model.write_finetune(base, tuned, changed=1, seed=1)
    return base, tuned


@pytest.fixture
def fresh_pair(tmp_path: Path, model_pair) -> tuple[Path, Path]:
    """Return private copies of the model pair, for tests that link, move or modify sources."""
    base, tuned = model_pair
    copies = []
    for source in (base, tuned):
        target = tmp_path / "src" / source.name
        shutil.copytree(source, target)
        copies.append(target)
    return copies[0], copies[1]


def make_writable(root: Path) -> None:
    """Give back write permission on read-only blobs so pytest can clean up."""
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(folder, name)
            try:
                if not os.path.islink(path):
                    os.chmod(path, os.stat(path).st_mode | stat.S_IWUSR)
            except OSError:
                pass


def blob_names(store: Path) -> set[str]:
    folder = store / "blobs" / "blake3"
    return set(os.listdir(folder)) if folder.exists() else set()


def read_index(store: Path) -> dict:
    from indexdb import read_index as read

    return read(store)
