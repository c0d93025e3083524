#!/usr/bin/env python3
"""Write the folders an InstructLab user ends up with, for tests of ``ilab migrate-legacy``.

Under one root folder this writes the three XDG folders that the ``ilab``
command of InstructLab fills, in the shapes its releases of 2024 and 2025
write them:

    ROOT/cache/instructlab/    models/ (a Hugging Face folder, a GGUF file, an
                               OCI-symlinked folder) and oci/ (the OCI layout)
    ROOT/share/instructlab/    datasets/ (two generate runs), checkpoints/ (an
                               accelerated train), phased/ (a phased train with
                               its journal), internal/eval_data/ (MT-Bench,
                               MT-Bench-Branch and DK-Bench results)
    ROOT/config/instructlab/config.yaml

plus ``ROOT/mmlu_samples_29008.json``, an MMLU summary of the accelerated
run's last checkpoint as a user would save it (InstructLab only prints MMLU
results). The legacy config points ``train.model_path`` at the Hugging Face
model and the teacher at the GGUF file. Paths in the config and the phased
journal are absolute paths under ROOT, so the tree can be read in place.

Usage:
    python examples/make_legacy_dir.py ROOT [--model-size 1M] [--no-oci]

Only the standard library, PyYAML and examples/make_model.py are used.
Tensor data is pseudorandom but fixed, so the same arguments give the same
file contents. The record texts are invented.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import random
import shutil
import struct
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

HF_MODEL = "instructlab/granite-7b-lab"
TEACHER_GGUF = "mistral-7b-instruct-v0.2.Q4_K_M.gguf"
OCI_MODEL = "granite-7b-starter"
RUNS = ("2025-01-14_100211", "2025-01-20_143005")
STEPS = (14504, 29008)
PHASED_RUN_ID = "5d3a9e21-7c44-4b0f-8a19-3e6f2b8c1d70"
JUDGE = "prometheus-8x7b-v2.0"
SYSTEM_PROMPT = "I am a helpful assistant built for the Marrow Creek field station."
GGUF_VERSION = 3


@dataclass(frozen=True)
class LegacyDir:
    """The folders of one generated tree, as ``migrate-legacy`` options take them."""

    root: Path
    data_dir: Path
    cache_dir: Path
    config_file: Path
    mmlu_result: Path

    def cli_options(self) -> list[str]:
        return ["--data-dir", str(self.data_dir), "--cache-dir", str(self.cache_dir), "--legacy-config", str(self.config_file)]


def _load_make_model():
    if "make_model" in sys.modules:
        return sys.modules["make_model"]
    spec = importlib.util.spec_from_file_location("make_model", Path(__file__).with_name("make_model.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_model"] = module
    spec.loader.exec_module(module)
    return module


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))


def _write_yaml(path: Path, document: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(document, sort_keys=False))


def file_stamp(run: str) -> str:
    """Return the timestamp SDG puts in file names for a run folder: ``2025-01-14T10_02_11``."""
    day, clock = run.split("_")
    return f"{day}T{clock[0:2]}_{clock[2:4]}_{clock[4:6]}"


# -- models -------------------------------------------------------------------


def write_gguf(path: Path, size: int, seed: int) -> None:
    """Write a GGUF file: magic ``GGUF``, version 3, zero tensors and zero metadata pairs, then data."""
    path.parent.mkdir(parents=True, exist_ok=True)
    header = b"GGUF" + struct.pack("<IQQ", GGUF_VERSION, 0, 0)
    data = random.Random(seed).randbytes(max(size - len(header), 0))
    path.write_bytes(header + data)


def _hf_download_metadata(folder: Path, names: list[str], seed: int) -> None:
    # huggingface_hub keeps one metadata file per downloaded file under <local_dir>/.cache.
    commit = hashlib.sha1(f"commit {seed}".encode()).hexdigest()
    for name in names:
        etag = hashlib.sha256(f"{seed} {name}".encode()).hexdigest()
        target = folder / ".cache" / "huggingface" / "download" / f"{name}.metadata"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(f"{commit}\n{etag}\n1736850000.0\n")


def write_hf_model(models: Path, size: int) -> Path:
    folder = models / HF_MODEL
    _load_make_model().write_model(folder, size, shards=4, seed=0)
    (folder / "README.md").write_text("# granite-7b-lab\n\nA small stand-in for the model card.\n")
    (folder / ".gitattributes").write_text("*.safetensors filter=lfs diff=lfs merge=lfs -text\n")
    _hf_download_metadata(folder, sorted(path.name for path in folder.iterdir() if path.is_file()), seed=0)
    return folder


def write_oci_model(cache: Path, size: int) -> Path:
    """Write an OCI image layout and a model folder whose files are symlinks to its blobs."""
    layout = cache / "oci" / OCI_MODEL
    blobs = layout / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)
    folder = cache / "models" / OCI_MODEL
    folder.mkdir(parents=True, exist_ok=True)

    layers = []
    with tempfile.TemporaryDirectory(dir=cache) as scratch:
        _load_make_model().write_model(Path(scratch) / "model", size, shards=2, seed=7)
        for source in sorted((Path(scratch) / "model").iterdir()):
            data = source.read_bytes()
            digest = hashlib.sha256(data).hexdigest()
            (blobs / digest).write_bytes(data)
            layers.append({
                "mediaType": "application/vnd.oci.image.layer.v1.tar",
                "digest": f"sha256:{digest}",
                "size": len(data),
                "annotations": {"org.opencontainers.image.title": source.name},
            })
            # ilab model download links each title to the absolute blob path.
            os.symlink(blobs / digest, folder / source.name)

    config = json.dumps({"architecture": "", "os": ""}).encode()
    config_digest = _write_blob(blobs, config)
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": f"sha256:{config_digest}", "size": len(config)},
        "layers": layers,
    }).encode()
    manifest_digest = _write_blob(blobs, manifest)
    (layout / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    index = {
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": f"sha256:{manifest_digest}",
            "size": len(manifest),
            "annotations": {"org.opencontainers.image.ref.name": "1.1"},
        }],
    }
    (layout / "index.json").write_text(json.dumps(index))
    return folder


def _write_blob(blobs: Path, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    (blobs / digest).write_bytes(data)
    return digest


# -- datasets -----------------------------------------------------------------

_FACTS = [
    ("When was the Marrow Creek field station founded?", "It was founded in 1962."),
    ("How high does the station sit?", "It sits at 1,840 metres."),
    ("What does the station measure every hour?", "Snow depth, wind speed and air temperature."),
    ("Which river rises below the station?", "The Marrow, a tributary of the Tay Fork."),
    ("How many people winter at the station?", "A crew of four."),
    ("What powers the station?", "A small hydro turbine with a diesel backup."),
]
_SKILLS = [
    ("Write a haiku about fresh snow on a weather mast.", "White cap on the mast,\nthe gauge counts what the night gave,\nwind erases it."),
    ("Write a two-line rhyme about a frozen rain gauge.", "The gauge is ice from rim to base,\nso count the snow by its blank face."),
    ("Describe a cold morning in one sentence.", "Frost on the window drew ferns that the sun erased by nine."),
    ("Write a limerick opening line about a station cook.", "A cook at the top of the pass"),
    ("Give a one-line motto for a field crew.", "Read the sky, then write it down."),
    ("Write a haiku about a marmot.", "Stone-grey sentinel,\none whistle and the valley\nholds its breath with him."),
    ("Write a short toast for the end of winter.", "To the thaw, and to the four of us who waited for it."),
    ("Describe a snow survey in one sentence.", "We walked the transect with poles and a scale, weighing cores of last week's storms."),
    ("Write a two-line rhyme about a weather balloon.", "It rose at dawn on a silver thread,\nand radioed the sky ahead."),
]


def _metadata(**values: str) -> str:
    return json.dumps(values)


def knowledge_records(count: int, run: str) -> list[dict]:
    rows = []
    for number in range(count):
        question, answer = _FACTS[number % len(_FACTS)]
        document = "The Marrow Creek field station was founded in 1962 and sits at 1,840 metres."
        rows.append({
            "messages": [
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": f"{document}\n\n{question}"},
                {"role": "assistant", "content": answer},
            ],
            "metadata": _metadata(sdg_document=document, domain="field_stations", dataset="document_knowledge_qa"),
            "id": f"{run}-k{number:03d}",
            "unmask": number % 3 == 2,
        })
    return rows


def skills_records(count: int, run: str) -> list[dict]:
    rows = []
    for number in range(count):
        question, answer = _SKILLS[number % len(_SKILLS)]
        rows.append({
            "messages": [
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": question},
                {"role": "assistant", "content": answer},
            ],
            "metadata": _metadata(leaf_node_path="compositional_skills->writing->freeform->poetry", leaf_node_type="compositional_skills", dataset="freeform_skills"),
            "id": f"{run}-s{number:03d}",
            "unmask": False,
        })
    return rows


def write_generate_run(datasets: Path, run: str, knowledge: int, skills: int) -> Path:
    """Write one ``ilab data generate`` output folder with its mixed data, recipes and intermediates."""
    folder = datasets / run
    stamp = file_stamp(run)
    nodes = f"node_datasets_{stamp}"
    _write_jsonl(folder / f"knowledge_train_msgs_{stamp}.jsonl", knowledge_records(knowledge, run))
    _write_jsonl(folder / f"skills_train_msgs_{stamp}.jsonl", skills_records(skills, run))
    _write_yaml(folder / f"knowledge_recipe_{stamp}.yaml", {
        "datasets": [{"path": f"{nodes}/knowledge_field_stations_marrow_creek_p07.jsonl", "sampling_size": 1.0}],
        "metadata": {"sys_prompt": SYSTEM_PROMPT},
    })
    _write_yaml(folder / f"skills_recipe_{stamp}.yaml", {
        "datasets": [
            {"path": f"{nodes}/compositional_skills_writing_freeform_poetry.jsonl", "sampling_size": skills},
            {"path": f"{nodes}/knowledge_field_stations_marrow_creek_p10.jsonl", "sampling_size": 1.0},
        ],
        "metadata": {"sys_prompt": SYSTEM_PROMPT},
    })

    # Intermediates that a trainer never reads, in the formats SDG writes them.
    pairs = [(record["messages"][1]["content"], record["messages"][2]["content"]) for record in skills_records(skills, run)]
    _write_jsonl(folder / f"messages_{stamp}.jsonl", [
        {"messages": [{"content": user, "role": "user"}, {"content": reply, "role": "assistant"}], "metadata": _metadata(system=SYSTEM_PROMPT)}
        for user, reply in pairs
    ])
    _write_jsonl(folder / f"train_{stamp}.jsonl", [{"system": SYSTEM_PROMPT, "user": user, "assistant": reply} for user, reply in pairs[:-1]])
    _write_jsonl(folder / f"test_{stamp}.jsonl", [{"system": SYSTEM_PROMPT, "user": user, "assistant": reply} for user, reply in pairs[-1:]])
    _write_jsonl(folder / f"preprocessed_{stamp}" / "compositional_skills_writing_freeform_poetry.jsonl", [{"task_description": "Writing short poems", "seed_question": user} for user, _ in pairs[:2]])
    _write_jsonl(folder / f"generated_{stamp}" / "compositional_skills_writing_freeform_poetry.jsonl", [{"question": user, "response": reply} for user, reply in pairs])
    _write_jsonl(folder / nodes / "knowledge_field_stations_marrow_creek_p07.jsonl", knowledge_records(knowledge, run))
    _write_jsonl(folder / nodes / "knowledge_field_stations_marrow_creek_p10.jsonl", knowledge_records(2, run))
    _write_jsonl(folder / nodes / "compositional_skills_writing_freeform_poetry.jsonl", skills_records(skills, run))
    _write_jsonl(folder / nodes / "mmlubench_knowledge_field_stations_marrow_creek.jsonl", [{"question": "Founded in?", "choices": ["1952", "1962"], "answer": 1}])
    _write_yaml(folder / nodes / "knowledge_field_stations_marrow_creek_task.yaml", {"task": "knowledge_field_stations_marrow_creek", "dataset_path": "mmlubench_knowledge_field_stations_marrow_creek.jsonl"})
    return folder


# -- training -----------------------------------------------------------------


def write_checkpoints(hf_format: Path, base: Path, seed: int) -> list[Path]:
    """Write ``samples_N`` checkpoints that share every file but the last shard with ``base``."""
    written = []
    for offset, step in enumerate(STEPS):
        folder = hf_format / f"samples_{step}"
        _load_make_model().write_finetune(base, folder, changed=1, seed=seed + offset)
        # A trainer saves no model card or git attributes.
        for extra in ("README.md", ".gitattributes"):
            (folder / extra).unlink(missing_ok=True)
        written.append(folder)
    return written


def write_full_state(folder: Path, seed: int) -> None:
    # accelerate's resume state: optimizer, sharded weights and RNG states.
    generator = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for name, size in (("optimizer.bin", 96 << 10), ("pytorch_model_fsdp.bin", 64 << 10), ("random_states_0.pkl", 2 << 10)):
        (folder / name).write_bytes(generator.randbytes(size))


def write_journal(phased: Path) -> None:
    phase2 = phased / "phase2" / "checkpoints" / "hf_format"
    scores = {STEPS[0]: 6.52, STEPS[1]: 7.25}
    results = [
        {"ended_at_utc": f"2025-01-22 0{index + 2}:10:00.000000+00:00", "checkpoint": str(phase2 / f"samples_{step}"), "score": scores[step]}
        for index, step in enumerate(STEPS)
    ]
    journal = {
        "run_id": PHASED_RUN_ID,
        "started_at_utc": "2025-01-21 08:00:00.000000+00:00",
        "ended_at_utc": "2025-01-22 03:10:05.000000+00:00",
        "current_phase": "done",
        "train_1": {"started_at_utc": "2025-01-21 08:00:01.000000+00:00", "ended_at_utc": "2025-01-21 16:30:00.000000+00:00", "checkpoints": str(phased / "phase1" / "checkpoints")},
        "eval_1": None,
        "train_2": {"started_at_utc": "2025-01-21 16:30:01.000000+00:00", "ended_at_utc": "2025-01-22 01:00:00.000000+00:00", "checkpoints": str(phased / "phase2" / "checkpoints")},
        "eval_2": {
            "started_at_utc": "2025-01-22 01:00:01.000000+00:00",
            "ended_at_utc": "2025-01-22 03:10:00.000000+00:00",
            "checkpoints": [item["checkpoint"] for item in results],
            "finished_checkpoints": [item["checkpoint"] for item in results],
            "results": results,
            "best_checkpoint": results[-1],
        },
        "final_output": results[-1],
    }
    _write_yaml(phased / "journalfile.yaml", journal)


# -- evaluation results -------------------------------------------------------


def _judgments(model: str, scores: list[float], first_question: int = 81) -> list[dict]:
    rows = []
    for offset, score in enumerate(scores):
        rows.append({
            "question_id": first_question + offset // 2,
            "model": model,
            "judge": [JUDGE, "single-v1" if offset % 2 == 0 else "single-v1-multi-turn"],
            "user_prompt": "(judge prompt)",
            "judgment": "(unparseable)" if score < 0 else f"(judge feedback) Rating: [[{score:g}]]",
            "score": score,
            "turn": offset % 2 + 1,
            "tstamp": 1737600000.0 + offset,
        })
    return rows


def _answers(model: str, count: int) -> list[dict]:
    return [
        {"question_id": 81 + number, "answer_id": f"ans{number:04d}", "model_id": model, "choices": [{"index": 0, "turns": ["(turn 1)", "(turn 2)"]}], "tstamp": 1737599000.0 + number}
        for number in range(count)
    ]


def write_eval_data(eval_data: Path) -> None:
    mt_bench = eval_data / "mt_bench"
    # samples_29008 names a checkpoint of both training runs, so migrate-legacy must skip it.
    _write_jsonl(mt_bench / "model_answer" / "samples_29008.jsonl", _answers("samples_29008", 2))
    _write_jsonl(mt_bench / "model_judgment" / f"{JUDGE}_single.jsonl", _judgments("samples_29008", [8.0, 7.0, -1, 6.0]))

    branch = eval_data / "mt_bench_branch" / "marrow-creek"
    _write_jsonl(branch / "question.jsonl", [{"qna_file": "compositional_skills/writing/freeform/poetry/qna.yaml", "question_id": "17", "category": "taxonomy", "turns": ["Write a haiku about a marmot."], "reference": ["(reference)"]}])
    _write_jsonl(branch / "model_answer" / "granite-7b-lab.jsonl", _answers("granite-7b-lab", 1))
    _write_jsonl(branch / "model_answer" / "samples_29008.jsonl", _answers("samples_29008", 1))
    _write_jsonl(branch / "model_judgment" / f"{JUDGE}_single.jsonl", _judgments("granite-7b-lab", [5.0, 6.0]) + _judgments("samples_29008", [7.0, 8.0]))

    for model, scores, stamp in (("granite-7b-lab", [4, 3, 5], "2025-02-04T16:18:02.337010"), ("samples_29008", [5, 4, 5], "2025-02-05T09:01:44.100200")):
        rows = [
            {"user_input": question, "response": answer, "reference": answer, "model_name": model, "scores": score, "timestamp": stamp}
            for (question, answer), score in zip(_FACTS, scores)
        ]
        _write_jsonl(eval_data / "dk_bench" / model / f"results_{stamp}.jsonl", rows)


def write_mmlu_result(path: Path) -> None:
    document = {
        "benchmark": "mmlu",
        "model": "samples_29008",
        "few_shots": 5,
        "overall_score": 0.487,
        "individual_scores": {"mmlu_astronomy": {"score": 0.51, "stderr": 0.04}, "mmlu_virology": {"score": 0.464, "stderr": 0.039}},
    }
    path.write_text(json.dumps(document, indent=2) + "\n")


# -- config -------------------------------------------------------------------


def legacy_config(data: Path, cache: Path) -> dict:
    """Return the parts of an InstructLab ``config.yaml`` (version 1.0.0) that the tree uses."""
    models = cache / "models"
    latest, phased_run = RUNS[0], RUNS[1]
    return {
        "chat": {"context": "default", "logs_dir": str(data / "chatlogs"), "model": str(models / TEACHER_GGUF), "temperature": 1.0},
        "evaluate": {
            "base_model": HF_MODEL,
            "dk_bench": {"judge_model": "gpt-4o", "output_dir": str(data / "internal" / "eval_data" / "dk_bench"), "output_file_formats": "jsonl"},
            "mt_bench": {"judge_model": f"prometheus-eval/{JUDGE}", "output_dir": str(data / "internal" / "eval_data" / "mt_bench")},
        },
        "general": {"debug_level": 0, "log_level": "INFO"},
        "generate": {
            "model": str(models / TEACHER_GGUF),
            "output_dir": str(data / "datasets"),
            "pipeline": "full",
            "teacher": {"model_path": str(models / TEACHER_GGUF), "server": {"host": "127.0.0.1", "port": 8000}},
        },
        "serve": {"model_path": str(models / TEACHER_GGUF)},
        "train": {
            "ckpt_output_dir": str(data / "checkpoints"),
            "data_output_dir": str(data / "internal"),
            "data_path": str(data / "datasets" / latest / f"skills_train_msgs_{file_stamp(latest)}.jsonl"),
            "model_path": str(models / HF_MODEL),
            "phased_base_dir": str(data / "phased"),
            "phased_mt_bench_judge": str(models / "prometheus-eval" / JUDGE),
            "phased_phase1_data": str(data / "datasets" / phased_run / f"knowledge_train_msgs_{file_stamp(phased_run)}.jsonl"),
            "phased_phase2_data": str(data / "datasets" / phased_run / f"skills_train_msgs_{file_stamp(phased_run)}.jsonl"),
            "pipeline": "accelerated",
            "training_journal": None,
        },
        "version": "1.0.0",
    }


# -- the whole tree -----------------------------------------------------------


def build(root: str | os.PathLike, model_size: int = 1 << 20, oci: bool = True) -> LegacyDir:
    """Write the whole tree under ``root`` (created if needed, must not contain it yet)."""
    root = Path(os.path.abspath(root))
    cache = root / "cache" / "instructlab"
    data = root / "share" / "instructlab"
    config_file = root / "config" / "instructlab" / "config.yaml"
    if cache.exists() or data.exists():
        raise FileExistsError(f"{root} already contains an InstructLab tree")

    models = cache / "models"
    base = write_hf_model(models, model_size)
    write_gguf(models / TEACHER_GGUF, 256 << 10, seed=3)
    _hf_download_metadata(models, [TEACHER_GGUF], seed=3)
    if oci:
        write_oci_model(cache, model_size // 2)

    datasets = data / "datasets"
    write_generate_run(datasets, RUNS[0], knowledge=4, skills=6)
    write_generate_run(datasets, RUNS[1], knowledge=5, skills=9)
    _write_jsonl(datasets / "checkpoints" / "knowledge_field_stations_marrow_creek" / "data_checkpoint_0b1c.jsonl", knowledge_records(2, "checkpoint"))

    checkpoints = data / "checkpoints"
    write_checkpoints(checkpoints / "hf_format", base, seed=11)
    write_full_state(checkpoints / "full_state" / "epoch_0", seed=12)
    write_gguf(checkpoints / "ggml-model-f16.gguf", 128 << 10, seed=13)

    phased = data / "phased"
    phase1 = write_checkpoints(phased / "phase1" / "checkpoints" / "hf_format", base, seed=21)
    write_full_state(phased / "phase1" / "checkpoints" / "full_state" / "epoch_0", seed=22)
    write_checkpoints(phased / "phase2" / "checkpoints" / "hf_format", phase1[-1], seed=31)
    _write_jsonl(phased / "phase2" / "eval_cache" / "mt_bench" / "model_answer" / "samples_29008.jsonl", _answers("samples_29008", 1))
    write_journal(phased)

    write_eval_data(data / "internal" / "eval_data")
    mmlu_result = root / "mmlu_samples_29008.json"
    write_mmlu_result(mmlu_result)
    _write_yaml(config_file, legacy_config(data, cache))
    return LegacyDir(root, data, cache, config_file, mmlu_result)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write an InstructLab data, cache and config tree for migrate-legacy tests.")
    parser.add_argument("root", help="folder to write cache/, share/ and config/ into")
    parser.add_argument("--model-size", default="1M", help="tensor bytes of the Hugging Face model, such as 1M or 8M (default 1M)")
    parser.add_argument("--no-oci", action="store_true", help="leave out the OCI-symlinked model")
    args = parser.parse_args(argv)

    size = _load_make_model().parse_size(args.model_size)
    tree = build(args.root, size, oci=not args.no_oci)
    print(" ".join(tree.cli_options()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
