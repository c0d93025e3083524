"""``ilab migrate-legacy`` against InstructLab trees written by examples/make_legacy_dir.py."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main
import yaml

from conftest import ROOT, CliResult, cli_env, ilab_command, make_model, make_writable, read_index
from ilabfs_cli.main import app


def _load_generator():
    spec = importlib.util.spec_from_file_location("make_legacy_dir", ROOT / "examples" / "make_legacy_dir.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_legacy_dir"] = module
    spec.loader.exec_module(module)
    return module


generator = _load_generator()

RUN = generator.PHASED_RUN_ID[:8]
STUDENT = "instructlab/granite-7b-lab:latest"
TEACHER = "mistral-7b-instruct-v0.2.Q4_K_M:latest"
FIRST_SKILLS = f"sdg-{generator.RUNS[0]}-skills:latest"
PHASED_KNOWLEDGE = f"sdg-{generator.RUNS[1]}-knowledge:latest"
PHASED_SKILLS = f"sdg-{generator.RUNS[1]}-skills:latest"
MODELS = {
    STUDENT,
    TEACHER,
    "granite-7b-starter:latest",
    "train-simple:ggml-model-f16",
    "train-hf:samples_14504",
    "train-hf:samples_29008",
    f"phased-{RUN}-phase1:samples_14504",
    f"phased-{RUN}-phase1:samples_29008",
    f"phased-{RUN}-phase2:samples_14504",
    f"phased-{RUN}-phase2:samples_29008",
}
DATASETS = {f"sdg-{run}-{kind}:latest" for run in generator.RUNS for kind in ("knowledge", "skills")}
ITEMS = len(MODELS) + len(DATASETS) + 4


def run_ilab(store: Path, *args: str, env: dict | None = None) -> CliResult:
    completed = subprocess.run(ilab_command(*args), capture_output=True, text=True, env={**cli_env(store), **(env or {})}, timeout=120)
    return CliResult(completed.returncode, completed.stdout, completed.stderr)


def migrate(store: Path, tree, *extra: str) -> CliResult:
    return run_ilab(store, "migrate-legacy", *tree.cli_options(), *extra)


def input_files(root: Path) -> dict[Path, str]:
    """Return the SHA-256 of every regular file under ``root``; symlinks are left out, their targets are files too."""
    found = {}
    for folder, _, names in os.walk(root):
        for name in names:
            path = Path(folder) / name
            if not path.is_symlink():
                found[path] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def by_name(listing: dict) -> dict[str, dict]:
    return {row["name"]: row for row in listing["artifacts"]}


@pytest.fixture(scope="module")
def migrated(tmp_path_factory):
    """Build one tree, record its files, and migrate it once; the tests below only read the result."""
    root = tmp_path_factory.mktemp("migrated")
    tree = generator.build(root / "legacy")
    store = root / "store"
    before = input_files(tree.root)
    result = migrate(store, tree, "--json")
    assert result.code == 0, result.err
    yield tree, store, before, result.json()
    make_writable(root)


@pytest.fixture
def tree(tmp_path):
    yield generator.build(tmp_path / "legacy")
    make_writable(tmp_path)


def test_migrate_imports_every_item_once(migrated):
    tree, store, _, summary = migrated
    models = run_ilab(store, "model", "list", "--json").json()
    datasets = run_ilab(store, "data", "list", "--json").json()
    evals = run_ilab(store, "eval", "list", "--json").json()

    assert summary["counts"]["imported"] == ITEMS
    assert summary["counts"]["failed"] == 0
    assert sorted(name for row in models["artifacts"] for name in row["names"]) == sorted(MODELS)
    assert sorted(name for row in datasets["artifacts"] for name in row["names"]) == sorted(DATASETS)
    assert evals["total"]["count"] == 4


def test_migrate_records_checkpoint_lineage(migrated):
    _, store, _, _ = migrated
    models = by_name(run_ilab(store, "model", "list", "--json").json())

    accelerated = models["train-hf:samples_29008"]
    assert accelerated["baseModel"]["name"] == STUDENT
    assert accelerated["dataset"]["name"] == FIRST_SKILLS
    assert accelerated["step"] == 29008
    assert accelerated["phase"] is None

    phase1 = models[f"phased-{RUN}-phase1:samples_14504"]
    assert phase1["baseModel"]["name"] == STUDENT
    assert phase1["dataset"]["name"] == PHASED_KNOWLEDGE
    assert (phase1["phase"], phase1["step"], phase1["run"]) == ("phase1", 14504, generator.PHASED_RUN_ID)

    phase2 = models[f"phased-{RUN}-phase2:samples_14504"]
    assert phase2["baseModel"]["name"] == f"phased-{RUN}-phase1:samples_29008"
    assert phase2["dataset"]["name"] == PHASED_SKILLS
    assert (phase2["phase"], phase2["step"], phase2["run"]) == ("phase2", 14504, generator.PHASED_RUN_ID)

    assert models["train-simple:ggml-model-f16"]["format"] == "gguf"
    assert models[TEACHER]["baseModel"] is None


def test_migrate_links_teacher_and_counts_samples(migrated):
    _, store, _, _ = migrated
    datasets = by_name(run_ilab(store, "data", "list", "--json").json())
    teacher = by_name(run_ilab(store, "model", "list", "--json").json())[TEACHER]

    for row in datasets.values():
        assert row["teacher"]["name"] == TEACHER
        assert row["teacher"]["digest"] == teacher["digest"]
    assert datasets[FIRST_SKILLS]["samples"] == 6
    assert datasets[PHASED_SKILLS]["samples"] == 9
    assert datasets[PHASED_KNOWLEDGE]["type"] == "knowledge"


def test_migrate_keeps_scores_on_the_right_model(migrated):
    _, store, _, _ = migrated
    evals = run_ilab(store, "eval", "list", "--json").json()["artifacts"]
    scores = {(row["metric"], row["model"]["name"]): row["score"] for row in evals}

    assert scores == {
        ("MT-Bench", f"phased-{RUN}-phase2:samples_14504"): 6.52,
        ("MT-Bench", f"phased-{RUN}-phase2:samples_29008"): 7.25,
        ("MT-Bench-Branch", STUDENT): 5.5,
        ("DK-Bench", STUDENT): 4.0,
    }


def test_migrate_skips_ambiguous_basenames(migrated):
    _, _, _, summary = migrated
    reasons = {Path(item["path"]).name: item["reason"] for item in summary["skipped"]}

    assert "ambiguous" in reasons[f"{generator.JUDGE}_single.jsonl"]
    assert "ambiguous" in reasons["results_2025-02-05T09:01:44.100200.jsonl"]
    assert "train-hf:samples_29008" in reasons["results_2025-02-05T09:01:44.100200.jsonl"]


def test_migrate_skips_intermediates_with_reasons(migrated):
    tree, _, _, summary = migrated
    reasons = {item["path"]: item["reason"] for item in summary["skipped"]}
    run_folder = str(tree.data_dir / "datasets" / generator.RUNS[0])

    assert "intermediate" in reasons[run_folder]
    for name in ("messages_", "preprocessed_", "generated_", "node_datasets_"):
        assert name in reasons[run_folder]
    assert "resume state" in reasons[str(tree.data_dir / "checkpoints" / "full_state")]
    stored_titles = {Path(item["source"]).name for item in summary["items"] if item["kind"] == "dataset"}
    assert not any(title.startswith(("messages_", "train_", "test_")) for title in stored_titles)


def test_migrate_stores_no_more_than_unique_input_bytes(migrated):
    tree, store, before, _ = migrated
    unique_input = sum({digest: path.stat().st_size for path, digest in before.items()}.values())
    blobs = list((store / "blobs" / "blake3").iterdir())
    stored = sum(blob.stat().st_size for blob in blobs)

    assert stored <= unique_input


def test_migrate_links_instead_of_copying(migrated):
    _, store, _, _ = migrated
    index = read_index(store)
    for digest, entry in index["artifacts"].items():
        if entry["kind"] == "eval":
            continue
        manifest = json.loads((store / "blobs" / "blake3" / digest).read_text())
        for layer in manifest["layers"]:
            blob = store / "blobs" / "blake3" / layer["digest"].removeprefix("blake3:")
            # A blob with a second link is a legacy file: its bytes exist once on disk.
            assert blob.stat().st_nlink >= 2, f"{layer['annotations']} of {entry['names']} was copied"


def test_migrate_leaves_old_paths_readable(migrated):
    _, _, before, _ = migrated
    for path, digest in before.items():
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, path


def test_second_run_imports_nothing(migrated):
    tree, store, _, _ = migrated
    index_before = read_index(store)
    summary = migrate(store, tree, "--json").json()

    assert summary["counts"]["imported"] == 0
    assert summary["counts"]["present"] == ITEMS
    assert summary["counts"]["failed"] == 0
    assert summary["renamed"] == []
    assert summary["bytesRead"] == 0
    assert read_index(store) == index_before


def test_results_with_same_basename_stay_apart(migrated):
    tree, store, _, _ = migrated
    added = run_ilab(store, "eval", "add", "train-hf:samples_29008", "--file", str(tree.mmlu_result))
    evals = run_ilab(store, "eval", "list", "--json").json()["artifacts"]
    mmlu = next(row for row in evals if row["metric"] == "MMLU")
    mt_bench = next(row for row in evals if row["metric"] == "MT-Bench" and row["score"] == 7.25)

    assert added.code == 0, added.err
    assert mmlu["model"]["name"] == "train-hf:samples_29008"
    assert mt_bench["model"]["name"] == f"phased-{RUN}-phase2:samples_29008"
    assert mmlu["model"]["digest"] != mt_bench["model"]["digest"]


def test_data_list_shows_three_skills_datasets(migrated, tmp_path):
    _, store, _, _ = migrated
    extra = generator.write_generate_run(tmp_path / "datasets", "2025-02-01_090000", knowledge=2, skills=4)
    added = run_ilab(store, "data", "add", str(extra), "--type", "skills", "--name", "sdg-extra", "--teacher", TEACHER)
    listing = run_ilab(store, "data", "list", "skills")

    assert added.code == 0, added.err
    rows = [line.split() for line in listing.out.splitlines()[1:-1]]
    assert len(rows) == 3
    assert {row[1]: row[5] for row in rows} == {FIRST_SKILLS: "6", PHASED_SKILLS: "9", "sdg-extra:latest": "4"}
    assert all(TEACHER in row for row in rows)
    assert listing.out.splitlines()[-1].startswith("3 datasets")


def test_dry_run_on_missing_store_changes_nothing(tree, tmp_path):
    store = tmp_path / "store"
    before = input_files(tree.root)
    # ctime moves with any change to data, mode, links or extended attributes.
    stats = {path: (path.stat().st_mode, path.stat().st_nlink, path.stat().st_ctime_ns) for path in before}
    result = migrate(store, tree, "--dry-run", "--json")

    assert result.code == 0, result.err
    assert result.json()["counts"]["planned"] == ITEMS
    assert not store.exists()
    assert input_files(tree.root) == before
    assert {path: (path.stat().st_mode, path.stat().st_nlink, path.stat().st_ctime_ns) for path in before} == stats


def test_dry_run_after_migration_plans_nothing(tree, tmp_path):
    store = tmp_path / "store"
    migrate(store, tree)
    index_before = read_index(store)
    blobs_before = sorted(os.listdir(store / "blobs" / "blake3"))
    summary = migrate(store, tree, "--dry-run", "--json").json()

    assert summary["counts"]["planned"] == 0
    assert summary["counts"]["present"] == ITEMS
    assert read_index(store) == index_before
    assert sorted(os.listdir(store / "blobs" / "blake3")) == blobs_before


def test_dry_run_plan_matches_real_run(tree, tmp_path):
    store = tmp_path / "store"
    planned = migrate(store, tree, "--dry-run", "--json").json()
    done = migrate(store, tree, "--json").json()

    assert [(item["kind"], item["name"], item["source"]) for item in planned["items"]] == [
        (item["kind"], item["name"], item["source"]) for item in done["items"]
    ]


def test_text_output_summarises(tree, tmp_path):
    result = migrate(tmp_path / "store", tree)

    assert result.code == 0, result.err
    assert f"{ITEMS} imported, 0 already present" in result.out
    assert "train-hf:samples_14504" in result.out
    assert "Skipped:" in result.out


def test_name_collisions_get_suffixes(tree, tmp_path):
    store = tmp_path / "store"
    other = tmp_path / "other-model"
    make_model.write_model(other, 256 << 10, shards=1, seed=9)
    assert run_ilab(store, "model", "add", str(other), "--name", "train-hf:samples_14504").code == 0
    make_model.write_model(tree.cache_dir / "models" / "InstructLab" / "granite-7b-lab", 256 << 10, shards=1, seed=8)
    summary = migrate(store, tree, "--json").json()
    names = {Path(item["source"]).relative_to(tree.root).as_posix(): item["name"] for item in summary["items"] if item["kind"] == "model"}
    renamed = {(item["planned"], item["chosen"]) for item in summary["renamed"]}

    assert names["share/instructlab/checkpoints/hf_format/samples_14504"] == "train-hf-2:samples_14504"
    assert names["cache/instructlab/models/InstructLab/granite-7b-lab"] == "InstructLab/granite-7b-lab:latest"
    assert names["cache/instructlab/models/instructlab/granite-7b-lab"] == "instructlab/granite-7b-lab-2:latest"
    assert renamed == {("train-hf:samples_14504", "train-hf-2:samples_14504"), (STUDENT, "instructlab/granite-7b-lab-2:latest")}
    assert migrate(store, tree, "--json").json()["counts"]["imported"] == 0


def test_item_added_by_hand_is_reused(tree, tmp_path):
    store = tmp_path / "store"
    teacher_file = tree.cache_dir / "models" / generator.TEACHER_GGUF
    assert run_ilab(store, "model", "add", str(teacher_file), "--name", "teacher").code == 0
    summary = migrate(store, tree, "--json").json()
    teacher = next(item for item in summary["items"] if item["source"] == str(teacher_file))
    datasets = run_ilab(store, "data", "list", "--json").json()["artifacts"]

    assert teacher["status"] == "present"
    assert teacher["names"] == ["teacher:latest"]
    assert all(row["teacher"]["name"] == "teacher:latest" for row in datasets)
    assert summary["counts"]["imported"] == ITEMS - 1


def test_oci_link_outside_blob_root_is_rejected(tree, tmp_path):
    other_blobs = tree.cache_dir / "oci" / "other-model" / "blobs" / "sha256"
    other_blobs.mkdir(parents=True)
    (other_blobs / "f00d").write_text("{}")
    folder = tree.cache_dir / "models" / generator.OCI_MODEL
    os.symlink(other_blobs / "f00d", folder / "extra.json")
    summary = migrate(tmp_path / "store", tree, "--json").json()
    reasons = {item["path"]: item["reason"] for item in summary["skipped"]}

    assert "points outside" in reasons[str(folder)]
    assert "granite-7b-starter:latest" not in {item["name"] for item in summary["items"]}


def test_oci_model_is_imported_through_its_links(migrated):
    tree, store, _, summary = migrated
    item = next(item for item in summary["items"] if item["name"] == "granite-7b-starter:latest")
    details = run_ilab(store, "model", "inspect", "granite-7b-starter", "--json").json()

    assert item["origin"] == "oci"
    assert {entry["path"] for entry in details["fileList"]} == {path.name for path in (tree.cache_dir / "models" / generator.OCI_MODEL).iterdir()}
    assert details["dataType"] == "BF16"


def test_move_mode_removes_legacy_files(tree, tmp_path):
    store = tmp_path / "store"
    summary = migrate(store, tree, "--mode", "move", "--json").json()
    checkpoint = tree.data_dir / "checkpoints" / "hf_format" / "samples_14504"
    oci_folder = tree.cache_dir / "models" / generator.OCI_MODEL
    models = run_ilab(store, "model", "list", "--json").json()

    assert summary["counts"]["imported"] == ITEMS
    assert not checkpoint.exists()
    assert not (tree.cache_dir / "models" / "instructlab" / "granite-7b-lab" / "config.json").exists()
    assert all(path.resolve().is_file() for path in oci_folder.iterdir())
    assert sorted(name for row in models["artifacts"] for name in row["names"]) == sorted(MODELS)
    assert migrate(store, tree, "--mode", "move", "--json").json()["counts"]["imported"] == 0


def test_failed_dataset_leaves_checkpoints_without_it(tree, tmp_path):
    data_file = tree.data_dir / "datasets" / generator.RUNS[0] / f"skills_train_msgs_{generator.file_stamp(generator.RUNS[0])}.jsonl"
    with open(data_file, "a") as handle:
        handle.write("not json\n")
    result = migrate(tmp_path / "store", tree, "--json")
    items = {item["name"]: item for item in result.json()["items"]}

    assert result.code == 2
    assert items[FIRST_SKILLS]["status"] == "failed"
    assert "not valid JSON" in items[FIRST_SKILLS]["error"]
    assert items["train-hf:samples_14504"]["status"] == "imported"
    assert items["train-hf:samples_14504"]["dataset"] is None
    assert "failed to import" in items["train-hf:samples_14504"]["warnings"][0]


def test_default_folders_come_from_platformdirs(tree, tmp_path):
    env = {
        "HOME": str(tmp_path / "home"),
        "XDG_DATA_HOME": str(tree.root / "share"),
        "XDG_CACHE_HOME": str(tree.root / "cache"),
        "XDG_CONFIG_HOME": str(tree.root / "config"),
    }
    result = run_ilab(tmp_path / "store", "migrate-legacy", "--dry-run", "--json", env=env)
    summary = result.json()

    assert result.code == 0, result.err
    assert summary["dataDir"] == str(tree.data_dir)
    assert summary["cacheDir"] == str(tree.cache_dir)
    assert summary["legacyConfig"] == str(tree.config_file)
    assert summary["counts"]["planned"] == ITEMS


def test_missing_folders_fail_with_not_found(tmp_path):
    missing = tmp_path / "missing"
    result = run_ilab(tmp_path / "store", "migrate-legacy", "--data-dir", str(missing), "--cache-dir", str(missing))

    assert result.code == 3
    assert result.err.startswith(f"Error: no InstructLab folders at {missing}")
    assert result.err.count("\n") == 1


def test_invalid_legacy_config_fails_with_config_error(tree, tmp_path):
    tree.config_file.write_text("train: [unclosed\n")
    result = migrate(tmp_path / "store", tree)

    assert result.code == 12
    assert "is not valid YAML" in result.err


def test_missing_default_config_only_loses_lineage(tree, tmp_path):
    env = {"XDG_CONFIG_HOME": str(tmp_path / "empty-config")}
    folders = ["--data-dir", str(tree.data_dir), "--cache-dir", str(tree.cache_dir)]
    summary = run_ilab(tmp_path / "store", "migrate-legacy", *folders, "--json", env=env).json()
    models = {item["name"]: item for item in summary["items"] if item["kind"] == "model"}

    assert summary["counts"]["imported"] == ITEMS
    assert models["train-hf:samples_14504"]["baseModel"] is None
    assert any("no legacy config" in note for note in summary["notes"])


def test_missing_explicit_config_fails(tree, tmp_path):
    tree.config_file.unlink()
    result = migrate(tmp_path / "store", tree)

    assert result.code == 3
    assert result.err.startswith(f"Error: legacy config {tree.config_file} does not exist")
    assert not (tmp_path / "store").exists()


def test_older_dataset_layouts_are_found(tree):
    from ilabfs.legacy import LegacyPaths, plan_migration

    datasets = tree.data_dir / "datasets"
    top = "2024-10-23T09_14_44"
    (datasets / f"knowledge_train_msgs_{top}.jsonl").write_text(json.dumps(generator.knowledge_records(1, "top")[0]) + "\n")
    (datasets / f"messages_{top}.jsonl").write_text("{}\n")
    old_run = datasets / "2024-11-02_081500"
    old_run.mkdir()
    row = {"system": "s", "user": "u", "assistant": "a"}
    (old_run / "train_merlinite-7b-lab-Q4_K_M_2024-11-02T08_15_00.jsonl").write_text(json.dumps(row) + "\n")
    (old_run / "test_merlinite-7b-lab-Q4_K_M_2024-11-02T08_15_00.jsonl").write_text(json.dumps(row) + "\n")
    plan = plan_migration(LegacyPaths(tree.data_dir, tree.cache_dir, tree.config_file))
    found = {item.name: item for item in plan.datasets}

    assert found[f"sdg-{top}-knowledge:latest"].dataset_type == "knowledge"
    legacy = found["sdg-2024-11-02_081500-legacy:latest"]
    assert [source.title for source in legacy.test] == ["test_merlinite-7b-lab-Q4_K_M_2024-11-02T08_15_00.jsonl"]
    assert str(datasets / f"messages_{top}.jsonl") in {str(item.path) for item in plan.skipped}


def test_relative_model_path_is_found_below_models(tree):
    from ilabfs.legacy import LegacyPaths, plan_migration

    config = yaml.safe_load(tree.config_file.read_text())
    config["train"]["model_path"] = generator.HF_MODEL
    tree.config_file.write_text(yaml.safe_dump(config))
    plan = plan_migration(LegacyPaths(tree.data_dir, tree.cache_dir, tree.config_file))
    checkpoint = next(item for item in plan.models if item.name == "train-hf:samples_14504")

    assert checkpoint.base == tree.cache_dir / "models" / generator.HF_MODEL
    assert plan.notes == []


def test_phased_names_without_journal(tree):
    from ilabfs.legacy import LegacyPaths, plan_migration

    (tree.data_dir / "phased" / "journalfile.yaml").unlink()
    plan = plan_migration(LegacyPaths(tree.data_dir, tree.cache_dir, tree.config_file))
    names = {item.name for item in plan.models if item.origin == "phased"}

    assert names == {f"phased-{phase}:samples_{step}" for phase in ("phase1", "phase2") for step in generator.STEPS}
    assert not any(item.origin == "journal" for item in plan.evals)


def test_help_has_example_line_and_option_help():
    command = typer.main.get_command(app).commands["migrate-legacy"]

    assert any(line.startswith("Example:") for line in command.help.splitlines())
    for parameter in command.params:
        if parameter.param_type_name == "option" and parameter.name != "help":
            assert parameter.help, parameter.opts
