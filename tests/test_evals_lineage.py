"""Eval results linked to exact checkpoints, lineage trees, and the trainer API."""

from __future__ import annotations

import shutil

import pytest

from conftest import make_model
from sdg import write_generate_run, write_mmlu_result, write_mt_bench_result
from ilabfs import api


@pytest.fixture
def two_runs(tmp_path, model_pair):
    """Two training runs that each wrote a checkpoint called samples_29008, with different weights."""
    checkpoints = []
    for run in ("run-a", "run-b"):
        folder = tmp_path / run / "hf_format" / "samples_29008"
        make_model.write_finetune(model_pair[0], folder, changed=1, seed=11 if run == "run-a" else 12)
        checkpoints.append(folder)
    return checkpoints


def test_same_basename_from_two_runs_both_kept(ilab, tmp_path, model_pair, two_runs):
    ilab("model", "add", str(model_pair[0]), "--name", "granite-base")
    for run, folder in zip(("run-a", "run-b"), two_runs):
        result = ilab("model", "add", str(folder), "--name", f"granite-ft-{run}:samples_29008", "--base", "granite-base",
                      "--phase", "phase2", "--step", "29008", "--run", run)
        assert result.code == 0, result.err

    mmlu = write_mmlu_result(tmp_path / "mmlu.json", "samples_29008", 0.512)
    mt = write_mt_bench_result(tmp_path / "mt.json", "samples_29008", 7.41)
    assert ilab("eval", "add", "granite-ft-run-a:samples_29008", "--file", str(mmlu)).code == 0
    assert ilab("eval", "add", "granite-ft-run-b:samples_29008", "--file", str(mt)).code == 0
    assert ilab("eval", "add", "granite-ft-run-b:samples_29008", "--metric", "mmlu", "--score", "0.498").code == 0

    rows = ilab("eval", "list", "--json").json()["artifacts"]
    assert len(rows) == 3
    by_model = {(row["model"]["name"], row["metric"]): row["score"] for row in rows}
    assert by_model == {
        ("granite-ft-run-a:samples_29008", "MMLU"): 0.512,
        ("granite-ft-run-b:samples_29008", "MT-Bench"): 7.41,
        ("granite-ft-run-b:samples_29008", "MMLU"): 0.498,
    }
    assert all(row["baseModel"]["name"] == "granite-base:latest" for row in rows)

    table = ilab("eval", "list").out
    for header in ("EVAL ID", "MODEL REF", "BASE MODEL", "EVAL SCORE", "METRIC", "EVAL DATE"):
        assert header in table
    assert "51.2%" in table
    assert "7.41" in table
    assert len(ilab("eval", "list", "--metric", "mt-bench", "-q").out.split()) == 1
    assert len(ilab("eval", "list", "--model", "granite-ft-run-b:samples_29008", "-q").out.split()) == 2


def test_eval_manifest_subject_is_model(ilab, store_dir, model_pair, tmp_path):
    ilab("model", "add", str(model_pair[0]), "--name", "m")
    model_digest = ilab("model", "list", "--json").json()["artifacts"][0]["digest"]
    ilab("eval", "add", "m", "--file", str(write_mmlu_result(tmp_path / "r.json", "m", 0.3)))
    details = ilab("eval", "inspect", ilab("eval", "list", "-q").out.strip(), "--json").json()
    assert details["manifest"]["subject"]["digest"] == model_digest
    assert details["manifest"]["artifactType"] == "application/vnd.ilabfs.eval.v1"
    assert [f["path"] for f in details["fileList"]] == ["r.json"]


def test_eval_needs_metric_and_score(ilab, model_pair, tmp_path):
    ilab("model", "add", str(model_pair[0]), "--name", "m")
    result = ilab("eval", "add", "m", "--score", "3")
    assert result.code == 2
    assert "no metric given" in result.err
    result = ilab("eval", "add", "m", "--metric", "DK-Bench")
    assert result.code == 2
    assert "no DK-Bench score" in result.err


def test_model_with_evals_protected_and_clear(ilab, model_pair, tmp_path):
    ilab("model", "add", str(model_pair[0]), "--name", "m")
    ilab("eval", "add", "m", "--metric", "MMLU", "--score", "0.4")
    refused = ilab("model", "delete", "m")
    assert refused.code == 6
    assert "measures" in refused.err
    assert ilab("eval", "clear").code == 2
    assert ilab("eval", "clear", "--yes").code == 0
    assert ilab("eval", "list", "-q").out.strip() == ""
    assert ilab("model", "delete", "m").code == 0


def test_lineage_with_missing_parent(ilab, model_pair, tmp_path, two_runs):
    ilab("model", "add", str(model_pair[0]), "--name", "base")
    ilab("model", "add", str(two_runs[0]), "--name", "p1:s100", "--base", "base", "--phase", "phase1", "--step", "100")
    ilab("model", "add", str(two_runs[1]), "--name", "p2:s200", "--base", "p1:s100", "--phase", "phase2", "--step", "200")
    ilab("eval", "add", "p2:s200", "--metric", "MT-Bench", "--score", "7.1")

    tree = ilab("model", "lineage", "p2:s200").out
    assert tree.splitlines()[0].startswith("base:latest")
    assert "p1:s100" in tree
    assert "phase1" in tree
    assert "p2:s200" in tree
    assert "MT-Bench 7.10" in tree

    refused = ilab("model", "delete", "base")
    assert refused.code == 6
    assert "p1:s100" in refused.err
    assert ilab("model", "delete", "base", "--force").code == 0
    after = ilab("model", "lineage", "p2:s200", "--json").json()
    assert after["missing"] is True
    assert after["children"][0]["name"] == "p1:s100"
    assert "(missing)" in ilab("model", "lineage", "p1:s100").out.splitlines()[0]


def test_trainer_api_round_trip(tmp_path, model_pair):
    store = tmp_path / "store"
    runs = write_generate_run(tmp_path / "datasets", "2025-03-01T09:00:00", knowledge=4, skills=9)
    shutil.copytree(model_pair[0], tmp_path / "base")
    base_ref = api.save_checkpoint(tmp_path / "base", name="granite-base", mode="copy", store=store)
    data_ref = api.add_dataset(runs, name="skills-0301", dataset_type="skills", store=store)

    model_dir = api.resolve_path("granite-base", store=store)
    data_dir = api.resolve_path("skills-0301", kind="dataset", store=store)
    assert (model_dir / "config.json").exists()
    assert any(p.name.startswith("skills_train_msgs") for p in data_dir.iterdir())

    out = tmp_path / "ckpt" / "samples_9"
    make_model.write_finetune(model_dir, out, changed=1, seed=5)
    ref = api.save_checkpoint(out, name="granite-ft:samples_9", base=base_ref, dataset=data_ref, phase="phase2", step=9, run="r1", store=store)
    assert ref.startswith("granite-ft:samples_9@blake3:")
    assert not out.exists()
    result = api.record_eval(ref, metric="MT-Bench", score=6.5, store=store)
    assert result.startswith("blake3:")

    from ilabfs.catalog import list_artifacts
    from ilabfs.store import Store

    [row] = [r for r in list_artifacts(Store(store), "model")["artifacts"] if r["name"] == "granite-ft:samples_9"]
    assert row["baseModel"]["name"] == "granite-base:latest"
    assert row["dataset"]["name"] == "skills-0301:latest"
    assert (row["phase"], row["step"], row["run"]) == ("phase2", 9, "r1")


def test_lineage_of_long_chain(tmp_path):
    """A chain deeper than Python's recursion limit still prints, as text and as JSON."""
    import subprocess

    from conftest import cli_env, ilab_command
    from ilabfs.models import add_model
    from ilabfs.store import Store

    store = Store(tmp_path / "store")
    source = tmp_path / "src"
    source.mkdir()
    (source / "config.json").write_text("{}")
    parent = None
    for step in range(600):
        (source / "a.bin").write_text(str(step))
        add_model(store, source, f"c{step}", base=parent, mode="copy")
        parent = f"c{step}"

    text = subprocess.run(ilab_command("model", "lineage", "c599"), env=cli_env(store.root), capture_output=True, text=True)
    assert text.returncode == 0, text.stderr
    assert text.stdout.splitlines()[0].startswith("c0:latest")
    assert "c599:latest" in text.stdout.splitlines()[-1]
    as_json = subprocess.run(ilab_command("model", "lineage", "c599", "--json"), env=cli_env(store.root), capture_output=True, text=True)
    assert as_json.returncode == 0, as_json.stderr[-300:]


def test_eval_result_file_edge_cases(ilab, model_pair, tmp_path):
    ilab("model", "add", str(model_pair[0]), "--name", "m")
    one_row = tmp_path / "dk.jsonl"
    one_row.write_text('{"scores": 5, "timestamp": "2025-02-04T16:18:02"}\n')
    assert ilab("eval", "add", "m", "--file", str(one_row)).code == 0
    boolean = tmp_path / "b.json"
    boolean.write_text('{"benchmark": "mmlu", "overall_score": true}')
    result = ilab("eval", "add", "m", "--file", str(boolean))
    assert result.code == 2
    assert "b.json" in result.err
    huge = tmp_path / "t.jsonl"
    huge.write_text('{"judgment": "x", "score": 8, "tstamp": 1e20}\n{"judgment": "x", "score": 7, "tstamp": 1}\n')
    assert ilab("eval", "add", "m", "--file", str(huge)).code == 0
    assert ilab("eval", "add", "m", "--metric", "MMLU", "--score", "nan").err.startswith("Error: invalid --score")
    bad_date = ilab("eval", "add", "m", "--metric", "MMLU", "--score", "0.5", "--date", "9999-12-31T23:59:59-05:00")
    assert bad_date.code == 2
    assert "invalid --date" in bad_date.err


def test_deeply_nested_record_rejected(ilab, tmp_path):
    path = tmp_path / "deep.jsonl"
    path.write_text("[" * 100000 + "]" * 100000 + "\n")
    result = ilab("data", "add", str(path), "--type", "skills", "--name", "deep")
    assert result.code == 2
    assert "nested too deeply" in result.err


def test_recipe_alone_is_not_a_dataset(ilab, tmp_path):
    recipe = tmp_path / "skills_recipe_x.yaml"
    recipe.write_text("datasets: []\n")
    result = ilab("data", "add", str(recipe), "--type", "skills", "--name", "r")
    assert result.code == 2
    assert "no training JSONL file" in result.err
