"""Datasets: validation of training records, SDG folders, listing and deletion."""

from __future__ import annotations


import pytest

from sdg import SYSTEM, write_generate_run, write_jsonl


@pytest.fixture
def three_runs(tmp_path):
    root = tmp_path / "datasets"
    return [
        write_generate_run(root, "2025-01-14T10:02:11", knowledge=12, skills=30, seed=1),
        write_generate_run(root, "2025-01-20T08:30:00", knowledge=8, skills=45, seed=2),
        write_generate_run(root, "2025-02-02T16:45:09", knowledge=5, skills=17, seed=3),
    ]


def test_three_generate_runs_listed_with_samples_and_teacher(ilab, model_pair, three_runs):
    assert ilab("model", "add", str(model_pair[0]), "--name", "mixtral-8x7b-teacher").code == 0
    for number, run in enumerate(three_runs):
        teacher = "mixtral-8x7b-teacher" if number < 2 else "mistralai/Mixtral-8x7B-Instruct"
        result = ilab("data", "add", str(run), "--type", "skills", "--name", f"skills-{number}", "--teacher", teacher)
        assert result.code == 0, result.err

    listing = ilab("data", "list", "skills", "--json").json()
    rows = {row["name"]: row for row in listing["artifacts"]}
    assert len(rows) == 3
    assert [rows[f"skills-{n}:latest"]["samples"] for n in range(3)] == [30, 45, 17]
    assert rows["skills-0:latest"]["teacher"]["name"] == "mixtral-8x7b-teacher:latest"
    assert rows["skills-2:latest"]["teacher"]["name"] == "mistralai/Mixtral-8x7B-Instruct"
    assert all(row["phase"] == "phase10" and row["type"] == "skills" for row in rows.values())

    table = ilab("data", "list", "skills").out
    assert "DATASET ID" in table
    assert "NUM SAMPLES" in table
    assert "TEACHER MODEL" in table
    assert "phase10 skills" in table
    assert ilab("data", "list", "knowledge", "-q").out.strip() == ""


def test_generate_folder_keeps_only_real_datasets(ilab, three_runs):
    assert ilab("data", "add", str(three_runs[0]), "--type", "knowledge", "--name", "know").code == 0
    details = ilab("data", "inspect", "know", "--json").json()
    files = sorted(f["path"] for f in details["fileList"])
    assert files == ["knowledge_recipe_2025-01-14T10_02_11.yaml", "knowledge_train_msgs_2025-01-14T10_02_11.jsonl"]
    assert details["config"]["samples"] == 12
    assert details["config"]["recordShapes"] == {"messages": 11, "pretraining": 1}
    assert details["config"]["phase"] == "phase07"


def test_legacy_train_test_pair(ilab, tmp_path):
    folder = tmp_path / "2024-06-01_120000"
    write_jsonl(folder / "train_2024-06-01T12_00_00.jsonl", [{"system": SYSTEM, "user": f"q{i}", "assistant": "a"} for i in range(7)])
    write_jsonl(folder / "test_2024-06-01T12_00_00.jsonl", [{"system": SYSTEM, "user": "t", "assistant": "a"}])
    assert ilab("data", "add", str(folder), "--type", "skills", "--name", "old").code == 0
    config = ilab("data", "inspect", "old", "--json").json()["config"]
    assert config["samples"] == 7
    assert config["splits"]["test"] == ["test_2024-06-01T12_00_00.jsonl"]


BAD_RECORDS = [
    ({"messages": [{"role": "robot", "content": "x"}]}, "messages[0].role", "'robot' is not one of"),
    ({"messages": [{"role": "user", "content": 5}]}, "messages[0].content", "expected a string"),
    ({"messages": [{"role": "user", "content": "x"}], "metadata": {"a": 1}}, "metadata", "encoded as a string"),
    ({"messages": [{"role": "user", "content": "x"}], "metadata": "not json"}, "metadata", "does not hold a JSON object"),
    ({"messages": [{"role": "user", "content": "x"}], "unmask": "yes"}, "unmask", "expected true or false"),
    ({"messages": []}, "messages", "non-empty list"),
    ({"text": "hello"}, "messages", "missing"),
    ({"system": "s", "user": "u", "assistant": 3}, "assistant", "expected a string"),
]


@pytest.mark.parametrize("record,field,reason", BAD_RECORDS, ids=[case[1] + "-" + str(n) for n, case in enumerate(BAD_RECORDS)])
def test_malformed_record_names_file_line_field(ilab, tmp_path, record, field, reason):
    good = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}], "metadata": "{}", "id": "x", "unmask": False}
    path = write_jsonl(tmp_path / "skills_train_msgs_x.jsonl", [good, good, record])
    result = ilab("data", "add", str(path), "--type", "skills", "--name", "bad")
    assert result.code == 2
    assert "skills_train_msgs_x.jsonl line 3" in result.err
    assert f"field {field!r}" in result.err
    assert reason in result.err
    assert ilab("data", "list", "-q").out.strip() == ""


def test_invalid_json_line(ilab, tmp_path):
    path = tmp_path / "skills.jsonl"
    path.write_text('{"system": "s", "user": "u", "assistant": "a"}\n{broken\n')
    result = ilab("data", "add", str(path), "--type", "skills", "--name", "bad")
    assert result.code == 2
    assert "skills.jsonl line 2: not valid JSON" in result.err


def test_folder_without_data(ilab, tmp_path):
    (tmp_path / "empty-run").mkdir()
    result = ilab("data", "add", str(tmp_path / "empty-run"), "--type", "knowledge", "--name", "x")
    assert result.code == 3
    assert "no knowledge training data" in result.err


def test_dataset_path_and_delete(ilab, store_dir, three_runs):
    assert ilab("data", "add", str(three_runs[1]), "--type", "skills", "--name", "s").code == 0
    folder = ilab("data", "path", "s").out.strip()
    stored = sorted(p.name for p in __import__("pathlib").Path(folder).iterdir())
    assert stored == sorted(["skills_recipe_2025-01-20T08_30_00.yaml", "skills_train_msgs_2025-01-20T08_30_00.jsonl"])
    assert (three_runs[1] / stored[1]).read_bytes() == (__import__("pathlib").Path(folder) / stored[1]).read_bytes()
    assert ilab("data", "delete", "s").code == 0
    assert list((store_dir / "blobs" / "blake3").iterdir()) == []


def test_dataset_used_by_checkpoint_protected(ilab, model_pair, three_runs):
    ilab("data", "add", str(three_runs[0]), "--type", "skills", "--name", "s")
    ilab("model", "add", str(model_pair[0]), "--name", "base")
    ilab("model", "add", str(model_pair[1]), "--name", "ft", "--base", "base", "--dataset", "s", "--phase", "phase2")
    refused = ilab("data", "delete", "s")
    assert refused.code == 6
    assert "ft:latest" in refused.err
    assert "was trained with" in refused.err
    assert ilab("data", "delete", "s", "--dry-run", "--force").code == 0
    assert ilab("data", "delete", "s", "--force").code == 0
    row = ilab("model", "list", "--json").json()["artifacts"][0]
    assert row["dataset"]["missing"] is True
    assert "(missing)" in ilab("model", "list").out
