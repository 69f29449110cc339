"""rotation/filling.py: choosing copies by rules, pure — examples and Hypothesis properties."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rotation import filling
from rotation.filling import Candidate, FillRequest, MixError, parse_mix, quotas, select
from rotation.rules import StockRules

HOME = 1
CLASSES = ["0", "3", "8", "9", ""]
LANGUAGES = ["vie", "tha", "hmn", "eng"]


def cand(item_id, record_id=None, *, cls="8", lang="vie", children=False, **kw) -> Candidate:
    return Candidate(
        item_id=item_id,
        record_id=record_id if record_id is not None else item_id,
        accession_number=("TN." if children else "VN.") + f"{item_id:05d}",
        title=f"T{item_id}",
        language=lang,
        classification=f"{cls}95.9" if cls else "",
        library_id=kw.pop("library_id", HOME),
        **kw,
    )


# --- small helpers --------------------------------------------------------------------------------


def test_quotas_largest_remainder_and_rest_to_any():
    assert quotas(10, {"8": 50, "3": 25}) == {"8": 5, "3": 2, filling.ANY: 3} or quotas(
        10, {"8": 50, "3": 25}
    ) == {
        "8": 5,
        "3": 3,
        filling.ANY: 2,
    }
    assert quotas(7, {"a": 50, "b": 50}) in ({"a": 4, "b": 3}, {"a": 3, "b": 4})
    assert quotas(5, {}) == {filling.ANY: 5}
    assert quotas(5, {"vie": None, "tha": None}) == {filling.ANY: 5}
    assert quotas(0, {"a": 100}) == {filling.ANY: 0}


@given(st.integers(0, 500), st.dictionaries(st.sampled_from("0123456789"), st.floats(0, 100), max_size=6))
def test_quotas_always_add_up_to_the_size(size, shares):
    q = quotas(size, shares)
    assert sum(q.values()) == size
    assert all(v >= 0 for v in q.values())


def test_parse_mix_classes_and_languages():
    assert parse_mix("8:40, 300: 30%; 9xx", kind="class") == {"8": 40.0, "3": 30.0, "9": None}
    assert parse_mix("vie:80, Thái:10, H'Mông", kind="language") == {"vie": 80.0, "tha": 10.0, "hmn": None}
    assert parse_mix("", kind="language") == {}
    for bad, kind in (("85:10", "class"), ("8:140", "class"), ("vietnam", "language"), ("x:y", "class")):
        with pytest.raises(MixError):
            parse_mix(bad, kind=kind)


def test_children_heuristic():
    assert filling.is_childrens("TN.00012", "")
    assert filling.is_childrens("VN.00012", "Văn học thiếu nhi -- Việt Nam")
    assert filling.is_childrens("VV.1", "Juvenile fiction")
    assert not filling.is_childrens("VN.00012", "Lịch sử -- Việt Nam")
    assert not filling.is_childrens("TNX.1", "")  # another register whose prefix only starts with TN


def test_main_class():
    assert filling.main_class("895.9223") == "8"
    assert filling.main_class("") == filling.UNKNOWN_CLASS
    assert filling.main_class("Ш5(2)") == filling.UNKNOWN_CLASS  # BBK


# --- examples -------------------------------------------------------------------------------------


def test_ineligible_excluded_and_other_batch_copies_are_never_chosen():
    pool = [
        cand(1),
        cand(2, status="in_rotation"),
        cand(3, is_rare=True),
        cand(4, library_id=99),
        cand(5, open_batch="LC-2026-0001"),
        cand(6, record_id=600),
        cand(7, lang="eng"),
        cand(8, is_local_studies=True),
    ]
    result = select(pool, FillRequest(size=10, home_library_id=HOME, excluded_titles=frozenset({600})))
    assert [c.item_id for c in result.chosen] == [1]
    assert result.skipped == Counter(
        {"ineligible": 4, "in_other_batch": 1, "excluded_title": 1, "language_not_asked": 1}
    )


def test_local_studies_copies_rotate_only_when_the_rules_allow_it():
    pool = [cand(1, is_local_studies=True), cand(2, is_local_studies=True, is_rare=True)]
    strict = select(pool, FillRequest(size=5, home_library_id=HOME))
    assert strict.chosen == [] and strict.skipped == Counter({"ineligible": 2})
    rules = StockRules(allow_local_studies=True)
    relaxed = select(pool, FillRequest(size=5, home_library_id=HOME, rules=rules))
    assert [c.item_id for c in relaxed.chosen] == [1]  # the rare one still stays home


def test_no_title_twice_unless_asked():
    pool = [cand(i, record_id=1 + i // 3) for i in range(9)]  # 3 titles × 3 copies
    once = select(pool, FillRequest(size=9, home_library_id=HOME))
    assert len(once.chosen) == 3
    assert len({c.record_id for c in once.chosen}) == 3
    twice = select(pool, FillRequest(size=9, home_library_id=HOME, allow_duplicate_titles=True))
    assert len(twice.chosen) == 9
    present = select(pool, FillRequest(size=9, home_library_id=HOME, present_titles=frozenset({1})))
    assert {c.record_id for c in present.chosen} == {2, 3}


def test_shares_met_exactly_with_many_candidates():
    pool = []
    ids = itertools.count(1)
    for cls in ("3", "8", "9"):
        for lang in ("vie", "tha", "hmn"):
            for children in (False, True):
                pool += [cand(next(ids), cls=cls, lang=lang, children=children) for _ in range(40)]
    request = FillRequest(
        size=100,
        home_library_id=HOME,
        class_shares={"8": 50, "3": 30, "9": 20},
        language_shares={"vie": 70, "tha": 20, "hmn": 10},
        children_percent=25,
        seed=3,
    )
    result = select(pool, request)
    b = result.breakdown()
    assert b["class"] == {"3": 30, "8": 50, "9": 20}
    assert b["language"] == {"hmn": 10, "tha": 20, "vie": 70}
    assert b["children"] == {"children": 25, "other": 75}
    assert result.shortfalls == []


def test_short_bucket_is_reported_and_filled_from_the_rest_unless_strict():
    pool = [cand(i, lang="vie") for i in range(1, 51)] + [cand(100 + i, lang="hmn") for i in range(3)]
    request = FillRequest(size=20, home_library_id=HOME, language_shares={"vie": None, "hmn": 50})
    result = select(pool, request)
    assert len(result.chosen) == 20
    assert result.shortfalls == [filling.Shortfall("language", "hmn", 10, 3)]
    strict = select(pool, FillRequest(**{**request.__dict__, "strict": True}))
    assert len(strict.chosen) == 13


def test_spread_evenly_over_the_classes_present():
    pool = [cand(i, cls=cls) for i, cls in enumerate(["0", "3", "8"] * 30, start=1)]
    result = select(pool, FillRequest(size=30, home_library_id=HOME, even_classes=True))
    assert result.breakdown()["class"] == {"0": 10, "3": 10, "8": 10}


def test_classes_summing_to_100_leave_out_the_others():
    pool = [cand(i, cls=cls) for i, cls in enumerate(["0", "8"] * 10, start=1)]
    result = select(pool, FillRequest(size=20, home_library_id=HOME, class_shares={"8": 100}))
    assert {c.main_class for c in result.chosen} == {"8"}
    assert result.skipped["class_not_asked"] == 10


# --- properties -----------------------------------------------------------------------------------

candidates = st.lists(
    st.builds(
        Candidate,
        item_id=st.integers(1, 400),
        record_id=st.integers(1, 120),
        accession_number=st.sampled_from(["VN.00001", "TN.00002", "VV.3"]),
        language=st.sampled_from(LANGUAGES),
        classification=st.sampled_from(["895.9", "335.4", "959.7", "005.1", ""]),
        subjects=st.sampled_from(["", "Văn học thiếu nhi"]),
        status=st.sampled_from(["available", "available", "available", "lost", "in_rotation"]),
        is_rare=st.booleans(),
        is_local_studies=st.booleans(),
        library_id=st.sampled_from([HOME, HOME, HOME, 2]),
        open_batch=st.sampled_from([None, None, None, "LC-2026-0009"]),
    ),
    max_size=150,
    unique_by=lambda c: c.item_id,  # one candidate per copy
)
shares = st.dictionaries(st.sampled_from("0389"), st.one_of(st.none(), st.integers(0, 100)), max_size=3)
language_shares = st.dictionaries(
    st.sampled_from(LANGUAGES), st.one_of(st.none(), st.integers(0, 60)), max_size=3
)
requests = st.builds(
    FillRequest,
    size=st.integers(0, 80),
    home_library_id=st.just(HOME),
    class_shares=shares,
    even_classes=st.booleans(),
    language_shares=language_shares,
    children_percent=st.one_of(st.none(), st.integers(0, 100)),
    excluded_titles=st.frozensets(st.integers(1, 120), max_size=30),
    present_titles=st.frozensets(st.integers(1, 120), max_size=10),
    allow_duplicate_titles=st.booleans(),
    strict=st.booleans(),
    seed=st.integers(0, 10),
)


@settings(max_examples=200, deadline=None)
@given(candidates, requests)
def test_property_never_exceeds_size_never_picks_a_forbidden_copy(pool, request):
    result = select(pool, request)
    chosen = result.chosen
    assert len(chosen) <= request.size
    assert len({c.item_id for c in chosen}) == len(chosen)
    for c in chosen:
        assert c.status == "available" and not c.is_rare and c.library_id == HOME and c.open_batch is None
        assert not c.is_local_studies
        assert c.record_id not in request.excluded_titles
        if request.language_shares:
            assert c.language in request.language_shares
    if not request.allow_duplicate_titles:
        titles = [c.record_id for c in chosen]
        assert len(set(titles)) == len(titles)
        assert not set(titles) & request.present_titles


@settings(max_examples=100, deadline=None)
@given(candidates, requests)
def test_property_deterministic_for_a_seed(pool, request):
    first = [c.item_id for c in select(pool, request).chosen]
    again = [c.item_id for c in select(list(reversed(pool)), request).chosen]
    assert first == again


@settings(max_examples=60, deadline=None)
@given(
    size=st.integers(1, 60),
    class_shares=st.dictionaries(st.sampled_from("0389"), st.integers(0, 40), max_size=3),
    language_shares=st.dictionaries(
        st.sampled_from(["vie", "tha", "hmn"]), st.integers(0, 30), min_size=1, max_size=3
    ),
    children=st.one_of(st.none(), st.integers(0, 100)),
    seed=st.integers(0, 1000),
)
def test_property_shares_hold_within_rounding_when_candidates_abound(
    size, class_shares, language_shares, children, seed
):
    # Every combination of class, language and audience has `size` copies of distinct titles.
    ids = itertools.count(1)
    pool = [
        cand(next(ids), cls=cls, lang=lang, children=child)
        for cls in ("0", "3", "8", "9", "5")
        for lang in ("vie", "tha", "hmn")
        for child in (False, True)
        for _ in range(size)
    ]
    request = FillRequest(
        size=size,
        home_library_id=HOME,
        class_shares=class_shares,
        language_shares=language_shares,
        children_percent=children,
        seed=seed,
    )
    result = select(pool, request)
    assert len(result.chosen) == size
    assert result.shortfalls == []
    b = result.breakdown()
    # Within rounding of the asked percentage; percentages adding to more than 100 are scaled down.
    class_total = max(sum(class_shares.values()), 100)
    for key, pct in class_shares.items():
        if pct:
            assert abs(b["class"].get(key, 0) - size * pct / class_total) < 1
    # Every listed language has a percentage here: only they may go in, so they are scaled to 100.
    total = sum(language_shares.values())
    for key, pct in language_shares.items():
        expected = size * pct / total if total else None
        if pct and expected is not None:
            assert abs(b["language"].get(key, 0) - expected) < 1
    if not total:  # no percentages: listed languages only, any mix
        assert set(b["language"]) <= set(language_shares)
    if children is not None:
        assert abs(b["children"]["children"] - size * children / 100) < 1
