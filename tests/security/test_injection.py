"""Hostile text in data and in queries: documents, exports and searches stay correct and never fail.

Names carry HTML, ReportLab paragraph markup and spreadsheet formulas; queries carry SQL and
full-text-search syntax. PDFs must still render, MARCXML must stay well-formed with the text intact,
CSV cells must not start a formula, and no search may answer with a server error.
"""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from urllib.parse import quote

import pytest
from openpyxl import load_workbook

from tests.conftest import csrf_from
from tests.security.world import build_world

HOSTILE = {
    "title": "<b>Tựa</b> <img src=x onerror=alert(1)> & </para><font size=99>",
    "author": "Tác giả <script>alert(2)</script>",
    "note": "]]> <!-- --> &amp; &#x0;",
    "point": '=HYPERLINK("http://evil.example","Điểm") <img src=x>',
    "supplier": "@SUM(1+1) <i>NCC</i>",
    "batch_note": "<para>Lô</para>",
}
QUERIES = [
    '"',
    "'",
    "NEAR(",
    "*",
    "a AND",
    "'; DROP TABLE records; --",
    "%",
    "_",
    "\\",
    "(",
    "^",
    "-",
    "OR",
    "title:x",
    "{a}",
    "a" * 3000,
    "\x00",
    "a\x00b",
]
SEARCHES = [
    "/opac/?q=",
    "/catalog/?q=",
    "/rotation/points?q=",
    "/acquisitions/suppliers?q=",
    "/rotation/shipments?batch=",
]


@pytest.fixture
def world(session):
    """The security world with hostile names (replaces the plain one, so `as_role` signs in to it)."""
    return build_world(session, HOSTILE)


@pytest.fixture
def hostile(world):
    return world


def test_documents_with_hostile_names_still_render(as_role, hostile):
    client = as_role("admin")
    for url in (
        f"/rotation/shipments/{hostile.shipment.id}/handover.pdf",
        f"/rotation/batches/{hostile.batch.code}/packing.pdf",
    ):
        response = client.get(url)
        assert response.status_code == 200 and response.data.startswith(b"%PDF"), url
    operator = as_role("point_operator")
    page = operator.get(f"/rotation/batches/{hostile.batch.code}/labels").get_data(as_text=True)
    labels = operator.post(
        f"/rotation/batches/{hostile.batch.code}/labels",
        data={"csrf_token": csrf_from(page), "action": "pdf"},
    )
    assert labels.status_code == 200 and labels.data.startswith(b"%PDF")


def test_marcxml_export_stays_well_formed_with_the_text_intact(as_role, hostile):
    response = as_role("cataloguer").get(f"/catalog/records/{hostile.record.id}/export.xml")
    assert response.status_code == 200
    root = ET.fromstring(response.data)  # noqa: S314 - our own export, parsed to check it
    texts = " ".join(t for t in root.itertext())
    assert "<b>Tựa</b>" in texts and "<script>alert(2)</script>" in texts


def test_csv_and_xlsx_exports_do_not_start_formulas(as_role, hostile):
    text = as_role("viewer").get("/network/sites/export.csv").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    cells = [cell for row in rows for cell in row]
    assert any("HYPERLINK" in cell for cell in cells)
    assert not [
        cell for cell in cells if cell[:1] in ("=", "+", "@") or cell[:1] == "-" and cell[1:2].isalpha()
    ]
    # The usage workbook: the name is a text cell, never a formula.
    book = load_workbook(io.BytesIO(as_role("rotation").get("/rotation/usage.xlsx?year=2026").data))
    values = [c for sheet in book.worksheets for row in sheet.iter_rows() for c in row if c.value is not None]
    assert any("HYPERLINK" in str(c.value) for c in values)
    assert [c.coordinate for c in values if c.data_type == "f"] == []


def test_hostile_queries_never_cause_a_server_error(as_role, hostile):
    client = as_role("admin")
    failures = []
    for base in SEARCHES:
        for query in QUERIES:
            response = client.get(base + quote(query))
            if response.status_code >= 500:
                failures.append(f"{base}{query[:20]!r} → {response.status_code}")
    assert failures == []
    # A NUL character is refused before any view (PostgreSQL cannot compare text with one).
    for url in ("/opac/?q=a%00b", "/b/LC%00", "/rotation/shipments?batch=%00", "/c/VN%00"):
        assert client.get(url).status_code == 400, url
    token = csrf_from(client.get("/").get_data(as_text=True))
    response = client.post("/network/sites/new", data={"csrf_token": token, "code": "X\x00", "name": "n"})
    assert response.status_code == 400
    # The hostile title is still found by an ordinary word of it, in both catalogues.
    assert f"/catalog/records/{hostile.record.id}" in client.get("/catalog/?q=Tựa").get_data(as_text=True)
    assert f"/opac/records/{hostile.record.id}" in client.get("/opac/?q=Tựa").get_data(as_text=True)
