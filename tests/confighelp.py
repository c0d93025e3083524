"""Helpers for the config tests: fixture files, private platform folders, and a CLI runner."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from conftest import ROOT, CliResult, ilab_command
from ilabfs.config.paths import ConfigLocation

FIXTURES = ROOT / "tests" / "fixtures" / "config"
FULL = FIXTURES / "instructlab-1.0.0-full.yaml"
PARTIAL = FIXTURES / "instructlab-1.0.0-partial.yaml"
NO_VERSION = FIXTURES / "instructlab-0.17-no-version.yaml"


def explicit(path: Path) -> ConfigLocation:
    """Return the location of a file named with --config."""
    return ConfigLocation(Path(path), "--config")


def copy_fixture(source: Path, folder: Path, name: str = "config.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    shutil.copyfile(source, target)
    return target


def platform_env(home: Path, **extra: str) -> dict:
    """Return an environment whose config, data and cache folders are under ``home``, with no store or config set."""
    env = {key: value for key, value in os.environ.items() if key not in ("ILABFS_STORE", "ILAB_CONFIG", "ILABFS_DEBUG", "EDITOR", "VISUAL")}
    env["HOME"] = str(home)
    env["XDG_CONFIG_HOME"] = str(home / "xdg-config")
    env["XDG_DATA_HOME"] = str(home / "xdg-data")
    env["XDG_CACHE_HOME"] = str(home / "xdg-cache")
    env.update(extra)
    return env


def set_platform_env(monkeypatch, home: Path) -> None:
    """Point this process's platform folders at ``home``, for library tests."""
    for name in ("ILABFS_STORE", "ILAB_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    for name, value in platform_env(home).items():
        if name in ("HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
            monkeypatch.setenv(name, value)


def run_ilab(*args: str, env: dict, cwd: Path | None = None, input: str | None = None, timeout: float = 60) -> CliResult:
    completed = subprocess.run(ilab_command(*args), capture_output=True, text=True, env=env, cwd=cwd, input=input, timeout=timeout)
    return CliResult(completed.returncode, completed.stdout, completed.stderr)
