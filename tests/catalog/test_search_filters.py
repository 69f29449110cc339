"""Search filters written into the index text: words + language, years, classification on both engines.

The record filters are also tokens in the folded search text (catalog.indexing.filter_tokens), which
PostgreSQL's GIN index answers alone; these tests check that the results are the records passing the
filters, with Vietnamese diacritics in the words and in the classification, after edits, and that
the migration writes the same tokens as the application.
"""

from __future__ import annotations

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from catalog.indexing import filter_tokens
from catalog.marc import build_record
from catalog.search import SearchQuery, _year_terms, search
from catalog.services import create_record, update_record
from tests.conftest import make_app

BOOKS = {
    # key: (title, year, language, classification)
    "duong_1999": ("Đường về bản", 1999, "vie", "895.9223"),
    "duong_2000": ("Đường lên núi", 2000, "vie", "895.922"),
    "duong_2009": ("Dương cầm và đường phố", 2009, "eng", "780.9597"),
    "duong_1900": ("Đường xưa", 1900, "fre", "959.7"),
    "duong_none": ("Đường mòn", None, "tha", None),
    "duong_bbk": ("Đường sắt", 1985, "rus", "Đ63.3(2)"),
    "song_2000": ("Sông Đà", 2000, "vie", "895.922"),
}


@pytest.fixture
def books(session):
    made = {}
    for key, (title, year, language, cls) in BOOKS.items():
        record = build_record(title, year=year, language=language, classification=cls)
        made[key] = create_record(session, record, actor_id=None).id
    session.commit()
    return made


def found(session, q="", **kw) -> set[int]:
    result = search(session, SearchQuery(q=q, per_page=100, **kw))
    return {h.id for h in result.hits}


def keys(books, *names) -> set[int]:
    return {books[n] for n in names}


@pytest.mark.parametrize("q", ["đường", "duong", "ĐƯỜNG", "Duong"])
def test_words_with_year_ranges(books, session, q):
    assert found(session, q, year_from=1999, year_to=1999) == keys(books, "duong_1999")
    assert found(session, q, year_from=1999, year_to=2000) == keys(books, "duong_1999", "duong_2000")
    assert found(session, q, year_from=1990, year_to=2009) == keys(
        books, "duong_1999", "duong_2000", "duong_2009"
    )
    assert found(session, q, year_from=2001) == keys(books, "duong_2009")
    assert found(session, q, year_to=1985) == keys(books, "duong_1900", "duong_bbk")
    assert found(session, q, year_from=1901, year_to=1984) == set()
    # A scattered range (more terms than MAX_YEAR_TERMS) is checked on the records alone.
    assert found(session, q, year_from=1001, year_to=1999) == keys(
        books, "duong_1999", "duong_1900", "duong_bbk"
    )


def test_words_with_language_and_classification(books, session):
    assert found(session, "duong", language="eng") == keys(books, "duong_2009")
    assert found(session, "đường", language="VIE") == keys(books, "duong_1999", "duong_2000")
    assert found(session, "duong", classification="895.922") == keys(books, "duong_1999", "duong_2000")
    assert found(session, "duong", classification="895.9223") == keys(books, "duong_1999")
    assert found(session, "duong", classification="8") == keys(books, "duong_1999", "duong_2000")
    # A classification with a letter carrying diacritics and brackets (BBK style).
    assert found(session, "đường", classification="Đ63") == keys(books, "duong_bbk")
    assert found(session, "duong", classification="D63") == set()
    assert found(session, "duong", classification="Đ63.3(2)") == keys(books, "duong_bbk")
    # Several filters at once.
    assert found(session, "duong", language="vie", year_from=2000, classification="895") == keys(
        books, "duong_2000"
    )
    assert found(session, "song", language="vie", year_from=2000, year_to=2000) == keys(books, "song_2000")


def test_sorted_and_paged_results_keep_the_filters(books, session):
    result = search(session, SearchQuery(q="duong", year_from=1999, year_to=2009, sort="year", per_page=2))
    assert [h.year for h in result.hits] == [2009, 2000]
    assert result.total == 3
    second = search(
        session, SearchQuery(q="duong", year_from=1999, year_to=2009, sort="year", per_page=2, page=2)
    )
    assert [h.year for h in second.hits] == [1999]


def test_an_edit_moves_the_record_between_filters(books, session):
    record = session.get(__import__("catalog.models", fromlist=["Record"]).Record, books["duong_1999"])
    update_record(
        session,
        record,
        build_record("Đường về bản", year=2021, language="eng", classification="123.4"),
        actor_id=None,
    )
    session.commit()
    assert found(session, "duong", year_from=1999, year_to=1999) == set()
    assert found(session, "duong", year_from=2021, year_to=2021) == keys(books, "duong_1999")
    assert found(session, "duong", language="eng") == keys(books, "duong_1999", "duong_2009")
    assert found(session, "duong", classification="123") == keys(books, "duong_1999")
    assert found(session, "duong", classification="895.9223") == set()


def test_filter_tokens_text():
    assert filter_tokens("vie", 1987, "895.9") == (
        " zzf zzfl766965 zzfm1 zzfc19 zzfd198 zzfy1987 zzfk3839352e39"
    )
    assert filter_tokens(None, None, None) == " zzf"
    assert filter_tokens("VIE", 12000, "Đ1") == " zzf zzfl766965 zzfkc49031"


@pytest.mark.parametrize(
    ("lo", "hi"),
    [(1999, 1999), (1990, 1999), (1995, 2012), (1900, 2025), (None, 1850), (1980, None), (0, 9), (5, 5)],
)
def test_year_terms_cover_exactly_the_range(lo, hi):
    spans = {"zzfm": 1000, "zzfc": 100, "zzfd": 10, "zzfy": 1}
    covered = []
    for term in _year_terms(lo, hi):
        size = spans[term[:4]]
        start = int(term[4:]) * size
        covered += range(start, start + size)
    expected = range(0 if lo is None else lo, (9999 if hi is None else hi) + 1)
    assert sorted(covered) == list(expected)


def test_year_terms_give_up_on_scattered_ranges():
    assert _year_terms(1001, 1999) is None
    assert _year_terms(2000, 1999) is None


def test_migration_writes_the_tokens_the_application_writes(database_factory):
    url = database_factory()
    application = make_app(url)
    with application.app_context():
        upgrade()
        engine = create_engine(url)
        with Session(engine) as session:
            for title, year, language, cls in BOOKS.values():
                record = build_record(title, year=year, language=language, classification=cls)
                create_record(session, record, actor_id=None)
            session.commit()
        key = "rowid" if engine.dialect.name == "sqlite" else "record_id"

        def texts():
            with engine.connect() as conn:
                sql = f"SELECT {key}, folded FROM record_search ORDER BY {key}"  # noqa: S608
                return dict(conn.execute(text(sql)).all())

        written = texts()
        assert all(" zzf" in t for t in written.values())
        downgrade(revision="9f3a4c1e6d32")
        without = texts()
        assert all(" zzf" not in t for t in without.values())
        assert {k: t + " zzf" for k, t in without.items()}.keys() == written.keys()
        assert all(written[k].startswith(without[k] + " zzf") for k in written)
        upgrade()
        assert texts() == written
        engine.dispose()
        from app.extensions import db

        db.engine.dispose()


@pytest.mark.parametrize("sort_all", [True, False, None])
def test_many_matches_in_title_and_year_order(session, monkeypatch, sort_all):
    """Over COUNT_LIMIT matches, title/year order comes from the whole match set, not the newest ones.

    On PostgreSQL both ways are checked: sorting all matches and walking the sort index (None: the
    choice made from the planner's estimate).
    """
    import catalog.search as search_module

    monkeypatch.setattr(search_module, "COUNT_LIMIT", 4)
    if sort_all is not None:
        monkeypatch.setattr(search_module, "_sort_matches", lambda *a, **k: sort_all)
    books = [("Đường B", 1990), ("Đường A", 2001), ("Đường Đ", None), ("Đường D", 1975), ("Đường Ă", 2001)]
    for title, year in books:
        create_record(session, build_record(title, year=year, language="vie"), actor_id=None)
    create_record(session, build_record("Sông C", year=2020), actor_id=None)
    session.commit()
    by_title = search(session, SearchQuery(q="duong", sort="title", per_page=2))
    assert by_title.total_is_lower_bound
    assert [h.title.rstrip(".") for h in by_title.hits] == ["Đường A", "Đường Ă"]
    page2 = search(session, SearchQuery(q="duong", sort="title", per_page=2, page=2))
    assert [h.title.rstrip(".") for h in page2.hits] == ["Đường B", "Đường D"]
    by_year = search(session, SearchQuery(q="duong", sort="year", per_page=5))
    assert [h.year for h in by_year.hits] == [2001, 2001, 1990, 1975, None]
    filtered = search(session, SearchQuery(q="duong", sort="title", per_page=5, year_from=1980))
    assert [h.title.rstrip(".") for h in filtered.hits] == ["Đường A", "Đường Ă", "Đường B"]
