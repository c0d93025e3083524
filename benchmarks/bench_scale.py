#!/usr/bin/env python3
"""Measure ilab listing, delete, gc and start-up on large generated stores.

One run builds, with benchmarks/make_scale_store.py, a store of 10,000
artifacts (models, checkpoints, datasets and evals) with 100,000 blobs, of
which a tenth are garbage, and a store of 1,000 checkpoints of 8 base models.
Next to the second it writes the same models as plain folders in the
InstructLab layout (models/ and checkpoints/hf_format/samples_N/). It then
times whole commands, each in a new process, and reports medians:

1. `ilab model list`, `ilab data list` and `ilab eval list` on the large store.
2. `ilab model list` on the checkpoint store against a walk of the folders
   that parses every safetensors header and JSON file, as InstructLab's
   `ilab model list --list-checkpoints` does (benchmarks/walk_model_list.py).
   By default the walk runs on two copies of the folders: one with a
   synthetic tokenizer.json of real size (32,000 tokens, about 1.8 MB), which
   the target applies to, and one with the generator's small tokenizer.json,
   reported for information. --small-tokenizer writes only the second.
3. `ilab --help` and `ilab model list` on an empty store against
   `python -c "import typer"` with the interpreter that runs ilab.
4. `ilab model delete` of one checkpoint, on a fresh copy of the large store
   for every run. The copy hardlinks the blobs and copies the rest.
5. `ilab gc` on a fresh copy of the large store for every run.

It also records the peak RSS of each command (its highest VmHWM, sampled
from /proc) and the 1-minute load average when each run starts. With --profile it runs the
commands once more under cProfile and `python -X importtime` and reports the
functions and imports that take the most time. Everything lives in a new
folder under --workdir, which is removed at the end. The exit status is 1
when a target is missed.

Usage:
    python benchmarks/bench_scale.py [--artifacts 10000] [--blobs 100000]
        [--repeat 5] [--profile] [--small-tokenizer] [--workdir DIR] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import pstats
import re
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import common
import synthetic_tokenizer

BENCHMARKS = Path(__file__).resolve().parent
GENERATOR = BENCHMARKS / "make_scale_store.py"
WALK = BENCHMARKS / "walk_model_list.py"

LIST_SECONDS_TARGET = 0.5
WALK_SPEEDUP_TARGET = 20.0
STARTUP_RATIO_TARGET = 2.0
DELETE_SECONDS_TARGET = 0.3
GC_SECONDS_TARGET = 5.0
PEAK_RSS_TARGET_MIB = 150

GARBAGE_SHARE = 0.10
WALK_BASES = 8
WALK_CHECKPOINTS = 1000
# The large store with its copies, the checkpoint store and the folders with
# the small tokenizer take about 0.5 GiB at the default size. The rest leaves
# room for a larger --blobs.
MIN_FREE_BYTES = 4 << 30
# The folders with a real-sized tokenizer.json add 1,008 copies of about 1.8 MB.
REAL_TOKENIZER_FREE_BYTES = 2 << 30

PROFILE_SNIPPET = """
import cProfile, sys
output = sys.argv[1]
sys.argv = ["ilab", *sys.argv[2:]]
profiler = cProfile.Profile()
profiler.enable()
try:
    from ilabfs_cli.main import run
    run()
except SystemExit:
    pass
finally:
    profiler.disable()
    profiler.dump_stats(output)
"""


# -- building the stores and folders -----------------------------------------


@dataclass
class WalkFolder:
    """One set of plain model folders for the folder walk, with the size of the tokenizer.json in them."""

    side: str
    path: Path
    tokenizer_bytes: int


@dataclass
class Setup:
    """The executables, stores and folders that every phase uses."""

    ilab: str
    python: str
    env: dict[str, str]
    repeat: int
    run_folder: Path
    large_store: Path
    large: dict
    checkpoint_store: Path
    checkpoints: dict
    # The first walk is the one the target applies to.
    walks: list[WalkFolder]
    empty_store: Path


def generate_store(python: str, folder: Path, arguments: list[str], env: dict[str, str]) -> dict:
    """Build a store with make_scale_store.py and return its summary."""
    summary_file = folder.with_suffix(".json")
    command = [python, str(GENERATOR), str(folder), *arguments, "--json", str(summary_file)]
    print(f"Generating: {' '.join(Path(part).name if os.path.isabs(part) else part for part in command[1:])}", flush=True)
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)
    summary = json.loads(summary_file.read_text())
    summary_file.unlink()
    return summary


def write_walk_folder(folder: Path, seed: int, tokenizer: bytes | None = None) -> int:
    """Write the checkpoint store's models as plain folders in the InstructLab layout, and return the largest tokenizer.json size.

    The files are byte for byte those of the checkpoint store, because the
    generator's own functions write them from the same plan and seed. Only
    ``tokenizer``, when given, replaces tokenizer.json in every folder. That
    leaves the ilab side unchanged, because `ilab model list` never opens the files.
    """
    sys.path.insert(0, str(BENCHMARKS))
    import make_scale_store as generator

    mix = {"base": WALK_BASES, "checkpoint": WALK_CHECKPOINTS, "dataset": 0, "eval": 0}
    plan = generator.make_plan(WALK_BASES + WALK_CHECKPOINTS, mix, None, 0, 4, seed)
    families = [generator.family_files(number, plan.shards) for number in range(plan.families)]
    bases = []
    for number in range(WALK_BASES):
        family = families[number // generator.BASES_PER_FAMILY]
        name = generator.base_name(number).split(":")[0]
        files = generator.base_files(family, generator.base_name(number), seed)
        if tokenizer is not None:
            files["tokenizer.json"] = tokenizer
        write_files(folder / "models" / "instructlab" / name, files)
        bases.append(files)
    for number in range(WALK_CHECKPOINTS):
        base_number = generator.checkpoint_lineage(number, WALK_BASES)[0]
        family = families[base_number // generator.BASES_PER_FAMILY]
        files = generator.checkpoint_files(family, bases[base_number], seed, number, plan.changed[number])
        write_files(folder / "checkpoints" / "hf_format" / f"samples_{generator.SAMPLES_PER_CHECKPOINT * (number + 1)}", files)
    # A checkpoint's files start as a copy of its base's, so it has the same tokenizer.json.
    return max(len(files["tokenizer.json"]) for files in bases)


def write_walk_folders(run_folder: Path, seed: int, real_tokenizer: bool) -> list[WalkFolder]:
    """Write the folders of each walk, the one the target applies to first."""
    walks = []
    if real_tokenizer:
        folder = run_folder / "walk-real-tokenizer"
        # One document for every folder, since generating it takes longer than writing it.
        tokenizer = synthetic_tokenizer.tokenizer_json_bytes(seed)
        print(f"Writing {WALK_BASES} base models and {WALK_CHECKPOINTS} checkpoints as plain folders, "
              f"with a {len(tokenizer):,}-byte tokenizer.json", flush=True)
        walks.append(WalkFolder("walk", folder, write_walk_folder(folder, seed, tokenizer)))
    folder = run_folder / "walk"
    print(f"Writing {WALK_BASES} base models and {WALK_CHECKPOINTS} checkpoints as plain folders, with the generator's tokenizer.json", flush=True)
    walks.append(WalkFolder("walk_small_tokenizer" if walks else "walk", folder, write_walk_folder(folder, seed)))
    return walks


def walk_note(walks: list[WalkFolder]) -> str:
    """Describe the tokenizer.json files of each walk for the notes under the table."""
    small = walks[-1]
    if len(walks) == 1:
        return f"The walk's folders have the generator's tokenizer.json of {small.tokenizer_bytes:,} bytes (--small-tokenizer)."
    real = walks[0]
    return (
        f"The walk that the target applies to reads folders whose tokenizer.json ({real.tokenizer_bytes:,} bytes, the same in every folder) is a "
        f"synthetic byte-level BPE tokenizer in the tokenizers library's layout, with {synthetic_tokenizer.VOCAB_SIZE:,} tokens and "
        f"{synthetic_tokenizer.MERGE_COUNT:,} merges (benchmarks/synthetic_tokenizer.py). The info rows walk the same models with the "
        f"generator's tokenizer.json of {small.tokenizer_bytes:,} bytes. ilab model list never opens these files."
    )


def write_files(folder: Path, files: dict[str, bytes]) -> None:
    folder.mkdir(parents=True)
    for title, data in files.items():
        (folder / title).write_bytes(data)


def make_empty_store(python: str, folder: Path, env: dict[str, str]) -> None:
    """Create a store with no artifact through ilabfs itself."""
    code = "import sys; from pathlib import Path; from ilabfs.layout import open_layout; open_layout(Path(sys.argv[1]), create=True)"
    subprocess.run([python, "-c", code, str(folder)], check=True, env=env)


def clone_store(source: Path, target: Path) -> None:
    """Copy a store for one destructive run: blobs as hardlinks, everything else as real copies.

    Blobs are never opened for writing, so sharing their inodes is safe, and a
    delete or gc in the copy only unlinks names. The index and the lock files
    are written in place or replaced, so they are copied.
    """
    target.mkdir()
    for entry in source.iterdir():
        if entry.name == "blobs":
            subprocess.run(["cp", "-al", str(entry), str(target / "blobs")], check=True)
        elif entry.is_dir():
            shutil.copytree(entry, target / entry.name, symlinks=True)
        else:
            shutil.copy2(entry, target / entry.name)
    os.sync()


# -- the benchmark phases ----------------------------------------------------


def ilab_command(setup: Setup, store: Path, *arguments: str) -> list[str]:
    return [setup.ilab, "--store", str(store), *arguments]


def expect_footer(measurement: common.Measurement, count: int) -> None:
    """Raise unless the listing's last line starts with the expected artifact count."""
    last = measurement.stdout.rstrip("\n").rsplit("\n", 1)[-1]
    if not last.startswith(f"{count} "):
        raise RuntimeError(f"{' '.join(measurement.command[1:])} printed {last!r}, expected {count} artifacts")


def bench_listing(setup: Setup) -> dict[str, list[common.Measurement]]:
    kinds = setup.large["byKind"]
    expected = {
        "model": kinds["baseModels"] + kinds["checkpoints"],
        "data": kinds["datasets"],
        "eval": kinds["evals"],
    }
    results: dict[str, list[common.Measurement]] = {kind: [] for kind in expected}
    for _, kind in common.alternate(setup.repeat, list(expected)):
        measurement = common.run_measured(ilab_command(setup, setup.large_store, kind, "list"), setup.env)
        expect_footer(measurement, expected[kind])
        results[kind].append(measurement)
    return results


def walk_command(setup: Setup, walk: WalkFolder) -> list[str]:
    return [setup.python, str(WALK), "--models", str(walk.path / "models"), "--checkpoints", str(walk.path / "checkpoints")]


def bench_walk(setup: Setup, cold: bool) -> dict[str, list[common.Measurement]]:
    """Time `ilab model list` on the checkpoint store against the walk of each set of folders."""
    models = WALK_BASES + WALK_CHECKPOINTS
    walks = {walk.side: walk_command(setup, walk) for walk in setup.walks}
    results: dict[str, list[common.Measurement]] = {"ilab": [], **{side: [] for side in walks}}
    for _, side in common.alternate(setup.repeat, list(results)):
        if cold:
            common.drop_page_cache()
        if side == "ilab":
            measurement = common.run_measured(ilab_command(setup, setup.checkpoint_store, "model", "list"), setup.env)
            expect_footer(measurement, models)
        else:
            measurement = common.run_measured(walks[side], setup.env)
            # The table has a rule above and below the header and one at the end.
            rows = measurement.stdout.count("\n") - 4
            if rows != models:
                raise RuntimeError(f"the folder walk listed {rows} models, expected {models}")
        results[side].append(measurement)
    return results


def bench_startup(setup: Setup) -> dict[str, list[common.Measurement]]:
    commands = {
        "help": [setup.ilab, "--help"],
        "empty list": ilab_command(setup, setup.empty_store, "model", "list"),
        "typer": [setup.python, "-c", "import typer"],
    }
    results: dict[str, list[common.Measurement]] = {side: [] for side in commands}
    for _, side in common.alternate(setup.repeat, list(commands)):
        results[side].append(common.run_measured(commands[side], setup.env))
    return results


def bench_destructive(setup: Setup, arguments: list[str], check) -> list[common.Measurement]:
    """Run a command that changes the store on a fresh copy of the large store in each run."""
    results = []
    for round_number in range(setup.repeat):
        copy = setup.run_folder / f"copy-{round_number}"
        clone_store(setup.large_store, copy)
        measurement = common.run_measured(ilab_command(setup, copy, *arguments), setup.env)
        check(json.loads(measurement.stdout))
        results.append(measurement)
        common.remove_tree(copy)
    return results


def bench_delete(setup: Setup) -> list[common.Measurement]:
    name = setup.large["deleteCandidate"]

    def check(result: dict) -> None:
        if len(result["deleted"]) != 1 or result["blobs"] < 1:
            raise RuntimeError(f"model delete {name} did not delete one model and reclaim its blobs: {result}")

    return bench_destructive(setup, ["model", "delete", name, "--json"], check)


def bench_gc(setup: Setup) -> list[common.Measurement]:
    garbage = setup.large["garbageBlobs"]

    def check(result: dict) -> None:
        if result["blobs"] != garbage:
            raise RuntimeError(f"gc removed {result['blobs']} blobs, expected the {garbage} garbage blobs: {result}")

    return bench_destructive(setup, ["gc", "--json"], check)


def fsck_large_store(setup: Setup) -> tuple[common.Measurement, dict]:
    measurement = common.run_measured(ilab_command(setup, setup.large_store, "fsck", "--fast", "--json"), setup.env)
    report = json.loads(measurement.stdout)
    codes: dict[str, int] = {}
    for problem in report["problems"]:
        codes[problem["code"]] = codes.get(problem["code"], 0) + 1
    summary = {"clean": report["clean"], "blobsChecked": report["blobsChecked"], "problems": codes}
    if not report["clean"] or set(codes) - {"blob-unreferenced"}:
        raise RuntimeError(f"ilab fsck --fast found problems in the generated store: {summary}")
    return measurement, summary


# -- profiling -----------------------------------------------------------------


def profile_command(setup: Setup, label: str, arguments: list[str], store: Path | None, destructive: bool = False, top: int = 12) -> dict:
    """Run one ilab command under cProfile and return its slowest functions by own and cumulative time.

    A ``destructive`` command runs on a fresh copy of ``store``.
    """
    stats_file = setup.run_folder / "profile.pstats"
    target = store
    if store is not None and destructive:
        target = setup.run_folder / "profile-copy"
        clone_store(store, target)
    full = (["--store", str(target)] if target else []) + arguments
    subprocess.run([setup.python, "-c", PROFILE_SNIPPET, str(stats_file), *full], check=True, env=setup.env, stdout=subprocess.DEVNULL)
    if target is not None and target != store:
        common.remove_tree(target)
    stats = pstats.Stats(str(stats_file))
    stats_file.unlink()
    total = stats.total_tt

    def label_of(key: tuple) -> str:
        filename, line, function = key
        return f"{short_path(filename)}:{line}({function})"

    # Each value is (primitive calls, calls, own time, cumulative time, callers).
    entries = stats.stats  # type: ignore[attr-defined]
    by_self = sorted(entries.items(), key=lambda item: item[1][2], reverse=True)[:top]
    # cProfile counts a recursive function's cumulative time once, so the
    # importer's cumulative time is the time spent importing modules.
    imports = max((value[3] for key, value in entries.items() if key[2] == "_find_and_load"), default=0.0)
    project = [item for item in entries.items() if short_path(item[0][0]).startswith(("ilabfs/", "cli/"))]
    by_cumulative = sorted(project, key=lambda item: item[1][3], reverse=True)[:top]
    return {
        "command": label,
        "totalSeconds": round(total, 3),
        "importSeconds": round(imports, 3),
        "selfTime": [{"function": label_of(key), "seconds": round(value[2], 3), "share": round(value[2] / total, 3)} for key, value in by_self],
        "projectCumulativeTime": [
            {"function": label_of(key), "seconds": round(value[3], 3), "share": round(value[3] / total, 3)} for key, value in by_cumulative
        ],
    }


def short_path(filename: str) -> str:
    """Return a source path relative to the checkout, site-packages or the standard library."""
    root = f"{common.REPO_ROOT}/"
    if filename.startswith(root):
        return filename[len(root):]
    return re.sub(r"^.*/(?:site-packages|lib/python3\.\d+)/", "", filename)


# Times the library steps behind list, delete and gc on one store, without a
# profiler's per-call overhead. Listing needs only the index rows, and code
# that needs the blob lists loads them with with_blobs=True. save_index
# writes into a new scratch store, never into the measured one.
PHASES_SNIPPET = """
import json, sys, tempfile, time
from pathlib import Path
started = time.perf_counter()
import ilabfs_cli.main
timings = {"import ilabfs_cli.main": time.perf_counter() - started}

def timed(label, function, *args, **kwargs):
    started = time.perf_counter()
    result = function(*args, **kwargs)
    timings[label] = time.perf_counter() - started
    return result

from ilabfs import gc
from ilabfs.catalog import list_artifacts
from ilabfs.index import load_index, save_index
from ilabfs.layout import open_layout
from ilabfs.store import Store
layout = open_layout(Path(sys.argv[1]), create=False)
rows = timed("load_index (rows only)", load_index, layout)
index = timed("load_index(with_blobs=True) (rows and blob lists)", load_index, layout, with_blobs=True)
with tempfile.TemporaryDirectory() as scratch:
    scratch_layout = open_layout(Path(scratch) / "store", create=True)
    timed("save_index of the whole index into a new store", save_index, scratch_layout, index)
    saved = len(load_index(scratch_layout).entries)
    if saved != len(index.entries):
        raise SystemExit(f"save_index wrote {saved} artifacts, expected {len(index.entries)}")
timed("gc.list_blobs (scandir and stat of blobs/)", gc.list_blobs, layout)
timed("gc.manifest_references (read and parse every manifest)", gc.manifest_references, layout, list(rows.entries))
timed("catalog.list_artifacts(model), index load included", list_artifacts, Store(layout.root, create=False), "model")
print(json.dumps({label: round(seconds, 4) for label, seconds in timings.items()}))
"""

RUN_SNIPPET = "import sys; sys.argv = ['ilab', *sys.argv[1:]]; from ilabfs_cli.main import run; run()"


def import_times(setup: Setup, arguments: list[str], top: int = 12) -> dict:
    """Run one read-only ilab command under python -X importtime and return its import time by package.

    Each module's own time (its "self" column) is added to the package named
    by the first part of its dotted name, so typer.main counts for typer.
    """
    command = [setup.python, "-X", "importtime", "-c", RUN_SNIPPET, *arguments]
    completed = subprocess.run(command, capture_output=True, text=True, check=True, env=setup.env)
    packages: dict[str, int] = {}
    for line in completed.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+\d+ \|\s*(\S+)", line)
        if match:
            package = match.group(2).split(".")[0]
            packages[package] = packages.get(package, 0) + int(match.group(1))
    ranked = sorted(packages.items(), key=lambda item: item[1], reverse=True)[:top]
    return {
        "totalSeconds": round(sum(packages.values()) / 1e6, 3),
        "byPackage": [{"package": name, "seconds": round(own / 1e6, 4)} for name, own in ranked],
    }


def library_phases(setup: Setup) -> dict:
    """Time the library steps behind list, delete and gc on the large store, in one process."""
    completed = subprocess.run([setup.python, "-c", PHASES_SNIPPET, str(setup.large_store)], capture_output=True, text=True, check=True, env=setup.env)
    return json.loads(completed.stdout)


def run_profiles(setup: Setup) -> dict:
    return {
        "libraryPhases": library_phases(setup),
        "imports": {
            "ilab --help": import_times(setup, ["--help"]),
            "ilab model list (empty store)": import_times(setup, ["--store", str(setup.empty_store), "model", "list"]),
            "ilab model list (large store)": import_times(setup, ["--store", str(setup.large_store), "model", "list"]),
        },
        "commands": [
            profile_command(setup, "ilab --help", ["--help"], None),
            profile_command(setup, "ilab model list (empty store)", ["model", "list"], setup.empty_store),
            profile_command(setup, "ilab model list (large store)", ["model", "list"], setup.large_store),
            profile_command(setup, "ilab model delete (large store)", ["model", "delete", setup.large["deleteCandidate"]], setup.large_store, destructive=True),
            profile_command(setup, "ilab gc (large store)", ["gc"], setup.large_store, destructive=True),
        ],
    }


# -- the report --------------------------------------------------------------


@dataclass
class Row:
    """One line of the results table, with numbers in ``unit``."""

    metric: str
    ilab: float | None
    baseline: float | None
    ratio: float | None
    target: str
    result: str
    unit: str
    load: str


def peak_rss_mib(*groups: list[common.Measurement]) -> float:
    return max(m.peak_hwm_kib for group in groups for m in group) / 1024


def seconds_row(metric: str, measurements: list[common.Measurement], limit: float) -> Row:
    value = common.median_wall(measurements)
    return Row(metric, value, None, None, f"< {limit} s", "pass" if value < limit else "fail", "s", common.load_range(measurements))


def build_rows(setup: Setup, listing: dict, walk: dict, cold_walk: dict | None, startup: dict, delete: list, gc: list, fsck: common.Measurement) -> list[Row]:
    kinds = setup.large["byKind"]
    artifacts = setup.large["artifacts"]
    rows = [
        seconds_row(f"ilab model list, {artifacts:,}-artifact store ({kinds['baseModels'] + kinds['checkpoints']:,} models)", listing["model"], LIST_SECONDS_TARGET),
        seconds_row(f"ilab data list, {artifacts:,}-artifact store ({kinds['datasets']:,} datasets)", listing["data"], LIST_SECONDS_TARGET),
        seconds_row(f"ilab eval list, {artifacts:,}-artifact store ({kinds['evals']:,} evals)", listing["eval"], LIST_SECONDS_TARGET),
    ]

    models = WALK_BASES + WALK_CHECKPOINTS
    for state, result in (("warm", walk), ("cold", cold_walk)):
        if result is None:
            continue
        ilab = common.median_wall(result["ilab"])
        for folders in setup.walks:
            baseline = common.median_wall(result[folders.side])
            speedup = baseline / ilab
            # The target applies to the warm runs of the first walk. The others are reported for information.
            target, verdict = "-", "info"
            if state == "warm" and folders is setup.walks[0]:
                target = f">= {WALK_SPEEDUP_TARGET:.0f}x"
                verdict = "pass" if speedup >= WALK_SPEEDUP_TARGET else "fail"
            metric = f"model list of {models:,} models vs folder walk with {folders.tokenizer_bytes:,}-byte tokenizer.json, speed-up walk/ilab ({state})"
            rows.append(Row(metric, ilab, baseline, speedup, target, verdict, "s", common.load_range(result["ilab"], result[folders.side])))

    typer = common.median_wall(startup["typer"])
    for side, label in (("help", "ilab --help"), ("empty list", "ilab model list, empty store")):
        value = common.median_wall(startup[side])
        ratio = value / typer
        rows.append(Row(f"{label} vs python -c 'import typer', ilab/typer", value, typer, ratio, f"< {STARTUP_RATIO_TARGET:.0f}x",
                        "pass" if ratio < STARTUP_RATIO_TARGET else "fail", "s", common.load_range(startup[side], startup["typer"])))

    rows.append(seconds_row(f"ilab model delete of one checkpoint, {artifacts:,}-artifact store", delete, DELETE_SECONDS_TARGET))
    rows.append(seconds_row(f"ilab gc, {setup.large['blobs']:,} blobs of which {setup.large['garbageBlobs']:,} garbage", gc, GC_SECONDS_TARGET))

    typer_rss = peak_rss_mib(startup["typer"])
    for label, groups in (
        ("list (model, data, eval)", [listing["model"], listing["data"], listing["eval"]]),
        ("model delete", [delete]),
        ("gc", [gc]),
    ):
        value = peak_rss_mib(*groups)
        rows.append(Row(f"peak RSS, {label}, {artifacts:,}-artifact store (baseline: import typer)", value, typer_rss, None,
                        f"< {PEAK_RSS_TARGET_MIB} MiB", "pass" if value < PEAK_RSS_TARGET_MIB else "fail", "MiB", common.load_range(*groups)))
    rows.append(Row(f"ilab fsck --fast, {artifacts:,}-artifact store (one run)", fsck.wall_seconds, None, None, "-", "info", "s", f"{fsck.load_average:.2f}"))
    return rows


def render_table(rows: list[Row]) -> str:
    """Render rows as a Markdown table, which also reads well in a terminal."""
    header = ["metric", "ilab", "baseline", "ratio", "target", "result", "load avg"]
    cells = [
        [r.metric, common.format_value(r.ilab, r.unit), common.format_value(r.baseline, r.unit), "-" if r.ratio is None else f"{r.ratio:.2f}x", r.target, r.result, r.load]
        for r in rows
    ]
    return common.markdown_table(header, cells)


def render_profiles(profiles: dict) -> str:
    lines = ["Library steps on the large store, timed with perf_counter in one process:"]
    lines += [f"  {seconds:.3f} s  {label}" for label, seconds in profiles["libraryPhases"].items()]
    for label, imports in profiles["imports"].items():
        lines.append(f"{label} under python -X importtime: {imports['totalSeconds']:.3f} s of imports; by package:")
        lines += [f"  {item['seconds']:.4f} s  {item['package']}" for item in imports["byPackage"]]
    for command in profiles["commands"]:
        lines.append(f"{command['command']}: {command['totalSeconds']:.3f} s under cProfile, {command['importSeconds']:.3f} s of it importing; most own time:")
        lines += [f"  {item['seconds']:.3f} s {item['share']:6.1%}  {item['function']}" for item in command["selfTime"][:8]]
        lines.append("  most cumulative time in ilabfs/ and cli/:")
        lines += [f"  {item['seconds']:.3f} s {item['share']:6.1%}  {item['function']}" for item in command["projectCumulativeTime"]]
    return "\n".join(lines)


# -- the machine -------------------------------------------------------------


def source_state() -> dict:
    """Return the commit of the checkout and the files of ilabfs/ and cli/ that differ from it.

    --no-optional-locks keeps git status from rewriting the index of a checkout that others use.
    """
    commit = common.command_output(["git", "-C", str(common.REPO_ROOT), "rev-parse", "--short", "HEAD"])
    try:
        status = subprocess.run(
            ["git", "-C", str(common.REPO_ROOT), "--no-optional-locks", "status", "--porcelain", "--", "ilabfs", "cli"],
            capture_output=True, text=True, check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return {"commit": commit, "uncommitted": ["unknown"]}
    # Porcelain lines are two status letters, a space and the path.
    return {"commit": commit, "uncommitted": [line[3:] for line in status.splitlines() if line.strip()]}


def machine_info(setup: Setup) -> dict:
    python, typer, blake3 = common.package_versions(setup.python, ["typer", "blake3"], setup.env)
    return {
        **common.machine_basics(setup.run_folder),
        "python": python,
        "typer": typer,
        "blake3": blake3,
        "ilab": common.command_output([setup.ilab, "--version"], setup.env),
        "source": source_state(),
    }


# -- the command line --------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Measure ilab list, delete, gc and start-up on generated stores of many artifacts.",
        epilog="The exit status is 0 when every target is met and 1 when one is missed.",
    )
    parser.add_argument("--artifacts", type=int, default=10_000, help="artifacts of the large store (default: 10000)")
    # argparse formats help with %, so the percent sign is doubled.
    parser.add_argument("--blobs", type=int, default=100_000, help=f"blobs of the large store, {GARBAGE_SHARE * 100:.0f}%% of them garbage (default: 100000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated stores (default: 0)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each command, of which the table shows the median (default: 5)")
    parser.add_argument("--profile", action="store_true", help="also profile each command once with cProfile and python -X importtime")
    parser.add_argument("--no-cold", action="store_true", help="skip the cold-cache walk comparison even when drop_caches is writable")
    tokenizer = parser.add_mutually_exclusive_group()
    tokenizer.add_argument(
        "--real-tokenizer",
        dest="real_tokenizer",
        action="store_true",
        default=True,
        help=f"walk folders with a synthetic {synthetic_tokenizer.VOCAB_SIZE:,}-token tokenizer.json of about 1.8 MB, "
        "which the walk target applies to, and folders with the small one for information (default)",
    )
    tokenizer.add_argument(
        "--small-tokenizer",
        dest="real_tokenizer",
        action="store_false",
        help="walk only folders with the generator's small tokenizer.json of about 11 KB",
    )
    parser.add_argument("--workdir", type=Path, default=None, help="existing folder in which to create the run folder (default: the system temp folder)")
    parser.add_argument("--json", type=Path, default=None, metavar="FILE", help="also write the table, the machine and every run to FILE")
    parser.add_argument("--ilab", default=None, help="ilab executable (default: the one next to this Python, else ilab on PATH)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.repeat < 1:
        raise SystemExit(f"invalid --repeat {args.repeat}: expected 1 or more")
    if args.artifacts < 100:
        raise SystemExit(f"invalid --artifacts {args.artifacts}: expected 100 or more")
    ilab = common.find_ilab(args.ilab)
    workdir = common.existing_workdir(args.workdir)
    free = shutil.disk_usage(workdir).free
    needed = MIN_FREE_BYTES + (REAL_TOKENIZER_FREE_BYTES if args.real_tokenizer else 0)
    if free < needed:
        raise SystemExit(f"not enough free space in {workdir}: {free / (1 << 30):.1f} GiB free, {needed / (1 << 30):.0f} GiB needed")

    return common.run_in_new_folder(workdir, "ilabfs-bench-scale-", lambda run_folder: run_benchmark(args, ilab, run_folder))


def run_benchmark(args: argparse.Namespace, ilab: str, run_folder: Path) -> int:
    load_before = os.getloadavg()
    python = common.interpreter_of(ilab)
    # The store is always named by --store, so an ILABFS_STORE of the caller cannot matter.
    env = {key: value for key, value in os.environ.items() if key != "ILABFS_STORE"}

    garbage = int(args.blobs * GARBAGE_SHARE)
    large_store = run_folder / "large-store"
    large = generate_store(python, large_store, ["--artifacts", str(args.artifacts), "--blobs", str(args.blobs), "--garbage", str(garbage), "--seed", str(args.seed)], env)
    checkpoint_store = run_folder / "checkpoint-store"
    mix = f"base={WALK_BASES},checkpoint={WALK_CHECKPOINTS},dataset=0,eval=0"
    checkpoints = generate_store(python, checkpoint_store, ["--artifacts", str(WALK_BASES + WALK_CHECKPOINTS), "--mix", mix, "--shards", "4", "--seed", str(args.seed)], env)
    walks = write_walk_folders(run_folder, args.seed, args.real_tokenizer)
    empty_store = run_folder / "empty-store"
    make_empty_store(python, empty_store, env)
    os.sync()
    setup = Setup(ilab, python, env, args.repeat, run_folder, large_store, large, checkpoint_store, checkpoints, walks, empty_store)

    print("ilab fsck --fast on the large store", flush=True)
    fsck, fsck_summary = fsck_large_store(setup)
    # One untimed run of each program, so the first timed run does not read them from disk.
    for command in (ilab_command(setup, large_store, "model", "list"), [python, str(WALK), "--models", str(walks[0].path / "models")]):
        common.run_measured(command, env)

    print("Listing", flush=True)
    listing = bench_listing(setup)
    print("Model list against the folder walk", flush=True)
    walk = bench_walk(setup, cold=False)
    cold_reason = "turned off with --no-cold" if args.no_cold else common.cold_cache_problem()
    cold_walk = None if cold_reason else bench_walk(setup, cold=True)
    print("Start-up", flush=True)
    startup = bench_startup(setup)
    print("Delete", flush=True)
    delete = bench_delete(setup)
    print("gc", flush=True)
    gc = bench_gc(setup)
    profiles = None
    if args.profile:
        print("Profiling", flush=True)
        profiles = run_profiles(setup)

    rows = build_rows(setup, listing, walk, cold_walk, startup, delete, gc, fsck)
    machine = machine_info(setup)
    load_after = os.getloadavg()
    notes = [
        f"Each timing is the median of {args.repeat} runs of a whole command in a new process, interpreter start included; "
        "commands of one comparison run in turn, in a rotating order.",
        "Peak RSS is the highest VmHWM of the command, sampled every 5 ms from /proc, and the maximum over its runs. "
        "The load column is the range of the 1-minute load average at the start of the runs.",
        f"The delete removes {large['deleteCandidate']} by name, which no eval measures, and runs with --json; "
        "delete and gc each run on a fresh copy of the large store whose blobs are hardlinks.",
        "The folder walk is benchmarks/walk_model_list.py. It parses headers with struct and json, where InstructLab's "
        "safetensors.safe_open(framework='pt') would also import PyTorch.",
        walk_note(walks),
        "Cold: sync and 3 written to /proc/sys/vm/drop_caches before each run of every side." if cold_walk else f"Cold-cache walk comparison skipped: {cold_reason}.",
    ]

    source = machine["source"]
    print()
    print(f"Large store: {json.dumps(large['byKind'])}, {large['blobs']:,} blobs ({large['garbageBlobs']:,} garbage), "
          f"{large['shardsPerModel']} shards per model, {large['indexFile']} {large['indexBytes']:,} bytes; fsck --fast: {json.dumps(fsck_summary)}")
    print(f"ilab: {machine['ilab']}, commit {source['commit']}" + (f", uncommitted changes in {', '.join(source['uncommitted'])}" if source["uncommitted"] else ""))
    print(render_table(rows))
    print()
    for note in notes:
        print(f"- {note}")
    if profiles:
        print()
        print(render_profiles(profiles))

    if args.json:
        runs = {
            "listing": {kind: [common.measurement_summary(m) for m in ms] for kind, ms in listing.items()},
            "walk": {side: [common.measurement_summary(m) for m in ms] for side, ms in walk.items()},
            "walk_cold": {side: [common.measurement_summary(m) for m in ms] for side, ms in cold_walk.items()} if cold_walk else None,
            "startup": {side: [common.measurement_summary(m) for m in ms] for side, ms in startup.items()},
            "delete": [common.measurement_summary(m) for m in delete],
            "gc": [common.measurement_summary(m) for m in gc],
            "fsck": common.measurement_summary(fsck),
        }
        document = {
            "settings": {"artifacts": args.artifacts, "blobs": args.blobs, "garbage": garbage, "repeat": args.repeat, "seed": args.seed,
                         "real_tokenizer": args.real_tokenizer},
            "machine": machine,
            "stores": {
                "large": large,
                "checkpoints": checkpoints,
                "largeFsck": fsck_summary,
                "walkFolders": [{"side": walk.side, "folder": walk.path.name, "tokenizerBytes": walk.tokenizer_bytes} for walk in walks],
            },
            "load_average": {"before": load_before, "after": load_after},
            "rows": [asdict(row) for row in rows],
            "notes": notes,
            "runs": runs,
            "profiles": profiles,
        }
        common.write_report(args.json, document)
    return 0 if all(row.result != "fail" for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
