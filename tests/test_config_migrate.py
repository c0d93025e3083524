"""Config migrations: each version step on its own, renamed keys, comments, backups and dry runs."""

from __future__ import annotations

import re

import pytest

from confighelp import FULL, NO_VERSION, copy_fixture, explicit, platform_env, run_ilab
from ilabfs.config.document import dump, parse, to_plain
from ilabfs.config.loader import load_config
from ilabfs.config.migrations import Migration, migrate_0_to_1, migrate_1_to_2, parse_host_port
from ilabfs.config.writer import migrate_config
from ilabfs.errors import ConfigError


def _step(step, text: str) -> tuple[dict, Migration, str]:
    document, style = parse(text, "config.yaml")
    migration = Migration(0, 0)
    step(document, migration)
    return to_plain(document), migration, dump(document, style)


def test_step_0_to_1_splits_host_port():
    document, migration, _ = _step(migrate_0_to_1, "serve:\n  host_port: 0.0.0.0:9000\n  model_path: m.gguf\n")
    assert document["serve"] == {"server": {"host": "0.0.0.0", "port": 9000}, "model_path": "m.gguf"}
    assert document["version"] == "1.0.0"
    assert "serve.host_port 0.0.0.0:9000 became serve.server.host 0.0.0.0 and serve.server.port 9000" in migration.changes


def test_step_0_to_1_moves_llama_cpp_settings():
    document, migration, _ = _step(migrate_0_to_1, "serve:\n  gpu_layers: 20\n  max_ctx_size: 2048\n  model_path: m.gguf\n")
    assert document["serve"] == {"llama_cpp": {"gpu_layers": 20, "max_ctx_size": 2048}, "model_path": "m.gguf"}
    assert migration.changes == [
        "serve.gpu_layers moved to serve.llama_cpp.gpu_layers",
        "serve.max_ctx_size moved to serve.llama_cpp.max_ctx_size",
        "version set to 1.0.0",
    ]


def test_step_0_to_1_moves_into_existing_section():
    text = "serve:\n  llama_cpp:\n    llm_family: granite\n  # GPU offload\n  gpu_layers: 20  # all of them\n  model_path: m.gguf\n"
    document, _, written = _step(migrate_0_to_1, text)
    assert document["serve"] == {"llama_cpp": {"gpu_layers": 20, "llm_family": "granite"}, "model_path": "m.gguf"}
    # The end-of-line comment moves with the key; the line above it stays where it was.
    assert written == (
        "serve:\n  llama_cpp:\n    gpu_layers: 20  # all of them\n    llm_family: granite\n"
        "  # GPU offload\n  model_path: m.gguf\nversion: 1.0.0\n"
    )


def test_step_0_to_1_never_overwrites():
    document, migration, _ = _step(migrate_0_to_1, "serve:\n  gpu_layers: 20\n  llama_cpp:\n    gpu_layers: 10\n")
    assert document["serve"] == {"gpu_layers": 20, "llama_cpp": {"gpu_layers": 10}}
    assert "kept serve.gpu_layers as it is, because serve.llama_cpp.gpu_layers is already set" in migration.changes


def test_step_0_to_1_without_serve():
    document, migration, _ = _step(migrate_0_to_1, "chat:\n  model: m.gguf\n")
    assert document == {"chat": {"model": "m.gguf"}, "version": "1.0.0"}
    assert migration.changes == ["version set to 1.0.0"]


def test_step_1_to_2_adds_storage_and_version():
    document, migration, text = _step(migrate_1_to_2, "serve:\n  model_path: m.gguf\ntrain:\n  num_epochs: 3\nversion: 1.0.0\n")
    assert list(document) == ["serve", "storage", "train", "version"]
    assert document["storage"] == {"root": None}
    assert document["version"] == "2.0.0"
    assert "# Settings of the ilabfs store (config version 2).\nstorage:\n" in text


def test_step_1_to_2_splits_old_host_port():
    # InstructLab 0.18 to 0.22 wrote serve.host_port with version 1.0.0.
    text = "generate:\n  teacher:\n    host_port: 127.0.0.1:8001\nserve:\n  host_port: '[::1]:8000'\nversion: 1.0.0\n"
    document, _, _ = _step(migrate_1_to_2, text)
    assert document["serve"]["server"] == {"host": "::1", "port": 8000}
    assert document["generate"]["teacher"]["server"] == {"host": "127.0.0.1", "port": 8001}


def test_step_1_to_2_keeps_existing_storage():
    document, migration, _ = _step(migrate_1_to_2, "storage:\n  root: /srv/store\nversion: 1.0.0\n")
    assert document["storage"] == {"root": "/srv/store"}
    assert migration.changes == ["version set to 2.0.0"]


@pytest.mark.parametrize(
    "value,expected",
    [
        ("0.0.0.0:9000", ("0.0.0.0", 9000)),
        ("localhost:80", ("localhost", 80)),
        ("[::1]:8000", ("::1", 8000)),
        ("localhost", None),
        ("host:0", None),
        ("host:70000", None),
        (":8000", None),
        (8000, None),
    ],
)
def test_parse_host_port(value, expected):
    assert parse_host_port(value) == expected


def test_malformed_host_port_is_kept_and_reported(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("serve:\n  model_path: m.gguf\n  host_port: localhost\n")

    loaded = load_config(explicit(path))

    assert loaded.document["serve"]["host_port"] == "localhost"
    assert [problem.describe(loaded.source) for problem in loaded.problems] == [
        f"{path}:3: invalid value 'localhost' for serve.host_port: expected HOST:PORT such as 127.0.0.1:8000"
    ]


def test_no_version_file_migrates_through_every_step():
    loaded = load_config(explicit(NO_VERSION))
    assert loaded.file_version == 0
    assert loaded.migration.target_version == 2
    assert [change.split(":")[0] for change in loaded.migration.changes] == ["version 0 to 1"] * 4 + ["version 1 to 2"] * 2
    serve = to_plain(loaded.document["serve"])
    assert serve["server"] == {"host": "0.0.0.0", "port": 9000}
    assert serve["llama_cpp"] == {"gpu_layers": -1, "max_ctx_size": 4096}
    assert [problem.key for problem in loaded.unknown] == ["chat.greedy_mode", "generate.prompt_file", "generate.seed_file"]


def test_renamed_key_problem_points_at_original_line(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("chat:\n  model: m.gguf\nserve:\n  model_path: m.gguf\n  host_port: 0.0.0.0:99999\n  gpu_layers: many\n")
    loaded = load_config(explicit(path))
    assert [problem.describe(loaded.source) for problem in loaded.problems] == [
        f"{path}:5: invalid value '0.0.0.0:99999' for serve.host_port: expected HOST:PORT such as 127.0.0.1:8000",
        f"{path}:6: invalid value 'many' for serve.llama_cpp.gpu_layers: expected an integer",
    ]


def test_migration_keeps_comments_and_order(tmp_path):
    path = copy_fixture(NO_VERSION, tmp_path)
    migrate_config(explicit(path))
    text = path.read_text()
    assert "  # Offload everything to the GPU.\n  llama_cpp:\n    gpu_layers: -1\n    max_ctx_size: 4096\n" in text
    assert "  # Listen on all interfaces of the lab machine.\n  server:\n    host: 0.0.0.0\n" in text
    assert re.search(r"\n    port: 9000 +# opened in the firewall\n  model_path: ", text)
    top = [line.split(":")[0] for line in text.splitlines() if line and not line.startswith((" ", "#"))]
    assert top == ["chat", "general", "generate", "serve", "storage", "version"]


def test_migrate_writes_backup_with_old_text(tmp_path):
    path = copy_fixture(NO_VERSION, tmp_path)
    original = path.read_text()

    result = migrate_config(explicit(path))

    assert result.backup.parent == tmp_path
    assert re.fullmatch(r"config\.yaml\.\d{8}T\d{6}Z\.bak", result.backup.name)
    assert result.backup.read_text() == original
    assert load_config(explicit(path)).file_version == 2


def test_two_backups_in_one_second_do_not_collide(tmp_path):
    from ilabfs.config.writer import backup

    path = tmp_path / "config.yaml"
    first = backup(path, "one")
    second = backup(path, "two")
    assert first != second
    assert first.read_text() == "one"
    assert second.read_text() == "two"


def test_migrate_dry_run_changes_nothing(tmp_path):
    path = copy_fixture(NO_VERSION, tmp_path)
    original = path.read_text()

    result = migrate_config(explicit(path), dry_run=True)

    assert path.read_text() == original
    assert result.backup is None
    assert [entry.name for entry in tmp_path.iterdir()] == ["config.yaml"]
    assert "-  host_port: 0.0.0.0:9000  # opened in the firewall\n" in result.diff
    assert "+    host: 0.0.0.0\n" in result.diff
    assert "+version: 2.0.0\n" in result.diff


def test_migrate_current_file_does_nothing(tmp_path):
    path = copy_fixture(FULL, tmp_path)
    migrate_config(explicit(path))
    text = path.read_text()
    result = migrate_config(explicit(path))
    assert not result.changed
    assert path.read_text() == text


def test_migrate_refuses_future_version(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("version: 7\n")
    with pytest.raises(ConfigError) as caught:
        migrate_config(explicit(path))
    assert "config version 7 is newer than this ilabfs" in caught.value.message
    assert "reads versions 0 to 2" in caught.value.message
    assert path.read_text() == "version: 7\n"


def test_migrate_keeps_symlink(tmp_path):
    real = copy_fixture(NO_VERSION, tmp_path / "dotfiles")
    link = tmp_path / "config.yaml"
    link.symlink_to(real)
    migrate_config(explicit(link))
    assert link.is_symlink()
    assert "version: 2.0.0" in real.read_text()


def test_cli_migrate_prints_changes_and_backup(tmp_path):
    path = copy_fixture(NO_VERSION, tmp_path / "cfg")
    env = platform_env(tmp_path)

    result = run_ilab("--config", str(path), "config", "migrate", env=env)

    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == f"Migrated {path} from config version 0 to 2"
    assert "  version 0 to 1: serve.host_port 0.0.0.0:9000 became serve.server.host 0.0.0.0 and serve.server.port 9000" in lines
    assert lines[-1].startswith(f"Saved the previous file as {path}.")


def test_cli_migrate_dry_run_prints_unified_diff(tmp_path):
    path = copy_fixture(NO_VERSION, tmp_path / "cfg")
    original = path.read_text()

    result = run_ilab("--config", str(path), "config", "migrate", "--dry-run", env=platform_env(tmp_path))

    assert result.code == 0, result.err
    assert result.out.startswith(f"--- {path} (version 0)\n+++ {path} (version 2)\n@@ ")
    assert path.read_text() == original


def test_cli_migrate_future_version_exit_code(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("version: 3\n")
    result = run_ilab("--config", str(path), "config", "migrate", env=platform_env(tmp_path))
    assert result.code == 12
    assert result.err.count("\n") == 1
    assert "config version 3 is newer than this ilabfs" in result.err
    assert "Traceback" not in result.err
