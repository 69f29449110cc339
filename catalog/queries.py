"""Catalogue reads for pages: a record with its copies and history, accession series, call numbers."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import datetime

from pymarc import Record as MarcRecord
from sqlalchemy import and_, func, or_, select, text
from sqlalchemy.orm import Session, joinedload, selectinload

from app.audit.models import AuditEvent
from app.auth.models import User
from app.network.models import LIBRARY_KINDS, Site
from app.text import fold, sort_key
from catalog.indexing import record_from_json
from catalog.isbd import IsbdView, describe
from catalog.models import AccessionSequence, Item, Record, RecordMarc

HISTORY_LIMIT = 200


@dataclass(slots=True)
class RecordPage:
    """What the record page shows: the row, its MARC data, its description, copies and history."""

    record: Record
    marc: MarcRecord
    isbd: IsbdView
    items: list[Item]
    history: list[AuditEvent]


def record_history(session: Session, record_id: int, item_ids: list[int], limit: int = HISTORY_LIMIT):
    """Return the audit events of a record and of its copies, newest first."""
    conditions = [and_(AuditEvent.object_type == "record", AuditEvent.object_id == str(record_id))]
    if item_ids:
        conditions.append(
            and_(AuditEvent.object_type == "item", AuditEvent.object_id.in_([str(i) for i in item_ids]))
        )
    stmt = (
        select(AuditEvent)
        .where(or_(*conditions))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))


def record_items(session: Session, record_id: int) -> list[Item]:
    """Return a record's copies ordered by accession number."""
    stmt = select(Item).where(Item.record_id == record_id).order_by(Item.accession_number)
    return list(session.scalars(stmt))


def record_page(session: Session, record_id: int) -> RecordPage | None:
    """Return everything the record page needs, or None when there is no such record."""
    row = session.get(Record, record_id, options=[joinedload(Record.marc_data)])
    if row is None:
        return None
    record = record_from_json(row.marc)
    items = record_items(session, record_id)
    history = record_history(session, record_id, [i.id for i in items])
    return RecordPage(record=row, marc=record, isbd=describe(record), items=items, history=history)


def libraries(session: Session) -> list[Site]:
    """Return the active libraries (the sites that hold copies), in Vietnamese name order."""
    rows = session.scalars(
        select(Site).where(Site.kind.in_([k.value for k in LIBRARY_KINDS]), Site.is_active.is_(True))
    )
    return sorted(rows, key=lambda s: sort_key(s.name))


def sequences(session: Session, library_id: int | None = None, active_only: bool = False):
    """Return accession-number series with their library, by library name then prefix."""
    stmt = select(AccessionSequence).options(selectinload(AccessionSequence.library))
    if library_id is not None:
        stmt = stmt.where(AccessionSequence.library_id == library_id)
    if active_only:
        stmt = stmt.where(AccessionSequence.is_active.is_(True))
    rows = list(session.scalars(stmt))
    return sorted(rows, key=lambda s: (sort_key(s.library.name if s.library else ""), s.prefix))


def serialise_for_actor(session: Session, actor_id: int | None) -> None:
    """Make this transaction wait for any other one of the same user that called this first.

    Locks the user's row until the transaction ends (SELECT … FOR UPDATE on PostgreSQL; on SQLite
    a no-op write takes the database's write lock). With it, "was this record just created?" and
    "create it" cannot interleave between two copies of the same form sent at the same moment.
    """
    if actor_id is None:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(User.id).where(User.id == actor_id).with_for_update())
    else:
        session.execute(text("UPDATE users SET id = id WHERE id = :id"), {"id": actor_id})


def recent_identical_record(
    session: Session, marc_json: str, actor_id: int | None, since: datetime
) -> Record | None:
    """Return a record with exactly this MARC data created by this user since `since`, if any.

    Used to recognise a form sent twice (a double click, a resubmitted page).
    """
    if actor_id is None:
        return None
    stmt = (
        select(Record)
        .join(RecordMarc, RecordMarc.record_id == Record.id)
        .where(Record.created_by_id == actor_id, Record.created_at >= since, RecordMarc.marc == marc_json)
        .order_by(Record.id.desc())
        .limit(1)
    )
    return session.scalars(stmt).first()


def copies_just_added_by(session: Session, record_id: int, actor_id: int | None, since: datetime) -> int:
    """Return how many copies of a record this user added since `since` (from the audit log)."""
    if actor_id is None:
        return 0
    item_ids = [str(i) for i in session.scalars(select(Item.id).where(Item.record_id == record_id))]
    if not item_ids:
        return 0
    stmt = select(func.count()).where(
        AuditEvent.action == "item.create",
        AuditEvent.actor_id == actor_id,
        AuditEvent.at >= since,
        AuditEvent.object_type == "item",
        AuditEvent.object_id.in_(item_ids),
    )
    return int(session.scalar(stmt) or 0)


def count_items(session: Session, record_id: int) -> int:
    """Return the number of copies of a record."""
    return int(session.scalar(select(func.count()).where(Item.record_id == record_id)) or 0)


def changed_lines(old: object, new: object) -> list[tuple[str, str]]:
    """Return the lines removed ("-") and added ("+") between two texts, e.g. two MARC records."""
    old_lines = str(old or "").splitlines()
    new_lines = str(new or "").splitlines()
    out: list[tuple[str, str]] = []
    for line in difflib.unified_diff(old_lines, new_lines, lineterm="", n=0):
        if line.startswith(("---", "+++", "@@")):
            continue
        out.append((line[:1], line[1:]))
    return out


# --- call numbers ---------------------------------------------------------------------------------

AUTHOR_MARK_LETTERS = 3
_NON_LETTERS = re.compile(r"[^A-Za-z]+")
# Words skipped at the start of a title when it gives the mark (no main author).
_TITLE_SKIP = frozenset({"the", "a", "an", "le", "la", "les", "l", "der", "die", "das"})


def author_mark(main_author: str | None, title: str | None = None) -> str:
    """Suggest an author mark: the first three letters of the entry word, upper-case, no diacritics.

    The entry word is the surname of an inverted name ("Tolstoy, Leo" -> TOL); for a name in direct
    order, as Vietnamese names are written ("Nguyễn Du", "Tô Hoài"), the given name, which is how
    Vietnamese authors are known and filed (-> DU, HOA); with no author, the first word of the title
    ("Truyện Kiều" -> TRU). Cataloguers can always type their own mark (a Cutter-Sanborn number,
    for instance).
    """
    name = (main_author or "").strip()
    word = ""
    if name:
        if "," in name:
            word = name.split(",", 1)[0]
        else:
            words = [w for w in re.split(r"[\s.]+", name) if _NON_LETTERS.sub("", fold(w))]
            word = words[-1] if words else ""
    if not word:
        words = [w for w in (title or "").split() if _NON_LETTERS.sub("", fold(w))]
        while len(words) > 1 and fold(words[0]).strip("'’") in _TITLE_SKIP:
            words.pop(0)
        word = words[0] if words else ""
    letters = _NON_LETTERS.sub("", fold(word))
    return letters[:AUTHOR_MARK_LETTERS].upper()


def class_number(record: Record) -> str:
    """Return the class number a new copy's call number starts with (the record's classification)."""
    return (record.classification or "").strip()
