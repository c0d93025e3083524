"""Helpers that the benchmark scripts share.

They cover running and measuring one command, files and the page cache,
medians and tables, facts about the machine, and the run folder. The scripts
run as ``python benchmarks/NAME.py``, which puts this folder first on
sys.path, so they import this module as ``common``.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import platform
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
MAKE_MODEL = REPO_ROOT / "examples" / "make_model.py"
DROP_CACHES = Path("/proc/sys/vm/drop_caches")

MIB = 1 << 20
SIZE_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
SIZE_PATTERN = re.compile(r"(\d+(?:\.\d+)?)\s*([KMGT]?)(?:iB)?", re.IGNORECASE)

# The extended attribute in which ilabfs caches a source file's digest.
# A timed first add must not find it.
HASH_CACHE_ATTRIBUTE = "user.ilabfs.blake3"

# How much of a failed command's standard error goes into the exception.
ERROR_TAIL_CHARS = 4000


# -- running and measuring one command ---------------------------------------


class StatusSampler(threading.Thread):
    """A thread that records the highest value of one /proc/<pid>/status field, read at a fixed interval.

    With ``tree`` it also reads the field of every process under ``pid``.
    Spikes shorter than the interval can be missed, and a process that ends
    before the first sample leaves the peak at 0.
    """

    def __init__(self, pid: int, status_field: str, interval: float, tree: bool = False) -> None:
        super().__init__(daemon=True)
        self.root = pid
        self.pattern = re.compile(rb"^" + re.escape(status_field.encode()) + rb":\s+(\d+) kB", re.MULTILINE)
        self.interval = interval
        self.tree = tree
        self.peak_kib = 0
        self.samples = 0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            self.sample()
            self.stopped.wait(self.interval)

    def sample(self) -> None:
        for pid in self.process_tree() if self.tree else [self.root]:
            try:
                with open(f"/proc/{pid}/status", "rb") as handle:
                    status = handle.read()
            except OSError:
                continue
            match = self.pattern.search(status)
            # A zombie has no memory map and so none of the memory fields.
            if match:
                self.peak_kib = max(self.peak_kib, int(match.group(1)))
                self.samples += 1

    def process_tree(self) -> list[int]:
        """Return the root pid and its descendants, from the children files of every thread."""
        pids = [self.root]
        position = 0
        while position < len(pids):
            pid = pids[position]
            position += 1
            try:
                tasks = os.listdir(f"/proc/{pid}/task")
            except OSError:
                continue
            for task in tasks:
                try:
                    with open(f"/proc/{pid}/task/{task}/children") as handle:
                        pids += [int(child) for child in handle.read().split()]
                except OSError:
                    continue
        return pids


@dataclass
class Finished:
    """Wall time, rusage, I/O counters, sampled peak and output of a command that ran to completion."""

    wall_seconds: float
    usage: resource.struct_rusage
    io: dict[str, int]
    peak_kib: int
    samples: int
    stdout: str


def read_proc_io(pid: int) -> dict[str, int]:
    """Return the counters of /proc/<pid>/io, or {} where the kernel has no I/O accounting."""
    try:
        text = Path(f"/proc/{pid}/io").read_text()
    except OSError:
        return {}
    counters = {}
    for line in text.splitlines():
        name, _, value = line.partition(":")
        counters[name.strip()] = int(value)
    return counters


def run_to_exit(
    command: list[str],
    status_field: str,
    interval: float,
    tree: bool = False,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> Finished:
    """Run ``command`` to completion while a StatusSampler reads ``status_field``. Raise RuntimeError if it fails.

    The child is left a zombie (waitid with WNOWAIT) until the sampler has
    stopped and its /proc/<pid>/io is read, so its pid cannot be reused
    meanwhile and the counters include everything up to its exit. wait4
    then returns its own rusage.
    """
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL, env=env, cwd=cwd)
        sampler = StatusSampler(process.pid, status_field, interval, tree)
        sampler.start()
        try:
            os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOWAIT)
            wall = time.perf_counter() - started
        except BaseException:
            process.kill()
            process.wait()
            raise
        finally:
            sampler.stopped.set()
            sampler.join()
        counters = read_proc_io(process.pid)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)

        stdout.seek(0)
        stderr.seek(0)
        output = stdout.read().decode(errors="replace")
        if process.returncode != 0:
            message = stderr.read().decode(errors="replace").strip()
            raise RuntimeError(f"command failed with exit status {process.returncode}: {' '.join(command)}\n{message[-ERROR_TAIL_CHARS:]}")
    return Finished(wall, usage, counters, sampler.peak_kib, sampler.samples, output)


@dataclass
class Measurement:
    """Wall time and peak memory of one finished child process, and the load when it started.

    ``peak_hwm_kib`` is the sampled peak RSS of the command alone, and
    ``max_rss_kib`` the ru_maxrss of wait4, which is at least the
    benchmark's own RSS when it forked.
    """

    command: list[str]
    wall_seconds: float
    max_rss_kib: int
    peak_hwm_kib: int
    load_average: float
    stdout: str = field(repr=False)


def run_measured(command: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> Measurement:
    """Run ``command`` to completion and measure its wall time and peak RSS. Raise RuntimeError if it fails.

    The peak is the highest VmHWM of the child and of every process under
    it, such as git-annex under `git annex`, sampled every 5 ms. VmHWM counts
    from the exec, while the ru_maxrss of wait4 also counts the RSS that the
    child had before it, which is the benchmark's own at the fork. Growth in
    the last interval before a process exits can be missed.
    """
    load = os.getloadavg()[0]
    finished = run_to_exit(command, "VmHWM", 0.005, tree=True, env=env, cwd=cwd)
    return Measurement(command, finished.wall_seconds, finished.usage.ru_maxrss, finished.peak_kib, load, finished.stdout)


def measurement_summary(measurement: object) -> dict:
    """Return a measurement dataclass as JSON values, without its output and with the run folder's paths reduced to their names."""
    summary = asdict(measurement)
    del summary["stdout"]
    command = measurement.command
    summary["command"] = [Path(command[0]).name] + [Path(part).name if os.path.isabs(part) else part for part in command[1:]]
    return summary


def alternate(repeat: int, sides: list[str]) -> Iterator[tuple[int, str]]:
    """Yield (round, side) pairs, rotating the order each round so slow periods of a shared machine spread over all sides."""
    for round_number in range(repeat):
        shift = round_number % len(sides)
        for side in sides[shift:] + sides[:shift]:
            yield round_number, side


# -- files and the page cache ------------------------------------------------


def parse_size(text: str) -> int:
    """Parse a size such as 4G or 256M (binary units) into bytes."""
    match = SIZE_PATTERN.fullmatch(text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"invalid size {text!r}: use a number with an optional K, M, G or T suffix")
    return int(float(match.group(1)) * SIZE_UNITS[match.group(2).upper()])


def read_through(files: list[Path]) -> None:
    """Read every byte of ``files`` so that their pages are in the page cache."""
    buffer = bytearray(8 * MIB)
    for path in files:
        with open(path, "rb", buffering=0) as handle:
            while handle.readinto(buffer):
                pass


def warm_page_cache(files: list[Path]) -> None:
    """Flush dirty pages, so an earlier run's writeback stays out of the next timing, then cache ``files``."""
    os.sync()
    read_through(files)


def drop_page_cache() -> None:
    os.sync()
    DROP_CACHES.write_text("3\n")


def cold_cache_problem() -> str | None:
    """Drop the page cache once and return why that failed, or None when it worked."""
    try:
        drop_page_cache()
    except OSError as error:
        reason = f"cannot write {DROP_CACHES} ({error.strerror})"
        if error.errno in (errno.EACCES, errno.EPERM):
            reason += ", which needs root"
        return reason
    return None


def remove_hash_cache(files: list[Path]) -> None:
    for path in files:
        try:
            os.removexattr(path, HASH_CACHE_ATTRIBUTE)
        except OSError:
            pass


def remove_tree(path: Path) -> None:
    """Remove ``path``, making its folders writable first, because git-annex makes its object folders read-only.

    Files keep their mode, because removing a name needs only a writable
    folder, and a file may share its inode with a file outside ``path``
    through cp -al or a store copy whose blobs are hardlinks.
    """
    if not path.exists() and not path.is_symlink():
        return
    for folder, _, _ in os.walk(path):
        os.chmod(folder, 0o700)
    shutil.rmtree(path)


# -- medians and tables ------------------------------------------------------


def median_wall(measurements: list) -> float:
    return statistics.median(m.wall_seconds for m in measurements)


def load_range(*groups: list[Measurement]) -> str:
    loads = [m.load_average for group in groups for m in group]
    return f"{min(loads):.2f}-{max(loads):.2f}"


def format_value(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "s":
        return f"{value:.3f} s"
    if unit == "MiB":
        return f"{value:.1f} MiB"
    if unit == "B":
        return f"{int(value):,} B"
    return f"{int(value)}"


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """Render a header and rows of cells as a Markdown table, which also reads well in a terminal."""
    widths = [max(len(line[i]) for line in [header, *rows]) for i in range(len(header))]
    lines = ["| " + " | ".join(text.ljust(width) for text, width in zip(header, widths)) + " |"]
    lines.append("|" + "|".join("-" * (width + 2) for width in widths) + "|")
    for line in rows:
        lines.append("| " + " | ".join(text.ljust(width) for text, width in zip(line, widths)) + " |")
    return "\n".join(lines)


# -- the machine -------------------------------------------------------------


def command_output(command: list[str], env: dict[str, str] | None = None) -> str:
    """Return the stripped standard output of ``command``, or "unknown" when it cannot run or fails."""
    try:
        completed = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return completed.stdout.strip()


def filesystem_type(path: Path) -> str:
    """Return the type of the filesystem mounted at the longest mount point above ``path``."""
    real = os.path.realpath(path)
    best, best_type = "", "unknown"
    with open("/proc/self/mounts") as mounts:
        for line in mounts:
            fields = line.split()
            mount_point = fields[1].replace("\\040", " ")
            inside = real == mount_point or real.startswith(mount_point.rstrip("/") + "/")
            if inside and len(mount_point) >= len(best):
                best, best_type = mount_point, fields[2]
    return best_type


def proc_field(path: str, prefix: str) -> str:
    """Return the value after the colon of the first line of ``path`` that starts with ``prefix``, or "unknown"."""
    with open(path) as handle:
        for line in handle:
            if line.startswith(prefix):
                return line.partition(":")[2].strip()
    return "unknown"


def machine_basics(run_folder: Path) -> dict:
    """Return the CPU count and model, total memory, kernel release and the run folder's filesystem type."""
    memory = proc_field("/proc/meminfo", "MemTotal")
    return {
        "nproc": os.cpu_count(),
        "cpu_model": proc_field("/proc/cpuinfo", "model name"),
        "memory_total": f"{int(memory.split()[0]) / (1 << 20):.1f} GiB" if memory != "unknown" else memory,
        "kernel": platform.release(),
        "filesystem": filesystem_type(run_folder),
    }


def package_versions(python: str, packages: list[str], env: dict[str, str] | None = None) -> list[str]:
    """Return the version of ``python`` followed by the installed version of each package, "unknown" where missing.

    The versions come from ``python``, the interpreter that runs ilab, which
    may differ from the one running the benchmark.
    """
    lines = ["import sys, importlib.metadata as m", "print(sys.version.split()[0])"]
    lines += [f"print(m.version({name!r}))" for name in packages]
    versions = command_output([python, "-c", "; ".join(lines)], env).splitlines()
    return (versions + ["unknown"] * (len(packages) + 1))[: len(packages) + 1]


# -- finding ilab and the run folder -----------------------------------------


def find_ilab(requested: str | None) -> str:
    """Return the ilab executable: ``requested`` on PATH, else the one next to this Python, else ilab on PATH."""
    if requested:
        found = shutil.which(requested)
    else:
        beside = Path(sys.executable).parent / "ilab"
        found = str(beside) if beside.is_file() else shutil.which("ilab")
    if not found:
        raise SystemExit(f"ilab executable not found{f': {requested}' if requested else ''}; install the project or pass --ilab PATH")
    return found


def interpreter_of(script: str) -> str:
    """Return the interpreter named by a console script's #! line, else this Python."""
    try:
        with open(script, "rb") as handle:
            first = handle.readline().decode(errors="replace")
    except OSError:
        return sys.executable
    parts = first[2:].split() if first.startswith("#!") else []
    return parts[0] if parts else sys.executable


def existing_workdir(requested: Path | None) -> Path:
    """Return the folder in which to create the run folder: ``requested``, else the system temp folder."""
    workdir = requested or Path(tempfile.gettempdir())
    if not workdir.is_dir():
        raise SystemExit(f"--workdir {workdir} is not an existing folder")
    return workdir


def raise_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(f"stopped by signal {signum}")


def run_in_new_folder(workdir: Path, prefix: str, benchmark: Callable[[Path], int]) -> int:
    """Call ``benchmark`` with a new folder under ``workdir`` and remove the folder afterwards, also on SIGTERM."""
    signal.signal(signal.SIGTERM, raise_on_sigterm)
    run_folder = Path(tempfile.mkdtemp(prefix=prefix, dir=workdir))
    try:
        return benchmark(run_folder)
    finally:
        remove_tree(run_folder)


def write_report(path: Path, document: dict) -> None:
    """Write the JSON report, led by the command line that produced it."""
    document = {"command": [Path(sys.argv[0]).name, *sys.argv[1:]], **document}
    path.write_text(json.dumps(document, indent=2) + "\n")
    print(f"\nWrote {path}")
