"""Two fills grab overlapping copies at the same moment: each copy lands in one batch, none fails."""

from __future__ import annotations

import threading

from sqlalchemy import select
from sqlalchemy.orm import Session

from rotation.models import Batch, BatchItem
from rotation.services import batches as svc
from tests.rotation.test_filling_service import library, new_batch, title  # noqa: F401


def test_two_fills_with_overlapping_copies_at_once(engine, session, library):  # noqa: F811
    copies = [title(session, library)[0] for _ in range(6)]
    ids = [c.id for c in copies]
    codes = [new_batch(session, library).code, new_batch(session, library).code]
    # Both want copies 1–4 and one of their own; given in opposite orders (a deadlock risk).
    wanted = {codes[0]: ids[:4] + [ids[4]], codes[1]: list(reversed(ids[:4])) + [ids[5]]}
    barrier = threading.Barrier(2)
    added: dict[str, set[int]] = {}
    refused: dict[str, int] = {}
    errors: list[BaseException] = []

    def fill(code: str) -> None:
        try:
            with Session(engine) as own:
                batch = own.scalar(select(Batch).where(Batch.code == code))
                barrier.wait()
                report = svc.add_items_by_id(own, batch, wanted[code], None)
                own.commit()
                added[code] = {i.id for i in report.added}
                refused[code] = len(report.refused)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=fill, args=(code,)) for code in codes]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    # Every shared copy went to exactly one batch; each batch got its own copy.
    assert added[codes[0]] | added[codes[1]] == set(ids)
    assert not added[codes[0]] & added[codes[1]]
    assert refused[codes[0]] + refused[codes[1]] == 4
    session.expire_all()
    rows = session.scalars(select(BatchItem).where(BatchItem.is_open, BatchItem.item_id.in_(ids))).all()
    assert len(rows) == len(ids)
