"""Label printing speed: a PDF of 1,000 copy labels (target ≤ 3 s, memory flat) and a batch's box labels.

A throwaway SQLite catalogue with --copies copies (Vietnamese titles, call numbers) is built in a
temporary folder. Each case runs in a fresh subprocess, so its peak resident memory (VmHWM) is its
own: the time covers reading the copies from the database (catalog.labels.copy_labels, in chunks) and
writing the PDF file with the label engine, as `flask labels copies` does; the baseline is the same
process after imports and app start, before the job. A second run of the job in the same process
under tracemalloc gives the peak of Python allocations. 1,000, 5,000 and 10,000 labels show whether memory
grows with the job.

    .venv/bin/python -m bench.labels_bench [--copies 10000] [--sizes 1000,5000,10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

QUICK_ARGV = ["--copies", "1000", "--repeat", "1", "--sizes", "200,1000"]
TARGET_1000 = 3.0
BASE_URL = "https://thuvien.sonla.gov.vn"
WORDS = (
    "Những người khốn khổ",
    "Dế Mèn phiêu lưu ký",
    "Truyện Kiều",
    "Tắt đèn",
    "Số đỏ",
    "Đất rừng phương Nam",
    "Tuổi thơ dữ dội",
    "Cây cam ngọt của tôi",
    "Văn hóa dân gian Thái Sơn La",
    "Kỹ thuật trồng cà phê vùng cao",
    "Lịch sử Đảng bộ tỉnh Sơn La",
    "Tiếng H'Mông cơ bản",
)
CLASSES = ("895.9223", "895.9221", "843", "959.7", "633.73", "636.5", "324.2597075", "495.9228", "398.209597")


def _app(url: str):
    from app.factory import create_app

    return create_app("testing", overrides={"SQLALCHEMY_DATABASE_URI": url, "BASE_URL": BASE_URL})


def build(path: Path, copies: int) -> None:
    """Create a migrated SQLite catalogue with `copies` copies (VN.00001…) and one batch of 5 boxes."""
    from flask_migrate import upgrade
    from sqlalchemy import insert

    from app.extensions import db
    from app.network.models import SiteKind
    from app.network.services import create_site
    from catalog.models import Item, Record
    from rotation.models import Batch, BatchItem

    app = _app(f"sqlite:///{path}")
    with app.app_context():
        upgrade()
        session = db.session
        library = create_site(
            session,
            {"code": "TVT", "name": "Thư viện tỉnh Sơn La", "kind": SiteKind.PROVINCIAL_LIBRARY},
            actor_id=None,
        )
        session.flush()
        records = [
            {
                "id": n,
                "title": f"{WORDS[n % len(WORDS)]} : tập {n % 7 + 1} / Nhiều tác giả",
                "year": 1990 + n % 35,
                "classification": CLASSES[n % len(CLASSES)],
            }
            for n in range(1, copies + 1)
        ]
        session.execute(insert(Record), records)
        items = [
            {
                "id": n,
                "record_id": n,
                "accession_number": f"VN.{n:05d}",
                "class_number": CLASSES[n % len(CLASSES)],
                "author_mark": "NGU",
                "call_number": f"{CLASSES[n % len(CLASSES)]} NGU",
                "library_id": library.id,
                "status": "in_rotation",
            }
            for n in range(1, copies + 1)
        ]
        session.execute(insert(Item), items)
        batch = Batch(code="LC-2026-0001", home_library_id=library.id, holder_site_id=library.id, box_count=5)
        session.add(batch)
        session.flush()
        session.execute(
            insert(BatchItem), [{"batch_id": batch.id, "item_id": n} for n in range(1, min(copies, 250) + 1)]
        )
        session.commit()
        db.engine.dispose()


def _job(case: str, size: int, out_path: Path):
    """Return a function running one label job from the database to a PDF file."""
    from datetime import date

    from app.extensions import db
    from app.labels.engine import render_pdf
    from app.labels.presets import get_template
    from catalog import labels as copy_labels
    from rotation import labels as batch_labels

    numbers = [f"VN.{n:05d}" for n in range(1, size + 1)]

    def run() -> int:
        if case == "batch":
            info = batch_labels.batch_label_info(
                db.session, "LC-2026-0001", base_url=BASE_URL, today=date.today()
            )
            labels = batch_labels.batch_labels(info)
            template = get_template("a4-2x7")
        else:
            kind, code = {
                "copy-qr": ("copy", "qr"),
                "copy-code128": ("copy", "code128"),
                "spine": ("spine", "qr"),
            }[case]
            labels, _unknown = copy_labels.copy_labels(
                db.session, numbers, base_url=BASE_URL, kind=kind, code=code
            )
            template = get_template("a4-5x13" if kind == "spine" else "a4-3x8")
        with open(out_path, "wb") as out:
            report = render_pdf(template, labels, out, title="bench", report_pages=0)
        db.session.remove()
        return report.pages

    return run


def peak_rss_kib() -> int:
    """Peak resident memory of this process in KiB: VmHWM on Linux, else ru_maxrss.

    ru_maxrss survives exec on Linux, so a child started by a large parent would report the parent's
    peak; VmHWM belongs to the process's own address space.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def child(db_path: str, case: str, size: int, repeat: int) -> dict[str, Any]:
    """Run one case in this process; return times, pages, file size and memory."""
    app = _app(f"sqlite:///{db_path}")
    out_path = Path(tempfile.mkdtemp(prefix="labels-bench-")) / "labels.pdf"
    with app.app_context():
        import app.labels.engine  # noqa: F401  (imports and font registration are part of the baseline)

        baseline = peak_rss_kib()
        run = _job(case, size, out_path)
        times, cpu_times = [], []
        pages = 0
        for _ in range(repeat):
            started, cpu_started = time.perf_counter(), time.process_time()
            pages = run()
            times.append(time.perf_counter() - started)
            cpu_times.append(time.process_time() - cpu_started)
        peak_rss = peak_rss_kib()
        tracemalloc.start()
        run()
        _current, traced_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return {
        "case": case,
        "labels": size,
        "pages": pages,
        "median_s": statistics.median(times),
        "max_s": max(times),
        "cpu_s": statistics.median(cpu_times),
        "pdf_kib": out_path.stat().st_size / 1024,
        "baseline_mib": baseline / 1024,
        "peak_rss_mib": peak_rss / 1024,
        "traced_peak_mib": traced_peak / 1024 / 1024,
    }


def _run_child(db_path: Path, case: str, size: int, repeat: int) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "bench.labels_bench", "--child", str(db_path), case, str(size), str(repeat)]
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=root, check=False, timeout=3600)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Build the catalogue, run every case in its own process, print a markdown table."""
    parser = argparse.ArgumentParser(prog="python -m bench.labels_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=10000, help="copies in the throwaway catalogue")
    parser.add_argument("--sizes", default="1000,5000,10000", help="label counts for the QR copy labels")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per case (median reported)")
    parser.add_argument("--child", nargs=4, metavar=("DB", "CASE", "SIZE", "REPEAT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        db_path, case, size, repeat = args.child
        print(json.dumps(child(db_path, case, int(size), int(repeat))))
        return {}
    sizes = [int(s) for s in args.sizes.split(",")]
    if max(sizes) > args.copies:
        parser.error(f"--copies {args.copies} is less than the largest size {max(sizes)}")
    with tempfile.TemporaryDirectory(prefix="labels-bench-") as folder:
        db_path = Path(folder) / "catalogue.sqlite"
        started = time.perf_counter()
        build(db_path, args.copies)
        built = time.perf_counter() - started
        cases = [("copy-qr", n) for n in sizes]
        cases += [
            ("copy-code128", 1000 if 1000 in sizes else sizes[0]),
            ("spine", 1000 if 1000 in sizes else sizes[0]),
        ]
        cases.append(("batch", 5))
        rows = [_run_child(db_path, case, size, args.repeat) for case, size in cases]
    print(
        f"Throwaway SQLite catalogue of {args.copies:,} copies built in {built:.1f} s; each case in its own "
        f"process, {args.repeat} timed run(s), median; BASE_URL {BASE_URL}.\n"
    )
    print(
        "| case | labels | pages | median | slowest | CPU (median) | PDF | RSS before → peak "
        "| Python peak (tracemalloc) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['case']} | {r['labels']:,} | {r['pages']} | {r['median_s']:.2f} s | {r['max_s']:.2f} s | "
            f"{r['cpu_s']:.2f} s | "
            f"{r['pdf_kib']:,.0f} KiB | {r['baseline_mib']:.0f} → {r['peak_rss_mib']:.0f} MiB | "
            f"{r['traced_peak_mib']:.1f} MiB |"
        )
    copy_1000 = next((r for r in rows if r["case"] == "copy-qr" and r["labels"] == 1000), None)
    if copy_1000:
        verdict = "meets" if copy_1000["median_s"] <= TARGET_1000 else "MISSES"
        print(
            f"\n1,000 QR copy labels: {copy_1000['median_s']:.2f} s ({copy_1000['cpu_s']:.2f} s of CPU), "
            f"{verdict} the {TARGET_1000:.0f} s target."
        )
    print(f"\nLoad average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}.")
    return {"rows": rows}


if __name__ == "__main__":
    main()
