"""Model and dataset keys that name a store ref: how a value is classified and what it resolves to."""

from __future__ import annotations

from pathlib import Path

import pytest

from confighelp import explicit, platform_env, run_ilab, set_platform_env
from ilabfs.config.keys import KEYS, ref_keys
from ilabfs.config.loader import load_config, store_overrides
from ilabfs.config.refs import HUB, PATH_VALUE, REF, classify
from ilabfs.config.render import effective_document
from ilabfs.config.resolve import resolve_values
from ilabfs.errors import NotFoundError
from ilabfs.models import add_model
from ilabfs.scan import scan_source
from ilabfs.store import Store


@pytest.mark.parametrize(
    "key,value,expected",
    [
        ("chat.model", "granite-7b-base", REF),
        ("chat.model", "granite-7b-base:latest", REF),
        ("chat.model", "67f1", REF),
        ("chat.model", "blake3:" + "0" * 64, REF),
        ("chat.model", "granite@blake3:" + "0" * 64, REF),
        ("chat.model", "ref:ibm/granite:v2", REF),
        ("chat.model", "/models/m.gguf", PATH_VALUE),
        ("chat.model", "./m.gguf", PATH_VALUE),
        ("chat.model", "../m.gguf", PATH_VALUE),
        ("chat.model", ".hidden", PATH_VALUE),
        ("chat.model", "~/m.gguf", PATH_VALUE),
        ("chat.model", "$MODELS/m.gguf", PATH_VALUE),
        ("chat.model", "models/m.gguf", PATH_VALUE),
        ("train.model_path", "instructlab/granite-7b-lab", HUB),
        ("train.model_path", "./instructlab/granite-7b-lab", PATH_VALUE),
        ("train.data_path", "skills-0114", REF),
        ("train.data_path", "datasets/skills.jsonl", PATH_VALUE),
    ],
)
def test_classify(key, value, expected):
    assert classify(KEYS[key], value) == expected


def test_ref_keys_are_the_model_and_dataset_keys():
    assert sorted(key.path for key in ref_keys()) == [
        "chat.model",
        "generate.model",
        "generate.teacher.model_path",
        "serve.model_path",
        "train.data_path",
        "train.model_path",
        "train.phased_phase1_data",
        "train.phased_phase2_data",
    ]


@pytest.fixture
def store_with_models(tmp_path, monkeypatch, model_pair):
    """A store holding a folder model, a one-file GGUF model, a namespaced model and a dataset."""
    set_platform_env(monkeypatch, tmp_path)
    store = Store(tmp_path / "store")
    folder = add_model(store, model_pair[0], "granite-7b-base")
    gguf = tmp_path / "granite-7b-lab-Q4_K_M.gguf"
    gguf.write_bytes(b"GGUF" + bytes(range(256)) * 16)
    single = add_model(store, gguf, "granite-lab-gguf")
    add_model(store, gguf, "ibm/granite:v2")
    data = tmp_path / "skills"
    data.mkdir()
    (data / "train.jsonl").write_text('{"messages": []}\n')
    dataset = store.add_artifact("dataset", scan_source(data), {"type": "skills"}, "skills-0114")
    return store, folder, single, dataset


def _resolve(tmp_path: Path, store: Store, body: str) -> dict:
    config = tmp_path / "config.yaml"
    config.write_text(f"version: 2\nstorage:\n  root: {store.root}\n{body}")
    loaded = load_config(explicit(config))
    assert loaded.problems == []
    document = effective_document(loaded, store_overrides())
    return resolve_values(loaded, document, store_overrides())


def test_folder_model_ref_resolves_to_view(tmp_path, store_with_models):
    store, folder, _, _ = store_with_models
    resolved = _resolve(tmp_path, store, "train:\n  model_path: granite-7b-base:latest\n")
    item = resolved["train.model_path"]
    assert item.value == str(store.root / "views" / "model" / folder.digest)
    assert (Path(item.value) / "config.json").exists()
    assert item.note == f"model granite-7b-base:latest = blake3:{folder.digest}"


def test_one_file_model_ref_resolves_to_the_file(tmp_path, store_with_models):
    store, _, single, _ = store_with_models
    resolved = _resolve(tmp_path, store, "chat:\n  model: granite-lab-gguf\nserve:\n  model_path: ref:ibm/granite:v2\n")
    view = store.root / "views" / "model" / single.digest
    assert resolved["chat.model"].value == str(view / "granite-7b-lab-Q4_K_M.gguf")
    assert resolved["serve.model_path"].value == str(view / "granite-7b-lab-Q4_K_M.gguf")


def test_digest_prefix_ref(tmp_path, store_with_models):
    store, folder, _, _ = store_with_models
    resolved = _resolve(tmp_path, store, f"generate:\n  teacher:\n    model_path: {folder.digest[:12]}\n")
    assert resolved["generate.teacher.model_path"].value == str(store.root / "views" / "model" / folder.digest)


def test_dataset_ref_resolves_to_the_file(tmp_path, store_with_models):
    store, _, _, dataset = store_with_models
    resolved = _resolve(tmp_path, store, "train:\n  data_path: skills-0114\n  phased_phase2_data: skills-0114\n")
    expected = str(store.root / "views" / "dataset" / dataset.digest / "train.jsonl")
    assert resolved["train.data_path"].value == expected
    assert resolved["train.phased_phase2_data"].value == expected


def test_paths_and_hub_ids_are_not_refs(tmp_path, store_with_models):
    store, _, _, _ = store_with_models
    resolved = _resolve(tmp_path, store, "train:\n  model_path: instructlab/granite-7b-lab\nchat:\n  model: ./m.gguf\n")
    assert resolved["train.model_path"].value == "instructlab/granite-7b-lab"
    assert resolved["train.model_path"].note == "Hugging Face repo id"
    assert resolved["chat.model"].value == str(tmp_path / "m.gguf")


def test_unresolvable_ref_names_key_and_line(tmp_path, store_with_models):
    store, _, _, _ = store_with_models
    with pytest.raises(NotFoundError) as caught:
        _resolve(tmp_path, store, "serve:\n  backend: vllm\n  model_path: granite-8b\n")
    assert caught.value.message == f"{tmp_path / 'config.yaml'}:6: serve.model_path: model 'granite-8b' not found in the store {store.root}"
    assert caught.value.hint.startswith("add it with ilab model add, change serve.model_path with ilab config set")
    assert caught.value.exit_code == 3


def test_ref_of_wrong_kind_is_not_found(tmp_path, store_with_models):
    store, _, _, _ = store_with_models
    with pytest.raises(NotFoundError) as caught:
        _resolve(tmp_path, store, "train:\n  data_path: granite-7b-base\n")
    assert "train.data_path: dataset 'granite-7b-base' not found" in caught.value.message


def test_ref_without_store_names_key(tmp_path, monkeypatch):
    set_platform_env(monkeypatch, tmp_path)
    config = tmp_path / "config.yaml"
    config.write_text(f"version: 2\nstorage:\n  root: {tmp_path / 'none'}\nchat:\n  model: granite\n")
    loaded = load_config(explicit(config))
    with pytest.raises(NotFoundError) as caught:
        resolve_values(loaded, effective_document(loaded, {}), {})
    assert caught.value.message == f"{config}:5: chat.model: model 'granite' is a ref, but there is no store at {tmp_path / 'none'}"


def test_cli_show_resolved_prints_view_and_digest(tmp_path, store_with_models):
    store, folder, _, _ = store_with_models
    config = tmp_path / "config.yaml"
    config.write_text("train:\n  model_path: granite-7b-base\nversion: 2\n")
    env = platform_env(tmp_path, ILABFS_STORE=str(store.root))

    shown = run_ilab("--config", str(config), "config", "show", "--resolved", "-k", "train.model_path", env=env)
    got = run_ilab("--config", str(config), "config", "get", "--resolved", "train.model_path", env=env)
    section = run_ilab("--config", str(config), "config", "show", "--resolved", "-k", "train", env=env)

    view = store.root / "views" / "model" / folder.digest
    assert shown.out == f"{view}\n"
    assert got.out == f"{view}\n"
    assert f"model_path: {view}  # model granite-7b-base = blake3:{folder.digest}\n" in section.out


def test_cli_validate_reports_unresolvable_ref(tmp_path, store_with_models):
    store, _, _, _ = store_with_models
    config = tmp_path / "config.yaml"
    config.write_text("chat:\n  model: no-such-model\nversion: 2\n")
    env = platform_env(tmp_path, ILABFS_STORE=str(store.root))

    result = run_ilab("--config", str(config), "config", "validate", env=env)

    assert result.code == 12
    assert result.out == f"{config}:2: chat.model: model 'no-such-model' not found in the store {store.root}\n"
    assert result.err == f"Error: 1 problem in {config}; fix it with ilab config set or ilab config edit\n"


def test_cli_validate_does_not_build_views(tmp_path, store_with_models):
    store, _, _, _ = store_with_models
    config = tmp_path / "config.yaml"
    config.write_text("chat:\n  model: granite-lab-gguf\nversion: 2\n")
    env = platform_env(tmp_path, ILABFS_STORE=str(store.root))
    result = run_ilab("--config", str(config), "config", "validate", env=env)
    assert result.code == 0, result.err
    assert not (store.root / "views").exists()


def test_cli_set_warns_on_unresolvable_ref(tmp_path, store_with_models):
    store, _, _, _ = store_with_models
    config = tmp_path / "config.yaml"
    config.write_text("version: 2\nserve:\n  model_path: granite-lab-gguf\n")
    env = platform_env(tmp_path, ILABFS_STORE=str(store.root))

    missing = run_ilab("--config", str(config), "config", "set", "serve.model_path", "granite-8b", env=env)
    found = run_ilab("--config", str(config), "config", "set", "serve.model_path", "granite-7b-base", env=env)

    assert missing.code == 0
    assert missing.err == f"Warning: {config}:3: serve.model_path: model 'granite-8b' not found in the store {store.root}\n"
    assert found.code == 0
    assert found.err == ""
