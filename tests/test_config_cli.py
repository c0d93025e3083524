"""``ilab config`` as a user meets it: every subcommand, its output, its errors and exit codes."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from confighelp import FULL, NO_VERSION, PARTIAL, copy_fixture, platform_env, run_ilab

# An editor for tests: each run replaces the file with the next text from a JSON list.
EDITOR_SCRIPT = """
import json, sys
from pathlib import Path
plan = Path(sys.argv[1])
texts = json.loads(plan.read_text())
target = Path(sys.argv[2])
if not texts:
    sys.exit(3)
text = texts.pop(0)
if text is not None:
    target.write_text(text)
plan.write_text(json.dumps(texts))
"""


@pytest.fixture
def home(tmp_path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def env(home) -> dict:
    return platform_env(home)


@pytest.fixture
def default_file(home) -> Path:
    return home / "xdg-config" / "instructlab" / "config.yaml"


def _editor(tmp_path: Path, texts: list[str | None]) -> str:
    script = tmp_path / "editor.py"
    script.write_text(EDITOR_SCRIPT)
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(texts))
    return f"{sys.executable} {script} {plan}"


def test_path_prints_default_file(env, default_file):
    result = run_ilab("config", "path", env=env)
    assert result.code == 0
    assert result.out == f"{default_file}\n"
    assert result.err == "Note: the file does not exist yet; ilab config init creates it\n"


def test_config_option_overrides_environment(tmp_path, env):
    env["ILAB_CONFIG"] = str(tmp_path / "from-env.yaml")
    assert run_ilab("config", "path", env=env).out == f"{tmp_path / 'from-env.yaml'}\n"
    assert run_ilab("--config", str(tmp_path / "opt.yaml"), "config", "path", env=env).out == f"{tmp_path / 'opt.yaml'}\n"


def test_init_writes_commented_defaults(env, default_file, home):
    result = run_ilab("config", "init", env=env)

    assert result.code == 0, result.err
    assert result.out == f"Wrote {default_file}\n"
    text = default_file.read_text()
    assert text.startswith("# ilab configuration, format version 2.\n")
    assert "    # TCP port to listen on.\n    # Default: 8000\n    port: 8000\n" in text
    assert f"  logs_dir: {home / 'xdg-data' / 'instructlab' / 'chatlogs'}\n" in text
    assert text.endswith("version: 2.0.0\n")
    assert run_ilab("config", "validate", env=env).code == 0


def test_init_refuses_existing_file(env, default_file):
    run_ilab("config", "init", env=env)
    result = run_ilab("config", "init", env=env)
    assert result.code == 5
    assert result.err == (
        f"Error: config file {default_file} already exists; change it with ilab config set or ilab config edit, "
        "or pass --force to replace it (a backup is kept)\n"
    )


def test_init_force_keeps_backup(env, default_file):
    copy_fixture(PARTIAL, default_file.parent)
    result = run_ilab("config", "init", "--force", env=env)
    assert result.code == 0, result.err
    backups = list(default_file.parent.glob("config.yaml.*.bak"))
    assert len(backups) == 1
    assert backups[0].read_text() == PARTIAL.read_text()
    assert result.out.splitlines()[1] == f"Saved the previous file as {backups[0]}"


def test_show_without_file_prints_defaults(env, default_file):
    result = run_ilab("config", "show", env=env)
    assert result.code == 0
    assert "  port: 8000\n" in result.out
    assert result.err == f"Note: {default_file} does not exist; these are the built-in defaults\n"


def test_show_keeps_file_comments_and_fills_defaults(tmp_path, env):
    config = copy_fixture(PARTIAL, tmp_path / "cfg")
    result = run_ilab("--config", str(config), "config", "show", env=env)
    assert result.code == 0, result.err
    assert result.out.startswith("# Test fixture: a partial config")
    assert "\n# Training runs on the lab machine.\ntrain:\n" in result.out
    assert "    port: 8080\n" in result.out
    assert "    host: 127.0.0.1\n" in result.out
    assert "version: 2.0.0\n" in result.out
    assert result.err == ""


def test_show_comments_describes_every_key(tmp_path, env):
    config = copy_fixture(PARTIAL, tmp_path / "cfg")
    result = run_ilab("--config", str(config), "config", "show", "--comments", env=env)
    assert "  # Number of epochs.\n  # Default: 10\n  num_epochs: 3\n" in result.out
    assert "# Test fixture" not in result.out


def test_show_key(tmp_path, env):
    config = copy_fixture(PARTIAL, tmp_path / "cfg")
    assert run_ilab("--config", str(config), "config", "show", "-k", "serve.server.port", env=env).out == "8080\n"
    section = run_ilab("--config", str(config), "config", "show", "--key", "serve.server", env=env)
    assert section.out == "backend_type: ''\ncurrent_max_ctx_size: 4096\nhost: 127.0.0.1\nport: 8080\n"
    described = run_ilab("--config", str(config), "config", "show", "-k", "serve.server.port", "--comments", env=env)
    assert described.out == "# TCP port to listen on.\n# Default: 8000\n8080\n"


def test_show_unknown_key_is_not_found(tmp_path, env):
    config = copy_fixture(PARTIAL, tmp_path / "cfg")
    result = run_ilab("--config", str(config), "config", "show", "-k", "serve.server.prot", env=env)
    assert result.code == 3
    assert result.err == "Error: no key serve.server.prot in the config; did you mean serve.server.port? run ilab config show to see every key\n"


def test_show_invalid_file_warns_and_prints(tmp_path, env):
    config = tmp_path / "config.yaml"
    config.write_text("version: 2\nchat:\n  context: friendly\n  colour: blue\n")
    result = run_ilab("--config", str(config), "config", "show", "-k", "chat", env=env)
    assert result.code == 0
    assert "context: friendly\n" in result.out
    assert "colour: blue\n" in result.out
    assert result.err == (
        f"Warning: {config}:3: invalid value 'friendly' for chat.context: expected one of default, cli_helper\n"
        f"Warning: {config}:4: unknown key chat.colour is kept but not used\n"
    )


def test_show_syntax_error_prints_file_then_error(tmp_path, env):
    config = tmp_path / "config.yaml"
    text = "version: 2\nchat:\n  context: [default\n"
    config.write_text(text)
    result = run_ilab("--config", str(config), "config", "show", env=env)
    assert result.code == 12
    assert result.out == text
    assert result.err.startswith(f"Error: {config}:4:1: invalid YAML: ")
    assert result.err.endswith("; fix the file with ilab config edit\n")
    assert "Traceback" not in result.err


def test_show_future_version_is_refused(tmp_path, env):
    config = tmp_path / "config.yaml"
    config.write_text("version: 3.0.0\n")
    result = run_ilab("--config", str(config), "config", "show", env=env)
    assert result.code == 12
    assert result.out == ""
    assert re.fullmatch(
        rf"Error: {re.escape(str(config))}:1: config version 3\.0\.0 is newer than this ilabfs \(\S+\), which reads versions 0 to 2; "
        r"upgrade ilabfs to a release that knows config version 3, or choose another file with --config\n",
        result.err,
    )


def test_show_store_override_is_noted(tmp_path, env):
    config = copy_fixture(PARTIAL, tmp_path / "cfg")
    env["ILABFS_STORE"] = str(tmp_path / "env-store")
    from_env = run_ilab("--config", str(config), "config", "show", "-k", "storage", env=env)
    from_option = run_ilab("--config", str(config), "--store", "/opt/store", "config", "show", "-k", "storage", env=env)
    assert from_env.out == f"root: {tmp_path / 'env-store'}  # from ILABFS_STORE\n"
    assert from_option.out == "root: /opt/store  # from --store\n"


def test_get_prints_values_for_scripts(tmp_path, env):
    config = copy_fixture(PARTIAL, tmp_path / "cfg")
    for key, expected in [
        ("serve.server.port", "8080"),
        ("chat.vi_mode", "yes"),
        ("chat.session", ""),
        ("train.additional_args", "learning_rate: 1.0e-05"),
        ("serve.vllm.vllm_args", "[]"),
        ("version", "2.0.0"),
    ]:
        result = run_ilab("--config", str(config), "config", "get", key, env=env)
        assert result.code == 0, result.err
        assert result.out == f"{expected}\n", key


def test_get_unknown_key(tmp_path, env):
    config = copy_fixture(PARTIAL, tmp_path / "cfg")
    result = run_ilab("--config", str(config), "config", "get", "train.num_epoch", env=env)
    assert result.code == 3
    assert "did you mean train.num_epochs?" in result.err


def test_get_invalid_key_value_fails(tmp_path, env):
    config = tmp_path / "config.yaml"
    config.write_text("version: 2\nchat:\n  context: friendly\n")
    assert run_ilab("--config", str(config), "config", "get", "chat.model", env=env).code == 0
    result = run_ilab("--config", str(config), "config", "get", "chat.context", env=env)
    assert result.code == 12
    assert result.err.startswith(f"Error: {config}:3: invalid value 'friendly' for chat.context: expected one of default, cli_helper; ")


def test_set_keeps_comments_and_version(tmp_path, env):
    config = copy_fixture(PARTIAL, tmp_path / "cfg")
    result = run_ilab("--config", str(config), "config", "set", "chat.model", "granite-7b-base:latest", env=env)
    assert result.code == 0, result.err
    assert result.out == f"Set chat.model to granite-7b-base:latest in {config}\n"
    text = config.read_text()
    assert re.search(r"\n  model: granite-7b-base:latest +# downloaded by hand\n", text)
    assert text.startswith("# Test fixture")
    assert "version: 1.0.0\n" in text


def test_set_reads_value_as_yaml(tmp_path, env):
    config = tmp_path / "config.yaml"
    for key, value, line in [
        ("serve.server.port", "9001", "    port: 9001"),
        ("chat.vi_mode", "yes", "  vi_mode: true"),
        ("serve.server.host", "0.0.0.0", "    host: 0.0.0.0"),
        ("chat.session", "", "  session:"),
        ("serve.vllm.vllm_args", "[--dtype, auto]", "    vllm_args: [--dtype, auto]"),
        ("general.log_format", "%(message)s", "  log_format: '%(message)s'"),
        ("evaluate.base_model", "1.5", "  base_model: '1.5'"),
    ]:
        result = run_ilab("--config", str(config), "config", "set", key, value, env=env)
        assert result.code == 0, result.err
        assert line in config.read_text().splitlines(), key
    assert run_ilab("--config", str(config), "config", "validate", env=env).code == 0


def test_set_creates_missing_file_with_version(env, default_file):
    result = run_ilab("config", "set", "train.num_epochs", "4", env=env)
    assert result.code == 0, result.err
    assert result.out.endswith("(created the file)\n")
    assert default_file.read_text() == "train:\n  num_epochs: 4\nversion: 2.0.0\n"


def test_set_through_alias_changes_one_section(tmp_path, env):
    config = tmp_path / "config.yaml"
    config.write_text(
        "evaluate:\n"
        "  mt_bench: &judge\n"
        "    # the judge both benchmarks use\n"
        "    judge_model: prometheus-8x7b\n"
        "  mt_bench_branch: *judge\n"
        "version: 2.0.0\n"
    )

    result = run_ilab("--config", str(config), "config", "set", "evaluate.mt_bench_branch.judge_model", "judge-2", env=env)

    assert result.code == 0, result.err
    first = run_ilab("--config", str(config), "config", "get", "evaluate.mt_bench.judge_model", env=env)
    second = run_ilab("--config", str(config), "config", "get", "evaluate.mt_bench_branch.judge_model", env=env)
    assert first.out.strip() == "prometheus-8x7b"
    assert second.out.strip() == "judge-2"
    assert "# the judge both benchmarks use" in config.read_text()


def test_set_inserts_new_key_in_schema_order(tmp_path, env):
    config = tmp_path / "config.yaml"
    config.write_text("chat:\n  context: default\n  # the model I use\n  model: m.gguf\nversion: 2\n")
    run_ilab("--config", str(config), "config", "set", "chat.max_tokens", "512", env=env)
    assert config.read_text() == "chat:\n  context: default\n  max_tokens: 512\n  # the model I use\n  model: m.gguf\nversion: 2\n"


@pytest.mark.parametrize(
    "key,value,code,message",
    [
        ("chat.context", "friendly", 2, "Error: invalid value 'friendly' for chat.context: expected one of default, cli_helper; "),
        ("serve.server.port", "http", 2, "Error: invalid value 'http' for serve.server.port: expected an integer from 1 to 65535; "),
        ("chat.colur", "x", 2, "Error: unknown key chat.colur; "),
        ("train.num_epoch", "3", 2, "Error: unknown key train.num_epoch (did you mean train.num_epochs?); "),
        ("serve", "x", 2, "Error: serve is a section, not a key; set one of its keys, such as serve.backend\n"),
        ("version", "3", 2, "Error: version cannot be set; ilab config migrate updates it\n"),
    ],
)
def test_set_rejects_invalid_input(tmp_path, env, key, value, code, message):
    config = copy_fixture(PARTIAL, tmp_path / "cfg")
    before = config.read_text()
    result = run_ilab("--config", str(config), "config", "set", key, value, env=env)
    assert result.code == code
    assert result.err.startswith(message)
    assert config.read_text() == before


def test_set_on_version_0_asks_for_migrate(tmp_path, env):
    config = copy_fixture(NO_VERSION, tmp_path / "cfg")
    result = run_ilab("--config", str(config), "config", "set", "chat.context", "default", env=env)
    assert result.code == 12
    assert result.err == (
        f"Error: {config} has no version field, so it is config version 0, written by InstructLab before 0.18; "
        "run ilab config migrate first (it keeps a backup), then set the key\n"
    )


def test_set_version_2_key_in_version_1_file(tmp_path, env):
    config = copy_fixture(FULL, tmp_path / "cfg")
    result = run_ilab("--config", str(config), "config", "set", "storage.root", "/srv/store", env=env)
    assert result.code == 12
    assert result.err == f"Error: storage.root is new in config version 2, but {config} is version 1; run ilab config migrate first (it keeps a backup)\n"


def test_set_on_syntax_error_names_line(tmp_path, env):
    config = tmp_path / "config.yaml"
    config.write_text("version: 2\nchat: [\n")
    result = run_ilab("--config", str(config), "config", "set", "chat.context", "default", env=env)
    assert result.code == 12
    assert result.err.startswith(f"Error: {config}:3:1: invalid YAML: ")


def test_validate_valid_file(tmp_path, env):
    config = copy_fixture(FULL, tmp_path / "cfg")
    result = run_ilab("--config", str(config), "config", "validate", env=env)
    assert result.code == 0
    assert result.out == f"{config}: valid, config version 2; the file is version 1, which ilab config migrate updates\n"


def test_validate_lists_every_problem(tmp_path, env):
    config = tmp_path / "config.yaml"
    config.write_text("version: 2\nchat:\n  context: friendly\n  colour: blue\ntrain:\n  device: tpu\n")
    result = run_ilab("--config", str(config), "config", "validate", env=env)
    assert result.code == 12
    assert result.out == (
        f"{config}:4: unknown key chat.colour is kept but not used (warning)\n"
        f"{config}:3: invalid value 'friendly' for chat.context: expected one of default, cli_helper\n"
        f"{config}:6: invalid value 'tpu' for train.device: expected one of cpu, mps, cuda, hpu\n"
    )
    assert result.err == f"Error: 2 problems in {config}; fix them with ilab config set or ilab config edit\n"


def test_validate_unknown_keys_only_warn(tmp_path, env):
    config = copy_fixture(NO_VERSION, tmp_path / "cfg")
    result = run_ilab("--config", str(config), "config", "validate", env=env)
    assert result.code == 0
    assert f"{config}:3: unknown key chat.greedy_mode is kept but not used (warning)\n" in result.out


def test_validate_syntax_error(tmp_path, env):
    config = tmp_path / "config.yaml"
    config.write_text("version: 2\nchat:\n\tcontext: default\n")
    result = run_ilab("--config", str(config), "config", "validate", env=env)
    assert result.code == 12
    assert result.err == f"Error: {config}:3:1: invalid YAML: found character '\\t' that cannot start any token; fix the file with ilab config edit\n"


def test_edit_saves_valid_change_with_backup(tmp_path, env):
    config = copy_fixture(PARTIAL, tmp_path / "cfg")
    new_text = PARTIAL.read_text().replace("port: 8080", "port: 8081")
    env["EDITOR"] = _editor(tmp_path, [new_text])

    result = run_ilab("--config", str(config), "config", "edit", env=env)

    assert result.code == 0, result.err
    assert config.read_text() == new_text
    backups = list(config.parent.glob("config.yaml.*.bak"))
    assert [backup.read_text() for backup in backups] == [PARTIAL.read_text()]
    assert result.out == f"Saved {config}\nSaved the previous file as {backups[0]}\n"
    assert not list(config.parent.glob(".config.yaml.*.edit.yaml"))


def test_edit_invalid_then_edit_again(tmp_path, env):
    config = copy_fixture(PARTIAL, tmp_path / "cfg")
    bad = PARTIAL.read_text().replace("port: 8080", "port: http")
    good = PARTIAL.read_text().replace("port: 8080", "port: 8082")
    env["EDITOR"] = _editor(tmp_path, [bad, good])

    result = run_ilab("--config", str(config), "config", "edit", env=env, input="e\n")

    assert result.code == 0, result.err
    assert "invalid value 'http' for serve.server.port" in result.err
    assert "[e]dit again, [s]ave anyway, or [d]iscard your changes?" in result.err
    assert "port: 8082" in config.read_text()


def test_edit_invalid_then_discard_keeps_text(tmp_path, env):
    config = copy_fixture(PARTIAL, tmp_path / "cfg")
    bad = "version: 2\nchat: [\n"
    env["EDITOR"] = _editor(tmp_path, [bad])

    result = run_ilab("--config", str(config), "config", "edit", env=env, input="d\n")

    assert result.code == 12
    assert config.read_text() == PARTIAL.read_text()
    kept = list(config.parent.glob("config.yaml.*.rejected.yaml"))
    assert [path.read_text() for path in kept] == [bad]
    assert result.err.endswith(
        f"Error: the edited config is invalid, so {config} was not changed; your text is kept in {kept[0]}; fix it with ilab config edit\n"
    )


def test_edit_without_terminal_answer_discards(tmp_path, env):
    config = copy_fixture(PARTIAL, tmp_path / "cfg")
    env["EDITOR"] = _editor(tmp_path, ["version: 2\nchat:\n  context: friendly\n"])
    result = run_ilab("--config", str(config), "config", "edit", env=env, input="")
    assert result.code == 12
    assert config.read_text() == PARTIAL.read_text()


def test_edit_invalid_save_anyway(tmp_path, env):
    config = copy_fixture(PARTIAL, tmp_path / "cfg")
    bad = "version: 2\nchat:\n  context: friendly\n"
    env["EDITOR"] = _editor(tmp_path, [bad])
    result = run_ilab("--config", str(config), "config", "edit", env=env, input="s\n")
    assert result.code == 0, result.err
    assert config.read_text() == bad
    assert len(list(config.parent.glob("config.yaml.*.bak"))) == 1


def test_edit_repairs_broken_file(tmp_path, env):
    config = tmp_path / "config.yaml"
    config.write_text("version: 2\nchat: [\n")
    env["EDITOR"] = _editor(tmp_path, ["version: 2\nchat:\n  context: default\n"])
    result = run_ilab("--config", str(config), "config", "edit", env=env)
    assert result.code == 0, result.err
    assert run_ilab("--config", str(config), "config", "validate", env=env).code == 0


def test_edit_without_change(tmp_path, env):
    config = copy_fixture(PARTIAL, tmp_path / "cfg")
    env["EDITOR"] = _editor(tmp_path, [None])
    result = run_ilab("--config", str(config), "config", "edit", env=env)
    assert result.code == 0
    assert result.out == "No changes\n"
    assert not list(config.parent.glob("config.yaml.*"))


def test_edit_missing_file_starts_from_defaults(env, default_file, tmp_path):
    env["EDITOR"] = _editor(tmp_path, [None])
    result = run_ilab("config", "edit", env=env)
    assert result.code == 0, result.err
    assert default_file.read_text().startswith("# ilab configuration, format version 2.\n")


def test_edit_failing_editor_changes_nothing(tmp_path, env):
    config = copy_fixture(PARTIAL, tmp_path / "cfg")
    env["EDITOR"] = _editor(tmp_path, [])
    result = run_ilab("--config", str(config), "config", "edit", env=env)
    assert result.code == 12
    assert "exited with code 3, so the config file was not changed" in result.err
    assert config.read_text() == PARTIAL.read_text()


def test_edit_missing_editor(tmp_path, env):
    config = copy_fixture(PARTIAL, tmp_path / "cfg")
    env["EDITOR"] = "no-such-editor-here"
    result = run_ilab("--config", str(config), "config", "edit", env=env)
    assert result.code == 3
    assert result.err == "Error: editor 'no-such-editor-here' not found; set $EDITOR to an editor command, such as nano or vim\n"


def test_edit_conflict_keeps_both(tmp_path, env):
    config = copy_fixture(PARTIAL, tmp_path / "cfg")
    # The "editor" changes the real file behind ilab's back, as a concurrent ilab config set would.
    script = tmp_path / "racer.py"
    script.write_text(
        "import sys\nfrom pathlib import Path\n"
        f"Path({str(config)!r}).write_text('version: 2\\n')\n"
        "Path(sys.argv[1]).write_text('version: 2\\nchat:\\n  context: default\\n')\n"
    )
    env["EDITOR"] = f"{sys.executable} {script}"
    result = run_ilab("--config", str(config), "config", "edit", env=env)
    assert result.code == 12
    assert f"Error: config file {config} changed while it was being edited; your text is kept in " in result.err
    assert config.read_text() == "version: 2\n"
    assert len(list(config.parent.glob("config.yaml.*.rejected.yaml"))) == 1


def test_errors_have_no_traceback_unless_debug(tmp_path, env):
    config = tmp_path / "config.yaml"
    config.write_text("version: 9\n")
    quiet = run_ilab("--config", str(config), "config", "get", "chat.model", env=env)
    assert quiet.err.count("\n") == 1
    assert "Traceback" not in quiet.err
    env["ILABFS_DEBUG"] = "1"
    loud = run_ilab("--config", str(config), "config", "get", "chat.model", env=env)
    assert "Traceback" in loud.err
