"""`flask catalog import`: the report, --json, --dry-run and the exit statuses."""

from __future__ import annotations

import gzip
import io
import json
import shutil
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.network.models import SiteKind
from catalog import services
from catalog.models import Item, Record

DATA = Path(__file__).resolve().parents[1] / "data" / "marc"
INT_KEYS = (
    "read",
    "created",
    "updated",
    "duplicates",
    "rejected",
    "skipped",
    "not_bibliographic",
    "items_created",
)


def run(runner, *args: str):
    return runner.invoke(args=["catalog", "import", *args])


def records(session) -> int:
    session.rollback()
    return session.scalar(select(func.count()).select_from(Record))


def test_json_has_the_promised_keys_and_types(runner, session) -> None:
    result = run(runner, "--json", str(DATA / "pymarc/bad_records.mrc"))
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)  # stdout holds the JSON object and nothing else
    for key in INT_KEYS:
        assert type(data[key]) is int, key
    assert (data["read"], data["created"], data["duplicates"], data["rejected"]) == (9, 1, 1, 7)
    assert data["dry_run"] is False
    assert [(r["record"], r["offset"]) for r in data["rejections"]][:2] == [(2, 127), (3, 254)]
    assert all(isinstance(r["reason"], str) and r["reason"] for r in data["rejections"])
    assert data["files"][0]["file"].endswith("bad_records.mrc")
    assert records(session) == 1


def test_human_report_lists_rejections_duplicates_and_the_result(runner) -> None:
    result = run(runner, str(DATA / "pymarc/bad_records.mrc"), str(DATA / "marc4j/sample1a.xml"))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "record 3 (byte 254): the base address of data (0) points inside the leader" in out
    assert "record 8 (byte 790)" in out and "is identical to record #" in out
    assert "record 2: holdings record" in out
    assert "records: 4 created" in out


def test_dry_run_saves_nothing(runner, session) -> None:
    result = run(runner, "--dry-run", "--json", str(DATA / "pymarc/test.dat"))
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["dry_run"], data["read"], data["created"]) == (True, 10, 10)
    assert records(session) == 0


def test_importing_twice_skips_the_duplicates(runner, session) -> None:
    assert run(runner, str(DATA / "pymarc/test.dat")).exit_code == 0
    data = json.loads(run(runner, "--json", str(DATA / "pymarc/test.dat")).stdout)
    assert (data["created"], data["duplicates"], data["skipped"]) == (0, 10, 10)
    replaced = json.loads(
        run(runner, "--json", "--on-duplicate", "replace", str(DATA / "pymarc/test.dat")).stdout
    )
    assert (replaced["created"], replaced["updated"] + replaced["files"][0]["unchanged"]) == (0, 10)
    assert records(session) == 10


def test_a_wrong_extension_still_imports_by_content(runner, tmp_path) -> None:
    renamed = tmp_path / "records.xml"
    shutil.copy(DATA / "pymarc/test.dat", renamed)
    result = run(runner, "--json", str(renamed))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["created"] == 10


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("test.dat", (DATA / "pymarc/test.dat").read_bytes())
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (bytes(range(256)) * 8, "binary data"),
        (gzip.compress((DATA / "pymarc/test.dat").read_bytes()), "gzip"),
        (_zip(), "ZIP archive"),
        (b"<collection><record><leader>00000nam a2200000 a 4500</leader>", "the XML is malformed"),
        (b'{"leader": "00000nam a2200000 a 4500", "fields": [', "the JSON is malformed"),
    ],
)
def test_an_unreadable_file_exits_1_with_one_line(runner, session, tmp_path, content, message) -> None:
    path = tmp_path / "bad.mrc"
    path.write_bytes(content)
    result = run(runner, str(path))
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and lines[0].startswith("Error: ")
    assert "Traceback" not in result.output
    assert records(session) == 0


def test_a_missing_file_exits_1(runner, tmp_path) -> None:
    result = run(runner, "--json", str(tmp_path / "nowhere.mrc"))
    assert result.exit_code == 1
    assert "cannot be opened" in result.stderr and "Traceback" not in result.output
    assert json.loads(result.stdout)["files"][0]["error"]


def test_the_good_files_are_imported_when_another_cannot_be_read(runner, session, tmp_path) -> None:
    empty = tmp_path / "empty.mrc"
    empty.write_bytes(b"")
    result = run(runner, "--json", str(DATA / "pymarc/test.dat"), str(empty))
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["created"] == 10 and "error" in data["files"][1]
    assert records(session) == 10


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--format", "pdf", "x.mrc"],
        ["--encoding", "latin-1", "x.mrc"],
        ["--on-duplicate", "overwrite", "x.mrc"],
        ["--library", "NOPE", "x.mrc"],
        ["--sequence", "NOPE", "x.mrc"],
    ],
)
def test_usage_errors_exit_2(runner, args) -> None:
    result = run(runner, *args)
    assert result.exit_code == 2, result.output


def test_copies_get_numbers_from_the_chosen_series(runner, session, make_site, tmp_path) -> None:
    from pymarc import Field, Indicators, Subfield

    from catalog import marc

    library = make_site(code="SLA", name="Thư viện tỉnh", kind=SiteKind.PROVINCIAL_LIBRARY)
    services.create_sequence(session, library_id=library.id, prefix="TN", width=4, actor_id=None)
    session.commit()
    rec = marc.build_record("Dế mèn phiêu lưu ký", authors=["Tô, Hoài"], year=1941)
    rec.add_ordered_field(Field("952", Indicators(" ", " "), [Subfield("p", "B-1")]))
    path = tmp_path / "kids.mrc"
    with open(path, "wb") as out:
        marc.write_iso2709([rec], out)
    result = run(runner, "--json", "--library", "sla", "--sequence", "tn", str(path))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["items_created"] == 1
    session.rollback()
    item = session.scalars(select(Item)).one()
    assert (item.accession_number, item.barcode, item.library_id) == ("TN.0001", "B-1", library.id)
