"""Search speed at scale: 250,000 records and 500,000 copies on SQLite and PostgreSQL.

Two catalogues are built once and cached in bench/data/: the 250,000 real Library of Congress records
(pymarc 5.4.0 sdist, see bench/data.py) and a generated Vietnamese catalogue of the same size. Each
gets 500,000 copies (1 to 3 per record) spread over 13 libraries. The SQLite files are kept; the
PostgreSQL copies are loaded into a throwaway server (tests/pg.py) on every run, from the SQLite files.

Then 1,000 varied queries per catalogue and engine (single words, two-word phrases, unaccented
Vietnamese, ISBNs, accession numbers, barcodes, call numbers, filters, browsing) go through
catalog.search.search(), and ~200 requests each through the OPAC page and a record page via the Flask
test client. A SQLite file is read through once before it is measured (it is then in the OS cache, as
on a server that has been serving it). Prints a markdown table; returns the numbers as a dict.

    .venv/bin/python -m bench.search_bench [--records 250000] [--queries 1000] [--engines sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parent / "data"
RECORDS = 250_000
QUERIES = 1_000
PAGE_REQUESTS = 200
CATALOGUES = ("loc", "vi")
BATCH = 2_000

# --- a generated Vietnamese catalogue -----------------------------------------------------------


def _words(text: str) -> list[str]:
    return text.split()


TITLE_WORDS = _words(
    "lịch sử văn hóa đường kinh tế giáo dục truyện ngắn tuyển tập thơ Việt Nam Sơn La dân tộc Thái "
    "H'Mông nông nghiệp kỹ thuật trồng cây chăn nuôi sức khỏe gia đình trẻ em học sinh tiếng Việt "
    "toán vật lý hóa học địa lý phong tục lễ hội âm nhạc múa ca dao tục ngữ câu đố cổ tích anh hùng "
    "chiến tranh hòa bình biên giới núi rừng sông Đà Mã mùa xuân thu quê hương đất nước con người "
    "tình yêu mẹ cha bà cháu ma má mà mả mã mạ ngựa đồng lúa nước bản làng chợ phiên hoa ban trăng "
    "sao gió mây đêm ngày Tây Bắc Mộc Châu Điện Biên Hà Nội pháp luật quản lý thư viện sách đọc "
    "khoa học công nghệ thông tin máy tính du lịch ẩm thực y học cổ truyền thuốc nam rừng già chim "
    "thú cá biển đảo thanh niên phụ nữ người cao tuổi đạo đức tư tưởng Hồ Chí Minh cách mạng kháng "
    "chiến bộ đội tuổi thơ kỷ niệm hướng dẫn giáo trình bài tập tài liệu tham khảo sổ tay từ điển "
    "Việt Anh Pháp văn học nghệ thuật hội họa điêu khắc kiến trúc nhà sàn dệt thổ cẩm"
)
PHRASES = (
    "Lịch sử Việt Nam",
    "Văn hóa dân tộc Thái",
    "Truyện cổ tích",
    "Kỹ thuật trồng cây",
    "Tiếng Việt",
    "Đường lên Tây Bắc",
    "Sổ tay",
    "Tuyển tập thơ",
    "Hướng dẫn chăn nuôi",
    "Ca dao tục ngữ",
)
FAMILY = _words(
    "Nguyễn Trần Lê Phạm Hoàng Vũ Đặng Bùi Đỗ Hồ Ngô Dương Lý Lò Cầm Quàng Hà Lường Mè Tòng Vì Sùng Giàng"
)
MIDDLE = _words("Văn Thị Đức Minh Thanh Ngọc Hữu Quang Xuân Thu Kim Hồng Bá Công")
GIVEN = _words(
    "An Bình Cường Dũng Hà Hải Hương Lan Long Mai Nam Phong Quân Sơn Tâm Thảo Trang Tuấn Việt Xuân "
    "Yến Đông Đào Giang Khánh Linh Nga Oanh Phúc Quỳnh Thắng Vân Ánh Ơn Ưng"
)
PUBLISHERS = (
    "Nxb. Kim Đồng",
    "Nxb. Giáo dục Việt Nam",
    "Nxb. Văn học",
    "Nxb. Trẻ",
    "Nxb. Chính trị Quốc gia Sự thật",
    "Nxb. Văn hóa dân tộc",
    "Nxb. Hội Nhà văn",
    "Nxb. Phụ nữ Việt Nam",
    "Nxb. Thanh niên",
    "Nxb. Khoa học xã hội",
    "Nxb. Nông nghiệp",
    "Nxb. Lao động",
    "Nxb. Đại học Quốc gia Hà Nội",
)
PLACES = ("Hà Nội", "Tp. Hồ Chí Minh", "Sơn La", "Đà Nẵng", "Huế")
CLASSES = (
    ("895.922", "Văn học Việt Nam"),
    ("895.9223", "Truyện ngắn"),
    ("895.9221", "Thơ"),
    ("959.7", "Lịch sử -- Việt Nam"),
    ("959.71", "Lịch sử -- Tây Bắc"),
    ("390.09597", "Phong tục tập quán"),
    ("398.209597", "Truyện cổ tích"),
    ("398.9", "Tục ngữ"),
    ("630", "Nông nghiệp"),
    ("636", "Chăn nuôi"),
    ("633.1", "Lúa"),
    ("372.6", "Tiếng Việt -- Tiểu học"),
    ("510", "Toán học"),
    ("613", "Sức khỏe"),
    ("305.8959", "Dân tộc thiểu số"),
    ("028.5", "Đọc sách -- Thiếu nhi"),
    ("020", "Thư viện học"),
    ("780.9597", "Âm nhạc dân gian"),
    ("915.97", "Du lịch -- Việt Nam"),
    ("335.4346", "Tư tưởng Hồ Chí Minh"),
)
LANGS = ("vie",) * 17 + ("eng", "fre", "tha")


def _isbn13(rng: random.Random) -> str:
    body = "978604" + "".join(rng.choice("0123456789") for _ in range(6))
    total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(body))
    return f"{body[:3]}-{body[3:6]}-{body[6:8]}-{body[8:]}-{(10 - total % 10) % 10}"


def _person(rng: random.Random) -> str:
    return f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"


def vietnamese_records(count: int, seed: int = 2026) -> Iterator[Any]:
    """Yield `count` plausible Vietnamese MARC21 records (titles, authors, DDC, publishers, ISBNs)."""
    from catalog.marc import build_record

    rng = random.Random(seed)
    for _ in range(count):
        words = rng.sample(TITLE_WORDS, rng.randint(2, 5))
        title = " ".join(words)
        if rng.random() < 0.25:
            title = f"{rng.choice(PHRASES)} {title}"
        title = title[0].upper() + title[1:]
        cls, subject = rng.choice(CLASSES)
        if rng.random() < 0.5:
            cls = f"{cls}{'' if '.' in cls else '.'}{rng.randint(0, 9)}"
        authors = [_person(rng) for _ in range(rng.choice((1, 1, 1, 2, 3)))]
        year = rng.randint(1960, 2025)
        yield build_record(
            title,
            subtitle=rng.choice((None, None, "tuyển chọn", "tái bản có bổ sung", "sách tham khảo")),
            responsibility=", ".join(authors),
            authors=authors,
            isbn=_isbn13(rng) if rng.random() < 0.8 else None,
            publisher=rng.choice(PUBLISHERS),
            place=rng.choice(PLACES),
            year=year,
            language=rng.choice(LANGS),
            pages=f"{rng.randint(40, 600)} tr.",
            dimensions=f"{rng.choice((19, 21, 24, 27))} cm",
            classification=cls,
            subjects=[subject] + ([rng.choice(CLASSES)[1]] if rng.random() < 0.3 else []),
            series=rng.choice((None,) * 8 + ("Tủ sách Sơn La", "Văn học thiếu nhi")),
            today=__import__("datetime").date(2026, 1, 1),
        )


def loc_records(count: int) -> Iterator[Any]:
    """Yield the first `count` good bibliographic records of the LoC file."""
    from bench.data import loc_file
    from catalog import marc

    n = 0
    for parsed in marc.read_records(loc_file()):
        if parsed.record is None or marc.record_kind(parsed.record.leader) != "bibliographic":
            continue
        if any(p.severity == "error" for p in marc.validate(parsed.record)):
            continue
        yield parsed.record
        n += 1
        if n >= count:
            return


# --- building the catalogues ---------------------------------------------------------------------

STATUSES = (
    ("available", 70),
    ("in_rotation", 8),
    ("at_point", 7),
    ("in_processing", 5),
    ("in_transit", 3),
    ("lost", 3),
    ("damaged", 2),
    ("withdrawn", 2),
)
PREFIXES = ("VV", "VN", "VL", "TN")


def _flask_app(url: str):
    from app.factory import create_app, settle_heap

    settings = {"SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": False}
    application = create_app("testing", overrides=settings)
    settle_heap()  # as wsgi.py does before serving
    return application


def _migrate(url: str) -> None:
    from flask_migrate import upgrade

    from app.extensions import db

    application = _flask_app(url)
    with application.app_context():
        upgrade()
        db.session.remove()
        db.engine.dispose()


def _make_libraries(session) -> list[int]:
    from app.network.models import SiteKind
    from app.network.services import create_site

    ids = [
        create_site(
            session,
            {"code": "TVT", "name": "Thư viện tỉnh Sơn La", "kind": SiteKind.PROVINCIAL_LIBRARY},
            actor_id=None,
        ).id
    ]
    districts = (
        "Quỳnh Nhai,Thuận Châu,Mường La,Bắc Yên,Phù Yên,Mộc Châu,"
        "Vân Hồ,Yên Châu,Mai Sơn,Sông Mã,Sốp Cộp,Thành phố"
    )
    for i, name in enumerate(districts.split(","), 1):
        site = create_site(
            session,
            {"code": f"TVH{i:02d}", "name": f"Thư viện {name}", "kind": SiteKind.DISTRICT_LIBRARY},
            actor_id=None,
        )
        ids.append(site.id)
    session.commit()
    return ids


def _author_mark(author: str) -> str:
    from app.text import fold

    letters = "".join(ch for ch in fold(author) if ch.isalpha())[:3].upper()
    return letters or "XX"


def build_sqlite(name: str, path: Path, count: int) -> None:
    """Build a SQLite catalogue of `count` records and 2×`count` copies at `path` (a cached file)."""
    from sqlalchemy import create_engine, insert, text
    from sqlalchemy.orm import Session

    from catalog.indexing import index_record, search_texts
    from catalog.models import Item, Record, RecordKey, RecordMarc
    from catalog.services import write_search_rows

    partial = path.with_suffix(".part")
    for leftover in (partial, Path(f"{partial}-wal"), Path(f"{partial}-shm")):
        leftover.unlink(missing_ok=True)
    url = f"sqlite:///{partial}"
    _migrate(url)
    engine = create_engine(url)
    rng = random.Random(7)
    weights = [w for _, w in STATUSES]
    statuses = [s for s, _ in STATUSES]
    source = loc_records(count) if name == "loc" else vietnamese_records(count)
    started = time.perf_counter()
    with Session(engine) as session:
        session.execute(text("PRAGMA synchronous=OFF"))
        libraries = _make_libraries(session)
        record_id = 0
        item_no = 0
        batch: list[Any] = []

        def flush(batch: list[Any]) -> None:
            nonlocal record_id, item_no
            rec_rows, marc_rows, key_rows, item_rows, search_rows = [], [], [], [], []
            for marc_record in batch:
                record_id += 1
                indexed = index_record(marc_record)
                row = dict(indexed.row)
                # The ISO 2709 cache is left empty: searching never reads record_marc.
                marc_rows.append({"record_id": record_id, "marc": row.pop("marc"), "iso2709": None})
                rec_rows.append({"id": record_id, **row, "source": f"bench-{name}"})
                key_rows += [
                    {"record_id": record_id, "kind": k.kind, "value": k.value[:400]}
                    for k in dict.fromkeys(indexed.keys)
                ]
                terms: list[str] = []
                cls = (indexed.row["classification"] or "000")[:40]
                mark = _author_mark(indexed.row["main_author"] or indexed.row["title"])
                for _ in range(record_id % 3 + 1):  # 1, 2 or 3 copies: 2 on average
                    item_no += 1
                    accession = f"{PREFIXES[item_no % 4]}.{item_no:07d}"
                    barcode = f"TS{item_no:010d}" if item_no % 2 else None
                    item_rows.append(
                        {
                            "record_id": record_id,
                            "accession_number": accession,
                            "barcode": barcode,
                            "class_number": cls,
                            "author_mark": mark,
                            "call_number": f"{cls} {mark}",
                            "library_id": rng.choice(libraries),
                            "status": rng.choices(statuses, weights)[0],
                            "price_vnd": rng.randrange(20, 400) * 1000,
                        }
                    )
                    terms += [accession, barcode or "", f"{cls} {mark}"]
                exact, folded = search_texts(indexed.fields, [t for t in terms if t])
                search_rows.append((record_id, exact, folded))
            session.execute(insert(Record), rec_rows)
            session.execute(insert(RecordMarc), marc_rows)
            session.execute(insert(RecordKey), key_rows)
            session.execute(insert(Item), item_rows)
            write_search_rows(session, search_rows)
            session.commit()

        for marc_record in source:
            batch.append(marc_record)
            if len(batch) >= BATCH:
                flush(batch)
                batch = []
                if record_id % 50_000 == 0:
                    print(
                        f"  {name}: {record_id} records, {time.perf_counter() - started:.0f} s",
                        file=sys.stderr,
                    )
        if batch:
            flush(batch)
        session.execute(text("INSERT INTO record_search(record_search) VALUES ('optimize')"))
        session.commit()
        session.execute(text("ANALYZE"))
        session.commit()
    engine.dispose()
    partial.replace(path)
    print(f"  {name}: built {record_id} records in {time.perf_counter() - started:.0f} s", file=sys.stderr)


def sqlite_catalogue(name: str, count: int) -> Path:
    """Return the cached SQLite catalogue file, building it the first time."""
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    path = DATA_DIR / f"search_{name}_{count}.sqlite"
    if not path.exists():
        build_sqlite(name, path, count)
    _migrate(f"sqlite:///{path}")  # a newer migration since the file was built
    return path


# --- PostgreSQL: the same catalogue, copied from the SQLite file ------------------------------------

COPIED_TABLES = ("records", "record_marc", "record_keys", "items")


def load_postgresql(sqlite_path: Path, url: str) -> None:
    """Create the schema on PostgreSQL and copy a SQLite catalogue into it with COPY."""
    import sqlite3

    import psycopg
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    _migrate(url)
    engine = create_engine(url)
    with Session(engine) as session:
        _make_libraries(session)
    engine.dispose()
    src = sqlite3.connect(sqlite_path)
    started = time.perf_counter()
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        conn.execute("DROP INDEX ix_record_search_folded_tsv")
        conn.execute("DROP INDEX ix_record_search_copy_terms")  # copy filter terms: a trigger fills them
        for table in COPIED_TABLES:
            cur = src.execute(f"SELECT * FROM {table}")  # noqa: S608 - fixed names
            names = [d[0] for d in cur.description]
            bools = {i for i, n in enumerate(names) if n.startswith("is_")}
            with conn.cursor().copy(f"COPY {table} ({', '.join(names)}) FROM STDIN") as copy:
                for row in cur:
                    copy.write_row([bool(v) if i in bools else v for i, v in enumerate(row)])
        cur = src.execute("SELECT rowid, exact, folded FROM record_search")
        with conn.cursor().copy("COPY record_search (record_id, exact, folded) FROM STDIN") as copy:
            for row in cur:
                copy.write_row(row)
        conn.execute("CREATE INDEX ix_record_search_folded_tsv ON record_search USING gin (folded_tsv)")
        conn.execute("CREATE INDEX ix_record_search_copy_terms ON record_search USING gin (copy_terms)")
        for table in ("records", "items", "record_keys"):
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"  # noqa: S608
            )
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
    src.close()
    print(f"  loaded into PostgreSQL in {time.perf_counter() - started:.0f} s", file=sys.stderr)


# --- the queries ---------------------------------------------------------------------------------------

QUERY_MIX = (
    ("word", 25),
    ("two words", 15),
    ("unaccented", 15),
    ("author", 8),
    ("isbn", 7),
    ("accession number", 7),
    ("barcode", 3),
    ("call number", 3),
    ("words + filter", 7),
    ("sorted by title/year", 5),
    ("browse with filters", 5),
)


def _isbn10(isbn13: str) -> str | None:
    if not isbn13.startswith("978") or len(isbn13) != 13:
        return None
    body = isbn13[3:12]
    total = sum((10 - i) * int(d) for i, d in enumerate(body))
    check = (11 - total % 11) % 11
    return f"{body[0]}-{body[1:4]}-{body[4:9]}-{'X' if check == 10 else check}"


def make_queries(sqlite_path: Path, count: int, seed: int = 11) -> list[tuple[str, dict[str, Any]]]:
    """Return `count` varied (kind, SearchQuery arguments) sampled from the catalogue's own data."""
    import re
    import sqlite3

    from app.text import fold

    rng = random.Random(seed)
    db = sqlite3.connect(sqlite_path)
    top = db.execute("SELECT max(id) FROM records").fetchone()[0]
    kinds = [k for k, _ in QUERY_MIX]
    weights = [w for _, w in QUERY_MIX]
    word_re = re.compile(r"[^\W\d_]{2,}")
    languages = [
        r[0] for r in db.execute("SELECT language FROM records WHERE id % 97 = 0 AND language IS NOT NULL")
    ]
    queries: list[tuple[str, dict[str, Any]]] = []

    def sample_record() -> tuple:
        return db.execute(
            "SELECT id, title, main_author, isbn, classification, year FROM records WHERE id >= ? LIMIT 1",
            (rng.randint(1, top),),
        ).fetchone()

    def title_words(title: str) -> list[str]:
        return word_re.findall(title)

    def a_filter() -> dict[str, Any]:
        choice = rng.choice(("year", "language", "classification", "library", "status", "library+status"))
        if choice == "year":
            y = rng.randint(1950, 2020)
            return {"year_from": y, "year_to": y + rng.choice((0, 4, 9))}
        if choice == "language":
            return {"language": rng.choice(languages)}
        if choice == "classification":
            cls = sample_record()[4] or "895"
            return {"classification": cls[: rng.choice((1, 2, 3))]}
        if choice == "library":
            return {"library_id": rng.randint(1, 13)}
        if choice == "status":
            return {"status": rng.choice(("available", "lost", "in_rotation", "damaged"))}
        return {"library_id": rng.randint(1, 13), "status": rng.choice(("available", "at_point"))}

    while len(queries) < count:
        kind = rng.choices(kinds, weights)[0]
        rid, title, author, isbn, cls, year = sample_record()
        words = title_words(title)
        args: dict[str, Any] = {}
        if kind in ("word", "words + filter", "sorted by title/year") and words:
            args["q"] = rng.choice(words)
        elif kind == "two words" and len(words) >= 2:
            i = rng.randrange(len(words) - 1)
            args["q"] = f"{words[i]} {words[i + 1]}"
        elif kind == "unaccented" and words:
            i = rng.randrange(len(words))
            args["q"] = fold(" ".join(words[i : i + rng.choice((1, 2, 3))]))
        elif kind == "author" and author:
            args["q"] = " ".join(title_words(author)[:2])
        elif kind == "isbn" and isbn:
            ten = _isbn10(isbn)
            args["q"] = ten if ten and rng.random() < 0.5 else f"{isbn[:3]}-{isbn[3:]}"
        elif kind in ("accession number", "barcode", "call number"):
            column = {
                "accession number": "accession_number",
                "barcode": "barcode",
                "call number": "call_number",
            }
            value = db.execute(
                f"SELECT {column[kind]} FROM items WHERE record_id = ? AND {column[kind]} IS NOT NULL",  # noqa: S608
                (rid,),
            ).fetchone()
            if not value:
                continue
            args["q"] = value[0]
        elif kind == "browse with filters":
            args = {"q": "", **a_filter(), "sort": rng.choice(("title", "year"))}
        else:
            continue
        if not args.get("q") and kind != "browse with filters":
            continue
        if kind == "words + filter":
            args.update(a_filter())
        if kind == "sorted by title/year":
            args["sort"] = rng.choice(("title", "year"))
        queries.append((kind, args))
    db.close()
    return queries


# --- measuring -----------------------------------------------------------------------------------------


def _stats(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * len(ordered))) - 1)]
    return {"n": len(times), "median_ms": statistics.median(ordered), "p95_ms": p95, "max_ms": ordered[-1]}


def _read_through(path: Path) -> None:
    """Read a SQLite file once, so that it is in the OS cache as on a server that has been running.

    Otherwise the first engine measured after anything that pushed the file out of memory (an import
    benchmark writing gigabytes, say) pays for reading the disk: p95 went from ≈ 20 ms to ≈ 560 ms.
    """
    with open(path, "rb") as fh:
        while fh.read(1 << 24):
            pass


def measure_search(url: str, queries: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """Run every query through catalog.search.search() and time it."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from catalog.search import SearchQuery, search

    engine = create_engine(url)
    times: list[float] = []
    by_kind: dict[str, list[float]] = {}
    with Session(engine) as session:
        for _, args in queries[:50]:  # warm the caches
            search(session, SearchQuery(**args))
        for kind, args in queries:
            started = time.perf_counter()
            search(session, SearchQuery(**args))
            elapsed = (time.perf_counter() - started) * 1000
            times.append(elapsed)
            by_kind.setdefault(kind, []).append(elapsed)
            session.rollback()  # end the read transaction, as a request would
    engine.dispose()
    return {"all": _stats(times), "kinds": {k: _stats(v) for k, v in by_kind.items()}}


def measure_pages(url: str, queries: list[tuple[str, dict[str, Any]]], requests: int) -> dict[str, Any]:
    """Time the OPAC search page and the OPAC record page through the Flask test client."""
    from app.extensions import db

    application = _flask_app(url)
    client = application.test_client()
    words = [args for kind, args in queries if kind in ("word", "two words", "unaccented")][:requests]
    with application.app_context():
        top = db.session.execute(__import__("sqlalchemy").text("SELECT max(id) FROM records")).scalar_one()
    rng = random.Random(5)
    result = {}
    for name, urls in (
        ("OPAC search page", [("/opac/", {"q": a["q"]}) for a in words]),
        ("OPAC record page", [(f"/opac/records/{rng.randint(1, top)}", {}) for _ in range(requests)]),
    ):
        for path, params in urls[:20]:
            client.get(path, query_string=params)
        times = []
        for path, params in urls:
            started = time.perf_counter()
            response = client.get(path, query_string=params)
            times.append((time.perf_counter() - started) * 1000)
            if response.status_code not in (200, 404):
                raise RuntimeError(f"{path} {params}: HTTP {response.status_code}")
        result[name] = _stats(times)
    with application.app_context():
        db.session.remove()
        db.engine.dispose()
    return result


@contextlib.contextmanager
def _postgresql_server() -> Iterator[str]:
    from tests import pg

    with pg.running_server() as base_url:
        yield base_url


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Build (once) the catalogues, time searches and pages on each engine; print a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=RECORDS)
    parser.add_argument("--queries", type=int, default=QUERIES)
    parser.add_argument("--requests", type=int, default=PAGE_REQUESTS)
    parser.add_argument("--catalogues", default=",".join(CATALOGUES))
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--json", dest="json_path", help="also write the numbers to this JSON file")
    args = parser.parse_args(argv)
    engines = [e for e in args.engines.split(",") if e]
    results: dict[str, Any] = {}
    with contextlib.ExitStack() as stack:
        base_url = stack.enter_context(_postgresql_server()) if "postgresql" in engines else None
        for name in [c for c in args.catalogues.split(",") if c]:
            path = sqlite_catalogue(name, args.records)
            queries = make_queries(path, args.queries)
            for engine_name in engines:
                if engine_name == "sqlite":
                    url = f"sqlite:///{path}"
                    _read_through(path)
                else:
                    from tests import pg

                    url = pg.create_database(base_url, f"bench_search_{name}")
                    load_postgresql(path, url)
                print(f"  measuring {name} on {engine_name}", file=sys.stderr)
                key = f"{name}/{engine_name}"
                results[key] = measure_search(url, queries)
                results[key]["pages"] = measure_pages(url, queries, args.requests)
    print(render(results, args))
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(results, indent=1))
    return results


def render(results: dict[str, Any], args: argparse.Namespace) -> str:
    """Return the results as a markdown table (with a per-kind breakdown)."""
    lines = [
        f"### Search: {args.records:,} records, {2 * args.records:,} copies, {args.queries:,} queries",
        "",
        "| catalogue / engine | what | n | median ms | p95 ms | max ms |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for key, res in results.items():
        rows = [("all queries", res["all"])] + [(f"pages: {k}", v) for k, v in res["pages"].items()]
        for what, s in rows:
            numbers = f"{s['n']} | {s['median_ms']:.1f} | {s['p95_ms']:.1f} | {s['max_ms']:.1f}"
            lines.append(f"| {key} | {what} | {numbers} |")
    lines += ["", "Per kind of query (median / p95 ms):", "", "| kind | " + " | ".join(results) + " |"]
    lines.append("|---|" + "---:|" * len(results))
    for kind, _ in QUERY_MIX:
        cells = []
        for res in results.values():
            s = res["kinds"].get(kind)
            cells.append(f"{s['median_ms']:.1f} / {s['p95_ms']:.1f}" if s else "–")
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
