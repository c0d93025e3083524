#!/usr/bin/env python3
"""Measure ilab against DVC and git-annex, with cp, cp -al and b3sum as physical limits.

One run generates a sharded safetensors model and a fine-tune of it that
differs in its last shard (examples/make_model.py), and times whole commands
on them, each in a new process. The sides of a comparison take turns in a
rotating order, except for the re-adds, which run one side after another:

1. adding the model, with the same link kind on each side: `ilab model add
   --mode copy` against `dvc add` with cache.type copy and `git annex add`
   with annex.addunlocked (the file is copied into the annex), and
   `--mode link` against `dvc add` with cache.type hardlink and a locked
   `git annex add` (the file is moved into the annex and replaced by a
   symlink). `cp -r`, `cp -al` and `b3sum` give the cost of copying, of
   linking and of hashing the same bytes.
2. adding the unchanged model again, after a first add.
3. adding the fine-tune next to its base, which stores one new shard.
4. removing the fine-tune and reclaiming that shard. For ilab that is `ilab
   model delete`, then `ilab gc`. DVC runs `dvc gc -w -f` after the
   fine-tune's folder and .dvc file are removed. git-annex runs `git annex
   unused` and `git annex dropunused --force all` after `git rm` and a commit.

DVC is installed with pip into a new virtual environment under the run
folder. git-annex is used from PATH; when it is missing and the script runs
as root, it is installed with `apt-get install -y git-annex`, which stays
installed afterwards. Without root the git-annex rows are skipped. The peers
run with HOME set to a folder under the run folder, so they write no file
outside it. Everything lives in a new folder under --workdir, which is
removed at the end. The exit status is 1 when a target is missed.

Usage:
    python benchmarks/bench_peers.py [--size 4G] [--shards 4] [--repeat 3]
        [--workdir DIR] [--json FILE] [--no-dvc] [--no-annex]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import common

ADD_SPEEDUP_TARGET = 2.0
READD_SPEEDUP_TARGET = 5.0

# The base and the fine-tune (2x), and, while the pair is added, a copy of
# both in a repository whose cache contains the base again and the
# fine-tune's new shard (3.25x with 4 shards), plus headroom.
FREE_SPACE_FACTOR = 6

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.invalid",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.invalid",
}


# -- running and measuring one command ---------------------------------------


def run_quiet(command: list[str], env: dict[str, str], cwd: Path | None = None) -> str:
    """Run an untimed setup command. Raise RuntimeError with its output if it fails."""
    completed = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if completed.returncode != 0:
        raise RuntimeError(f"command failed with exit status {completed.returncode}: {' '.join(command)}\n{completed.stderr[-4000:]}")
    return completed.stdout


# -- files and the page cache ------------------------------------------------


def tree_files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.is_file() and not path.is_symlink())


def stored_bytes(folder: Path) -> int:
    """Add up the sizes of the distinct inodes of the regular files under ``folder``."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for base, _, names in os.walk(folder):
        for name in names:
            info = os.lstat(os.path.join(base, name))
            if os.path.islink(os.path.join(base, name)) or (info.st_dev, info.st_ino) in seen:
                continue
            seen.add((info.st_dev, info.st_ino))
            total += info.st_size
    return total


# -- the tools ---------------------------------------------------------------


@dataclass
class Tools:
    """Executables and environments of every side, and why a peer is missing."""

    ilab: str
    b3sum: str
    dvc: str | None
    annex: bool
    env: dict[str, str]
    peer_env: dict[str, str]
    skipped: dict[str, str] = field(default_factory=dict)
    installed: list[str] = field(default_factory=list)


def install_dvc(run_folder: Path, env: dict[str, str]) -> tuple[str | None, str]:
    """Create a virtual environment under the run folder and pip install DVC into it.

    Returns the dvc executable, or None and the reason it is missing.
    """
    venv = run_folder / "dvc-venv"
    print("Installing DVC with pip into a temporary virtual environment", flush=True)
    try:
        run_quiet([sys.executable, "-m", "venv", str(venv)], env)
        run_quiet([str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check", "dvc"], env)
    except RuntimeError as error:
        return None, f"pip install dvc failed: {str(error).splitlines()[-1]}"
    return str(venv / "bin" / "dvc"), ""


def find_annex(env: dict[str, str]) -> tuple[bool, str, bool]:
    """Return (available, reason when not, installed now), installing git-annex with apt-get as root."""
    if shutil.which("git-annex", path=env.get("PATH")):
        return True, "", False
    if os.geteuid() != 0:
        return False, "git-annex is not installed and installing it with apt-get needs root", False
    print("git-annex is missing: installing it with apt-get install -y git-annex (it stays installed)", flush=True)
    apt_env = {**env, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        run_quiet(["apt-get", "install", "-y", "git-annex"], apt_env)
    except RuntimeError:
        try:
            run_quiet(["apt-get", "update"], apt_env)
            run_quiet(["apt-get", "install", "-y", "git-annex"], apt_env)
        except RuntimeError as error:
            return False, f"apt-get install git-annex failed: {str(error).splitlines()[-1]}", False
    return bool(shutil.which("git-annex", path=env.get("PATH"))), "", True


def new_dvc_repo(tools: Tools, folder: Path, cache_type: str) -> None:
    """Create a git repository with DVC in it. The peer environment keeps DVC's site cache and config under the run folder."""
    folder.mkdir()
    run_quiet(["git", "init", "-q"], tools.peer_env, folder)
    run_quiet([tools.dvc, "init", "-q"], tools.peer_env, folder)
    settings = {"core.analytics": "false", "core.autostage": "false", "cache.type": cache_type}
    for key, value in settings.items():
        run_quiet([tools.dvc, "config", key, value], tools.peer_env, folder)


def new_annex_repo(tools: Tools, folder: Path, unlocked: bool) -> None:
    folder.mkdir()
    run_quiet(["git", "init", "-q"], tools.peer_env, folder)
    run_quiet(["git", "annex", "init", "-q", "bench"], tools.peer_env, folder)
    if unlocked:
        run_quiet(["git", "config", "annex.addunlocked", "true"], tools.peer_env, folder)


# -- the benchmark phases ----------------------------------------------------


@dataclass
class Settings:
    """Inputs that every phase shares."""

    tools: Tools
    repeat: int
    run_folder: Path
    base: Path
    finetune: Path


def ilab_add(settings: Settings, store: Path, source: Path, name: str, mode: str) -> common.Measurement:
    command = [settings.tools.ilab, "--store", str(store), "model", "add", str(source), "--name", name, "--mode", mode, "--json"]
    return common.run_measured(command, settings.tools.env)


def add_sides(tools: Tools) -> list[str]:
    sides = ["ilab copy", "ilab link", "cp -r", "cp -al", "b3sum"]
    if tools.dvc:
        sides += ["dvc copy", "dvc hardlink"]
    if tools.annex:
        sides += ["annex unlocked", "annex locked"]
    return sides


def bench_add(settings: Settings) -> dict[str, list[common.Measurement]]:
    """Time a first add of the base model on every side, on a fresh copy where the side changes its input."""
    tools = settings.tools
    sides = add_sides(tools)
    results: dict[str, list[common.Measurement]] = {side: [] for side in sides}
    source_files = tree_files(settings.base)
    for _, side in common.alternate(settings.repeat, sides):
        work = settings.run_folder / "add"
        work.mkdir()
        if side == "ilab copy":
            # Copy mode leaves the source as it was, except for the hash cache, which a first add must not find.
            common.remove_hash_cache(source_files)
            common.warm_page_cache(source_files)
            measurement = ilab_add(settings, work / "store", settings.base, "base", "copy")
        elif side in ("cp -r", "cp -al"):
            common.warm_page_cache(source_files)
            measurement = common.run_measured([*side.split(), str(settings.base), str(work / "model")], tools.env)
        elif side == "b3sum":
            common.warm_page_cache(source_files)
            measurement = common.run_measured([tools.b3sum, *map(str, source_files)], tools.env)
        else:
            measurement = add_fresh_copy(settings, side, work)
        results[side].append(measurement)
        common.remove_tree(work)
    return results


def add_fresh_copy(settings: Settings, side: str, work: Path) -> common.Measurement:
    """Copy the base model into place for a side that changes its input, then time its add."""
    tools = settings.tools
    if side == "ilab link":
        model = work / "model"
        run_quiet(["cp", "-r", str(settings.base), str(model)], tools.env)
        common.warm_page_cache(tree_files(model))
        return ilab_add(settings, work / "store", model, "base", "link")
    repo = work / "repo"
    if side.startswith("dvc"):
        new_dvc_repo(tools, repo, side.split()[1])
        run_quiet(["cp", "-r", str(settings.base), str(repo / "model")], tools.env)
        common.warm_page_cache(tree_files(repo / "model"))
        return common.run_measured([tools.dvc, "add", "-q", "model"], tools.peer_env, repo)
    new_annex_repo(tools, repo, unlocked=side == "annex unlocked")
    run_quiet(["cp", "-r", str(settings.base), str(repo / "model")], tools.env)
    common.warm_page_cache(tree_files(repo / "model"))
    return common.run_measured(["git", "annex", "add", "--quiet", "model"], tools.peer_env, repo)


def bench_readd(settings: Settings) -> dict[str, list[common.Measurement]]:
    """For each side in turn: add the base model once, then time adds of the unchanged model.

    One side at a time keeps the disk use to one copy of the model and its
    store. Setting up every side first took ten times the model size.
    """
    tools = settings.tools
    sides = ["ilab copy", "ilab link"]
    if tools.dvc:
        sides += ["dvc copy", "dvc hardlink"]
    if tools.annex:
        sides += ["annex unlocked", "annex locked"]
    results: dict[str, list[common.Measurement]] = {}
    for side in sides:
        work = settings.run_folder / "readd"
        work.mkdir()
        command, env, cwd = set_up_readd(settings, side, work)
        results[side] = []
        for _ in range(settings.repeat):
            os.sync()
            measurement = common.run_measured(command, env, cwd)
            if side.startswith("ilab") and json.loads(measurement.stdout)["bytesRead"] != 0:
                raise RuntimeError(f"{side} re-add read the model again: {measurement.stdout}")
            results[side].append(measurement)
        common.remove_tree(work)
    return results


def set_up_readd(settings: Settings, side: str, work: Path) -> tuple[list[str], dict[str, str], Path | None]:
    """Add the base model once for ``side`` and return the command, environment and folder of a re-add."""
    tools = settings.tools
    if side == "ilab copy":
        common.remove_hash_cache(tree_files(settings.base))
        ilab_add(settings, work / "store", settings.base, "base", "copy")
        command = [tools.ilab, "--store", str(work / "store"), "model", "add", str(settings.base), "--name", "base", "--mode", "copy", "--json"]
        return command, tools.env, None
    if side == "ilab link":
        model = work / "model"
        run_quiet(["cp", "-r", str(settings.base), str(model)], tools.env)
        ilab_add(settings, work / "store", model, "base", "link")
        command = [tools.ilab, "--store", str(work / "store"), "model", "add", str(model), "--name", "base", "--mode", "link", "--json"]
        return command, tools.env, None
    repo = work / "repo"
    if side.startswith("dvc"):
        new_dvc_repo(tools, repo, side.split()[1])
        command = [tools.dvc, "add", "-q", "model"]
    else:
        new_annex_repo(tools, repo, unlocked=side == "annex unlocked")
        command = ["git", "annex", "add", "--quiet", "model"]
    run_quiet(["cp", "-r", str(settings.base), str(repo / "model")], tools.env)
    run_quiet(command, tools.peer_env, repo)
    return command, tools.peer_env, repo


@dataclass
class PairRound:
    """One side's timings for adding the fine-tune next to its base and removing it again."""

    add: common.Measurement
    reclaim: list[common.Measurement]
    stored_after_add: int
    stored_after_reclaim: int


def bench_pair(settings: Settings) -> dict[str, list[PairRound]]:
    """For each side: add the base (untimed), time adding the fine-tune, then time removing it and reclaiming its shard."""
    tools = settings.tools
    sides = ["ilab copy", "ilab link"]
    if tools.dvc:
        sides += ["dvc copy", "dvc hardlink"]
    if tools.annex:
        sides += ["annex unlocked", "annex locked"]
    results: dict[str, list[PairRound]] = {side: [] for side in sides}
    for _, side in common.alternate(settings.repeat, sides):
        work = settings.run_folder / "pair"
        work.mkdir()
        if side.startswith("ilab"):
            results[side].append(pair_ilab(settings, side.split()[1], work))
        elif side.startswith("dvc"):
            results[side].append(pair_dvc(settings, side.split()[1], work))
        else:
            results[side].append(pair_annex(settings, side == "annex unlocked", work))
        common.remove_tree(work)
    return results


def pair_ilab(settings: Settings, mode: str, work: Path) -> PairRound:
    tools = settings.tools
    store = work / "store"
    base, finetune = work / "base", work / "finetune"
    for source, target in ((settings.base, base), (settings.finetune, finetune)):
        run_quiet(["cp", "-r", str(source), str(target)], tools.env)
    ilab_add(settings, store, base, "base", mode)
    common.warm_page_cache(tree_files(finetune))
    add = ilab_add(settings, store, finetune, "finetune", mode)
    stored = stored_bytes(store / "blobs")
    os.sync()
    delete = common.run_measured([tools.ilab, "--store", str(store), "model", "delete", "finetune", "--json"], tools.env)
    gc = common.run_measured([tools.ilab, "--store", str(store), "gc", "--json"], tools.env)
    return PairRound(add, [delete, gc], stored, stored_bytes(store / "blobs"))


def pair_dvc(settings: Settings, cache_type: str, work: Path) -> PairRound:
    tools = settings.tools
    repo = work / "repo"
    new_dvc_repo(tools, repo, cache_type)
    run_quiet(["cp", "-r", str(settings.base), str(repo / "base")], tools.env)
    run_quiet([tools.dvc, "add", "-q", "base"], tools.peer_env, repo)
    run_quiet(["cp", "-r", str(settings.finetune), str(repo / "finetune")], tools.env)
    common.warm_page_cache(tree_files(repo / "finetune"))
    add = common.run_measured([tools.dvc, "add", "-q", "finetune"], tools.peer_env, repo)
    cache = repo / ".dvc" / "cache"
    stored = stored_bytes(cache)
    common.remove_tree(repo / "finetune")
    (repo / "finetune.dvc").unlink()
    os.sync()
    gc = common.run_measured([tools.dvc, "gc", "-w", "-f", "-q"], tools.peer_env, repo)
    return PairRound(add, [gc], stored, stored_bytes(cache))


def pair_annex(settings: Settings, unlocked: bool, work: Path) -> PairRound:
    tools = settings.tools
    repo = work / "repo"
    new_annex_repo(tools, repo, unlocked)
    run_quiet(["cp", "-r", str(settings.base), str(repo / "base")], tools.env)
    run_quiet(["git", "annex", "add", "--quiet", "base"], tools.peer_env, repo)
    run_quiet(["git", "commit", "-q", "-m", "add base"], tools.peer_env, repo)
    run_quiet(["cp", "-r", str(settings.finetune), str(repo / "finetune")], tools.env)
    common.warm_page_cache(tree_files(repo / "finetune"))
    add = common.run_measured(["git", "annex", "add", "--quiet", "finetune"], tools.peer_env, repo)
    run_quiet(["git", "commit", "-q", "-m", "add finetune"], tools.peer_env, repo)
    objects = repo / ".git" / "annex" / "objects"
    stored = stored_bytes(objects)
    run_quiet(["git", "rm", "-r", "-q", "finetune"], tools.peer_env, repo)
    run_quiet(["git", "commit", "-q", "-m", "remove finetune"], tools.peer_env, repo)
    os.sync()
    unused = common.run_measured(["git", "annex", "unused", "--quiet"], tools.peer_env, repo)
    drop = common.run_measured(["git", "annex", "dropunused", "--quiet", "--force", "all"], tools.peer_env, repo)
    return PairRound(add, [unused, drop], stored, stored_bytes(objects))


# -- the report --------------------------------------------------------------


LABELS = {
    "ilab copy": "ilab model add --mode copy",
    "ilab link": "ilab model add --mode link",
    "dvc copy": "dvc add (cache.type copy)",
    "dvc hardlink": "dvc add (cache.type hardlink)",
    "annex unlocked": "git annex add (annex.addunlocked: copy)",
    "annex locked": "git annex add (locked: move and symlink)",
    "cp -r": "cp -r",
    "cp -al": "cp -al",
    "b3sum": "b3sum of every file",
}
RECLAIM_LABELS = {
    "ilab": "ilab model delete, then ilab gc",
    "dvc": "dvc gc -w -f",
    "annex": "git annex unused, then git annex dropunused --force all",
}


@dataclass
class Row:
    """One line of the targets table. ``ratio`` is the baseline's time over ilab's, so above 1 means ilab is faster."""

    metric: str
    ilab: float
    baseline: float | None
    ratio: float | None
    target: str
    result: str
    load: str


def pair_adds(rounds: list[PairRound]) -> list[common.Measurement]:
    return [item.add for item in rounds]


def reclaim_seconds(rounds: list[PairRound]) -> float:
    return statistics.median(sum(m.wall_seconds for m in item.reclaim) for item in rounds)


def medians_table(add: dict, readd: dict, pair: dict) -> str:
    """Render the median wall time of every operation on every side as a Markdown table."""
    header = ["side", "add model", "re-add unchanged", "add fine-tune next to base", "remove fine-tune and reclaim", "peak RSS of add"]
    lines = []
    for side, label in LABELS.items():
        if side not in add:
            continue
        cells = [
            label,
            f"{common.median_wall(add[side]):.3f} s",
            f"{common.median_wall(readd[side]):.3f} s" if side in readd else "-",
            f"{common.median_wall(pair_adds(pair[side])):.3f} s" if side in pair else "-",
            f"{reclaim_seconds(pair[side]):.3f} s" if side in pair else "-",
            peak_rss(add[side]),
        ]
        lines.append(cells)
    return common.markdown_table(header, lines)


def peak_rss(measurements: list[common.Measurement]) -> str:
    """Format the highest sampled peak RSS of a side's runs, or "-" when every run ended before the first sample."""
    peak = max(m.peak_hwm_kib for m in measurements)
    return f"{peak / 1024:.1f} MiB" if peak else "-"


def speedup_row(metric: str, ilab: list[common.Measurement], baseline: list[common.Measurement], target: float | None) -> Row:
    ilab_seconds, baseline_seconds = common.median_wall(ilab), common.median_wall(baseline)
    ratio = baseline_seconds / ilab_seconds
    if target is None:
        return Row(metric, ilab_seconds, baseline_seconds, ratio, "-", "info", common.load_range(ilab, baseline))
    return Row(metric, ilab_seconds, baseline_seconds, ratio, f">= {target:.0f}x", "pass" if ratio >= target else "fail", common.load_range(ilab, baseline))


def build_rows(add: dict, readd: dict, pair: dict) -> list[Row]:
    rows = []
    for kind, dvc_side, annex_side, limit in (("copy", "dvc copy", "annex unlocked", "cp -r"), ("link", "dvc hardlink", "annex locked", "cp -al")):
        ilab = add[f"ilab {kind}"]
        if dvc_side in add:
            rows.append(speedup_row(f"add model, {kind}: {LABELS[dvc_side]} / ilab", ilab, add[dvc_side], ADD_SPEEDUP_TARGET))
        if annex_side in add:
            rows.append(speedup_row(f"add model, {kind}: {LABELS[annex_side]} / ilab", ilab, add[annex_side], None))
        rows.append(speedup_row(f"add model, {kind}: {limit} / ilab", ilab, add[limit], None))
        rows.append(speedup_row(f"add model, {kind}: b3sum / ilab", ilab, add["b3sum"], None))
        if dvc_side in readd:
            rows.append(speedup_row(f"re-add unchanged, {kind}: {LABELS[dvc_side]} / ilab", readd[f"ilab {kind}"], readd[dvc_side], READD_SPEEDUP_TARGET))
        if annex_side in readd:
            rows.append(speedup_row(f"re-add unchanged, {kind}: {LABELS[annex_side]} / ilab", readd[f"ilab {kind}"], readd[annex_side], None))
        for peer in (dvc_side, annex_side):
            if peer in pair:
                rows.append(speedup_row(f"add fine-tune next to base, {kind}: {LABELS[peer]} / ilab", pair_adds(pair[f"ilab {kind}"]), pair_adds(pair[peer]), None))
    return rows


def render_rows(rows: list[Row]) -> str:
    header = ["metric", "ilab", "baseline", "ratio", "target", "result", "load avg"]
    table = []
    for row in rows:
        table.append([
            row.metric,
            f"{row.ilab:.3f} s",
            "-" if row.baseline is None else f"{row.baseline:.3f} s",
            "-" if row.ratio is None else f"{row.ratio:.2f}x",
            row.target,
            row.result,
            row.load,
        ])
    return common.markdown_table(header, table)


def reclaim_table(pair: dict, shard_bytes: int) -> str:
    header = ["side", "reclaim commands", "median time", "bytes stored after fine-tune", "bytes freed"]
    table = []
    for side, rounds in pair.items():
        tool = side.split()[0]
        freed = rounds[0].stored_after_add - rounds[0].stored_after_reclaim
        table.append([LABELS[side], RECLAIM_LABELS[tool], f"{reclaim_seconds(rounds):.3f} s", f"{rounds[0].stored_after_add:,}", f"{freed:,}"])
    return common.markdown_table(header, table) + f"\n\nThe fine-tune's changed shard has {shard_bytes:,} bytes."


# -- the machine -------------------------------------------------------------


def machine_info(tools: Tools, run_folder: Path, model_bytes: int) -> dict:
    commit = common.command_output(["git", "-C", str(common.REPO_ROOT), "rev-parse", "--short", "HEAD"])
    return {
        **common.machine_basics(run_folder),
        "python": sys.version.split()[0],
        "ilab": common.command_output([tools.ilab, "--version"], tools.env),
        "ilabfs_commit": commit,
        "dvc": common.command_output([tools.dvc, "--version"], tools.peer_env) if tools.dvc else "not run",
        "git_annex": common.command_output(["git", "annex", "version", "--raw"], tools.peer_env) if tools.annex else "not run",
        "git": common.command_output(["git", "--version"]),
        "b3sum": common.command_output([tools.b3sum, "--version"]),
        "cp": common.command_output(["cp", "--version"]).splitlines()[0],
        "model_bytes": model_bytes,
    }


# -- the command line --------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Measure ilab model add, re-add, dedup and reclaim against DVC, git-annex, cp, cp -al and b3sum.",
        epilog="The exit status is 0 when every target is met and 1 when one is missed.",
    )
    parser.add_argument("--size", default="4G", help="tensor bytes of the generated model, with K, M, G or T as binary units (default: 4G)")
    parser.add_argument("--shards", type=int, default=4, help="safetensors shards of the generated model (default: 4)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each command, of which the tables show the median (default: 3)")
    parser.add_argument("--workdir", type=Path, default=None, help=f"existing folder in which to create the run folder, with about {FREE_SPACE_FACTOR}x the model size free (default: the system temp folder)")
    parser.add_argument("--json", type=Path, default=None, metavar="FILE", help="also write the tables, the machine and every run to FILE")
    parser.add_argument("--ilab", default=None, help="ilab executable (default: the one next to this Python, else ilab on PATH)")
    parser.add_argument("--b3sum", default="b3sum", help="b3sum executable (default: b3sum on PATH)")
    parser.add_argument("--no-dvc", action="store_true", help="skip DVC")
    parser.add_argument("--no-annex", action="store_true", help="skip git-annex")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        model_bytes = common.parse_size(args.size)
    except argparse.ArgumentTypeError as error:
        parser.error(str(error))
    if args.repeat < 1:
        parser.error(f"invalid --repeat {args.repeat}: expected 1 or more")
    ilab = common.find_ilab(args.ilab)
    b3sum = shutil.which(args.b3sum)
    if not b3sum:
        raise SystemExit(f"b3sum executable not found: {args.b3sum}; install b3sum or pass --b3sum PATH")
    workdir = common.existing_workdir(args.workdir)
    free = shutil.disk_usage(workdir).free
    if free < FREE_SPACE_FACTOR * model_bytes:
        raise SystemExit(
            f"not enough free space in {workdir}: {free / (1 << 30):.1f} GiB free, "
            f"{FREE_SPACE_FACTOR * model_bytes / (1 << 30):.1f} GiB needed; pass --workdir elsewhere or a smaller --size"
        )

    return common.run_in_new_folder(workdir, "ilabfs-bench-peers-", lambda run_folder: run_benchmark(args, ilab, b3sum, run_folder))


def run_benchmark(args: argparse.Namespace, ilab: str, b3sum: str, run_folder: Path) -> int:
    load_before = os.getloadavg()
    # The store is always named by --store, so an ILABFS_STORE of the caller cannot matter.
    env = {key: value for key, value in os.environ.items() if key != "ILABFS_STORE"}
    home = run_folder / "home"
    home.mkdir()
    peer_env = {
        **env,
        **GIT_IDENTITY,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        # DVC keeps its hash and link databases in a site cache folder, /var/tmp/dvc by default in DVC 3.67.1.
        "DVC_SITE_CACHE_DIR": str(home / "dvc-site-cache"),
        "DVC_GLOBAL_CONFIG_DIR": str(home / "dvc-global"),
        "DVC_SYSTEM_CONFIG_DIR": str(home / "dvc-system"),
        "DVC_NO_ANALYTICS": "1",
    }
    tools = Tools(ilab, b3sum, None, False, env, peer_env)
    if args.no_dvc:
        tools.skipped["dvc"] = "turned off with --no-dvc"
    else:
        tools.dvc, reason = install_dvc(run_folder, env)
        if reason:
            tools.skipped["dvc"] = reason
    if args.no_annex:
        tools.skipped["git-annex"] = "turned off with --no-annex"
    else:
        tools.annex, reason, installed = find_annex(env)
        if reason:
            tools.skipped["git-annex"] = reason
        if installed:
            tools.installed.append("git-annex (apt-get)")
    for peer, reason in tools.skipped.items():
        print(f"Skipping {peer}: {reason}", flush=True)

    source = run_folder / "source"
    base, finetune = source / "base", source / "finetune"
    print(f"Generating a {args.size} model with {args.shards} shards and a fine-tune that changes its last shard", flush=True)
    run_quiet([sys.executable, str(common.MAKE_MODEL), str(base), "--size", args.size, "--shards", str(args.shards), "--finetune", str(finetune), "--changed", "1"], env)
    model_bytes = sum(path.stat().st_size for path in tree_files(base))
    # make_model.py changes the fine-tune's last shard, which sorts last by name.
    shard_bytes = sorted(finetune.glob("*.safetensors"))[-1].stat().st_size
    os.sync()
    settings = Settings(tools, args.repeat, run_folder, base, finetune)

    print("Add", flush=True)
    add = bench_add(settings)
    print("Re-add of the unchanged model", flush=True)
    readd = bench_readd(settings)
    print("Fine-tune next to its base, then removal", flush=True)
    pair = bench_pair(settings)

    rows = build_rows(add, readd, pair)
    machine = machine_info(tools, run_folder, model_bytes)
    load_after = os.getloadavg()
    notes = [
        f"Each timing is the median of {args.repeat} runs of a whole command in a new process. The sides of a comparison "
        "take turns in a rotating order, except for the re-adds, which run one side after another.",
        "Before each timed add the script runs sync and reads the input once, so every side starts with the input in the page cache "
        "and no earlier writeback pending. ilab fsyncs every blob and the index before it returns; DVC and git-annex run "
        "with their default durability settings.",
        "Sides that move, link or rewrite their input (ilab link, DVC, git-annex) get a fresh copy of the model for each run; "
        "DVC and git-annex get a new repository.",
        "git-annex hashes with its default SHA256E backend, DVC with MD5, ilab and b3sum with BLAKE3.",
        "Peak RSS is the highest VmHWM of the command and of any process under it, sampled every 5 ms from /proc; "
        "'-' means the command ended before the first sample. It counts the file pages that hashing maps. "
        "The load column is the range of the 1-minute load average at the start of the runs.",
    ]
    notes += [f"{peer} skipped: {reason}." for peer, reason in tools.skipped.items()]
    notes += [f"{item} was installed by this run and stays installed." for item in tools.installed]

    print()
    print(f"Model: {model_bytes:,} bytes in {len(tree_files(base))} files ({args.shards} shards); "
          f"ilab {machine['ilab']} at {machine['ilabfs_commit']}, DVC {machine['dvc']}, git-annex {machine['git_annex']}")
    print(medians_table(add, readd, pair))
    print()
    print(render_rows(rows))
    print()
    print(reclaim_table(pair, shard_bytes))
    print()
    for note in notes:
        print(f"- {note}")

    if args.json:
        document = {
            "settings": {"size": args.size, "shards": args.shards, "repeat": args.repeat},
            "machine": machine,
            "load_average": {"before": load_before, "after": load_after},
            "rows": [asdict(row) for row in rows],
            "notes": notes,
            "runs": {
                "add": {side: [common.measurement_summary(m) for m in ms] for side, ms in add.items()},
                "readd": {side: [common.measurement_summary(m) for m in ms] for side, ms in readd.items()},
                "pair": {
                    side: [
                        {"add": common.measurement_summary(item.add), "reclaim": [common.measurement_summary(m) for m in item.reclaim],
                         "storedAfterAdd": item.stored_after_add, "storedAfterReclaim": item.stored_after_reclaim}
                        for item in rounds
                    ]
                    for side, rounds in pair.items()
                },
            },
        }
        common.write_report(args.json, document)
    return 0 if all(row.result != "fail" for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
