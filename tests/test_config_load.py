"""Loading config files: real-shaped InstructLab files, lossless round trips, and the exact problem messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from confighelp import FULL, NO_VERSION, PARTIAL, copy_fixture, explicit
from ilabfs.config.document import ConfigSyntaxError, dump, parse, to_plain
from ilabfs.config.keys import KEYS, SECTIONS
from ilabfs.config.loader import load_config, load_text
from ilabfs.config.migrations import migrate, read_version
from ilabfs.config.writer import migrate_config, set_value
from ilabfs.errors import ConfigError, NotFoundError


def _plain(path: Path) -> dict:
    document, _ = parse(path.read_text(), str(path))
    return to_plain(document)


def _without(document: dict, *keys: str) -> dict:
    return {key: value for key, value in document.items() if key not in keys}


def test_full_instructlab_config_loads_without_problems():
    loaded = load_config(explicit(FULL))
    assert loaded.file_version == 1
    assert loaded.problems == []
    assert loaded.unknown == []


def test_full_fixture_has_every_v1_key():
    original = _plain(FULL)
    for dotted, key in KEYS.items():
        if key.since > 1 or dotted == "version":
            continue
        node = original
        for part in dotted.split("."):
            assert part in node, f"{dotted} missing from the fixture"
            node = node[part]


@pytest.mark.parametrize("fixture", [FULL, PARTIAL], ids=["full", "partial"])
def test_every_value_survives_load_migrate_save(tmp_path, fixture):
    path = copy_fixture(fixture, tmp_path)
    before = _plain(path)

    result = migrate_config(explicit(path))
    after = _plain(path)

    assert result.migration.source_version == 1
    assert after["version"] == "2.0.0"
    assert after["storage"] == {"root": None}
    assert _without(after, "version", "storage") == _without(before, "version")


@pytest.mark.parametrize("fixture", [FULL, PARTIAL], ids=["full", "partial"])
def test_migration_changes_only_version_and_storage_lines(tmp_path, fixture):
    path = copy_fixture(fixture, tmp_path)
    before = path.read_text().splitlines()

    migrate_config(explicit(path))
    after = path.read_text().splitlines()

    removed = [line for line in before if line not in after]
    added = [line for line in after if line not in before]
    assert removed == ["version: 1.0.0"]
    assert "version: 2.0.0" in added
    assert "storage:" in added
    assert "  root:" in added
    assert len(added) == 5


def test_mixed_nulls_take_the_spelling_of_most(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("version: 2\nchat:\n  max_tokens: null\n  session:\n  model: m\n  logs_dir:\n")
    set_value(explicit(path), "chat.model", "n")
    assert path.read_text() == "version: 2\nchat:\n  max_tokens:\n  session:\n  model: n\n  logs_dir:\n"


def test_spelled_out_nulls_stay_spelled_out(tmp_path):
    path = copy_fixture(NO_VERSION, tmp_path)
    migrate_config(explicit(path))
    lines = path.read_text().splitlines()
    assert "  max_tokens: null" in lines
    assert "  session: null" in lines


def test_full_round_trip_keeps_spelling_of_values(tmp_path):
    path = copy_fixture(FULL, tmp_path)
    migrate_config(explicit(path))
    text = path.read_text()
    for line in (
        "  phased_phase1_learning_rate: '2e-05'",
        "  log_format: '%(levelname)s %(asctime)s %(name)s:%(lineno)d: %(message)s'",
        "    learning_rate: 2.0e-05",
        "      llm_family: ''",
        "  context: cli_helper   # shell help by default",
        "    output_file_formats: 'csv,jsonl'",
        "# Everything below the blank line is read the same way.",
    ):
        assert line in text.splitlines()


def test_set_keeps_every_other_value_and_comment(tmp_path):
    path = copy_fixture(FULL, tmp_path)
    before = path.read_text().splitlines()

    set_value(explicit(path), "serve.server.port", "9100")
    after = path.read_text().splitlines()

    assert [line for line in before if line not in after] == ["    port: 8000  # the default port"]
    assert [line for line in after if line not in before] == ["    port: 9100  # the default port"]


def test_partial_config_fills_defaults_in_memory():
    loaded = load_config(explicit(PARTIAL))
    assert loaded.problems == []
    assert loaded.document["serve"]["server"]["port"] == 8080
    assert "host" not in loaded.document["serve"]["server"]


def test_missing_default_file_means_defaults(tmp_path, monkeypatch):
    from confighelp import set_platform_env

    set_platform_env(monkeypatch, tmp_path)
    loaded = load_config()
    assert not loaded.exists
    assert loaded.problems == []


def test_missing_explicit_file_is_not_found(tmp_path):
    with pytest.raises(NotFoundError) as caught:
        load_config(explicit(tmp_path / "nope.yaml"))
    assert f"config file {tmp_path / 'nope.yaml'} not found (named by --config)" in caught.value.message


def test_no_version_is_version_0():
    loaded = load_config(explicit(NO_VERSION))
    assert loaded.file_version == 0
    assert loaded.problems == []
    assert loaded.document["version"] == "2.0.0"


def test_unknown_keys_are_kept_and_named(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("version: 2\nchat:\n  context: default\n  colour: blue\nfrobnicate: true\n")

    loaded = load_config(explicit(path))

    assert [problem.describe(loaded.source) for problem in loaded.unknown] == [
        f"{path}:4: unknown key chat.colour is kept but not used",
        f"{path}:5: unknown key frobnicate is kept but not used",
    ]
    assert loaded.document["chat"]["colour"] == "blue"
    assert loaded.document["frobnicate"] is True
    assert loaded.problems == []


def test_unknown_key_suggests_close_name(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("version: 2\ntrain:\n  num_epoch: 3\n")
    loaded = load_config(explicit(path))
    assert loaded.unknown[0].message == "unknown key train.num_epoch is kept but not used (did you mean train.num_epochs?)"


def test_bad_enum_exact_message(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("version: 2\nchat:\n  vi_mode: false\n  context: friendly\n")

    loaded = load_config(explicit(path))
    with pytest.raises(ConfigError) as caught:
        loaded.raise_for_problems()

    message = caught.value.message
    assert message == f"{path}:4: invalid value 'friendly' for chat.context: expected one of default, cli_helper"
    assert caught.value.exit_code == 12
    assert "ilab config validate" in caught.value.hint


def test_every_problem_is_listed_with_its_line(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("version: 2\ntrain:\n  device: tpu\n  num_epochs: -1\nserve:\n  server:\n    port: http\n")
    loaded = load_config(explicit(path))
    assert [problem.describe(loaded.source) for problem in loaded.problems] == [
        f"{path}:3: invalid value 'tpu' for train.device: expected one of cpu, mps, cuda, hpu",
        f"{path}:4: invalid value -1 for train.num_epochs: expected an integer of 1 or more",
        f"{path}:7: invalid value 'http' for serve.server.port: expected an integer from 1 to 65535",
    ]


def test_scalar_section_is_invalid(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("version: 2\nserve: fast\n")
    loaded = load_config(explicit(path))
    assert loaded.problems[0].describe(loaded.source) == (
        f"{path}:2: invalid value 'fast' for serve: expected a section (a mapping of keys such as serve.backend)"
    )


def test_empty_section_means_defaults(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("version: 2\nchat:\n")
    assert load_config(explicit(path)).problems == []


def test_yaml_syntax_error_names_file_line_and_column(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("version: 2\nchat:\n  context: default\n   model: x\n")

    with pytest.raises(ConfigSyntaxError) as caught:
        load_config(explicit(path))

    assert caught.value.message == f"{path}:4:9: invalid YAML: mapping values are not allowed here"
    assert caught.value.values["line"] == 4
    assert caught.value.values["column"] == 9
    assert caught.value.exit_code == 12
    assert caught.value.hint == "fix the file with ilab config edit"


def test_duplicate_key_is_a_syntax_error(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("version: 2\nchat:\n  context: default\n  context: cli_helper\n")
    with pytest.raises(ConfigSyntaxError) as caught:
        load_config(explicit(path))
    assert caught.value.message.startswith(f"{path}:4:3: invalid YAML: found duplicate key \"context\"")


def test_top_level_list_is_rejected(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("- chat\n- serve\n")
    with pytest.raises(ConfigError) as caught:
        load_config(explicit(path))
    assert caught.value.message == f"{path}:1: invalid config: the file contains a list, not a mapping of sections"


def test_non_utf8_file_names_the_line(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_bytes(b"version: 2\nchat:\n  context: caf\xe9\n")
    with pytest.raises(ConfigError) as caught:
        load_config(explicit(path))
    assert caught.value.message == f"{path}:3: invalid config: byte 31 is not UTF-8 text"


def test_future_version_is_refused_naming_both_versions(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("chat:\n  context: default\nversion: 3.0.0\n")

    with pytest.raises(ConfigError) as caught:
        load_config(explicit(path))

    assert caught.value.message.startswith(f"{path}:3: config version 3.0.0 is newer than this ilabfs (")
    assert caught.value.message.endswith("which reads versions 0 to 2")
    assert "config version 3" in caught.value.hint


@pytest.mark.parametrize("written,version", [("1.0.0", 1), ("1", 1), (1, 1), ("2.0.0", 2), (2, 2), ("'2'", 2), ("1.0", 1)])
def test_version_spellings(written, version):
    document, _ = parse(f"version: {written}\n", "config.yaml")
    assert read_version(document, "config.yaml") == (version, None)


def test_invalid_version_is_a_problem_not_a_crash(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("version: banana\nchat:\n  context: default\n")
    loaded = load_config(explicit(path))
    assert loaded.problems[0].describe(loaded.source) == (
        f"{path}:1: invalid value 'banana' for version: expected a whole number such as 2, or a version string such as 1.0.0"
    )


@pytest.mark.parametrize(
    "line",
    [
        "chat:\n  vi_mode: yes",
        "chat:\n  vi_mode: 'false'",
        "chat:\n  temperature: '0.5'",
        "chat:\n  temperature: 1",
        "train:\n  num_epochs: '3'",
        "general:\n  log_level: debug",
        "evaluate:\n  mmlu:\n    batch_size: 16",
        "train:\n  lora_quantize_dtype:",
    ],
)
def test_values_instructlab_accepts_are_valid(tmp_path, line):
    loaded = load_text(f"version: 2\n{line}\n", explicit(tmp_path / "config.yaml"))
    assert loaded.problems == []


@pytest.mark.parametrize(
    "line,expected",
    [
        ("chat:\n  vi_mode: maybe", "expected true or false"),
        ("chat:\n  temperature: hot", "expected a number"),
        ("general:\n  log_format: '%(nonsense'", "expected a Python logging format string"),
        ("evaluate:\n  dk_bench:\n    output_file_formats: csv,pdf", "expected a comma-separated list of csv, jsonl, xlsx"),
        ("evaluate:\n  mmlu:\n    batch_size: 0", "expected an integer of 1 or more, or auto"),
        ("models:\n- id: m\n  path: /x", "expected a list of mappings, each with the strings id, family and path"),
        ("serve:\n  vllm:\n    vllm_args: --dtype auto", "expected a list of strings, or null"),
        ("train:\n  additional_args: [1]", "expected a mapping of names to values"),
    ],
)
def test_invalid_values_say_what_is_allowed(tmp_path, line, expected):
    loaded = load_text(f"version: 2\n{line}\n", explicit(tmp_path / "config.yaml"))
    assert len(loaded.problems) == 1
    assert expected in loaded.problems[0].message


def test_schema_keys_all_have_descriptions_and_valid_defaults():
    from ilabfs.config.paths import fill_placeholders

    for dotted, key in KEYS.items():
        assert key.description.strip(), dotted
        assert "\n" not in key.description, dotted
        if dotted != "version":
            assert key.type.check(fill_placeholders(key.default)), dotted
    for dotted, section in SECTIONS.items():
        assert section.description.strip(), dotted


def test_migrated_document_dumps_and_parses_again():
    document, style = parse(NO_VERSION.read_text(), str(NO_VERSION))
    migrate(document, 0)
    again, _ = parse(dump(document, style), "again")
    assert to_plain(again) == to_plain(document)
