#!/usr/bin/env python3
"""Measure `ilab model add` against cp, sync and b3sum on a generated model.

One run generates a sharded safetensors model with examples/make_model.py
and measures, with every ratio taken from medians of the same run:

1. copy-mode add against `cp -r`, and against `cp -r` followed by `sync`.
2. link-mode add of a fresh copy of the model against `b3sum` of its files.
3. a second copy-mode add of the unchanged model: wall time, the bytesRead
   counter of `--json`, and the child's own I/O counters.
4. peak memory of the copy and link adds: peak RSS, which includes the file
   pages that hashing maps, and peak anonymous memory (RssAnon) alone.

Timings are taken with a warm page cache, and also with a cold one when the
script can write /proc/sys/vm/drop_caches (root only). Everything lives in a
new folder under --workdir, so the store, the copies and the source share a
filesystem, and the folder is removed at the end. The exit status is 1 when
a target is missed.

Usage:
    python benchmarks/bench_ingest.py [--size 4G] [--shards 4] [--repeat 3]
        [--workdir DIR] [--json FILE]
"""

from __future__ import annotations

import argparse
import ctypes
import json
import mmap
import os
import shutil
import statistics
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import common

COPY_RATIO_TARGET = 1.15
LINK_RATIO_TARGET = 1.25
READD_SECONDS_TARGET = 0.25
ANON_PEAK_TARGET_MIB = 200
# A re-add may read the safetensors header of each shard, a tiny part of the
# model, but hashing or copying any shard would read all of it.
READD_READ_FRACTION_TARGET = 0.01

# Each phase needs room for the source plus one copy or store at a time.
# The third model size is headroom.
FREE_SPACE_FACTOR = 3


# -- running and measuring one command ---------------------------------------


@dataclass
class Measurement:
    """Wall time, memory and I/O counters of one finished child process."""

    command: list[str]
    wall_seconds: float
    max_rss_kib: int
    anon_peak_kib: int
    anon_samples: int
    rchar: int | None
    read_bytes: int | None
    inblock_bytes: int
    stdout: str = field(repr=False)


def run_measured(command: list[str], sample_interval: float, env: dict[str, str] | None = None) -> Measurement:
    """Run ``command`` to completion and measure it. Raise RuntimeError if it fails.

    The kernel keeps a peak for the whole RSS (ru_maxrss of wait4) but none
    for anonymous memory alone, so the RssAnon peak is sampled every
    ``sample_interval`` seconds. The I/O counters of /proc/<pid>/io are read
    when the child has exited but is not yet reaped, so they include
    everything up to its exit.
    """
    finished = common.run_to_exit(command, "RssAnon", sample_interval, env=env)
    return Measurement(
        command=command,
        wall_seconds=finished.wall_seconds,
        max_rss_kib=finished.usage.ru_maxrss,
        anon_peak_kib=finished.peak_kib,
        anon_samples=finished.samples,
        rchar=finished.io.get("rchar"),
        read_bytes=finished.io.get("read_bytes"),
        # ru_inblock counts 512-byte blocks. /usr/bin/time -v prints it as "File system inputs".
        inblock_bytes=finished.usage.ru_inblock * 512,
        stdout=finished.stdout,
    )


# -- files and the page cache ------------------------------------------------


def model_files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.iterdir() if path.is_file())


def evict_pages(files: list[Path]) -> None:
    """Drop the cached pages of ``files`` only. The caller must sync first, because dirty pages stay."""
    for path in files:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def cached_bytes(files: list[Path]) -> int:
    """Count the bytes of ``files`` that are in the page cache, by mincore on an untouched mapping."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]
    page = mmap.PAGESIZE
    total = 0
    for path in files:
        size = path.stat().st_size
        if size == 0:
            continue
        fd = os.open(path, os.O_RDONLY)
        try:
            address = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
            if address in (None, ctypes.c_void_p(-1).value):
                raise OSError(ctypes.get_errno(), f"mmap of {path} failed")
            try:
                pages = (size + page - 1) // page
                vector = (ctypes.c_ubyte * pages)()
                if libc.mincore(address, size, vector) != 0:
                    raise OSError(ctypes.get_errno(), f"mincore of {path} failed")
                resident = sum(byte & 1 for byte in vector)
            finally:
                libc.munmap(address, size)
        finally:
            os.close(fd)
        total += min(resident * page, size)
    return total


class PageCache:
    """Warm or cold page-cache state, set up before each timed command."""

    def __init__(self, cold_enabled: bool) -> None:
        self.cold_reason = (common.cold_cache_problem() or "") if cold_enabled else ""
        self.cold_available = cold_enabled and not self.cold_reason

    def prepare(self, state: str, inputs: list[Path]) -> None:
        """Flush dirty pages, then cache ``inputs`` (warm) or drop every clean page (cold).

        The flush keeps the writeback of an earlier run out of the next timing.
        """
        if state == "cold":
            common.drop_page_cache()
        else:
            os.sync()
            common.read_through(inputs)


# -- the benchmark phases ----------------------------------------------------


@dataclass
class Settings:
    """Inputs that every phase shares."""

    ilab: str
    b3sum: str
    repeat: int
    sample_interval: float
    run_folder: Path
    source: Path
    source_bytes: int
    env: dict[str, str]


def ilab_add(settings: Settings, store: Path, source: Path, mode: str, expect_read: int | None = None) -> tuple[Measurement, dict]:
    """Run one add. With ``expect_read``, raise unless its bytesRead is exactly that many bytes.

    A timed first add that read less would have reused something, and its
    time would not be comparable with the baseline's.
    """
    command = [settings.ilab, "--store", str(store), "model", "add", str(source), "--name", "bench", "--mode", mode, "--json"]
    measurement = run_measured(command, settings.sample_interval, settings.env)
    stats = json.loads(measurement.stdout)
    if expect_read is not None and stats["bytesRead"] != expect_read:
        raise RuntimeError(f"{mode}-mode add read {stats['bytesRead']} bytes, expected {expect_read}: {stats}")
    return measurement, stats


def warm_up(settings: Settings) -> None:
    """Run each measured program once, untimed, so the first warm run does not load it from disk.

    The ilab warm-up adds a copy of config.json alone, which imports every
    module that a model add imports. One untimed copy of the whole model
    follows, because in trial runs the first model-sized write after
    generating the model took up to twice as long as later ones, and that
    cost would fall on whichever side ran first.
    """
    folder = settings.run_folder / "warm-up"
    folder.mkdir()
    sample = folder / "config.json"
    shutil.copyfile(settings.source / "config.json", sample)
    ilab_add(settings, folder / "store", sample, "copy")
    subprocess.run([settings.b3sum, str(sample)], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["cp", "-r", str(settings.source), str(folder / "model")], check=True)
    os.sync()
    common.remove_tree(folder)
    os.sync()


def bench_copy(settings: Settings, cache: PageCache, state: str) -> dict:
    """Time copy-mode adds and `cp -r` (then `sync`) in alternating order."""
    files = model_files(settings.source)
    results: dict[str, list] = {"ilab": [], "ilab_stats": [], "cp": [], "sync": []}
    for round_number in range(settings.repeat):
        # Alternating the order spreads slow periods of a shared machine over both sides.
        order = ("ilab", "cp") if round_number % 2 == 0 else ("cp", "ilab")
        for side in order:
            target = settings.run_folder / f"copy-{side}-{state}-{round_number}"
            if side == "ilab":
                common.remove_hash_cache(files)
                cache.prepare(state, files)
                measurement, stats = ilab_add(settings, target, settings.source, "copy", settings.source_bytes)
                results["ilab"].append(measurement)
                results["ilab_stats"].append(stats)
            else:
                cache.prepare(state, files)
                results["cp"].append(run_measured(["cp", "-r", str(settings.source), str(target)], settings.sample_interval))
                results["sync"].append(run_measured(["sync"], settings.sample_interval))
            common.remove_tree(target)
            os.sync()
    return results


def bench_link(settings: Settings, cache: PageCache, state: str) -> dict:
    """Time link-mode adds and `b3sum` on a fresh copy of the model in each round.

    A fresh copy has no hash-cache attribute and is still writable, as a
    model that was never added is.
    """
    results: dict[str, list] = {"ilab": [], "ilab_stats": [], "b3sum": []}
    for round_number in range(settings.repeat):
        fresh = settings.run_folder / f"link-source-{state}-{round_number}"
        store = settings.run_folder / f"link-store-{state}-{round_number}"
        subprocess.run(["cp", "-r", str(settings.source), str(fresh)], check=True)
        files = model_files(fresh)
        order = ("ilab", "b3sum") if round_number % 2 == 0 else ("b3sum", "ilab")
        for side in order:
            cache.prepare(state, files)
            if side == "ilab":
                measurement, stats = ilab_add(settings, store, fresh, "link", settings.source_bytes)
                results["ilab"].append(measurement)
                results["ilab_stats"].append(stats)
            else:
                command = [settings.b3sum, *map(str, files)]
                results["b3sum"].append(run_measured(command, settings.sample_interval))
        common.remove_tree(store)
        common.remove_tree(fresh)
        os.sync()
    return results


def bench_readd(settings: Settings, cache: PageCache) -> dict:
    """Add the model once, then time and inspect copy-mode re-adds of the unchanged directory."""
    files = model_files(settings.source)
    store = settings.run_folder / "readd-store"
    common.remove_hash_cache(files)
    first, first_stats = ilab_add(settings, store, settings.source, "copy")
    results: dict = {"first": first, "first_stats": first_stats, "warm": [], "warm_stats": [], "cold": [], "cold_stats": []}

    for _ in range(settings.repeat):
        os.sync()
        measurement, stats = ilab_add(settings, store, settings.source, "copy")
        results["warm"].append(measurement)
        results["warm_stats"].append(stats)

    # With the model's pages evicted, any read of its contents has to come
    # from the disk and shows in read_bytes, whether it is a read() or a page
    # fault in a memory map. The interpreter's own files stay cached.
    os.sync()
    evict_pages(files)
    results["evicted_cached_before"] = cached_bytes(files)
    measurement, stats = ilab_add(settings, store, settings.source, "copy")
    results["evicted_cached_after"] = cached_bytes(files)
    results["evicted"] = measurement
    results["evicted_stats"] = stats

    if cache.cold_available:
        for _ in range(settings.repeat):
            cache.prepare("cold", [])
            measurement, stats = ilab_add(settings, store, settings.source, "copy")
            results["cold"].append(measurement)
            results["cold_stats"].append(stats)

    startup = []
    for _ in range(settings.repeat):
        startup.append(run_measured([settings.ilab, "--version"], settings.sample_interval, settings.env))
    results["startup"] = startup
    common.remove_tree(store)
    os.sync()
    return results


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


def ratio_row(metric: str, ilab: float, baseline: float, limit: float | None) -> Row:
    ratio = ilab / baseline
    if limit is None:
        return Row(metric, ilab, baseline, ratio, "-", "info", "s")
    return Row(metric, ilab, baseline, ratio, f"<= {limit:.2f}x", "pass" if ratio <= limit else "fail", "s")


def timing_rows(state: str, copy: dict, link: dict) -> list[Row]:
    ilab_copy = common.median_wall(copy["ilab"])
    cp_only = common.median_wall(copy["cp"])
    cp_and_sync = statistics.median(c.wall_seconds + s.wall_seconds for c, s in zip(copy["cp"], copy["sync"]))
    return [
        ratio_row(f"copy add vs cp -r ({state})", ilab_copy, cp_only, COPY_RATIO_TARGET),
        ratio_row(f"copy add vs cp -r + sync ({state})", ilab_copy, cp_and_sync, None),
        ratio_row(f"link add vs b3sum ({state})", common.median_wall(link["ilab"]), common.median_wall(link["b3sum"]), LINK_RATIO_TARGET),
    ]


def memory_rows(label: str, ilab: list[Measurement], baseline: list[Measurement], baseline_name: str) -> list[Row]:
    peak_rss = max(m.max_rss_kib for m in ilab) / 1024
    baseline_rss = max(m.max_rss_kib for m in baseline) / 1024
    peak_anon = max(m.anon_peak_kib for m in ilab) / 1024
    baseline_anon = max(m.anon_peak_kib for m in baseline) / 1024
    return [
        Row(f"peak RSS incl. mapped file pages, {label} (vs {baseline_name})", peak_rss, baseline_rss, None, "-", "info", "MiB"),
        Row(
            f"peak anonymous memory (RssAnon), {label} (vs {baseline_name})",
            peak_anon,
            baseline_anon,
            None,
            f"< {ANON_PEAK_TARGET_MIB} MiB",
            "pass" if peak_anon < ANON_PEAK_TARGET_MIB else "fail",
            "MiB",
        ),
    ]


def readd_rows(readd: dict, model_bytes: int, file_count: int) -> list[Row]:
    """Build the re-add rows: wall time, the --json counters, and the child's own read counters."""
    warm = common.median_wall(readd["warm"])
    rows = [
        Row(
            "re-add unchanged, wall time (warm; baseline: ilab --version)",
            warm,
            common.median_wall(readd["startup"]),
            None,
            f"< {READD_SECONDS_TARGET} s",
            "pass" if warm < READD_SECONDS_TARGET else "fail",
            "s",
        ),
    ]
    if readd["cold"]:
        rows.append(Row("re-add unchanged, wall time (cold)", common.median_wall(readd["cold"]), None, None, "-", "info", "s"))

    stats = readd["warm_stats"] + [readd["evicted_stats"]] + readd["cold_stats"]
    bytes_read = max(item["bytesRead"] for item in stats)
    rows.append(Row("re-add bytesRead from --json, max of all re-adds", bytes_read, None, None, "= 0", "pass" if bytes_read == 0 else "fail", "B"))
    cache_hits = min(item["hashCacheHits"] for item in stats)
    rows.append(
        Row(
            f"re-add hashCacheHits, min of all re-adds (of {file_count} files)",
            cache_hits,
            file_count,
            None,
            "all files",
            "pass" if cache_hits == file_count else "fail",
            "files",
        )
    )

    evicted = readd["evicted"]
    if evicted.read_bytes is not None:
        fraction = evicted.read_bytes / model_bytes
        rows.append(
            Row(
                "re-add disk reads with model pages evicted (read_bytes; baseline: model size)",
                evicted.read_bytes,
                model_bytes,
                fraction,
                f"< {READD_READ_FRACTION_TARGET:.0%} of model",
                "pass" if fraction < READD_READ_FRACTION_TARGET else "fail",
                "B",
            )
        )

    # rchar counts read() calls, including Python reading its own modules, but not page faults in a memory map.
    runs = readd["warm"] + [evicted] + readd["cold"]
    rchar = max((m.rchar for m in runs if m.rchar is not None), default=None)
    if rchar is not None:
        rows.append(Row("re-add rchar, max (read() calls incl. Python modules)", rchar, None, None, "-", "info", "B"))
    return rows


def format_ratio(row: Row) -> str:
    if row.ratio is None:
        return "-"
    if row.unit == "B":
        return f"{row.ratio:.4%}"
    return f"{row.ratio:.2f}x"


def render_table(rows: list[Row]) -> str:
    """Render rows as a Markdown table, which also reads well in a terminal."""
    header = ["metric", "ilab", "baseline", "ratio", "target", "result"]
    cells = [[r.metric, common.format_value(r.ilab, r.unit), common.format_value(r.baseline, r.unit), format_ratio(r), r.target, r.result] for r in rows]
    return common.markdown_table(header, cells)


def report_notes(cache: PageCache, settings: Settings, readd: dict, link_kinds: dict) -> list[str]:
    notes = [
        "cp -r does not fsync; ilab fsyncs every blob and the store folder before the add returns. "
        "The 'cp -r + sync' baseline runs sync(1) after cp, which flushes every filesystem, "
        "including other processes' dirty pages.",
        f"Each timing is the median of {settings.repeat} run(s) per command. Before each timed command the script "
        "runs sync, so the writeback of an earlier run does not land in it.",
        "Peak RSS is ru_maxrss of the child from wait4 and counts the model pages that hashing maps. "
        f"Peak anonymous memory is the maximum RssAnon of /proc/<pid>/status, sampled every "
        f"{settings.sample_interval * 1000:.0f} ms, so shorter spikes can be missed. Memory rows are the maximum over all runs.",
        f"Link mode stored the files as: {link_kinds}.",
        f"Re-add page-cache check (mincore): {readd['evicted_cached_before']:,} model bytes cached before the evicted run, "
        f"{readd['evicted_cached_after']:,} after.",
    ]
    if cache.cold_available:
        notes.append("Cache: warm (source read once before each timed command) and cold "
                     f"(sync, then 3 written to {common.DROP_CACHES} before each timed command, for both sides).")
    else:
        notes.append(f"Cache: warm only; {cache.cold_reason or 'cold runs were turned off with --no-cold'}.")
    notes.append("Other work on the machine makes timings noisy; the load average is recorded in the JSON.")
    return notes


# -- the machine -------------------------------------------------------------


def machine_info(settings: Settings, model_bytes: int) -> dict:
    python, blake3 = common.package_versions(common.interpreter_of(settings.ilab), ["blake3"])
    return {
        **common.machine_basics(settings.run_folder),
        "python": python,
        "blake3": blake3,
        "b3sum": common.command_output([settings.b3sum, "--version"]),
        "cp": common.command_output(["cp", "--version"]).splitlines()[0],
        "ilab": common.command_output([settings.ilab, "--version"]),
        "model_bytes": model_bytes,
    }


# -- the command line --------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Measure ilab model add (copy, link, re-add, memory) against cp -r, sync and b3sum on a generated model.",
        epilog="The exit status is 0 when every target is met and 1 when one is missed.",
    )
    parser.add_argument("--size", default="4G", help="tensor bytes of the generated model; K, M, G, T are binary units (default: 4G)")
    parser.add_argument("--shards", type=int, default=4, help="safetensors shards of the generated model (default: 4)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each command; the table shows medians (default: 3)")
    parser.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="existing folder in which to create the run folder; it needs about "
        f"{FREE_SPACE_FACTOR}x the model size free (default: the system temp folder)",
    )
    parser.add_argument("--json", type=Path, default=None, metavar="FILE", help="also write the table, the machine and every run to FILE")
    parser.add_argument("--ilab", default=None, help="ilab executable (default: the one next to this Python, else ilab on PATH)")
    parser.add_argument("--b3sum", default="b3sum", help="b3sum executable (default: b3sum on PATH)")
    parser.add_argument("--sample-ms", type=float, default=20, help="RssAnon sampling interval in milliseconds (default: 20)")
    parser.add_argument("--no-cold", action="store_true", help="skip the cold-cache runs even when drop_caches is writable")
    return parser


def check_free_space(folder: Path, model_bytes: int) -> None:
    usage = shutil.disk_usage(folder)
    needed = FREE_SPACE_FACTOR * model_bytes
    if usage.free < needed:
        raise SystemExit(
            f"not enough free space in {folder}: {usage.free / (1 << 30):.1f} GiB free, "
            f"{needed / (1 << 30):.1f} GiB needed; pass --workdir on a larger filesystem or a smaller --size"
        )


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        model_bytes_requested = common.parse_size(args.size)
    except argparse.ArgumentTypeError as error:
        parser.error(str(error))
    if args.repeat < 1:
        raise SystemExit(f"invalid --repeat {args.repeat}: expected 1 or more")
    if args.sample_ms <= 0:
        raise SystemExit(f"invalid --sample-ms {args.sample_ms}: expected a positive number of milliseconds")
    if not common.MAKE_MODEL.is_file():
        raise SystemExit(f"model generator not found at {common.MAKE_MODEL}; run the script from a checkout of the repository")
    ilab = common.find_ilab(args.ilab)
    b3sum = shutil.which(args.b3sum)
    if not b3sum:
        raise SystemExit(f"b3sum executable not found: {args.b3sum}; install b3sum or pass --b3sum PATH")
    workdir = common.existing_workdir(args.workdir)
    check_free_space(workdir, model_bytes_requested)
    return common.run_in_new_folder(workdir, "ilabfs-bench-", lambda run_folder: run_benchmark(args, ilab, b3sum, run_folder))


def run_benchmark(args: argparse.Namespace, ilab: str, b3sum: str, run_folder: Path) -> int:
    load_before = os.getloadavg()
    # Probing drop_caches empties the page cache, so it happens before the warm-up.
    cache = PageCache(cold_enabled=not args.no_cold)
    source = run_folder / "model"
    print(f"Generating a {args.size} model with {args.shards} shards in {run_folder}", flush=True)
    subprocess.run([sys.executable, str(common.MAKE_MODEL), str(source), "--size", args.size, "--shards", str(args.shards)], check=True)
    files = model_files(source)
    model_bytes = sum(path.stat().st_size for path in files)
    os.sync()

    # The store is always named by --store, so an ILABFS_STORE of the caller cannot matter.
    env = {key: value for key, value in os.environ.items() if key != "ILABFS_STORE"}
    settings = Settings(ilab, b3sum, args.repeat, args.sample_ms / 1000, run_folder, source, model_bytes, env)

    warm_up(settings)
    states = ["warm", "cold"] if cache.cold_available else ["warm"]
    copy_results, link_results = {}, {}
    for state in states:
        print(f"Copy mode, {state} cache", flush=True)
        copy_results[state] = bench_copy(settings, cache, state)
        print(f"Link mode, {state} cache", flush=True)
        link_results[state] = bench_link(settings, cache, state)
    print("Re-add of the unchanged model", flush=True)
    readd = bench_readd(settings, cache)

    rows: list[Row] = []
    for state in states:
        rows += timing_rows(state, copy_results[state], link_results[state])
    rows += readd_rows(readd, model_bytes, len(files))
    all_copy = [m for state in states for m in copy_results[state]["ilab"]]
    all_cp = [m for state in states for m in copy_results[state]["cp"]]
    all_link = [m for state in states for m in link_results[state]["ilab"]]
    all_b3sum = [m for state in states for m in link_results[state]["b3sum"]]
    rows += memory_rows("copy add", all_copy, all_cp, "cp -r")
    rows += memory_rows("link add", all_link, all_b3sum, "b3sum")

    link_kinds: dict[str, int] = {}
    for state in states:
        for stats in link_results[state]["ilab_stats"]:
            for kind, count in stats["linkKinds"].items():
                link_kinds[kind] = link_kinds.get(kind, 0) + count
    notes = report_notes(cache, settings, readd, link_kinds)
    machine = machine_info(settings, model_bytes)
    load_after = os.getloadavg()

    print()
    print(f"Model: {model_bytes:,} bytes in {len(files)} files ({args.shards} shards); ilab: {machine['ilab']}")
    print(render_table(rows))
    print()
    print("Wall time of every run, in run order:")
    for label, measurements in run_time_lists(states, copy_results, link_results, readd):
        print(f"- {label}: {', '.join(f'{m.wall_seconds:.3f}' for m in measurements)} s")
    print()
    for note in notes:
        print(f"- {note}")

    if args.json:
        document = {
            "settings": {"size": args.size, "shards": args.shards, "repeat": args.repeat, "sample_ms": args.sample_ms},
            "machine": machine,
            "cache_states": states,
            "load_average": {"before": load_before, "after": load_after},
            "rows": [asdict(row) for row in rows],
            "notes": notes,
            "runs": {
                "copy": {state: serialize_runs(result) for state, result in copy_results.items()},
                "link": {state: serialize_runs(result) for state, result in link_results.items()},
                "readd": serialize_runs(readd),
            },
        }
        common.write_report(args.json, document)
    return 0 if all(row.result != "fail" for row in rows) else 1


def run_time_lists(states: list[str], copy_results: dict, link_results: dict, readd: dict) -> list[tuple[str, list[Measurement]]]:
    lists = []
    for state in states:
        lists += [
            (f"copy add ({state})", copy_results[state]["ilab"]),
            (f"cp -r ({state})", copy_results[state]["cp"]),
            (f"sync after cp -r ({state})", copy_results[state]["sync"]),
            (f"link add ({state})", link_results[state]["ilab"]),
            (f"b3sum ({state})", link_results[state]["b3sum"]),
        ]
    lists.append(("re-add (warm)", readd["warm"]))
    if readd["cold"]:
        lists.append(("re-add (cold)", readd["cold"]))
    lists.append(("ilab --version", readd["startup"]))
    return lists


def serialize_runs(result: dict) -> dict:
    """Turn a phase's measurements into JSON values, without the run folder's paths."""
    serialized = {}
    for key, value in result.items():
        if isinstance(value, Measurement):
            serialized[key] = common.measurement_summary(value)
        elif isinstance(value, list):
            serialized[key] = [common.measurement_summary(item) if isinstance(item, Measurement) else item for item in value]
        else:
            serialized[key] = value
    return serialized


if __name__ == "__main__":
    sys.exit(main())
