"""Search on both engines: copy filters (library, status), and whole words tried before prefixes.

On PostgreSQL the copy filters are `record_search.copy_terms`, kept by triggers (migration
f5a9c0d7e8b3); these tests change copies every way the application does (the ORM service, a bulk
UPDATE as rotation's receipt does, a delete, a move to another library, a record reindexed) and
check the search results against the copies as they now are. On SQLite the same tests check the
intersection with the copy indexes.
"""

from __future__ import annotations

import pytest
from sqlalchemy import delete, update

from app.network.models import SiteKind
from catalog.marc import build_record
from catalog.models import Item, ItemStatus
from catalog.search import SearchQuery, copy_filter_term, search
from catalog.services import add_items, create_record, reindex_record, update_item


@pytest.fixture
def world(session, make_site):
    """Two libraries; three titles with "Đường" and one without, with copies in various states."""
    one = make_site(code="TV-A", name="Thư viện A", kind=SiteKind.PROVINCIAL_LIBRARY)
    two = make_site(code="TV-B", name="Thư viện B", kind=SiteKind.DISTRICT_LIBRARY)
    records = {}
    for key, title in (
        ("road", "Đường về bản"),
        ("hill", "Đường lên núi"),
        ("rail", "Đường sắt Việt Nam"),
        ("river", "Sông Đà"),
    ):
        records[key] = create_record(session, build_record(title), actor_id=None)
    copies = {}
    for key, library, status, number in (
        ("road1", one, ItemStatus.AVAILABLE, "A.001"),
        ("road2", two, ItemStatus.LOST, "B.001"),
        ("hill1", one, ItemStatus.IN_ROTATION, "A.002"),
        ("rail1", two, ItemStatus.AVAILABLE, "B.002"),
        ("river1", one, ItemStatus.LOST, "A.003"),
    ):
        record = records[key.rstrip("0123456789")]
        copies[key] = add_items(
            session,
            record,
            accession_numbers=[number],
            values={"library_id": library.id, "status": status.value},
            actor_id=None,
        )[0]
    session.commit()
    return {
        "lib": {"one": one.id, "two": two.id},
        "rec": {k: r.id for k, r in records.items()},
        "copy": copies,
    }


def found(session, q="đường", **kw) -> set[int]:
    session.expire_all()
    result = search(session, SearchQuery(q=q, per_page=100, **kw))
    session.rollback()
    return {h.id for h in result.hits}


def ids(world, *keys) -> set[int]:
    return {world["rec"][k] for k in keys}


def test_the_filter_terms_are_plain_lexemes():
    assert copy_filter_term(7, None) == "lib7"
    assert copy_filter_term(None, "in_rotation") == "stinrotation"
    assert copy_filter_term(12, "at_point") == "lib12statpoint"
    assert copy_filter_term(None, None) is None


def test_words_with_library_status_and_both(world, session):
    one, two = world["lib"]["one"], world["lib"]["two"]
    assert found(session, library_id=one) == ids(world, "road", "hill")
    assert found(session, library_id=two) == ids(world, "road", "rail")
    assert found(session, status="lost") == ids(world, "road")
    assert found(session, status="available") == ids(world, "road", "rail")
    # Both on the same copy: "road" has an available copy in A and a lost one in B, not a lost one in A.
    assert found(session, library_id=one, status="lost") == set()
    assert found(session, library_id=two, status="lost") == ids(world, "road")
    assert found(session, q="song", library_id=one, status="lost") == ids(world, "river")
    # With a record filter too.
    assert found(session, library_id=one, language="vie") == ids(world, "road", "hill")


def test_a_status_change_through_the_service_is_seen(world, session):
    copy = world["copy"]["hill1"]
    assert found(session, status="damaged") == set()
    update_item(session, session.get(Item, copy.id), {"status": "available"}, actor_id=None)
    session.commit()
    assert found(session, status="available") == ids(world, "road", "hill", "rail")
    assert found(session, status="in_rotation") == set()


def test_a_bulk_update_as_rotation_does_is_seen(world, session):
    """Receipt at a point sets many copies' status in one UPDATE, without the ORM objects."""
    session.execute(
        update(Item)
        .where(Item.accession_number.in_(["A.001", "B.002"]))
        .values(status=ItemStatus.AT_POINT.value)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    assert found(session, status="at_point") == ids(world, "road", "rail")
    assert found(session, status="available") == set()
    assert found(session, library_id=world["lib"]["two"], status="at_point") == ids(world, "rail")


def test_a_move_to_another_library_and_a_delete_are_seen(world, session):
    one, two = world["lib"]["one"], world["lib"]["two"]
    session.execute(update(Item).where(Item.accession_number == "A.002").values(library_id=two))
    session.commit()
    assert found(session, library_id=one) == ids(world, "road")
    assert found(session, library_id=two) == ids(world, "road", "hill", "rail")
    session.execute(delete(Item).where(Item.accession_number == "B.002"))
    session.commit()
    assert found(session, library_id=two) == ids(world, "road", "hill")
    assert found(session, status="available") == ids(world, "road")


def test_a_record_reindexed_keeps_its_copy_filters(world, session):
    """Reindexing rewrites the record's index row; the copy filters must come back with it."""
    from catalog.models import Record

    reindex_record(session, session.get(Record, world["rec"]["rail"]))
    session.commit()
    assert found(session, library_id=world["lib"]["two"], status="available") == ids(world, "rail")


def test_new_copies_are_seen(world, session):
    from catalog.models import Record

    add_items(
        session,
        session.get(Record, world["rec"]["hill"]),
        accession_numbers=["B.009"],
        values={"library_id": world["lib"]["two"], "status": ItemStatus.DAMAGED.value},
        actor_id=None,
    )
    session.commit()
    assert found(session, status="damaged") == ids(world, "hill")
    assert found(session, library_id=world["lib"]["two"], status="damaged") == ids(world, "hill")


def test_a_whole_word_with_many_matches_is_not_taken_as_a_prefix(session, monkeypatch):
    """ "chọn" (4 letters) is also a prefix of "chống"; with more whole-word matches than the count
    limit the prefix could only add to "more than N", so it is left out; with fewer it is matched."""
    from catalog import search as search_module

    titles = ["Tuyển chọn truyện", "Thơ chọn lọc", "Chọn nghề", "Chọn bạn", "Chống hạn"]
    made = {t: create_record(session, build_record(t), actor_id=None).id for t in titles}
    session.commit()
    monkeypatch.setattr(search_module, "COUNT_LIMIT", 3)
    bounded = search(session, SearchQuery(q="chon", per_page=100))
    session.rollback()
    assert made["Chống hạn"] not in {h.id for h in bounded.hits}
    assert len(bounded.hits) == 3  # the count limit's worth, all whole-word matches
    assert {h.id for h in bounded.hits} <= {made[t] for t in titles[:4]}
    monkeypatch.setattr(search_module, "COUNT_LIMIT", 10)
    everything = search(session, SearchQuery(q="chon", per_page=100))
    session.rollback()
    assert {h.id for h in everything.hits} == set(made.values())
