"""Two staff add the same copy to two batches at the same moment: one wins, the other is told why.

Two real connections (a Session each, in two threads) lined up with a barrier. On PostgreSQL the
copy's row lock makes the second wait and then see the first's batch; on SQLite the busy timeout
serialises them. Either way the database ends with one open batch membership for the copy.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.models import Item
from rotation.errors import CopyRefused
from rotation.models import Batch, BatchItem
from rotation.services import batches as svc
from tests.rotation.test_batches import library, make_copies, new_batch  # noqa: F401


@pytest.mark.parametrize("with_lock", [True, False], ids=["row-lock", "index-only"])
def test_same_copy_into_two_batches_at_the_same_moment(engine, session, library, monkeypatch, with_lock):  # noqa: F811
    """With the row lock the loser sees the winner's batch; without it, both pass the checks and the
    partial unique index decides, and the loser gets the same clear message."""
    if not with_lock:
        monkeypatch.setattr(svc, "_lock_item", lambda *_args: None)
        both_checked = threading.Barrier(2)
        real = svc.open_membership
        seen = threading.local()

        def check_then_wait(s, item_id):
            found = real(s, item_id)
            if not getattr(seen, "done", False):
                seen.done = True
                both_checked.wait(timeout=30)  # both have seen the copy free before either writes
            return found

        monkeypatch.setattr(svc, "open_membership", check_then_wait)
    item = make_copies(session, library, 1)[0]
    number, item_id = item.accession_number, item.id
    codes = [new_batch(session, library).code, new_batch(session, library).code]
    barrier = threading.Barrier(2)
    outcomes: list[tuple[str, str]] = []
    errors: list[BaseException] = []

    def scan(batch_code: str) -> None:
        try:
            with Session(engine) as own:
                batch = own.scalar(select(Batch).where(Batch.code == batch_code))
                barrier.wait()
                try:
                    svc.add_copy(own, batch, number, None)
                    own.commit()
                    outcomes.append(("added", batch_code))
                except CopyRefused as err:
                    own.rollback()
                    outcomes.append(("refused", str(err)))
        except BaseException as exc:  # reported below; a thread's exception is lost otherwise
            errors.append(exc)

    threads = [threading.Thread(target=scan, args=(code,)) for code in codes]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert sorted(kind for kind, _ in outcomes) == ["added", "refused"]
    winner = next(code for kind, code in outcomes if kind == "added")
    message = next(text for kind, text in outcomes if kind == "refused")
    assert message == f"Copy {number} is already in batch {winner}."
    session.expire_all()
    rows = session.scalars(select(BatchItem).where(BatchItem.item_id == item_id, BatchItem.is_open)).all()
    assert [r.batch.code for r in rows] == [winner]
    assert session.get(Item, item_id).status == "in_rotation"


def test_two_batches_created_at_the_same_moment_get_different_codes(engine, session, library):  # noqa: F811
    library_id = library.id
    barrier = threading.Barrier(2)
    made: list[str] = []
    errors: list[BaseException] = []

    def create() -> None:
        try:
            with Session(engine) as own:
                barrier.wait()
                made.append(svc.create_batch(own, home_library_id=library_id, actor_id=None).code)
                own.commit()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=create) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert len(set(made)) == 2 and {c[-4:] for c in made} == {"0001", "0002"}
