"""Writers of ``ilab data generate`` output folders and eval result files in InstructLab's shapes."""

from __future__ import annotations

import json
import random
import uuid
from pathlib import Path

SYSTEM = "I am an AI language model developed by Example Lab. My primary role is to serve as a chat assistant."


def _chat(rng: random.Random, topic: str, unmask: bool) -> dict:
    question = f"What is notable about {topic} number {rng.randint(1, 10_000)}?"
    return {
        "id": str(uuid.UUID(int=rng.getrandbits(128))),
        "messages": [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": question},
            {"role": "assistant", "content": f"It is the {rng.randint(1, 99)}th of its kind."},
        ],
        "metadata": json.dumps({"domain": topic, "dataset": f"{topic}_qa"}),
        "unmask": unmask,
    }


def _pretraining(rng: random.Random, topic: str) -> dict:
    return {
        "id": str(uuid.UUID(int=rng.getrandbits(128))),
        "messages": [{"role": "pretraining", "content": f"<|user|>\nTell me about {topic}.\n<|assistant|>\nIt has {rng.randint(2, 9)} parts."}],
        "metadata": json.dumps({"domain": topic}),
    }


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return path


def write_generate_run(root: Path, stamp: str, knowledge: int, skills: int, seed: int = 0) -> Path:
    """Write one dated generate folder with the mixed datasets, recipes and intermediates."""
    rng = random.Random(seed)
    folder = root / stamp.replace("T", "_").replace(":", "")[:17]
    ts = stamp.replace(":", "_")
    know = [_chat(rng, "railways", unmask=i % 3 == 0) for i in range(knowledge - 1)] + [_pretraining(rng, "railways")]
    write_jsonl(folder / f"knowledge_train_msgs_{ts}.jsonl", know)
    write_jsonl(folder / f"skills_train_msgs_{ts}.jsonl", [_chat(rng, "poetry", unmask=False) for _ in range(skills)])
    for kind in ("knowledge", "skills"):
        (folder / f"{kind}_recipe_{ts}.yaml").write_text(
            f"datasets:\n- path: node_datasets_{ts}/{kind}_p10.jsonl\n  sampling_size: 1.0\nmetadata:\n  sys_prompt: {SYSTEM}\n"
        )
    # Intermediates a dataset must not keep.
    write_jsonl(folder / f"messages_{ts}.jsonl", [{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}], "metadata": "{}"}])
    write_jsonl(folder / f"train_{ts}.jsonl", [{"system": SYSTEM, "user": "q", "assistant": "a"}])
    write_jsonl(folder / f"node_datasets_{ts}" / "knowledge_p10.jsonl", know[:2])
    write_jsonl(folder / f"generated_{ts}" / "part.jsonl", know[:1])
    return folder


def write_mmlu_result(path: Path, model: str, score: float) -> Path:
    path.write_text(json.dumps({
        "benchmark": "mmlu", "model": model, "few_shots": 5, "overall_score": score,
        "individual_scores": {"mmlu_anatomy": {"score": score, "stderr": 0.04}},
    }, indent=2))
    return path


def write_mt_bench_result(path: Path, model: str, score: float) -> Path:
    path.write_text(json.dumps({
        "benchmark": "mt_bench", "model": model, "judge_model": "prometheus-8x7b-v2.0", "overall_score": score,
        "turn_scores": [score, score], "error_rate": 0.0, "qa_pairs": [],
    }, indent=2))
    return path
