"""Choosing copies to fill a rotation batch automatically by rules: pure, no database, no Flask.

Candidates come in (one per copy, with what the rules need to know about it); the chosen copies and
the reasons the others were left out come back. The rules:

- eligibility (rotation/rules.py: available, not rare, not local-studies material, held by the batch's
  library) and "not in another open batch" — an ineligible candidate is never chosen;
- titles to leave out (those the destination point had in its last N rotations, say) are never
  chosen, and by default no title twice in one batch (titles already in the batch count);
- a class mix (DDC main classes with percentages, or spread evenly), a language mix (languages not
  listed are left out; listed ones may carry percentages) and a share of children's books. Each
  dimension's percentages become whole quotas that add up to the size (largest remainder); a
  dimension without percentages has one "any" quota.

Selection is greedy over the candidates in a seeded random order: a copy is taken when every
dimension still has room for it. When every combination of buckets has enough candidates the shares
are met exactly (the quotas of each dimension always add up to what is still missing). When some
bucket runs short, the rest of the size is filled from the remaining eligible candidates and the
shortfall is reported; `strict=True` leaves the slots empty instead.

Children's books: MARC 008/22 (target audience) is not kept in a column, so a copy counts as a
children's book when its accession number is in the children's register (prefix TN) or the title's
subjects name children's literature ("thiếu nhi", "trẻ em", "children", "juvenile"…). See
`is_childrens`.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from app.text import fold
from rotation import rules as stock_rules

ANY = "*"  # the bucket of everything a dimension does not name
UNKNOWN_CLASS = "?"  # no DDC number
DDC_MAIN_CLASSES = tuple(str(d) for d in range(10))  # "8" is 800–899

# Reasons a candidate was left out (stable codes; the edges translate them).
INELIGIBLE = "ineligible"
IN_OTHER_BATCH = "in_other_batch"
EXCLUDED_TITLE = "excluded_title"
DUPLICATE_TITLE = "duplicate_title"
LANGUAGE_NOT_ASKED = "language_not_asked"
CLASS_NOT_ASKED = "class_not_asked"
QUOTA_FULL = "quota_full"
NOT_NEEDED = "not_needed"

CHILDREN_PREFIXES = ("TN",)
CHILDREN_SUBJECT_WORDS = ("thieu nhi", "tre em", "nhi dong", "children", "juvenile", "thieu nien")

# Names staff may type instead of MARC language codes (folded, lower case).
LANGUAGE_NAMES = {
    "viet": "vie",
    "tieng viet": "vie",
    "vietnamese": "vie",
    "thai": "tha",
    "tieng thai": "tha",
    "hmong": "hmn",
    "h'mong": "hmn",
    "mong": "hmn",
    "tieng mong": "hmn",
    "anh": "eng",
    "english": "eng",
    "phap": "fre",
    "french": "fre",
}

_MIX_PART = re.compile(r"^\s*(?P<key>[^:=]+?)\s*(?:[:=]\s*(?P<share>\d+(?:[.,]\d+)?)\s*%?)?\s*$")


class MixError(ValueError):
    """A mix typed by staff could not be read; `part` is the piece that failed."""

    def __init__(self, part: str) -> None:
        super().__init__(part)
        self.part = part


@dataclass(frozen=True)
class Candidate:
    """A copy that might go into the batch, with everything the rules look at."""

    item_id: int
    record_id: int
    accession_number: str
    title: str = ""
    language: str = ""
    classification: str = ""
    subjects: str = ""
    status: str = "available"
    is_rare: bool = False
    is_local_studies: bool = False
    library_id: int = 0
    open_batch: str | None = None  # code of the open batch holding it, if any

    @property
    def main_class(self) -> str:
        """The DDC main class ("8" for 895.922), or UNKNOWN_CLASS."""
        return main_class(self.classification)

    @property
    def is_childrens(self) -> bool:
        """True when the copy counts as a children's book (see `is_childrens`)."""
        return is_childrens(self.accession_number, self.subjects)


@dataclass(frozen=True)
class FillRequest:
    """What staff asked for."""

    size: int
    home_library_id: int = 0
    # DDC main class ("0"–"9") → percentage; empty: any class; `even_classes`: spread evenly.
    class_shares: Mapping[str, float | None] = field(default_factory=dict)
    even_classes: bool = False
    # MARC language code → percentage or None (allowed, no quota); empty: any language.
    language_shares: Mapping[str, float | None] = field(default_factory=lambda: {"vie": None})
    children_percent: float | None = None  # share of children's books; None: no rule
    excluded_titles: frozenset[int] = frozenset()
    present_titles: frozenset[int] = frozenset()  # titles already in the batch
    allow_duplicate_titles: bool = False
    strict: bool = False  # leave slots empty rather than break a share
    seed: int = 0
    rules: stock_rules.StockRules = stock_rules.DEFAULT_RULES


@dataclass(frozen=True)
class Shortfall:
    """A bucket that got fewer copies than its share asked for."""

    dimension: str  # "class", "language" or "children"
    bucket: str
    wanted: int
    got: int


@dataclass
class FillResult:
    """The chosen copies, why the others were left out, and where the shares fell short."""

    chosen: list[Candidate]
    skipped: Counter = field(default_factory=Counter)
    shortfalls: list[Shortfall] = field(default_factory=list)
    quotas: dict[str, dict[str, int]] = field(default_factory=dict)

    def breakdown(self) -> dict[str, dict[str, int]]:
        """Return how many chosen copies fall in each class, language and children/other bucket."""
        return breakdown(self.chosen)


# --- small pure helpers --------------------------------------------------------------------------


def main_class(classification: str | None) -> str:
    """Return the DDC main class of a class number ("895.922" → "8"), or UNKNOWN_CLASS."""
    text = (classification or "").strip()
    return text[0] if text[:1].isdigit() else UNKNOWN_CLASS


def is_childrens(accession_number: str, subjects: str) -> bool:
    """True for a copy of the children's register (prefix TN) or a title with children's subjects."""
    number = (accession_number or "").upper()
    if any(number.startswith(p) and not number[len(p) : len(p) + 1].isalpha() for p in CHILDREN_PREFIXES):
        return True
    folded = fold(subjects or "").lower()
    return any(word in folded for word in CHILDREN_SUBJECT_WORDS)


def quotas(size: int, shares: Mapping[str, float | None]) -> dict[str, int]:
    """Split `size` into whole quotas by percentage (largest remainder); the rest goes to ANY.

    Keys without a percentage share the ANY quota. Percentages above 100 in total are scaled down.
    The quotas always add up to `size`.
    """
    if size <= 0:
        return {ANY: 0}
    weighted = {k: float(v) for k, v in shares.items() if v is not None and v > 0}
    total = sum(weighted.values())
    if total <= 0:
        return {ANY: size}
    scale = 100.0 / total if total > 100 else 1.0
    exact = {k: size * v * scale / 100.0 for k, v in weighted.items()}
    rest = size - sum(exact.values())
    if rest > 1e-9:
        exact[ANY] = rest
    result = {k: int(v) for k, v in exact.items()}
    missing = size - sum(result.values())
    for key in sorted(exact, key=lambda k: (-(exact[k] - int(exact[k])), k))[:missing]:
        result[key] += 1
    return result


def even_shares(keys: Iterable[str]) -> dict[str, float]:
    """Return equal percentages for these keys."""
    keys = sorted(set(keys))
    return {k: 100.0 / len(keys) for k in keys} if keys else {}


def language_weights(shares: Mapping[str, float | None]) -> dict[str, float | None]:
    """Return language shares as used: when every listed language has a percentage, they are scaled
    to 100 (only listed languages may go in, so nothing else could fill the rest)."""
    if shares and all(v is not None for v in shares.values()):
        total = sum(float(v) for v in shares.values() if v)
        if total > 0:
            return {k: float(v) * 100.0 / total if v else None for k, v in shares.items()}
    return dict(shares)


def parse_mix(text: str, *, kind: str) -> dict[str, float | None]:
    """Read a typed mix: "8:40, 3:30" (classes) or "vie:80, tha, hmn:10" (languages).

    Classes may be typed "8", "800" or "8xx"; languages as MARC codes or common names ("Thái",
    "H'Mông"). A piece without a percentage is allowed without a quota. Raises MixError.
    """
    result: dict[str, float | None] = {}
    for part in re.split(r"[;\n]|,(?!\d)", text or ""):
        if not part.strip():
            continue
        match = _MIX_PART.match(part)
        if not match:
            raise MixError(part.strip())
        key = match.group("key").strip()
        share = float(match.group("share").replace(",", ".")) if match.group("share") else None
        if share is not None and not 0 <= share <= 100:
            raise MixError(part.strip())
        if kind == "class":
            key = key.lower().rstrip("x")
            if not (key[:1].isdigit() and (len(key) == 1 or key[1:] in ("0", "00"))):
                raise MixError(part.strip())
            key = key[0]
        else:
            folded = fold(key).lower()
            key = LANGUAGE_NAMES.get(folded, folded)
            if not (len(key) == 3 and key.isascii() and key.isalpha()):
                raise MixError(part.strip())
        result[key] = share
    return result


def breakdown(chosen: Sequence[Candidate]) -> dict[str, dict[str, int]]:
    """Return the counts of chosen copies per class, per language and children/other."""
    return {
        "class": dict(sorted(Counter(c.main_class for c in chosen).items())),
        "language": dict(sorted(Counter(c.language or "?" for c in chosen).items())),
        "children": {
            "children": sum(1 for c in chosen if c.is_childrens),
            "other": sum(1 for c in chosen if not c.is_childrens),
        },
    }


# --- the selection -----------------------------------------------------------------------------


def _refusal(c: Candidate, request: FillRequest) -> str | None:
    """Return why a candidate may never be chosen, or None."""
    if c.open_batch:
        return IN_OTHER_BATCH
    reasons = stock_rules.refusals(
        number=c.accession_number,
        status=c.status,
        is_rare=c.is_rare,
        is_local_studies=c.is_local_studies,
        library_id=c.library_id,
        library_name="",
        home_library_id=request.home_library_id,
        home_library_name="",
        rules=request.rules,
    )
    if reasons:
        return INELIGIBLE
    if c.record_id in request.excluded_titles:
        return EXCLUDED_TITLE
    if request.language_shares and (c.language or "") not in request.language_shares:
        return LANGUAGE_NOT_ASKED
    if request.class_shares and not request.even_classes:
        total = sum(v for v in request.class_shares.values() if v)
        if total >= 100 and c.main_class not in request.class_shares:
            return CLASS_NOT_ASKED
    return None


def _bucket(key: str, quota: Mapping[str, int]) -> str:
    return key if key in quota else ANY


def select(candidates: Iterable[Candidate], request: FillRequest) -> FillResult:
    """Choose up to `request.size` copies following the request's rules; deterministic for a seed."""
    skipped: Counter = Counter()
    pool: list[Candidate] = []
    seen_items: set[int] = set()
    for c in sorted(candidates, key=lambda c: c.item_id):
        if c.item_id in seen_items:
            continue
        seen_items.add(c.item_id)
        reason = _refusal(c, request)
        if reason:
            skipped[reason] += 1
        else:
            pool.append(c)
    random.Random(request.seed).shuffle(pool)
    size = max(int(request.size), 0)

    if request.even_classes:
        class_shares: Mapping[str, float | None] = even_shares(c.main_class for c in pool)
    else:
        class_shares = request.class_shares
    class_quota = quotas(size, class_shares)
    language_quota = quotas(size, language_weights(request.language_shares))
    children_percent = request.children_percent
    children_quota = (
        quotas(size, {"children": children_percent, "other": 100 - children_percent})
        if children_percent is not None
        else {ANY: size}
    )

    def keys(c: Candidate) -> tuple[str, str, str]:
        child = ("children" if c.is_childrens else "other") if children_percent is not None else ANY
        return (
            _bucket(c.main_class, class_quota),
            _bucket(c.language or "", language_quota),
            child if child in children_quota else ANY,
        )

    left = [dict(class_quota), dict(language_quota), dict(children_quota)]
    chosen: list[Candidate] = []
    titles = set(request.present_titles)
    rest: list[Candidate] = []
    for c in pool:
        if len(chosen) >= size:
            rest.append(c)
            continue
        if not request.allow_duplicate_titles and c.record_id in titles:
            skipped[DUPLICATE_TITLE] += 1
            continue
        k = keys(c)
        if all(left[d].get(k[d], 0) > 0 for d in range(3)):
            for d in range(3):
                left[d][k[d]] -= 1
            chosen.append(c)
            titles.add(c.record_id)
        else:
            rest.append(c)

    shortfalls = [
        Shortfall(dimension, bucket, wanted, wanted - left[d][bucket])
        for d, (dimension, quota) in enumerate(
            (("class", class_quota), ("language", language_quota), ("children", children_quota))
        )
        for bucket, wanted in sorted(quota.items())
        if left[d][bucket] > 0 and bucket != ANY
    ]
    for c in rest:
        if len(chosen) >= size or request.strict:
            skipped[QUOTA_FULL if len(chosen) < size else NOT_NEEDED] += 1
            continue
        if not request.allow_duplicate_titles and c.record_id in titles:
            skipped[DUPLICATE_TITLE] += 1
            continue
        chosen.append(c)
        titles.add(c.record_id)
    return FillResult(
        chosen=chosen,
        skipped=skipped,
        shortfalls=shortfalls,
        quotas={"class": class_quota, "language": language_quota, "children": children_quota},
    )


__all__ = [
    "ANY",
    "Candidate",
    "FillRequest",
    "FillResult",
    "MixError",
    "Shortfall",
    "breakdown",
    "even_shares",
    "is_childrens",
    "language_weights",
    "main_class",
    "parse_mix",
    "quotas",
    "select",
]
