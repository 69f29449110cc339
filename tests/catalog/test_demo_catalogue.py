"""The demo catalogue: series, real Vietnamese records and books with copies; loading twice adds nothing."""

from sqlalchemy import func, select

from app.demo import load_demo
from catalog.demo import BOOKS, load_demo_catalogue
from catalog.models import AccessionSequence, Item, Record
from catalog.search import SearchQuery, search


def test_demo_catalogue_loads_once_with_three_copies_per_book(session):
    load_demo(session)
    description = load_demo_catalogue(session)
    session.commit()
    assert description and "80 records" in description
    assert session.scalar(select(func.count()).select_from(Record)) == len(BOOKS) + 60
    prefixes = set(session.scalars(select(AccessionSequence.prefix)))
    assert prefixes == {"VN", "VV", "VL", "TN"}
    for title, *_rest in BOOKS:
        record = session.scalar(select(Record).where(Record.title == title))
        assert record is not None, title
        copies = session.scalar(select(func.count()).select_from(Item).where(Item.record_id == record.id))
        assert copies >= 3, title
    assert load_demo_catalogue(session) is None
    session.commit()
    assert session.scalar(select(func.count()).select_from(Record)) == len(BOOKS) + 60


def test_demo_catalogue_is_found_without_diacritics(session):
    load_demo(session)
    load_demo_catalogue(session)
    session.commit()
    titles = [hit.title for hit in search(session, SearchQuery(q="truyen kieu")).hits]
    assert "Truyện Kiều" in titles
    titles = [hit.title for hit in search(session, SearchQuery(q="che lan vien")).hits]
    assert any("Chế Lan Viên" in t for t in titles)
