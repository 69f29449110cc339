"""Catalogue search: diacritics, exact-first ranking, codes, filters, Vietnamese order, paging, syntax."""

from __future__ import annotations

import json

import pytest

from catalog.marc import build_record, read_records
from catalog.models import ItemStatus
from catalog.search import SearchQuery, search
from catalog.services import add_items, create_record, create_sequence

LOC_VIETNAMESE = "tests/data/marc/loc/loc_vietnamese_part1.mrc"


@pytest.fixture
def catalogue(session, make_site):
    """A small Vietnamese catalogue with copies in two libraries; returns helpers and the records."""
    province = make_site(kind="provincial_library", name="Thư viện tỉnh Sơn La")
    district = make_site(kind="district_library", name="Thư viện Mộc Châu")
    seq = create_sequence(session, library_id=province.id, prefix="VV", width=5, actor_id=None)
    session.commit()
    made = {}

    def record(key, title, *, copies=1, library=province, status=None, call=None, barcode=None, **kw):
        kw.setdefault("language", "vie")
        row = create_record(session, build_record(title, **kw), actor_id=None)
        if copies:
            values = {"library_id": library.id, "call_number": call or ""}
            if barcode:
                values["barcode"] = barcode
            if status:
                values["status"] = status
            add_items(session, row, count=copies, sequence_id=seq.id, values=values, actor_id=None)
        session.commit()
        made[key] = row
        return row

    record("duong", "Đường lên Tây Bắc", authors=["Nguyễn Văn An"], year=2015, classification="895.922")
    record(
        "duong2", "Dương Văn Minh và thời cuộc", authors=["Trần Hữu Phúc"], year=2001, classification="959.7"
    )
    record("ma", "Ma rừng núi", year=1998, classification="398.2")
    record("ma_sac", "Má tôi", year=2010, classification="895.9221")
    record("ma_huyen", "Mà thôi", year=2012, classification="895.9223", language="eng")
    record(
        "isbn13",
        "Lịch sử Sơn La",
        isbn="9780306406157",
        year=2005,
        call="959.718 L302S",
        library=district,
        status=ItemStatus.AVAILABLE.value,
        barcode="TS0000042",
    )
    record("isbn10", "Tục ngữ ca dao dân tộc Thái", isbn="0-19-852663-6", year=1995, copies=2)
    return {"records": made, "province": province, "district": district, "session": session}


def run(session, q="", **kw):
    return search(session, SearchQuery(q=q, **kw))


def ids(result):
    return [h.id for h in result.hits]


def test_unaccented_query_finds_accented_title(catalogue, session):
    recs = catalogue["records"]
    result = run(session, "duong")
    assert recs["duong"].id in ids(result)
    assert recs["duong2"].id in ids(result)  # "Dương" folds to "duong" as well


def test_accented_query_ranks_exact_match_first(catalogue, session):
    recs = catalogue["records"]
    result = run(session, "đường")
    assert ids(result)[0] == recs["duong"].id
    assert recs["duong2"].id in ids(result)  # still found, after the exact match
    result = run(session, "dương")
    assert ids(result)[0] == recs["duong2"].id


@pytest.mark.parametrize("query, first", [("má", "ma_sac"), ("mà", "ma_huyen"), ("ma", None)])
def test_tone_marks_rank_exact_first_and_unaccented_finds_all(catalogue, session, query, first):
    recs = catalogue["records"]
    found = ids(run(session, query))
    assert {recs["ma"].id, recs["ma_sac"].id, recs["ma_huyen"].id} <= set(found)
    if first:
        assert found[0] == recs[first].id


def test_exact_tier_holds_for_several_words(catalogue, session):
    recs = catalogue["records"]
    extra = create_record(session, build_record("Thơ má núi rừng", year=2020), actor_id=None)
    session.commit()
    found = ids(run(session, "má núi"))
    # Both words exactly as typed ("má", "núi") only in the new record; "Ma rừng núi" follows.
    assert found[0] == extra.id
    assert recs["ma"].id in found


@pytest.mark.parametrize(
    "query, key",
    [
        ("0-306-40615-2", "isbn13"),  # ISBN-10 typed, record stored with ISBN-13
        ("978-0-19-852663-6", "isbn10"),  # ISBN-13 typed, record stored with ISBN-10
        ("9780306406157", "isbn13"),
    ],
)
def test_isbn_10_and_13_find_each_other(catalogue, session, query, key):
    result = run(session, query)
    assert ids(result)[0] == catalogue["records"][key].id
    assert result.hits[0].matched == "isbn"


def test_accession_number_barcode_and_call_number_find_the_record(catalogue, session):
    recs = catalogue["records"]
    item = recs["isbn10"].items[1]
    result = run(session, item.accession_number)
    assert ids(result)[0] == recs["isbn10"].id
    assert result.hits[0].matched == "accession_number"
    assert run(session, item.accession_number.lower()).hits[0].id == recs["isbn10"].id
    result = run(session, "TS0000042")
    assert ids(result)[0] == recs["isbn13"].id
    assert result.hits[0].matched == "barcode"
    result = run(session, "959.718 L302S")
    assert ids(result) == [recs["isbn13"].id]


def test_hits_carry_display_fields_and_copy_counts(catalogue, session):
    hit = run(session, "lịch sử sơn la").hits[0]
    assert hit.title == "Lịch sử Sơn La"
    assert hit.year == 2005
    assert hit.call_numbers == ["959.718 L302S"]
    assert (hit.copies, hit.available) == (1, 1)
    tuc_ngu = run(session, "tuc ngu").hits[0]
    assert (tuc_ngu.copies, tuc_ngu.available) == (2, 0)  # new copies are "in processing"


def test_filters(catalogue, session):
    recs = catalogue["records"]
    years = run(session, "", year_from=2005, year_to=2012)
    assert set(ids(years)) == {recs[k].id for k in ("ma_sac", "ma_huyen", "isbn13")}
    assert ids(run(session, "ma", language="eng")) == [recs["ma_huyen"].id]
    cls = run(session, "", classification="895")
    assert set(ids(cls)) == {recs[k].id for k in ("duong", "ma_sac", "ma_huyen")}
    assert ids(run(session, "", library_id=catalogue["district"].id)) == [recs["isbn13"].id]
    assert ids(run(session, "", status="available")) == [recs["isbn13"].id]
    assert ids(run(session, "lich su", library_id=catalogue["province"].id)) == []
    assert ids(run(session, "lich su", year_from=2006)) == []
    assert ids(run(session, "duong", year_to=2010)) == [recs["duong2"].id]


def test_classification_prefix_is_a_prefix_of_the_number(catalogue, session):
    recs = catalogue["records"]
    assert set(ids(run(session, "", classification="895.922"))) == {
        recs[k].id for k in ("duong", "ma_sac", "ma_huyen")
    }
    assert ids(run(session, "", classification="959")) == [recs["duong2"].id]


def test_sort_by_title_follows_vietnamese_order(session, make_site):
    titles = ["Đá núi", "Dê con", "Bé học", "Âm nhạc", "Ăn uống", "Anh hùng"]
    for t in titles:
        create_record(session, build_record(t), actor_id=None)
    session.commit()
    result = run(session, "", sort="title")
    assert [h.title for h in result.hits] == ["Anh hùng", "Ăn uống", "Âm nhạc", "Bé học", "Dê con", "Đá núi"]
    result = run(session, "n", sort="title")  # no word "n": nothing; the sort must not break
    assert result.total == 0


def test_sort_by_year_newest_first_without_year_last(session):
    for title, year in [("Một", 1999), ("Hai", None), ("Ba", 2020), ("Bốn", 2005)]:
        create_record(session, build_record(f"Sách {title}", year=year), actor_id=None)
    session.commit()
    result = run(session, "sách", sort="year")
    assert [h.year for h in result.hits] == [2020, 2005, 1999, None]


def test_pagination_covers_every_match_once(session):
    for n in range(7):
        create_record(session, build_record(f"Truyện cổ tích tập {n + 1}", year=2000 + n), actor_id=None)
    session.commit()
    seen = []
    for page in (1, 2, 3, 4):
        result = run(session, "truyen co tich", page=page, per_page=2)
        assert result.total == 7
        seen += ids(result)
    assert len(seen) == 7 and len(set(seen)) == 7
    assert run(session, "truyen co tich", page=1, per_page=2).pages == 4


@pytest.mark.parametrize(
    "query",
    [
        'AND OR NOT ( ) * "',
        '"',
        "NEAR(ma rừng)",
        "exact: ma",
        "folded:duong*",
        "^ma",
        "- ma",
        "ma OR",
        "'; DROP TABLE records; --",
        "\\",
        "ma & | ! <-> :*",
        "a" * 400,
        "ma\x00rừng",
    ],
)
def test_search_syntax_characters_are_plain_text(catalogue, session, query):
    result = run(session, query)
    assert result.total >= 0
    for hit in result.hits:
        assert hit.id in {r.id for r in catalogue["records"].values()}


def test_operator_words_do_not_change_meaning(catalogue, session):
    recs = catalogue["records"]
    # "NOT" is a word to look for, not an operator excluding "rừng".
    assert ids(run(session, "ma NOT rừng")) == []
    assert ids(run(session, "ma rừng")) == [recs["ma"].id]
    assert ids(run(session, "(ma rừng)")) == [recs["ma"].id]


def test_empty_query_without_filters_lists_everything_by_title(catalogue, session):
    result = run(session, "", sort="title", per_page=100)
    assert result.total == len(catalogue["records"])


def test_loc_vietnamese_records_found_with_and_without_diacritics(session):
    for parsed in read_records(LOC_VIETNAMESE):
        if parsed.record is not None:
            create_record(session, parsed.record, actor_id=None, source="loc")
    session.commit()
    for accented, plain, words in [
        ("ngoại hối", "ngoai hoi", "ngoại hối"),
        ("Thăng Long ký", "thang long ky", "Thăng Long ký"),
        ("vượt lên số phận", "vuot len so phan", "Vượt lên số phận"),
    ]:
        first = run(session, accented).hits
        assert first and words.casefold() in first[0].title.casefold()
        assert first[0].id in ids(run(session, plain))
    # Authors are searched too (stored decomposed, indexed in NFC).
    assert run(session, "Nguyễn Khắc Phục").hits[0].title.startswith("Thăng Long ký")


def test_cli_search_json(catalogue, runner):
    result = runner.invoke(args=["catalog", "search", "duong", "--json", "--limit", "5"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert isinstance(rows, list) and len(rows) == 2
    for row in rows:
        assert {"id", "title", "author", "year"} <= set(row)
        assert isinstance(row["id"], int)
    titles = {r["title"] for r in rows}
    assert "Đường lên Tây Bắc" in titles
    first = next(r for r in rows if r["title"] == "Đường lên Tây Bắc")
    assert first["author"] == "Nguyễn Văn An" and first["year"] == 2015


def test_cli_search_table_and_limit(catalogue, runner):
    result = runner.invoke(args=["catalog", "search", "ma", "--limit", "2"])
    assert result.exit_code == 0, result.output
    assert "3 record(s); showing 2" in result.output
    nothing = runner.invoke(args=["catalog", "search", "xyzxyz"])
    assert nothing.exit_code == 0 and "No record matches." in nothing.output
    usage = runner.invoke(args=["catalog", "search"])
    assert usage.exit_code == 2
