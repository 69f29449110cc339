"""Copies written off at a rotation return count, handed over to acquisitions for withdrawal minutes."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select

from app.auth.models import Role
from app.network.models import SiteKind
from catalog.acquisitions import handover
from catalog.acquisitions import services as acq
from catalog.acquisitions.models import Withdrawal
from catalog.models import Item
from rotation.models import Resolution, Shipment, ShipmentLine
from rotation.services import shipments as svc
from rotation.withdrawal_candidates import provider, written_off_copies
from tests.conftest import csrf_from, post_form
from tests.rotation import test_shipments as base

library, point, make_copies, make_batch = base.library, base.point, base.make_copies, base.make_batch
get_in, send = base.get_in, base.send


def _numbers(session, batch) -> list[str]:
    from rotation.models import BatchItem

    return sorted(
        session.scalars(
            select(Item.accession_number)
            .join(BatchItem, BatchItem.item_id == Item.id)
            .where(BatchItem.batch_id == batch.id)
        )
    )


def _back_at_library(session, batch, point, library) -> Shipment:
    """Send a batch to the point, receive it there, send it back and confirm its arrival."""
    get_in(session, send(session, batch, point))
    back = send(session, batch, library)
    get_in(session, back)
    return back


def _line(session, shipment, number) -> ShipmentLine:
    return session.scalar(
        select(ShipmentLine)
        .join(Item, Item.id == ShipmentLine.item_id)
        .where(ShipmentLine.shipment_id == shipment.id, Item.accession_number == number)
    )


def _settle(session, shipment, number, resolution) -> None:
    svc.resolve(session, _line(session, shipment, number), resolution, actor_id=None)
    session.commit()


# --- the provider and the registry ---------------------------------------------------------------


def test_provider_lists_exactly_the_written_off_copies_until_they_are_withdrawn(
    app, session, make_batch, point, library, make_site
):
    batch = make_batch(5)
    a, b, c, d, e = _numbers(session, batch)
    back = _back_at_library(session, batch, point, library)
    svc.scan_return(session, back, a, actor_id=None)
    svc.scan_return(session, back, b, actor_id=None, damaged=True)
    svc.scan_return(session, back, c, actor_id=None, damaged=True)
    svc.finish_count(session, back, actor_id=None)  # d and e are missing
    session.commit()
    assert written_off_copies(session) == []  # nothing settled yet
    _settle(session, back, b, Resolution.WRITTEN_OFF_DAMAGED)
    _settle(session, back, c, Resolution.CHARGED_TO_POINT)  # damaged and paid for: leaves as damaged
    _settle(session, back, d, Resolution.WRITTEN_OFF_LOST)
    _settle(session, back, e, Resolution.FOUND_LATER)

    listed = {x.accession_number: x.reason for x in handover.withdrawal_candidates(session)}
    assert listed == {b: "damaged", c: "damaged", d: "lost_in_rotation"}
    assert {x.accession_number for x in written_off_copies(session, shipment_id=back.id)} == {b, c, d}
    rows = handover.withdrawal_candidates(session, library.id)
    assert {x.source_key for x in rows} == {f"shipment:{back.id}"}
    assert all(x.source_label == f"{batch.code} · {point.name}" for x in rows)
    other = make_site(code="TVH", name="Thư viện huyện Mai Sơn", kind=SiteKind.DISTRICT_LIBRARY)
    assert handover.withdrawal_candidates(session, other.id) == []

    acq.withdraw(session, library.id, [d], "lost_in_rotation", "BB 01/2026", None)
    session.commit()
    assert {x.accession_number for x in handover.withdrawal_candidates(session)} == {b, c}
    assert {x.accession_number for x in provider(session, None)} == {b, c}


def test_a_copy_found_by_a_late_scan_is_not_handed_over(app, session, make_batch, point, library):
    batch = make_batch(2)
    a, b = _numbers(session, batch)
    back = _back_at_library(session, batch, point, library)
    svc.scan_return(session, back, a, actor_id=None)
    svc.finish_count(session, back, actor_id=None)
    session.commit()
    found = svc.scan_return(session, back, b, actor_id=None)  # turns up after the count
    session.commit()
    assert found.outcome == "found"
    assert handover.withdrawal_candidates(session) == []
    assert written_off_copies(session, shipment_id=back.id) == []


def test_registry_keeps_lost_or_damaged_copies_once_and_groups_them(app, session, make_copies, monkeypatch):
    lost, damaged, available, withdrawn = make_copies(4)
    lost.status, damaged.status, available.status, withdrawn.status = (
        "lost",
        "damaged",
        "available",
        "withdrawn",
    )
    session.commit()
    when = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)

    def cand(item, reason, key, at=when):
        return handover.WithdrawalCandidate(
            item.id, item.accession_number, "T", item.library_id, reason, key, key.upper(), at
        )

    def fake(_session, _library_id):
        return [
            cand(lost, "lost_in_rotation", "s:1"),
            cand(damaged, "damaged", "s:1"),
            cand(available, "lost_in_rotation", "s:2"),  # found again meanwhile
            cand(withdrawn, "damaged", "s:2"),  # already withdrawn
            cand(lost, "lost_in_rotation", "s:3"),  # named twice: listed once
        ]

    monkeypatch.setattr(handover, "_PROVIDERS", [])
    handover.register_candidate_provider(fake)
    handover.register_candidate_provider(fake)
    assert handover.registered_providers() == (fake,)
    rows = handover.withdrawal_candidates(session)
    assert [(r.accession_number, r.source_key) for r in sorted(rows, key=lambda r: r.accession_number)] == [
        (lost.accession_number, "s:1"),
        (damaged.accession_number, "s:1"),
    ]
    groups = handover.group_candidates(rows)
    assert sorted((g.source_key, g.reason, g.accessions) for g in groups) == [
        ("s:1", "damaged", [damaged.accession_number]),
        ("s:1", "lost_in_rotation", [lost.accession_number]),
    ]
    totals = handover.totals_by_library_and_reason(rows)
    assert [(t.reason, t.count) for t in totals] == [("damaged", 1), ("lost_in_rotation", 1)]


def test_the_factory_registers_the_rotation_provider(app):
    assert provider in handover.registered_providers()


# --- the pages -----------------------------------------------------------------------------------


def _logout(client):
    post_form(client, "/logout", {}, page="/")


def _href(html: str, element_id: str) -> str:
    match = re.search(
        rf'<a [^>]*href="([^"]+)"[^>]*id="{element_id}"|<a [^>]*id="{element_id}"[^>]*href="([^"]+)"', html
    )
    assert match, element_id
    return unescape(match.group(1) or match.group(2))


def test_journey_from_return_count_to_withdrawal_minutes(
    client, session, logged_in, make_batch, point, library
):
    batch = make_batch(3)
    a, b, c = _numbers(session, batch)
    get_in(session, send(session, batch, point))
    back = send(session, batch, library)

    # Rotation staff count the batch back: one copy is missing and written off as lost.
    logged_in(Role.ROTATION)
    client.get("/lang/en")
    url = f"/rotation/returns/{back.id}"
    post_form(client, f"{url}/arrived", {}, page=url)
    for number in (a, b):
        post_form(client, f"{url}/scan", {"code": number}, page=url)
    post_form(client, f"{url}/finish", {}, page=url)
    assert 'id="written-off"' not in client.get(url).get_data(as_text=True)
    line = _line(session, back, c)
    post_form(client, f"{url}/resolve", {"line_id": line.id, "resolution": "written_off_lost"}, page=url)
    html = client.get(url).get_data(as_text=True)
    assert 'id="written-off"' in html
    assert "1 copy written off: it now waits for withdrawal minutes in Acquisitions." in html
    assert 'id="written-off-link"' not in html  # rotation staff cannot write withdrawal minutes
    _logout(client)

    # Acquisitions staff find it on the withdrawals page and follow the prefilled link.
    logged_in(Role.ACQUISITIONS)
    client.get("/lang/en")
    page = client.get("/acquisitions/withdrawals").get_data(as_text=True)
    assert 'id="handover"' in page and batch.code in page and point.name in page
    group_id = f"handover-shipment-{back.id}-{library.id}-lost_in_rotation"
    assert f'id="{group_id}"' in page
    row = page.split(f'id="{group_id}"', 1)[1].split("</tr>", 1)[0]
    link = unescape(re.search(r'href="([^"]+)"', row).group(1))
    parts = urlsplit(link)
    assert parts.path == "/acquisitions/withdrawals/new"
    assert parse_qs(parts.query) == {
        "library_id": [str(library.id)],
        "reason": ["lost_in_rotation"],
        "accessions": [c],
    }
    form_page = client.get(link)
    assert form_page.status_code == 200
    html = form_page.get_data(as_text=True)
    assert re.search(rf'<textarea[^>]*name="accessions"[^>]*>\s*{re.escape(c)}</textarea>', html)
    selected = re.findall(r"<option[^>]*\bselected\b[^>]*>", html)
    assert any(f'value="{library.id}"' in o for o in selected), selected
    assert any('value="lost_in_rotation"' in o for o in selected), selected
    response = client.post(
        link,
        data={
            "csrf_token": csrf_from(html),
            "library_id": str(library.id),
            "withdrawal_date": "2026-11-20",
            "reason": "lost_in_rotation",
            "minutes_number": "BB 12/2026",
            "accessions": c,
            "notes": "",
        },
    )
    assert response.status_code == 302
    withdrawal = session.scalar(select(Withdrawal))
    assert withdrawal.reason == "lost_in_rotation" and [x.accession_number for x in withdrawal.lines] == [c]
    session.expire_all()
    assert session.scalar(select(Item.status).where(Item.accession_number == c)) == "withdrawn"
    assert 'id="handover"' not in client.get("/acquisitions/withdrawals").get_data(as_text=True)
    _logout(client)

    # Back on the return count, nothing waits any more.
    logged_in(Role.ROTATION)
    assert 'id="written-off"' not in client.get(url).get_data(as_text=True)


def test_admin_gets_the_link_and_the_panel_follows_the_library_filter(
    client, session, logged_in, make_batch, point, library, make_site
):
    batch = make_batch(4)
    a, b, c, d = _numbers(session, batch)
    back = _back_at_library(session, batch, point, library)
    svc.scan_return(session, back, a, actor_id=None)
    svc.scan_return(session, back, b, actor_id=None, damaged=True)
    svc.finish_count(session, back, actor_id=None)
    session.commit()
    _settle(session, back, b, Resolution.WRITTEN_OFF_DAMAGED)
    _settle(session, back, c, Resolution.WRITTEN_OFF_LOST)
    _settle(session, back, d, Resolution.CHARGED_TO_POINT)
    other = make_site(code="TVH", name="Thư viện huyện Mai Sơn", kind=SiteKind.DISTRICT_LIBRARY)

    logged_in(Role.ADMIN)
    client.get("/lang/en")
    html = client.get(f"/rotation/returns/{back.id}").get_data(as_text=True)
    assert "3 copies written off: they now wait for withdrawal minutes in Acquisitions." in html
    assert _href(html, "written-off-link") == f"/acquisitions/withdrawals?library_id={library.id}"

    page = client.get(f"/acquisitions/withdrawals?library_id={library.id}").get_data(as_text=True)
    assert 'id="handover"' in page
    all_lost = parse_qs(urlsplit(_href(page, f"handover-all-{library.id}-lost_in_rotation")).query)
    assert all_lost["reason"] == ["lost_in_rotation"] and sorted(all_lost["accessions"][0].split(",")) == [
        c,
        d,
    ]
    all_damaged = parse_qs(urlsplit(_href(page, f"handover-all-{library.id}-damaged")).query)
    assert all_damaged["accessions"] == [b]
    assert 'id="handover"' not in client.get(f"/acquisitions/withdrawals?library_id={other.id}").get_data(
        as_text=True
    )


def test_viewer_sees_no_panel_and_cannot_open_the_form(
    client, session, logged_in, make_batch, point, library
):
    batch = make_batch(1)
    (a,) = _numbers(session, batch)
    back = _back_at_library(session, batch, point, library)
    svc.finish_count(session, back, actor_id=None)
    session.commit()
    _settle(session, back, a, Resolution.WRITTEN_OFF_LOST)
    logged_in(Role.VIEWER)
    page = client.get("/acquisitions/withdrawals")
    assert page.status_code == 200 and 'id="handover"' not in page.get_data(as_text=True)
    assert (
        client.get(f"/acquisitions/withdrawals/new?accessions={a}&reason=lost_in_rotation").status_code == 403
    )
    assert client.get(f"/rotation/returns/{back.id}").status_code == 403
