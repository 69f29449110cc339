"""Benchmark data: the 250,000 Library of Congress records of the pymarc 5.4.0 sdist, kept in bench/data/."""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
SDIST = "pymarc-5.4.0.tar.gz"
MEMBER = "pymarc-5.4.0/BooksAll.2016.part01.utf8"
LOC_NAME = "BooksAll.2016.part01.utf8"


def sdist() -> Path:
    """Return the pymarc 5.4.0 source distribution, downloading it with pip the first time."""
    path = DATA_DIR / SDIST
    if not path.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(  # noqa: S603 - fixed arguments
            [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:"]
            + ["pymarc==5.4.0", "-d", str(DATA_DIR)],
            check=True,
        )
    return path


def loc_file() -> Path:
    """Return BooksAll.2016.part01.utf8 (250,000 records, 241 MB), extracting it once from the sdist."""
    target = DATA_DIR / LOC_NAME
    if target.exists():
        return target
    with tarfile.open(sdist(), "r:gz") as tar:
        member = tar.getmember(MEMBER)
        source = tar.extractfile(member)
        if source is None:
            raise RuntimeError(f"{MEMBER} is not a regular file in {SDIST}")
        partial = target.with_suffix(".part")
        with source, open(partial, "wb") as out:
            while chunk := source.read(1 << 20):
                out.write(chunk)
        partial.replace(target)
    return target


def first_records(count: int, name: str | None = None) -> Path:
    """Return a file holding the first `count` records of the LoC file (cached in bench/data/)."""
    target = DATA_DIR / (name or f"loc{count}.mrc")
    if target.exists():
        return target
    partial = target.with_suffix(".part")
    written = 0
    with open(loc_file(), "rb") as src, open(partial, "wb") as out:
        buf = b""
        while written < count:
            chunk = src.read(1 << 20)
            if not chunk:
                break
            buf += chunk
            while written < count:
                end = buf.find(b"\x1d")
                if end < 0:
                    break
                out.write(buf[: end + 1])
                buf = buf[end + 1 :]
                written += 1
    partial.replace(target)
    return target


def loc20k() -> Path:
    """Return bench/data/loc20k.mrc: the first 20,000 records of the LoC file."""
    return first_records(20_000, "loc20k.mrc")


def loc_slice(count: int) -> Path:
    """Return bench/data/loc<count>.mrc: the first `count` records of the LoC file as their own file."""
    return first_records(count)
