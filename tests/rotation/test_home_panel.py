"""The home page shows a point operator the books on their way, and staff the batches to chase."""

from datetime import timedelta

from app.db import utcnow
from tests.rotation.test_shipments import library, make_batch, make_copies, point, send  # noqa: F401


def test_point_operator_sees_the_shipment_to_confirm(client, session, make_user, login, make_batch, point):  # noqa: F811
    shipment = send(session, make_batch(2), point)
    operator = make_user(role="point_operator", sites=[point])
    login(operator)
    html = client.get("/").get_data(as_text=True)
    assert 'id="home-arrivals"' in html
    assert f"/rotation/receive/{shipment.id}" in html and shipment.batch.code in html


def test_staff_sees_an_unconfirmed_shipment_as_late(client, session, logged_in, make_batch, point):  # noqa: F811
    shipment = send(session, make_batch(2), point)
    shipment.dispatched_at = utcnow() - timedelta(days=10)
    session.commit()
    logged_in("rotation")
    html = client.get("/").get_data(as_text=True)
    assert 'id="home-overdue"' in html and shipment.batch.code in html


def test_nothing_late_says_so(client, logged_in):
    logged_in("viewer")
    html = client.get("/").get_data(as_text=True)
    assert 'id="home-overdue"' in html and "LC-" not in html
