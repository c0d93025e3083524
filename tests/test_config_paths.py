"""Which config file is used, how paths in it resolve, and where the store ends up."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import ROOT
from confighelp import PARTIAL, copy_fixture, explicit, platform_env, run_ilab, set_platform_env
from ilabfs.config.loader import configured_store_root
from ilabfs.config.paths import ConfigLocation, locate_config, resolve_path
from ilabfs.errors import ConfigError
from ilabfs.locations import store_root


def test_locate_prefers_option_then_environment_then_default(tmp_path, monkeypatch):
    set_platform_env(monkeypatch, tmp_path)
    default = tmp_path / "xdg-config" / "instructlab" / "config.yaml"

    assert locate_config() == ConfigLocation(default, "default")
    monkeypatch.setenv("ILAB_CONFIG", str(tmp_path / "env.yaml"))
    assert locate_config() == ConfigLocation(tmp_path / "env.yaml", "ILAB_CONFIG")
    assert locate_config(str(tmp_path / "opt.yaml")) == ConfigLocation(tmp_path / "opt.yaml", "--config")


def test_relative_option_is_taken_from_working_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert locate_config("sub/config.yaml").path == tmp_path / "sub" / "config.yaml"


def test_default_config_resolves_against_data_dir(tmp_path, monkeypatch):
    set_platform_env(monkeypatch, tmp_path)
    assert locate_config().base_dir == tmp_path / "xdg-data" / "instructlab"


def test_explicit_config_resolves_against_its_folder(tmp_path):
    assert explicit(tmp_path / "cfg" / "config.yaml").base_dir == tmp_path / "cfg"


@pytest.mark.parametrize(
    "value,expected",
    [
        ("models/m.gguf", "/base/models/m.gguf"),
        ("./m.gguf", "/base/m.gguf"),
        ("../shared/m.gguf", "/shared/m.gguf"),
        ("/abs/m.gguf", "/abs/m.gguf"),
        ("~/m.gguf", "/home/user/m.gguf"),
        ("$MODELS/m.gguf", "/models/m.gguf"),
        ("${MODELS}/m.gguf", "/models/m.gguf"),
        ("http://localhost:19530", "http://localhost:19530"),
    ],
)
def test_resolve_path(monkeypatch, value, expected):
    monkeypatch.setenv("HOME", "/home/user")
    monkeypatch.setenv("MODELS", "/models")
    assert resolve_path(value, "chat.model", Path("/base")) == expected


def test_unset_variable_names_key_and_variable(monkeypatch):
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    with pytest.raises(ConfigError) as caught:
        resolve_path("$NOT_SET_ANYWHERE/m.gguf", "chat.model", Path("/base"))
    assert caught.value.message == "chat.model: '$NOT_SET_ANYWHERE/m.gguf' uses the environment variable $NOT_SET_ANYWHERE, which is not set"
    assert caught.value.hint == "set NOT_SET_ANYWHERE or change chat.model with ilab config set"


def test_storage_root_relative_to_explicit_config(tmp_path, monkeypatch):
    set_platform_env(monkeypatch, tmp_path)
    config = tmp_path / "project" / "config.yaml"
    config.parent.mkdir()
    config.write_text("version: 2\nstorage:\n  root: artifacts/store\n")
    monkeypatch.chdir(tmp_path)
    assert configured_store_root(str(config)) == tmp_path / "project" / "artifacts" / "store"


def test_default_config_storage_root_relative(tmp_path, monkeypatch):
    set_platform_env(monkeypatch, tmp_path)
    default = tmp_path / "xdg-config" / "instructlab" / "config.yaml"
    default.parent.mkdir(parents=True)
    default.write_text("version: 2\nstorage:\n  root: my-store\n")
    assert store_root() == tmp_path / "xdg-data" / "instructlab" / "my-store"


def test_store_root_precedence(tmp_path, monkeypatch):
    set_platform_env(monkeypatch, tmp_path)
    config = tmp_path / "config.yaml"
    config.write_text("version: 2\nstorage:\n  root: /from/config\n")

    assert store_root(config_file=str(config)) == Path("/from/config")
    monkeypatch.setenv("ILABFS_STORE", "/from/env")
    assert store_root(config_file=str(config)) == Path("/from/env")
    assert store_root("/from/option", config_file=str(config)) == Path("/from/option")


def test_store_root_default_without_config(tmp_path, monkeypatch):
    set_platform_env(monkeypatch, tmp_path)
    assert store_root() == tmp_path / "xdg-data" / "instructlab" / "store"


def test_empty_storage_root_means_default(tmp_path, monkeypatch):
    set_platform_env(monkeypatch, tmp_path)
    config = tmp_path / "config.yaml"
    config.write_text("version: 2\nstorage:\n  root:\n")
    assert store_root(config_file=str(config)) == tmp_path / "xdg-data" / "instructlab" / "store"


def test_invalid_storage_root_fails_store_commands(tmp_path, monkeypatch):
    set_platform_env(monkeypatch, tmp_path)
    config = tmp_path / "config.yaml"
    config.write_text("version: 2\nstorage:\n  root: [a, b]\n")
    with pytest.raises(ConfigError) as caught:
        store_root(config_file=str(config))
    assert caught.value.message == f"{config}:3: invalid value ['a', 'b'] for storage.root: expected a string, or null"


def test_other_invalid_keys_do_not_fail_store_commands(tmp_path, monkeypatch):
    set_platform_env(monkeypatch, tmp_path)
    config = tmp_path / "config.yaml"
    config.write_text("version: 2\nchat:\n  context: friendly\nstorage:\n  root: /srv/store\n")
    assert store_root(config_file=str(config)) == Path("/srv/store")


def test_show_resolved_same_from_three_working_folders(tmp_path):
    config = copy_fixture(PARTIAL, tmp_path / "cfg")
    env = platform_env(tmp_path / "home")
    outputs = set()
    for folder in (tmp_path, ROOT, Path("/")):
        result = run_ilab("--config", str(config), "config", "show", "--resolved", env=env, cwd=folder)
        assert result.code == 0, result.err
        outputs.add(result.out)
    assert len(outputs) == 1
    text = outputs.pop()
    assert f"  model_path: {tmp_path / 'cfg' / 'models' / 'granite-7b-lab-Q4_K_M.gguf'}\n" in text
    assert f"  data_path: {tmp_path / 'home' / 'datasets' / 'skills.jsonl'}\n" in text
    assert f"  model: {tmp_path / 'home' / 'models' / 'granite-7b-lab-Q4_K_M.gguf'} # downloaded by hand\n" in text
    assert "  model_path: ibm-granite/granite-3.0-8b-base  # Hugging Face repo id\n" in text
    assert f"  root: {tmp_path / 'home' / 'xdg-data' / 'instructlab' / 'store'}  # default\n" in text


def test_show_resolved_default_config_from_three_working_folders(tmp_path):
    env = platform_env(tmp_path)
    default = tmp_path / "xdg-config" / "instructlab" / "config.yaml"
    copy_fixture(PARTIAL, default.parent)
    outputs = {run_ilab("config", "show", "--resolved", env=env, cwd=folder).out for folder in (tmp_path, ROOT, Path("/"))}
    assert len(outputs) == 1
    assert f"  model_path: {tmp_path / 'xdg-data' / 'instructlab' / 'models' / 'granite-7b-lab-Q4_K_M.gguf'}\n" in outputs.pop()


def test_config_file_from_environment(tmp_path):
    config = copy_fixture(PARTIAL, tmp_path / "cfg")
    result = run_ilab("config", "path", env=platform_env(tmp_path, ILAB_CONFIG=str(config)))
    assert result.out == f"{config}\n"


def test_model_add_uses_storage_root(tmp_path, model_pair):
    config = tmp_path / "cfg" / "config.yaml"
    config.parent.mkdir()
    config.write_text("version: 2\nstorage:\n  root: ./store\n")
    env = platform_env(tmp_path)

    added = run_ilab("--config", str(config), "model", "add", str(model_pair[0]), "--name", "base", env=env, cwd=Path("/"))

    assert added.code == 0, added.err
    assert (tmp_path / "cfg" / "store" / "ilabfs-layout").exists()
    assert not (tmp_path / "xdg-data" / "instructlab" / "store").exists()
    listing = run_ilab("--config", str(config), "model", "list", "-q", env=env)
    assert len(listing.out.split()) == 1


def test_missing_explicit_config_fails_store_commands(tmp_path):
    result = run_ilab("--config", str(tmp_path / "nope.yaml"), "model", "list", env=platform_env(tmp_path))
    assert result.code == 3
    assert result.err == f"Error: config file {tmp_path / 'nope.yaml'} not found (named by --config); check the path, or create the file with ilab config init\n"


def test_store_option_wins_over_storage_root(tmp_path, model_pair):
    config = tmp_path / "config.yaml"
    config.write_text(f"version: 2\nstorage:\n  root: {tmp_path / 'configured'}\n")
    env = platform_env(tmp_path)
    result = run_ilab("--config", str(config), "--store", str(tmp_path / "chosen"), "model", "add", str(model_pair[0]), "--name", "b", env=env)
    assert result.code == 0, result.err
    assert (tmp_path / "chosen" / "ilabfs-layout").exists()
    assert not (tmp_path / "configured").exists()
