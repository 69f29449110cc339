"""Pure helpers of the record pages: the ISBD-like description, author marks, form <-> MARC mapping."""

from __future__ import annotations

import datetime as dt

import pytest
from pymarc import Field, Indicators, Leader, Record, Subfield

from catalog import marc
from catalog.forms import (
    EditorState,
    SimpleValues,
    apply_action,
    apply_simple,
    check_state,
    editor_state,
    parse_editor,
    simple_values,
)
from catalog.isbd import describe, join_areas
from catalog.queries import author_mark, changed_lines

NOW = dt.datetime(2026, 11, 27, 8, 30, tzinfo=dt.UTC)


def loc_record() -> Record:
    """The first record of the LoC Vietnamese file: AACR2 punctuation inside the subfields."""
    parsed = next(marc.read_records("tests/data/marc/loc/loc_vietnamese_part1.mrc"))
    return parsed.record


def test_isbd_of_an_aacr2_record_keeps_its_punctuation() -> None:
    view = describe(loc_record())
    assert view.description == (
        "Ngôi chùa, một vùng tâm thức, một vùng thi ca = Thiền lâm chư gia đề vịnh thi / "
        "Nguyên Hiệp-Nguyễn Khắc Mai biên soạn. — [Hà Nội] : Nhà xuất bản Tôn giáo, 2001. — "
        "504 p., [8] leaves of plates ; 21 cm."
    )
    assert view.notes == ["Poems in Vietnamese and Chinese."]
    assert view.subjects == ["Buddhist poetry, Vietnamese", "Buddhist temples -- Vietnam -- Poetry"]
    assert view.added_entries == ["Nguyễn, Khắc Mai"]
    assert view.classifications == [("LCC", "PL4378.6 .N426 2001")]


def test_isbd_adds_punctuation_missing_from_the_record() -> None:
    record = Record()
    record.leader = Leader("     nam a22     7i 4500")
    record.fields = [
        Field("100", Indicators("0", " "), [Subfield("a", "Tô Hoài")]),
        Field(
            "245",
            Indicators("1", "0"),
            [Subfield("a", "Dế Mèn phiêu lưu ký"), Subfield("b", "truyện"), Subfield("c", "Tô Hoài")],
        ),
        Field("250", Indicators(" ", " "), [Subfield("a", "In lần thứ 10")]),
        Field(
            "260",
            Indicators(" ", " "),
            [Subfield("a", "Hà Nội"), Subfield("b", "Kim Đồng"), Subfield("c", "2019")],
        ),
        Field(
            "300",
            Indicators(" ", " "),
            [Subfield("a", "143 tr."), Subfield("b", "tranh vẽ"), Subfield("c", "21 cm")],
        ),
        Field("490", Indicators("0", " "), [Subfield("a", "Tác phẩm chọn lọc"), Subfield("v", "3")]),
        Field("020", Indicators(" ", " "), [Subfield("a", "9786042000000"), Subfield("q", "bìa mềm")]),
        Field("084", Indicators(" ", " "), [Subfield("a", "V23"), Subfield("2", "bbk")]),
        Field(
            "600",
            Indicators("0", "4"),
            [Subfield("a", "Tô Hoài,"), Subfield("d", "1920-2014"), Subfield("x", "Tác phẩm.")],
        ),
        Field("880", Indicators("1", "0"), [Subfield("6", "245-01"), Subfield("a", "蟋蟀历险记")]),
    ]
    view = describe(record)
    assert view.heading == "Tô Hoài"
    assert view.description == (
        "Dế Mèn phiêu lưu ký : truyện / Tô Hoài. — In lần thứ 10. — Hà Nội : Kim Đồng, 2019. — "
        "143 tr. : tranh vẽ ; 21 cm. — (Tác phẩm chọn lọc ; 3)"
    )
    assert view.isbns == ["9786042000000 (bìa mềm)"]
    assert view.classifications == [("BBK", "V23")]
    assert view.subjects == ["Tô Hoài, 1920-2014 -- Tác phẩm"]
    assert view.alternate_script == [("245", "蟋蟀历险记")]


def test_areas_ending_with_an_abbreviation_keep_one_full_stop() -> None:
    assert join_areas(["Title / by Smith", "2nd ed.", "London : Dent, 1990"]) == (
        "Title / by Smith. — 2nd ed. — London : Dent, 1990."
    )


@pytest.mark.parametrize(
    ("author", "title", "mark"),
    [
        ("Nguyễn Du", "Truyện Kiều", "DU"),
        ("Tô Hoài", "Dế Mèn phiêu lưu ký", "HOA"),
        ("Đặng Thùy Trâm", "Nhật ký", "TRA"),
        ("Tolstoy, Leo", "War and peace", "TOL"),
        ("Đoàn, Giỏi", "Đất rừng phương Nam", "DOA"),
        ("", "Đường về quê mẹ", "DUO"),
        ("", "The lord of the rings", "LOR"),
        (None, None, ""),
    ],
)
def test_author_mark(author, title, mark) -> None:
    assert author_mark(author, title) == mark


def test_changed_lines() -> None:
    assert changed_lines("=245  00$aA\n=260  \\\\$aB", "=245  00$aA\n=260  \\\\$aC") == [
        ("-", "=260  \\\\$aB"),
        ("+", "=260  \\\\$aC"),
    ]


# --- the simple form and MARC ------------------------------------------------------------------


def rich_record() -> Record:
    record = marc.build_record(
        "Nhật ký Đặng Thùy Trâm",
        authors=["Đặng Thùy Trâm"],
        isbn=["978-604-1-00000-1", "978-604-1-00000-2"],
        year=2005,
        publisher="Hội Nhà văn",
        place="Hà Nội",
        subjects=["Chiến tranh Việt Nam -- Hồi ký"],
        notes=["Bản in lần thứ nhất", "Có ảnh"],
        today=dt.date(2020, 1, 2),
    )
    # A 100 with dates and a relator, a 600 personal subject, a 020 with a qualifier.
    record.remove_fields("100")
    record.add_ordered_field(
        Field(
            "100",
            Indicators("0", " "),
            [Subfield("a", "Đặng Thùy Trâm,"), Subfield("d", "1942-1970,"), Subfield("e", "tác giả.")],
        )
    )
    record.add_ordered_field(
        Field("600", Indicators("0", "4"), [Subfield("a", "Đặng Thùy Trâm,"), Subfield("d", "1942-1970")])
    )
    record.get_fields("020")[0].add_subfield("q", "bìa cứng")
    return record


def test_simple_values_read_from_a_record() -> None:
    values = simple_values(rich_record())
    assert values.title == "Nhật ký Đặng Thùy Trâm"
    assert values.authors == ["Đặng Thùy Trâm, 1942-1970"]
    assert values.isbns == ["978-604-1-00000-1", "978-604-1-00000-2"]
    assert values.subjects == ["Đặng Thùy Trâm, 1942-1970", "Chiến tranh Việt Nam -- Hồi ký"]
    assert values.notes == ["Bản in lần thứ nhất", "Có ảnh"]
    assert (values.place, values.publisher, values.year, values.language) == (
        "Hà Nội",
        "Hội Nhà văn",
        "2005",
        "vie",
    )


def test_unchanged_lines_keep_their_fields_when_a_group_changes() -> None:
    record = rich_record()
    old = simple_values(record)
    f100, f600, isbn_q = record["100"], record["600"], record.get_fields("020")[0]
    new = _copy(old)
    new.authors = [*old.authors, "Nguyễn Văn A"]
    new.subjects = [old.subjects[0], "Nhật ký"]  # one kept, one replaced
    new.isbns = [old.isbns[0]]  # one removed
    new.notes = ["Có ảnh"]
    assert set(apply_simple(record, old, new, now=NOW)) == {"authors", "subjects", "isbns", "notes"}
    assert record["100"] is f100  # unchanged line: the very same field, $d and $e included
    assert [f["a"] for f in record.get_fields("700")] == ["Nguyễn Văn A"]
    assert record["600"] is f600
    assert [f["a"] for f in record.get_fields("650")] == ["Nhật ký"]
    assert record.get_fields("020") == [isbn_q] and isbn_q["q"] == "bìa cứng"
    assert [f["a"] for f in record.get_fields("500")] == ["Có ảnh."]
    assert simple_values(record) == new
    assert [p for p in marc.validate(record) if p.severity == "error"] == []


def _copy(values: SimpleValues) -> SimpleValues:
    return SimpleValues.from_mapping(values.as_form_data())


def test_language_and_year_go_to_008_and_the_rest_of_008_stays() -> None:
    record = rich_record()
    before = record["008"].data
    old = simple_values(record)
    new = _copy(old)
    new.language, new.year = "hmn", "2006"
    apply_simple(record, old, new, now=NOW)
    after = record["008"].data
    assert after[35:38] == "hmn" and after[7:11] == "2006"
    assert after[:6] == before[:6] == "200102"  # date entered is not touched
    assert after[15:35] == before[15:35] and after[38:] == before[38:]


def test_nothing_changed_means_nothing_rewritten() -> None:
    record = rich_record()
    before = marc.record_to_dict(record)
    assert apply_simple(record, simple_values(record), simple_values(record), now=NOW) == []
    assert marc.record_to_dict(record) == before


def test_clearing_a_group_removes_its_field() -> None:
    record = rich_record()
    old = simple_values(record)
    new = _copy(old)
    new.place = new.publisher = new.year = ""
    new.classification = ""
    apply_simple(record, old, new, now=NOW)
    assert record.get_fields("260") == []
    assert record["008"].data[6:15] == "nuuuuuuuu"


# --- the MARC editor rows ---------------------------------------------------------------------------


def test_editor_rows_round_trip_through_form_data() -> None:
    record = rich_record()
    state = editor_state(record)
    data = {"leader": state.leader}
    for i, f in enumerate(state.fields):
        data[f"f{i}_tag"] = f.tag
        if f.is_control:
            data[f"f{i}_data"] = f.data
        else:
            data[f"f{i}_ind1"] = f.ind1.strip() or "#"
            data[f"f{i}_ind2"] = f.ind2.strip()
            for j, s in enumerate(f.subfields):
                data[f"f{i}_s{j}_code"] = s.code
                data[f"f{i}_s{j}_value"] = s.value
    parsed = parse_editor(data)
    result = check_state(parsed)
    assert result is not None
    assert marc.record_to_dict(result) == marc.record_to_dict(record)


def test_editor_actions_move_add_and_remove() -> None:
    state = EditorState(leader="     nam a22     7i 4500")
    state.fields = editor_state(rich_record()).fields
    tags = [f.tag for f in state.fields]
    apply_action(state, "field_down:0")
    assert [f.tag for f in state.fields][:2] == [tags[1], tags[0]]
    apply_action(state, "add_field", "005")
    assert state.fields[0].tag == "005" and state.fields[0].is_control
    apply_action(state, "remove_field:0")
    apply_action(state, "field_up:0")  # nothing above the first row: no change
    assert [f.tag for f in state.fields] == [tags[1], tags[0], *tags[2:]]
    apply_action(state, "remove_field:99")  # out of range: ignored
    apply_action(state, "bogus:1")
    assert len(state.fields) == len(tags)
