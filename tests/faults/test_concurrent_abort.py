"""A transaction PostgreSQL stops because of a concurrent one (deadlock, serialisation) gets a clear page.

The search index triggers (migration f5a9c0d7e8b3) make two transactions that change copies of the
same titles wait for each other; in the rare opposite-order case PostgreSQL aborts one with
deadlock_detected. The user must learn that nothing was saved and to try again, not read "the
database is not available". The first test makes a real deadlock on PostgreSQL; the second checks
the page for both SQLSTATEs on either engine.
"""

from __future__ import annotations

import threading
import time

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from app.security import public

STOPPED = "Changed by someone else at the same moment"


def test_opposite_order_changes_to_copies_of_two_titles(app, db_engine_name, session, make_site):
    """The case the page is for, for real: different copies, the same two titles, opposite orders.

    No copy is touched by both transactions; on PostgreSQL they meet on the titles' search index
    rows, which the copy triggers update, and one is stopped. SQLite has one writer at a time: the
    second waits for the first, and both are saved.
    """
    from catalog.marc import build_record
    from catalog.services import add_items, create_record

    library = make_site(kind="provincial_library")
    copies = {}
    for key, title in (("A", "Đường về bản"), ("B", "Sông Đà")):
        record = create_record(session, build_record(title), actor_id=None)
        made = add_items(
            session,
            record,
            accession_numbers=[f"{key}.1", f"{key}.2"],
            values={"library_id": library.id, "status": "available"},
            actor_id=None,
        )
        copies[key] = [item.id for item in made]
    session.commit()
    postgresql = db_engine_name == "postgresql"
    engine = create_engine(
        app.config["SQLALCHEMY_DATABASE_URI"], connect_args={} if postgresql else {"timeout": 10}
    )
    barrier = threading.Barrier(2, timeout=10)
    first_holds = threading.Event()
    errors: list[BaseException] = []

    def worker(order, first):
        try:
            if not postgresql and not first:
                first_holds.wait(10)  # SQLite: start once the other one holds the write lock
            with engine.begin() as conn:
                if postgresql:
                    conn.execute(text("SET LOCAL deadlock_timeout = '100ms'"))
                for n, item_id in enumerate(order):
                    conn.execute(text("UPDATE items SET status = 'damaged' WHERE id = :id"), {"id": item_id})
                    if n == 0 and postgresql:
                        barrier.wait()
                    elif n == 0:
                        first_holds.set()
                        time.sleep(0.3)  # the other one is now waiting for the lock
        except OperationalError as exc:
            errors.append(exc)

    orders = ([copies["A"][0], copies["B"][0]], [copies["B"][1], copies["A"][1]])
    threads = [threading.Thread(target=worker, args=(o, n == 0)) for n, o in enumerate(orders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    engine.dispose()
    if postgresql:
        assert len(errors) == 1, errors
        assert errors[0].orig.sqlstate == "40P01"
    else:
        # One writer at a time: the second waits for the first to commit, then both are saved.
        assert errors == []
        with app.app_context():
            statuses = session.execute(text("SELECT status FROM items")).scalars().all()
        assert statuses == ["damaged"] * 4


@pytest.mark.parametrize("error", [psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure])
def test_a_transaction_stopped_by_a_concurrent_one_gets_a_409_page(other_app, error):
    application = other_app()

    @application.route("/_test/stopped")
    @public
    def stopped():
        raise OperationalError("UPDATE items …", {}, error("stopped"))

    client = application.test_client()
    client.get("/lang/en")
    response = client.get("/_test/stopped")
    body = response.get_data(as_text=True)
    assert response.status_code == 409, body[:300]
    assert STOPPED in body and "nothing of yours was saved" in body
    assert "The database is not available" not in body
