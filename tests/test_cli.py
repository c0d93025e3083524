"""The command line as a user meets it: help, errors, exit codes, output modes."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import typer.main

from conftest import ROOT, cli_env, ilab_command
from ilabfs_cli.main import app


def _commands(group, prefix: tuple[str, ...] = ()):
    # Typer bundles its own copy of click, so commands are told apart by shape, not class.
    yield prefix, group
    for name, command in getattr(group, "commands", {}).items():
        yield from _commands(command, prefix + (name,))


def _options(command):
    return [parameter for parameter in command.params if parameter.param_type_name == "option"]


ALL_COMMANDS = list(_commands(typer.main.get_command(app)))


@pytest.mark.parametrize("path,command", ALL_COMMANDS, ids=[" ".join(p) or "ilab" for p, _ in ALL_COMMANDS])
def test_every_command_has_help_with_example(path, command):
    assert command.help and command.help.strip(), f"ilab {' '.join(path)} has no help text"
    assert "Example:" in command.help, f"ilab {' '.join(path)} help has no example"
    for parameter in _options(command):
        if parameter.name != "help":
            assert parameter.help, f"option {parameter.opts} of ilab {' '.join(path)} has no help"


@pytest.mark.parametrize("path,command", ALL_COMMANDS, ids=[" ".join(p) or "ilab" for p, _ in ALL_COMMANDS])
def test_every_command_is_documented(path, command):
    text = (ROOT / "docs" / "cli.md").read_text()
    if path:
        assert f"ilab {' '.join(path)}" in text, f"docs/cli.md does not mention ilab {' '.join(path)}"
    for parameter in _options(command):
        for flag in parameter.opts:
            if flag.startswith("--") and flag != "--help":
                assert flag in text, f"docs/cli.md does not document {flag} of ilab {' '.join(path)}"


def test_not_found_is_one_line_without_traceback(ilab, model_pair):
    ilab("model", "add", str(model_pair[0]), "--name", "base")
    result = ilab("model", "inspect", "missing-model")
    assert result.code == 3
    assert result.err.count("\n") == 1
    assert result.err.startswith("Error: model 'missing-model' not found; run ilab model list")
    assert "Traceback" not in result.err


def test_debug_shows_traceback(ilab, model_pair):
    ilab("model", "add", str(model_pair[0]), "--name", "base")
    result = ilab("model", "inspect", "missing-model", env={"ILABFS_DEBUG": "1"})
    assert result.code != 0
    assert "Traceback" in result.err


def test_unexpected_error_is_one_line(monkeypatch, capsys, tmp_path):
    import ilabfs.catalog
    from ilabfs.store import Store
    from ilabfs_cli.main import run

    Store(tmp_path / "store")
    def fail(*args, **kwargs):
        raise RuntimeError("a bug in the listing")

    monkeypatch.delenv("ILABFS_DEBUG", raising=False)
    monkeypatch.setattr(ilabfs.catalog, "list_artifacts", fail)
    monkeypatch.setattr(sys, "argv", ["ilab", "--store", str(tmp_path / "store"), "model", "list"])
    with pytest.raises(SystemExit) as exit_info:
        run()

    err = capsys.readouterr().err
    assert exit_info.value.code == 1
    assert err.startswith("Error: unexpected failure: RuntimeError: a bug in the listing;")
    assert "ILABFS_DEBUG=1" in err
    assert "Traceback" not in err


def test_read_commands_on_missing_store(ilab, store_dir):
    listing = ilab("model", "list", "--json")
    assert listing.code == 0
    assert listing.json()["artifacts"] == []
    assert ilab("df", "--json").json()["artifacts"] == 0
    assert not store_dir.exists()


def test_unsupported_format_version_refused(ilab, store_dir, model_pair):
    ilab("model", "add", str(model_pair[0]), "--name", "base")
    (store_dir / "ilabfs-layout").write_text('{"ilabfsLayoutVersion": 99}')
    result = ilab("model", "list")
    assert result.code == 10
    assert "format version 99" in result.err
    assert "upgrade ilabfs" in result.err


def test_invalid_mode(ilab, model_pair):
    result = ilab("model", "add", str(model_pair[0]), "--name", "x", "--mode", "teleport")
    assert result.code == 2
    assert "invalid --mode 'teleport'" in result.err


def test_quiet_prints_ids(ilab, model_pair):
    ilab("model", "add", str(model_pair[0]), "--name", "base")
    ids = ilab("model", "list", "-q").out.split()
    assert len(ids) == 1
    assert len(ids[0]) == 12


def test_same_result_from_any_directory(ilab, model_pair, tmp_path):
    ilab("model", "add", str(model_pair[0]), "--name", "base")
    outputs = set()
    for folder in (tmp_path, ROOT, model_pair[0]):
        outputs.add(ilab("model", "list", "--json", cwd=folder).out)
    assert len(outputs) == 1


def test_store_option_overrides_environment(tmp_path, model_pair):
    chosen = tmp_path / "chosen"
    env = cli_env(tmp_path / "from-env")
    command = ilab_command("--store", str(chosen), "model", "add", str(model_pair[0]), "--name", "base")
    assert subprocess.run(command, env=env, capture_output=True).returncode == 0
    assert (chosen / "ilabfs-layout").exists()
    assert not (tmp_path / "from-env").exists()


def test_default_store_in_platform_data_dir(tmp_path, model_pair):
    env = {k: v for k, v in os.environ.items() if k != "ILABFS_STORE"}
    env["XDG_DATA_HOME"] = str(tmp_path / "xdg-data")
    env["HOME"] = str(tmp_path / "home")
    command = ilab_command("model", "add", str(model_pair[0]), "--name", "base")
    assert subprocess.run(command, env=env, capture_output=True).returncode == 0
    assert (tmp_path / "xdg-data" / "instructlab" / "store" / "ilabfs-layout").exists()


def test_piped_add_prints_no_progress(ilab, model_pair):
    result = ilab("model", "add", str(model_pair[0]), "--name", "base")
    assert result.err == ""
    assert result.out.count("\n") == 1
    assert "\r" not in result.out


def test_list_alias(ilab, model_pair):
    ilab("model", "add", str(model_pair[0]), "--name", "base")
    assert ilab("list", "models", "--json").out == ilab("model", "list", "--json").out


def test_json_list_schema(ilab, model_pair):
    base, tuned = model_pair
    ilab("model", "add", str(base), "--name", "base")
    ilab("model", "add", str(tuned), "--name", "tuned", "--base", "base", "--phase", "phase1", "--step", "100")
    listing = ilab("model", "list", "--wide", "--json").json()
    assert listing["schemaVersion"] == 1
    row = listing["artifacts"][0]
    for key in ("id", "digest", "name", "names", "created", "size", "dataType", "baseModel", "dataset", "phase", "step",
                "exclusiveSize", "path"):
        assert key in row
    assert row["baseModel"]["name"] == "base:latest"
    assert row["phase"] == "phase1"
    assert row["step"] == 100
    filtered = ilab("model", "list", "--phase", "phase1", "-q").out.split()
    assert filtered == [row["id"]]
    by_base = ilab("model", "list", "--base", "base", "-q").out.split()
    assert by_base == [row["id"]]


def test_version_flag():
    result = subprocess.run(ilab_command("--version"), capture_output=True, text=True)
    assert result.returncode == 0
    assert result.stdout.startswith("ilab (ilabfs) ")


def test_console_script_installed():
    script = os.path.join(os.path.dirname(sys.executable), "ilab")
    assert os.path.exists(script)


def test_wheel_lists_every_package():
    """An editable install hides a subpackage missing from pyproject.toml; a wheel would lack it."""
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {
        ".".join(path.parent.relative_to(ROOT).parts)
        for path in (ROOT / "ilabfs").rglob("__init__.py")
    }
    assert found <= listed
