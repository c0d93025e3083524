#!/usr/bin/env python3
"""Build a large, valid ilabfs store quickly, for the scale benchmarks.

The store contains artifacts of every kind with the lineage and sharing that
InstructLab work produces:

- base models, grouped in families of up to four. A family shares its
  tokenizer files, its generation config and its shard index, and every model
  of every family shares one special_tokens_map.json.
- checkpoints of those bases, in training runs of a phase1 part (trained
  with a knowledge dataset) followed by a phase2 part (a skills dataset), with
  base, dataset, phase, step and run recorded. A checkpoint shares every file
  with its base except a few changed shards.
- datasets in the SDG layout (a train JSONL file and a recipe that four
  datasets share), most with a stored base model as their teacher.
- eval results linked to checkpoints, MMLU after phase1 and MT-Bench or
  DK-Bench after phase2.
- optionally, garbage: blobs that nothing references, for gc to remove.

Shards are real safetensors files of a Llama layout (24 to 32 layers, 219 to
291 tensors, bfloat16) with tiny tensor shapes, so a shard has a header of
realistic structure and takes only a few KiB. When --blobs is given, the
shard count of every model and the number of shards each checkpoint changes
are chosen so that blobs/blake3/ ends up with that many files.

Every blob is named by the BLAKE3 digest of its content. Config documents,
manifests and the index are serialised by ilabfs itself
(ilabfs.manifest.config_bytes and build_manifest, ilabfs.index.Entry and
save_index). The store is therefore the one that `ilab model add`, `ilab data
add` and `ilab eval add` would have written. For speed, the script bypasses the
per-file Ingest transaction: it writes each blob straight to its final name
with mode 0444, takes no lock and no lease, fsyncs nothing and writes the
index once at the end. Run it only on a new folder that no other process
uses. Unless --no-check is given, it then adds one artifact of each kind
through the real ilabfs API into a scratch store and checks that the digests
and index entries are identical, and runs the checks of `ilab fsck --fast`
on the result.

Usage:
    python benchmarks/make_scale_store.py OUT_DIR [--artifacts 10000]
        [--blobs M] [--garbage 0] [--seed 0]
        [--mix base=2,checkpoint=68,dataset=10,eval=20] [--shards N]
        [--no-check] [--json FILE]
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import math
import os
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import blake3

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "examples"))

import make_model  # noqa: E402  (examples/ is not a package)

from ilabfs.index import Entry, Index, load_index, save_index  # noqa: E402
from ilabfs.layout import Layout, open_layout  # noqa: E402
from ilabfs.manifest import Layer, build_manifest, config_bytes  # noqa: E402

KINDS = ("base", "checkpoint", "dataset", "eval")
DEFAULT_MIX = {"base": 2, "checkpoint": 68, "dataset": 10, "eval": 20}
DEFAULT_SHARDS = 4
MAX_SHARDS = 64
BASES_PER_FAMILY = 4
# Families differ in layer count (24 to 32) and context length (4096 to 32768).
GEOMETRIES = 9
CONTEXT_LENGTHS = 4
DATASETS_PER_RECIPE = 4
CHECKPOINTS_PER_RUN = 8
# Samples seen between two saved checkpoints, as the InstructLab trainer names them (samples_N).
SAMPLES_PER_CHECKPOINT = 14_504
# Seconds between the creation times of consecutive artifacts.
CREATED_INTERVAL = 37
TIMELINE_START = datetime.datetime(2025, 1, 6, 9, 0, tzinfo=datetime.timezone.utc)

VARIANTS = ("base", "instruct", "lab", "code")
PHASE_DATASET_TYPES = {"phase1": "knowledge", "phase2": "skills"}
METRICS = {"phase1": ("MMLU", "MMLU-Branch"), "phase2": ("MT-Bench", "MT-Bench-Branch", "DK-Bench")}
TEACHER_NAME = "mixtral-8x7b-instruct-v0.1"


# -- the plan ----------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """How many artifacts of each kind to write, and how models are sharded."""

    seed: int
    counts: dict[str, int]
    families: int
    shards: int
    # Changed shards of each checkpoint, in checkpoint order.
    changed: tuple[int, ...]
    garbage: int
    blob_target: int | None


def parse_mix(text: str) -> dict[str, int]:
    """Parse ``base=2,checkpoint=68,dataset=10,eval=20`` into weights. Kinds left out get 0."""
    mix = dict.fromkeys(KINDS, 0)
    for part in text.split(","):
        kind, _, weight = part.partition("=")
        kind = kind.strip()
        if kind not in mix or not weight.strip().isdigit():
            raise ValueError(f"invalid --mix part {part!r}: expected KIND=WEIGHT with KIND one of {', '.join(KINDS)}")
        mix[kind] = int(weight)
    if sum(mix.values()) == 0:
        raise ValueError("invalid --mix: every weight is 0")
    return mix


def split_counts(total: int, mix: dict[str, int]) -> dict[str, int]:
    """Split ``total`` artifacts by weight, giving the rounding remainder to the largest shares."""
    weight_sum = sum(mix.values())
    exact = {kind: total * weight / weight_sum for kind, weight in mix.items()}
    counts = {kind: int(value) for kind, value in exact.items()}
    remainder = total - sum(counts.values())
    for kind in sorted(mix, key=lambda k: exact[k] - counts[k], reverse=True)[:remainder]:
        counts[kind] += 1
    return counts


def eval_metric(phase: str, occurrence: int) -> str:
    """Return the metric of an eval: the phase's metrics in turn, so one checkpoint's evals differ."""
    choices = METRICS[phase]
    return choices[occurrence % len(choices)]


def eval_file_count(metric: str) -> int:
    # MT-Bench keeps a summary and the judge's judgments, the other metrics one file.
    return 2 if metric.startswith("MT-Bench") else 1


def estimate_fixed_blobs(counts: dict[str, int], families: int, shards: int, eval_files: int) -> int:
    """Count the blobs of everything except the checkpoints' changed shards.

    Each family has its own tokenizer.json. Families of the same geometry
    share the shard index and the bases' config document, and families of the
    same context length share tokenizer_config.json and
    generation_config.json. Each base adds its config.json, shards and
    manifest. Every model shares one special_tokens_map.json. Each artifact
    of the other kinds adds its config document, manifest and files.
    """
    recipes = len({recipe_key(number) for number in range(counts["dataset"])})
    geometries = len({number % GEOMETRIES for number in range(families)})
    context_lengths = len({number % CONTEXT_LENGTHS for number in range(families)})
    return (
        1
        + families
        + 2 * geometries
        + 2 * context_lengths
        + counts["base"] * (shards + 2)
        + counts["dataset"] * 3
        + recipes
        + counts["checkpoint"] * 2
        + counts["eval"] * 2
        + eval_files
    )


def make_plan(artifacts: int, mix: dict[str, int], blob_target: int | None, garbage: int, shards: int | None, seed: int) -> Plan:
    """Choose counts, shard count and changed shards. Raise ValueError when they cannot fit."""
    counts = split_counts(artifacts, mix)
    if counts["checkpoint"] and not counts["base"]:
        raise ValueError("the mix has checkpoints but no base models: a checkpoint needs a base")
    if counts["eval"] and not (counts["checkpoint"] or counts["base"]):
        raise ValueError("the mix has evals but no models: an eval needs a model")
    families = math.ceil(counts["base"] / BASES_PER_FAMILY)
    eval_files = sum(eval_file_count(metric) for metric, _ in eval_subjects(counts))
    checkpoints = counts["checkpoint"]

    if blob_target is None:
        chosen = shards or DEFAULT_SHARDS
        return Plan(seed, counts, families, chosen, (min(1, chosen),) * checkpoints, garbage, None)

    # The fewest shards with which checkpoints still keep at least half of them from their base.
    candidates = [shards] if shards else list(range(DEFAULT_SHARDS, MAX_SHARDS + 1))
    for candidate in candidates:
        remaining = blob_target - garbage - estimate_fixed_blobs(counts, families, candidate, eval_files)
        if remaining < 0:
            raise ValueError(
                f"--blobs {blob_target} is too small: the artifacts alone need "
                f"{blob_target - remaining} blobs with {candidate} shards per model"
            )
        limit = candidate // 2 if not shards else candidate
        if checkpoints == 0 or remaining <= checkpoints * limit or candidate == candidates[-1]:
            break
    if checkpoints == 0:
        if remaining:
            raise ValueError(f"--blobs {blob_target} cannot be reached without checkpoints: the store has {blob_target - remaining} blobs")
        return Plan(seed, counts, families, candidate, (), garbage, blob_target)
    if remaining > checkpoints * candidate:
        raise ValueError(
            f"--blobs {blob_target} is too large: {checkpoints} checkpoints of {candidate}-shard models "
            f"add at most {checkpoints * candidate} shards; pass more --artifacts or --shards"
        )
    low, extra = divmod(remaining, checkpoints)
    changed = tuple(low + 1 if number < extra else low for number in range(checkpoints))
    return Plan(seed, counts, families, candidate, changed, garbage, blob_target)


# -- file contents -------------------------------------------------------------


def json_file(document: dict, sort_keys: bool = True) -> bytes:
    """Serialise a JSON file the way save_pretrained does: two-space indent and a final newline."""
    return (json.dumps(document, indent=2, sort_keys=sort_keys, ensure_ascii=False) + "\n").encode()


def random_bytes(key: str, length: int) -> bytes:
    return hashlib.shake_128(key.encode()).digest(length)


def family_shape(family: int) -> make_model.ModelShape:
    """Return a family's Llama geometry: 24 to 32 layers of tiny bfloat16 tensors."""
    return make_model.ModelShape(
        hidden_size=8,
        num_hidden_layers=24 + family % GEOMETRIES,
        num_attention_heads=1,
        num_key_value_heads=1,
        head_dim=8,
        intermediate_size=24,
        vocab_size=16,
    )


@dataclass
class FamilyFiles:
    """The files every model of a family has, and its shard headers."""

    shape: make_model.ModelShape
    shared: dict[str, bytes]
    shard_prefixes: list[bytes]
    shard_data_sizes: list[int]
    parameters: int


def family_files(family: int, shards: int) -> FamilyFiles:
    shape = family_shape(family)
    groups = make_model.split_into_shards(shape.tensors(), shards)
    prefixes, data_sizes = [], []
    weight_map = {}
    for number, group in enumerate(groups, start=1):
        prefix, data_size = make_model.encode_header(group)
        prefixes.append(prefix)
        data_sizes.append(data_size)
        weight_map.update({tensor: make_model.shard_name(number, shards) for tensor, _ in group})

    tokenizer = make_model.tokenizer_json()
    vocab = dict(tokenizer["model"]["vocab"])
    vocab[f"<|family-{family}|>"] = len(vocab)
    tokenizer["model"] = {**tokenizer["model"], "vocab": vocab}
    tokenizer_config = make_model.tokenizer_config_json()
    tokenizer_config["model_max_length"] = 4096 << (family % CONTEXT_LENGTHS)
    generation_config = make_model.generation_config_json()
    generation_config["max_length"] = tokenizer_config["model_max_length"]
    shard_index = {"metadata": {"total_size": sum(data_sizes)}, "weight_map": weight_map}
    shared = {
        "generation_config.json": json_file(generation_config),
        make_model.INDEX_NAME: json_file(shard_index),
        "special_tokens_map.json": json_file(make_model.special_tokens_map_json()),
        "tokenizer.json": json_file(tokenizer, sort_keys=False).rstrip(b"\n"),
        "tokenizer_config.json": json_file(tokenizer_config),
    }
    parameters = sum(math.prod(shape_) for _, shape_ in shape.tensors())
    return FamilyFiles(shape, shared, prefixes, data_sizes, parameters)


def base_files(family: FamilyFiles, base_name: str, seed: int) -> dict[str, bytes]:
    config = make_model.config_json(family.shape)
    config["_name_or_path"] = base_name
    files = {**family.shared, "config.json": json_file(config)}
    total = len(family.shard_prefixes)
    for number, (prefix, size) in enumerate(zip(family.shard_prefixes, family.shard_data_sizes), start=1):
        files[make_model.shard_name(number, total)] = prefix + random_bytes(f"seed={seed} base={base_name} shard={number}", size)
    return files


def changed_shards(seed: int, checkpoint: int, shards: int, changed: int) -> list[int]:
    """Return the 1-based numbers of the shards a checkpoint changes, the same on every call."""
    return sorted(random.Random(f"{seed}:checkpoint:{checkpoint}").sample(range(1, shards + 1), changed))


def checkpoint_files(family: FamilyFiles, base: dict[str, bytes], seed: int, checkpoint: int, changed: int) -> dict[str, bytes]:
    total = len(family.shard_prefixes)
    files = dict(base)
    for number in changed_shards(seed, checkpoint, total, changed):
        key = f"seed={seed} checkpoint={checkpoint} shard={number}"
        files[make_model.shard_name(number, total)] = family.shard_prefixes[number - 1] + random_bytes(key, family.shard_data_sizes[number - 1])
    return files


def dataset_type_of(number: int) -> str:
    return "knowledge" if number % 2 == 0 else "skills"


def recipe_key(number: int) -> tuple[str, int]:
    """Return the (type, number) of a dataset's recipe, which DATASETS_PER_RECIPE datasets of one type share."""
    return dataset_type_of(number), number // (2 * DATASETS_PER_RECIPE)


def dataset_files(seed: int, number: int, dataset_type: str) -> tuple[dict[str, bytes], int]:
    """Return the SDG files of one dataset and its record count."""
    rng = random.Random(f"{seed}:dataset:{number}")
    stamp = (TIMELINE_START + datetime.timedelta(hours=number)).strftime("%Y-%m-%dT%H_%M_%S")
    records = rng.randint(12, 40)
    lines = []
    for record in range(records):
        question = f"What does section {rng.randint(1, 999)} of document {number} say about topic {record}?"
        answer = f"It states fact {rng.getrandbits(48):x} in plain words."
        row = {
            "id": f"{dataset_type}-{number}-{record}",
            "messages": [{"role": "user", "content": question}, {"role": "assistant", "content": answer}],
            "metadata": json.dumps({"dataset": f"{dataset_type}_{number}", "seed": seed}),
        }
        lines.append(json.dumps(row))
    _, recipe_number = recipe_key(number)
    recipe = (
        f"# SDG mixing recipe {recipe_number}\n"
        "datasets:\n"
        f"  - path: node_datasets/{dataset_type}_{recipe_number}_p10.jsonl\n"
        "    sampling_size: 1.0\n"
        "metadata:\n"
        "  sys_prompt: I am a Red Hat Instruct Model, an AI language model developed by Red Hat and IBM Research.\n"
    )
    files = {
        f"{dataset_type}_train_msgs_{stamp}.jsonl": ("\n".join(lines) + "\n").encode(),
        f"{dataset_type}_recipe_{recipe_number:05d}.yaml": recipe.encode(),
    }
    return files, records


def eval_files(seed: int, number: int, metric: str, score: float, model_name: str, date: str) -> dict[str, bytes]:
    benchmark = metric.lower().replace("-", "_")
    if metric == "DK-Bench":
        rows = [{"question": f"q{q}", "scores": 1 + (number + q) % 5, "timestamp": date} for q in range(6)]
        return {f"dk_bench_results_{number}.jsonl": "".join(json.dumps(row) + "\n" for row in rows).encode()}
    summary = {"benchmark": benchmark, "model": model_name, "overall_score": score, "run": f"{seed}-{number}"}
    files = {f"{benchmark}_summary.json": json_file(summary)}
    if metric.startswith("MT-Bench"):
        rows = [{"question_id": q, "judgment": f"Rating: [[{(number + q) % 10}]]", "score": (number + q) % 10, "tstamp": 1736150400 + number} for q in range(4)]
        files[f"{benchmark}_judgments.jsonl"] = "".join(json.dumps(row) + "\n" for row in rows).encode()
    return files


def eval_score(seed: int, number: int, metric: str) -> float:
    rng = random.Random(f"{seed}:eval:{number}")
    if metric.startswith("MMLU"):
        return round(rng.uniform(0.45, 0.75), 4)
    if metric == "DK-Bench":
        return round(rng.uniform(2.5, 4.5), 4)
    return round(rng.uniform(5.0, 8.0), 4)


# -- the artifacts in creation order ---------------------------------------------


def base_name(number: int) -> str:
    family, member = divmod(number, BASES_PER_FAMILY)
    return f"model-{family:03d}-{VARIANTS[member]}:latest"


def checkpoint_lineage(number: int, bases: int) -> tuple[int, int, str, int]:
    """Return (base number, run number, phase, step) of a checkpoint.

    Checkpoints go to the bases in turn. Each base's checkpoints form runs of
    CHECKPOINTS_PER_RUN, whose first half is phase1 and second half phase2.
    """
    base = number % bases
    per_base = number // bases
    run, position = divmod(per_base, CHECKPOINTS_PER_RUN)
    phase = "phase1" if position < CHECKPOINTS_PER_RUN // 2 else "phase2"
    step = SAMPLES_PER_CHECKPOINT * (position % (CHECKPOINTS_PER_RUN // 2) + 1)
    return base, run, phase, step


def checkpoint_name(number: int, bases: int) -> str:
    base, run, phase, step = checkpoint_lineage(number, bases)
    return f"{base_name(base).split(':')[0]}-run{run:03d}:{phase}-samples_{step}"


def eval_subjects(counts: dict[str, int]) -> list[tuple[str, int]]:
    """Return (metric, model number) for every eval, spread evenly over the checkpoints.

    Without checkpoints, evals measure the base models, with phase1 metrics.
    """
    models = counts["checkpoint"] or counts["base"]
    subjects = []
    seen: dict[int, int] = {}
    for number in range(counts["eval"]):
        model = number * models // max(counts["eval"], 1)
        occurrence = seen.get(model, 0)
        seen[model] = occurrence + 1
        phase = checkpoint_lineage(model, counts["base"])[2] if counts["checkpoint"] else "phase1"
        subjects.append((eval_metric(phase, occurrence), model))
    return subjects


# -- writing -----------------------------------------------------------------


class BlobWriter:
    """Write blobs straight to their final names, once per digest."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.written: dict[str, int] = {}
        self.bytes = 0

    def put(self, data: bytes) -> str:
        digest = blake3.blake3(data).hexdigest()
        if digest in self.written:
            return digest
        fd = os.open(self.folder / digest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        # The umask reduces the mode given to open, and a blob must be exactly 0444.
        os.chmod(self.folder / digest, 0o444)
        self.written[digest] = len(data)
        self.bytes += len(data)
        return digest


@dataclass
class StoreBuilder:
    """The artifacts written so far, in creation order, and the blobs behind them."""

    writer: BlobWriter
    entries: dict[str, Entry] = field(default_factory=dict)
    created_count: int = 0

    def next_created(self) -> datetime.datetime:
        moment = TIMELINE_START + datetime.timedelta(seconds=CREATED_INTERVAL * self.created_count)
        self.created_count += 1
        return moment

    def add(self, kind: str, files: dict[str, bytes], config: dict, name: str | None, summary: dict, subject: Entry | None = None) -> Entry:
        """Write the files, config document and manifest of one artifact and record its entry."""
        layers = [Layer(title, self.writer.put(data), len(data)) for title, data in files.items()]
        config_data = config_bytes(config)
        config_digest = self.writer.put(config_data)
        subject_ref = (subject.digest, subject.blobs[subject.digest]) if subject else None
        manifest_data = build_manifest(kind, config_digest, len(config_data), layers, subject_ref)
        digest = self.writer.put(manifest_data)
        if digest in self.entries:
            raise RuntimeError(f"two generated {kind} artifacts have the same manifest {digest}")

        blobs = {layer.digest: layer.size for layer in layers}
        blobs[config_digest] = len(config_data)
        blobs[digest] = len(manifest_data)
        created = self.next_created().strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        entry = Entry(digest, kind, created, [name] if name else [], sum(layer.size for layer in layers), blobs, summary)
        self.entries[digest] = entry
        return entry


def model_config(family: FamilyFiles, lineage: dict) -> tuple[dict, dict]:
    """Return the config document and index summary of a model, as ilabfs.models.add_model builds them."""
    facts = {"format": "safetensors", "dataType": "BF16", "parameters": family.parameters}
    lineage = {key: value for key, value in lineage.items() if value is not None}
    config = {"kind": "model", **facts, **lineage}
    files = len(family.shard_prefixes) + 1 + len(family.shared)
    summary = {"dataType": facts["dataType"], "format": facts["format"], "files": files, **lineage}
    return config, summary


def dataset_config(files: dict[str, bytes], records: int, dataset_type: str, teacher: Entry | None) -> tuple[dict, dict]:
    """Return the config document and index summary of a dataset, as ilabfs.datasets.add_dataset builds them."""
    titles = sorted(files)
    train = [title for title in titles if title.endswith(".jsonl")]
    recipes = [title for title in titles if title.endswith(".yaml")]
    phase = {"knowledge": "phase07", "skills": "phase10"}[dataset_type]
    teacher_digest = teacher.digest if teacher else None
    teacher_name = None if teacher else TEACHER_NAME
    config = {
        "kind": "dataset",
        "type": dataset_type,
        "phase": phase,
        "samples": records,
        "recordShapes": {"messages": records},
        "splits": {"train": train, "test": [], "recipes": recipes},
        "teacher": teacher_digest,
        "teacherName": teacher_name,
    }
    summary = {"type": dataset_type, "phase": phase, "samples": records, "files": len(titles), "teacher": teacher_digest, "teacherName": teacher_name}
    return config, {key: value for key, value in summary.items() if value is not None}


@dataclass
class Generated:
    """The output of build_store, for the report and the checks."""

    plan: Plan
    index: Index
    families: list[FamilyFiles]
    bases: list[Entry]
    datasets: list[Entry]
    checkpoints: list[Entry]
    evals: list[Entry]
    garbage: list[str]
    blob_bytes: int


def build_store(root: Path, plan: Plan) -> Generated:
    """Write the plan's artifacts into a new store at ``root``."""
    layout = open_layout(root, create=True)
    writer = BlobWriter(layout.blobs)
    builder = StoreBuilder(writer)
    seed = plan.seed
    counts = plan.counts

    families = [family_files(number, plan.shards) for number in range(plan.families)]
    base_contents: list[dict[str, bytes]] = []
    bases: list[Entry] = []
    for number in range(counts["base"]):
        family = families[number // BASES_PER_FAMILY]
        name = base_name(number)
        files = base_files(family, name, seed)
        config, summary = model_config(family, {})
        bases.append(builder.add("model", files, config, name, summary))
        base_contents.append(files)

    datasets: dict[str, list[Entry]] = {"knowledge": [], "skills": []}
    all_datasets: list[Entry] = []
    for number in range(counts["dataset"]):
        dataset_type = dataset_type_of(number)
        files, records = dataset_files(seed, number, dataset_type)
        # Three datasets in four name a stored base model as their teacher.
        teacher = bases[number % len(bases)] if bases and number % 4 != 3 else None
        config, summary = dataset_config(files, records, dataset_type, teacher)
        entry = builder.add("dataset", files, config, f"{dataset_type}-d{number:05d}:latest", summary)
        datasets[dataset_type].append(entry)
        all_datasets.append(entry)

    subjects = eval_subjects(counts)
    evals_by_model: dict[int, list[tuple[int, str]]] = {}
    for number, (metric, model) in enumerate(subjects):
        evals_by_model.setdefault(model, []).append((number, metric))

    checkpoints: list[Entry] = []
    evals: list[Entry] = []
    for number in range(counts["checkpoint"]):
        base_number, run, phase, step = checkpoint_lineage(number, counts["base"])
        family = families[base_number // BASES_PER_FAMILY]
        files = checkpoint_files(family, base_contents[base_number], seed, number, plan.changed[number])
        pool = datasets[PHASE_DATASET_TYPES[phase]]
        dataset = pool[(base_number + run) % len(pool)] if pool else None
        lineage = {"base": bases[base_number].digest, "dataset": dataset.digest if dataset else None, "phase": phase, "step": step, "run": f"run-{run:03d}"}
        config, summary = model_config(family, lineage)
        entry = builder.add("model", files, config, checkpoint_name(number, counts["base"]), summary)
        checkpoints.append(entry)
        for eval_number, metric in evals_by_model.get(number, []):
            evals.append(add_eval(builder, seed, eval_number, metric, entry))
    if not counts["checkpoint"]:
        for number, (metric, model) in enumerate(subjects):
            evals.append(add_eval(builder, seed, number, metric, bases[model]))

    garbage = []
    for number in range(plan.garbage):
        garbage.append(writer.put(random_bytes(f"seed={seed} garbage={number}", 2048 + number % 2048)))

    index = Index(builder.entries)
    save_index(layout, index)
    return Generated(plan, index, families, bases, all_datasets, checkpoints, evals, garbage, writer.bytes)


def add_eval(builder: StoreBuilder, seed: int, number: int, metric: str, subject: Entry) -> Entry:
    """Write one eval result of ``subject``, dated one minute before it is recorded."""
    score = eval_score(seed, number, metric)
    date = (TIMELINE_START + datetime.timedelta(seconds=CREATED_INTERVAL * builder.created_count - 60)).strftime("%Y-%m-%dT%H:%M:%SZ")
    files = eval_files(seed, number, metric, score, subject.names[0], date)
    config = {"kind": "eval", "metric": metric, "score": score, "model": subject.digest}
    summary = {"metric": metric, "score": score, "subject": subject.digest, "files": len(files), "date": date}
    return builder.add("eval", files, config, None, summary, subject)


# -- checking against the real code -----------------------------------------------


def write_folder(folder: Path, files: dict[str, bytes]) -> None:
    folder.mkdir(parents=True)
    for title, data in files.items():
        (folder / title).write_bytes(data)


def check_with_real_api(generated: Generated, scratch: Path) -> list[str]:
    """Add the first eval, its checkpoint, that checkpoint's dataset and the bases they name through ilabfs.

    Returns the differences between the generated index entries and the ones
    ilabfs wrote, ignoring only the creation time. An empty list means that
    the generator writes what ilabfs writes.
    """
    from ilabfs.evals import add_eval as real_add_eval
    from ilabfs.models import add_model
    from ilabfs.store import Store

    plan = generated.plan
    store = Store(scratch / "store")
    generated_entries: list[Entry] = []

    def add_base(number: int) -> None:
        entry = generated.bases[number]
        if entry.digest in store.index().entries:
            return
        family = generated.families[number // BASES_PER_FAMILY]
        folder = scratch / f"base-{number}"
        write_folder(folder, base_files(family, entry.names[0], plan.seed))
        add_model(store, folder, entry.names[0])
        generated_entries.append(entry)

    checkpoint_number = None
    if generated.checkpoints:
        checkpoint_number = 0
        if generated.evals:
            subject = generated.evals[0].summary["subject"]
            checkpoint_number = next(n for n, e in enumerate(generated.checkpoints) if e.digest == subject)
    elif generated.bases:
        add_base(0)

    if checkpoint_number is not None:
        checkpoint = generated.checkpoints[checkpoint_number]
        base_number, _, _, _ = checkpoint_lineage(checkpoint_number, plan.counts["base"])
        add_base(base_number)
        dataset_ref = None
        if "dataset" in checkpoint.summary:
            dataset_ref = add_generated_dataset(generated, store, scratch, checkpoint.summary["dataset"], add_base, generated_entries)
        family = generated.families[base_number // BASES_PER_FAMILY]
        base_content = base_files(family, generated.bases[base_number].names[0], plan.seed)
        files = checkpoint_files(family, base_content, plan.seed, checkpoint_number, plan.changed[checkpoint_number])
        folder = scratch / "checkpoint"
        write_folder(folder, files)
        summary = checkpoint.summary
        add_model(store, folder, checkpoint.names[0], base=generated.bases[base_number].names[0], dataset=dataset_ref,
                  phase=summary["phase"], step=summary["step"], run=summary["run"])
        generated_entries.append(checkpoint)
    elif generated.datasets:
        add_generated_dataset(generated, store, scratch, generated.datasets[0].digest, add_base, generated_entries)

    if generated.evals:
        evaluation = generated.evals[0]
        summary = evaluation.summary
        subject = generated.index.entries[summary["subject"]]
        if subject.digest not in store.index().entries:
            add_base(next(n for n, e in enumerate(generated.bases) if e.digest == subject.digest))
        files = eval_files(plan.seed, 0, summary["metric"], summary["score"], subject.names[0], summary["date"])
        folder = scratch / "eval"
        write_folder(folder, files)
        real_add_eval(store, subject.names[0], metric=summary["metric"], score=summary["score"],
                      files=[folder / title for title in sorted(files)], date=summary["date"])
        generated_entries.append(evaluation)

    real = load_index(store.layout, with_blobs=True).entries
    differences = []
    for entry in generated_entries:
        stored = real.get(entry.digest)
        if stored is None:
            differences.append(f"{entry.kind} {entry.names or entry.digest[:12]}: ilabfs stored another digest")
            continue
        expected, actual = comparable_fields(entry), comparable_fields(stored)
        if expected != actual:
            differences.append(f"{entry.kind} {entry.digest[:12]}: index entries differ: generated {expected}, ilabfs {actual}")
    if len(real) != len(generated_entries):
        differences.append(f"ilabfs stored {len(real)} artifacts, the check expected {len(generated_entries)}")
    return differences


def comparable_fields(entry: Entry) -> dict:
    """Return what an add records in an index entry, without the creation time, which differs between any two adds."""
    return {
        "kind": entry.kind,
        "names": sorted(entry.names),
        "size": entry.size,
        "blobs": dict(sorted(entry.blobs.items())),
        "summary": entry.summary,
    }


def add_generated_dataset(generated: Generated, store, scratch: Path, digest: str, add_base, added: list[Entry]) -> str:
    """Add one generated dataset and its teacher through ilabfs.datasets.add_dataset. Return the dataset's name."""
    from ilabfs.datasets import add_dataset

    number = next(n for n, e in enumerate(generated.datasets) if e.digest == digest)
    entry = generated.datasets[number]
    teacher = entry.summary.get("teacher")
    teacher_ref = entry.summary.get("teacherName")
    if teacher:
        base_number = next(n for n, e in enumerate(generated.bases) if e.digest == teacher)
        add_base(base_number)
        teacher_ref = generated.bases[base_number].names[0]
    files, _ = dataset_files(generated.plan.seed, number, entry.summary["type"])
    folder = scratch / f"dataset-{number}"
    write_folder(folder, files)
    add_dataset(store, [folder], entry.names[0], dataset_type=entry.summary["type"], teacher=teacher_ref)
    added.append(entry)
    return entry.names[0]


def run_fsck(root: Path) -> dict[str, int]:
    """Run the checks of `ilab fsck --fast` and count the problems by code."""
    from ilabfs.fsck import check
    from ilabfs.layout import open_layout as open_existing

    report = check(open_existing(root, create=False), fast=True)
    found: dict[str, int] = {}
    for problem in report.problems:
        found[problem.code] = found.get(problem.code, 0) + 1
    return {"clean": int(report.clean), "blobsChecked": report.blobs_checked, **found}


# -- reporting ---------------------------------------------------------------


def describe(generated: Generated, root: Path) -> dict:
    """Summarise the store's contents as JSON-ready numbers."""
    plan = generated.plan
    layout = Layout(root)
    present = sum(1 for _ in os.scandir(layout.blobs))
    # Layout.index is manifests/index.db with the SQLite index and manifests/index.json before it.
    index_path = layout.index
    references = sum(len(entry.blobs) for entry in generated.index.entries.values())
    shared_files = []
    for checkpoint in generated.checkpoints:
        base = generated.index.entries[checkpoint.summary["base"]]
        layers = set(checkpoint.blobs) - {checkpoint.digest}
        shared_files.append(len(layers & set(base.blobs)) / (checkpoint.summary["files"]))
    measured = {evaluation.summary["subject"] for evaluation in generated.evals}
    unmeasured = [checkpoint for checkpoint in generated.checkpoints if checkpoint.digest not in measured]
    return {
        "artifacts": len(generated.index.entries),
        "byKind": {
            "baseModels": len(generated.bases),
            "checkpoints": len(generated.checkpoints),
            "datasets": len(generated.datasets),
            "evals": len(generated.evals),
        },
        "families": plan.families,
        "shardsPerModel": plan.shards,
        "filesPerModel": plan.shards + 6,
        "changedShardsPerCheckpoint": [min(plan.changed), max(plan.changed)] if plan.changed else [],
        "checkpointFilesSharedWithBase": round(sum(shared_files) / len(shared_files), 3) if shared_files else None,
        "blobs": present,
        "blobTarget": plan.blob_target,
        "garbageBlobs": len(generated.garbage),
        "blobBytes": generated.blob_bytes,
        "indexBlobReferences": references,
        "indexFile": index_path.relative_to(root).as_posix(),
        "indexBytes": index_path.stat().st_size,
        # The newest checkpoint that no eval measures, which a delete by name removes without --force.
        "deleteCandidate": unmeasured[-1].names[0] if unmeasured else None,
    }


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Build an ilabfs store with many artifacts of every kind, for the scale benchmarks.",
        epilog="The exit status is 1 when the check against the real ilabfs code finds a difference.",
    )
    parser.add_argument("out_dir", type=Path, metavar="OUT_DIR", help="folder for the new store, which must be missing or empty")
    parser.add_argument("--artifacts", type=int, default=10_000, help="artifacts of all kinds together (default: 10000)")
    parser.add_argument("--blobs", type=int, default=None, help="target number of files in blobs/blake3/, garbage included (default: no target, and each checkpoint changes one shard)")
    parser.add_argument("--garbage", type=int, default=0, help="unreferenced blobs to add, for gc to remove (default: 0)")
    parser.add_argument("--seed", type=int, default=0, help="seed of every content and choice (default: 0)")
    parser.add_argument("--mix", default=",".join(f"{kind}={weight}" for kind, weight in DEFAULT_MIX.items()), help="relative weights of the kinds (default: %(default)s)")
    parser.add_argument("--shards", type=int, default=None, help=f"shards per model (default: {DEFAULT_SHARDS}, or the fewest that reach --blobs)")
    parser.add_argument("--no-check", action="store_true", help="skip the comparison with the real ilabfs API and the fsck checks")
    parser.add_argument("--json", type=Path, default=None, metavar="FILE", help="also write the summary to FILE")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.artifacts < 1:
        parser.error(f"invalid --artifacts {args.artifacts}: expected 1 or more")
    if args.garbage < 0:
        parser.error(f"invalid --garbage {args.garbage}: expected 0 or more")
    if args.shards is not None and not 1 <= args.shards <= MAX_SHARDS:
        parser.error(f"invalid --shards {args.shards}: expected 1 to {MAX_SHARDS}")
    if args.out_dir.exists() and (not args.out_dir.is_dir() or any(args.out_dir.iterdir())):
        parser.error(f"{args.out_dir} exists and is not an empty folder: remove it or choose another")
    try:
        mix = parse_mix(args.mix)
        plan = make_plan(args.artifacts, mix, args.blobs, args.garbage, args.shards, args.seed)
    except ValueError as error:
        parser.error(str(error))

    started = time.perf_counter()
    generated = build_store(args.out_dir, plan)
    build_seconds = time.perf_counter() - started
    summary = describe(generated, args.out_dir)
    summary["buildSeconds"] = round(build_seconds, 2)
    print(f"Built {summary['artifacts']} artifacts and {summary['blobs']} blobs in {build_seconds:.1f} s: {json.dumps(summary['byKind'])}", flush=True)

    failed = False
    if not args.no_check:
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="ilabfs-scale-check-") as scratch:
            differences = check_with_real_api(generated, Path(scratch))
            remove_read_only_tree(Path(scratch))
        summary["realApiDifferences"] = differences
        fsck = run_fsck(args.out_dir)
        summary["fsck"] = fsck
        summary["checkSeconds"] = round(time.perf_counter() - started, 2)
        expected_garbage = len(generated.garbage)
        unexpected = {code: count for code, count in fsck.items() if code not in ("clean", "blobsChecked", "blob-unreferenced")}
        failed = bool(differences) or not fsck["clean"] or unexpected or fsck.get("blob-unreferenced", 0) != expected_garbage
        for line in differences:
            print(f"difference: {line}", file=sys.stderr)
        print(f"Check: {'failed' if failed else 'passed'}; real API differences: {len(differences)}; fsck --fast: {json.dumps(fsck)}")

    if args.json:
        args.json.write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    return 1 if failed else 0


def remove_read_only_tree(path: Path) -> None:
    """Make ``path`` writable throughout so that it can be removed, because blobs are read-only."""
    for folder, _, names in os.walk(path):
        os.chmod(folder, 0o700)
        for name in names:
            file_path = os.path.join(folder, name)
            if not os.path.islink(file_path):
                os.chmod(file_path, 0o600)


if __name__ == "__main__":
    sys.exit(main())
