"""Demo acquisitions: suppliers, a received intake with numbered copies and a draft; loaded once."""

from sqlalchemy import func, select

from app.demo import load_demo
from catalog.acquisitions.demo import SUPPLIERS, load_demo_acquisitions
from catalog.acquisitions.models import Intake, IntakeItem, Supplier
from catalog.demo import load_demo_catalogue
from catalog.models import Item


def test_demo_acquisitions_load_once(session):
    assert load_demo_acquisitions(session) is None  # nothing to build on yet
    load_demo(session)
    load_demo_catalogue(session)
    copies_before = session.scalar(select(func.count()).select_from(Item))
    description = load_demo_acquisitions(session)
    session.commit()
    assert description and "14 copies" in description
    assert session.scalar(select(func.count()).select_from(Supplier)) == len(SUPPLIERS)
    intakes = session.scalars(select(Intake).order_by(Intake.id)).all()
    assert [(i.status, i.register_number) for i in intakes] == [("received", 1), ("draft", None)]
    assert session.scalar(select(func.count()).select_from(Item)) == copies_before + 14
    new_items = session.scalars(select(Item).join(IntakeItem, IntakeItem.item_id == Item.id)).all()
    assert len(new_items) == 14 and all(i.is_demo for i in new_items)
    assert load_demo_acquisitions(session) is None
    session.commit()
    assert session.scalar(select(func.count()).select_from(Intake)) == 2
