"""Run the benchmarks and write a markdown report: `python -m bench [NAME ...] [--quick]` (or `make bench`).

NAME is one of the keys of BENCHMARKS below (all of them by default; fuzz and load take long).
Each benchmark is a module bench/<name>_bench.py with `main(argv=None) -> dict` that prints a
markdown table; a module that does not exist yet is skipped with a message. With --quick each
runs a smaller version (the module's `QUICK_ARGV` if it defines one, else the arguments below).
The report (machine, then each section) is printed and written to bench/out/results-<timestamp>.md
(git-ignored), ready to be pasted into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import glob
import importlib
import io
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import time
import traceback
from importlib import metadata
from pathlib import Path

BENCHMARKS = {
    "import": "bench.import_bench",
    "export": "bench.export_bench",
    "search": "bench.search_bench",
    "planning": "bench.planning_bench",
    "rotation": "bench.rotation_bench",
    "acquisitions": "bench.acquisitions_bench",
    "labels": "bench.labels_bench",
    "plan": "bench.plan_bench",
    "filling": "bench.filling_bench",
    "registers": "bench.registers_bench",
    "fuzz": "bench.fuzz_bench",
    "load": "bench.load_bench",
}
# Smaller runs for --quick, used when a module does not define QUICK_ARGV itself.
QUICK_ARGV = {
    "import": ["--scale", "0.1", "--skip-full"],
    "export": ["--quick"],
    "search": ["--records", "20000", "--queries", "200", "--requests", "50"],
    "rotation": ["--records", "20000", "--scans", "100", "--page-requests", "30", "--engines", "sqlite"]
    + ["--closed-batches", "20", "--open-batches", "10"],
}
OUT_DIR = Path(__file__).resolve().parent / "out"


def _first_line(cmd: list[str]) -> str | None:
    """Return the first output line of a command, or None when it cannot run."""
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    lines = (result.stdout or result.stderr).strip().splitlines()
    return lines[0].strip() if lines else None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError):
        pass
    return "unknown"


def _postgresql() -> str:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), reverse=True)
    found = shutil.which("postgres")
    if found:
        candidates.append(found)
    for binary in candidates:
        version = _first_line([binary, "--version"])
        if version:
            return version
    return "not installed"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine_info() -> dict[str, str]:
    """Return what a reader needs to compare numbers: cores, memory, CPU, and software versions."""
    yaz = shutil.which("yaz-marcdump")
    return {
        "CPU": _cpu_model(),
        "cores": str(os.cpu_count()),
        "memory": _memory(),
        "load average (1, 5, 15 min)": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "OS": platform.platform(),
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
        "SQLite": sqlite3.sqlite_version,
        "PostgreSQL": _postgresql(),
        "SQLAlchemy": _version("SQLAlchemy"),
        "pymarc": _version("pymarc"),
        "yaz-marcdump": (_first_line([yaz, "-V"]) or "unknown") if yaz else "not installed",
    }


def machine_markdown(info: dict[str, str]) -> str:
    """Return the machine description as a markdown table."""
    lines = ["| | |", "|---|---|"] + [f"| {key} | {value} |" for key, value in info.items()]
    return "\n".join(lines) + "\n"


class _Tee(io.TextIOBase):
    """Write to the terminal and keep a copy."""

    def __init__(self, stream) -> None:
        self.stream = stream
        self.copy = io.StringIO()

    def write(self, text: str) -> int:
        self.stream.write(text)
        self.copy.write(text)
        return len(text)

    def flush(self) -> None:
        self.stream.flush()


def run_benchmark(name: str, quick: bool) -> str:
    """Run one benchmark; return its markdown section (its printed output, or why it did not run)."""
    module_name = BENCHMARKS[name]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            message = f"{module_name} does not exist yet: skipped."
            print(message, file=sys.stderr)
            return f"_{message}_\n"
        raise
    argv = list(getattr(module, "QUICK_ARGV", QUICK_ARGV.get(name, []))) if quick else []
    tee = _Tee(sys.stdout)
    started = time.perf_counter()
    try:
        with contextlib.redirect_stdout(tee):
            module.main(argv)
    except SystemExit as exc:  # argparse refusing the arguments
        return f"{tee.copy.getvalue()}\n_{module_name} stopped (exit status {exc.code}) with {argv}._\n"
    except Exception:  # noqa: BLE001 - one failing benchmark must not lose the others' numbers
        trace = traceback.format_exc()
        print(trace, file=sys.stderr)
        last = trace.strip().splitlines()[-1]
        return f"{tee.copy.getvalue()}\n_{module_name} failed: {last}_\n"
    elapsed = time.perf_counter() - started
    command = " ".join(["python -m", module_name, *argv])
    return f"{tee.copy.getvalue().rstrip()}\n\n_Command: `{command}`, {elapsed:.0f} s in all._\n"


def main(argv: list[str] | None = None) -> int:
    """Run the chosen benchmarks, print the report and save it under bench/out/."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help="import, export or search (default: all)")
    parser.add_argument("--quick", action="store_true", help="smaller runs, to check that everything works")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    names = list(dict.fromkeys(args.names)) or list(BENCHMARKS)

    now = dt.datetime.now().astimezone()
    info = machine_info()
    header = (
        f"## Benchmark run {now:%Y-%m-%d %H:%M %Z}{' (quick)' if args.quick else ''}\n\n"
        f"Command: `python -m bench {' '.join(sys.argv[1:] if argv is None else argv)}`\n\n"
        + machine_markdown(info)
    )
    print(header)
    sections = [header]
    for name in names:
        print(f"\n### {name}\n", flush=True)
        sections.append(f"### {name}\n\n{run_benchmark(name, args.quick)}")
    report = "\n".join(sections)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUT_DIR / f"results-{now:%Y%m%d-%H%M%S}.md"
    path.write_text(report, encoding="utf-8")
    print(f"\nReport written to {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
