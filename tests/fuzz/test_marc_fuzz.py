"""Mutation and property-based fuzzing of the MARC importer: mutated real files through staging and commit.

Each input is a real file of tests/data/marc (or MARC-in-JSON made from one) damaged by a list of
operators (tests/fuzz/mutators.py): truncation, flipped bytes, wrong leader lengths and base
addresses, broken directories and terminators, invalid UTF-8 and MARC-8 escapes, broken XML (unclosed
tags, bad entities, wrong namespaces, huge attributes, entity expansion) and broken JSON. The
properties (tests/fuzz/harness.py): only the documented "file cannot be read" error escapes; every
record read is imported, reported as a duplicate or rejected with a reason; a failed run leaves every
table as it was; the web and CLI answer with a status and a message, never a traceback.
`python -m bench fuzz` runs the same properties on many more inputs.
"""

from __future__ import annotations

import io
import json
import random
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.network.models import SiteKind
from catalog import importing
from tests.conftest import post_form
from tests.fuzz import harness
from tests.fuzz import mutators as m

FUZZ = settings(
    max_examples=50,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

SEED_NAMES = sorted(m.seeds())
op_strategy = st.tuples(st.sampled_from(sorted(m.ALL)), st.integers(0, 2**32 - 1))
ops_strategy = st.lists(op_strategy, min_size=1, max_size=4)


@pytest.fixture
def library(make_site):
    """A library for the copies that name none, so copies are created too."""
    return make_site(code="TVT", name="Thư viện tỉnh", kind=SiteKind.PROVINCIAL_LIBRARY)


@settings(FUZZ)
@given(
    name=st.sampled_from(SEED_NAMES), ops=ops_strategy, on_duplicate=st.sampled_from(importing.ON_DUPLICATE)
)
def test_a_mutated_file_is_imported_or_refused_never_crashes(session, library, name, ops, on_duplicate):
    data = m.mutate(m.seeds()[name], ops)
    outcome = harness.stage_then_commit(session, data, on_duplicate=on_duplicate, library_id=library.id)
    assert outcome.status in ("imported", "file_error")


@settings(FUZZ, max_examples=30)
@given(name=st.sampled_from(SEED_NAMES), ops=st.lists(op_strategy, max_size=2))
def test_a_failure_halfway_leaves_every_table_as_it_was(session, library, name, ops):
    data = m.mutate(m.seeds()[name], ops)
    # The first bulk insert (the records) fails: nothing of the file may stay.
    outcome = harness.stage_then_commit(session, data, library_id=library.id, fail_at_insert=1)
    assert outcome.status in ("failed_on_purpose", "file_error", "imported")


@settings(FUZZ, max_examples=30)
@given(data=st.binary(max_size=3000))
def test_random_bytes_are_refused_or_rejected(session, data):
    outcome = harness.stage_then_commit(session, data)
    assert outcome.status in ("imported", "file_error")
    if outcome.status == "imported":
        assert outcome.report.created == outcome.report.new


def test_the_seeds_import_and_a_failure_at_every_insert_leaves_nothing(session, library):
    """Not fuzzing: the injected fault really fires on the seeds, at each of their inserts in turn."""
    data = m.seeds()["loc/loc_vietnamese_part1.mrc"]
    fired = 0
    for n in range(1, 5):  # records, their MARC, match keys, search rows
        outcome = harness.stage_then_commit(session, data, library_id=library.id, fail_at_insert=n)
        fired += outcome.status == "failed_on_purpose"
    assert fired == 4
    outcome = harness.stage_then_commit(session, data, library_id=library.id)
    assert outcome.status == "imported" and outcome.report.created == 6


# --- the same inputs through the web upload and the CLI --------------------------------------------


def _samples(count: int, seed: int) -> list[bytes]:
    """Mutated inputs under 256 KB (larger uploads are spooled to temporary files by the test client)."""
    rng = random.Random(seed)
    out: list[bytes] = []
    while len(out) < count:
        data = m.seeds()[rng.choice(SEED_NAMES)]
        mutated = m.mutate(data, m.random_ops(rng, data, rng.randint(1, 3)))
        if len(mutated) < 256 * 1024:
            out.append(mutated)
    return out


WEB_SAMPLES = _samples(8, 2026)


@pytest.mark.parametrize("index", range(len(WEB_SAMPLES)))
def test_web_upload_of_a_mutated_file_answers_with_a_page_not_a_traceback(
    app, client, logged_in, session, tmp_path, monkeypatch, index
):
    monkeypatch.setitem(app.config, "IMPORT_DIR", str(tmp_path / "imports"))
    monkeypatch.setitem(app.config, "IMPORT_INLINE", True)
    logged_in("cataloguer")
    client.get("/lang/en")
    before = harness.table_counts(session)
    response = post_form(
        client,
        "/catalog/import",
        {
            "file": (io.BytesIO(WEB_SAMPLES[index]), "fuzz.mrc"),
            "format": "auto",
            "encoding": "auto",
            "on_duplicate": "skip",
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    url = response.headers["Location"]
    token = url.rsplit("/", 1)[1]
    job = json.loads((tmp_path / "imports" / token / "job.json").read_text())
    assert job["status"] in ("staged", "failed") and job.get("error_kind") != "internal", job
    page = client.get(url)
    assert page.status_code == 200 and "Traceback" not in page.get_data(as_text=True)
    status = re.search(r'data-status="(\w+)"', page.get_data(as_text=True)).group(1)
    session.rollback()
    assert harness.table_counts(session)["records"] == before["records"]  # staged only
    if status == "failed":
        assert "The file cannot be read" in page.get_data(as_text=True)
        return
    committed = post_form(client, url + "/commit", {}, page=url)
    assert committed.status_code == 302
    job = json.loads((tmp_path / "imports" / token / "job.json").read_text())
    assert job["status"] == "done" and not job.get("commit_error"), job
    result = job["result"]
    assert (
        result["read"]
        == result["new"] + result["duplicates"] + result["rejected"] + result["not_bibliographic"]
    )
    session.rollback()
    after = harness.table_counts(session)
    assert after["records"] - before["records"] == result["created"]
    assert client.get(url).status_code == 200


CLI_SAMPLES = _samples(6, 1975)


@pytest.mark.parametrize("index", range(len(CLI_SAMPLES)))
def test_cli_import_of_a_mutated_file_exits_0_or_1_with_one_line(runner, session, tmp_path, index):
    path = tmp_path / "fuzz.mrc"
    path.write_bytes(CLI_SAMPLES[index])
    before = harness.table_counts(session)
    session.rollback()
    result = runner.invoke(args=["catalog", "import", "--json", str(path)])
    assert result.exit_code in (0, 1), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    report = json.loads(result.stdout)
    after = harness.table_counts(session)
    if result.exit_code == 1:
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: ")
        assert after == before
    else:
        assert (
            report["read"]
            == report["new"] + report["duplicates"] + report["rejected"] + report["not_bibliographic"]
        )
        assert after["records"] - before["records"] == report["created"]


# --- the crashes fuzzing found, kept as plain regression tests --------------------------------------


def test_deeply_nested_json_is_a_file_error_not_a_recursion_error(session):
    data = b"[" + b"[" * 100_000 + b"]" * 100_000 + b"]"
    outcome = harness.stage_then_commit(session, data)
    assert outcome.status == "file_error" and "nested too deeply" in outcome.error


def test_a_controlfield_without_tag_next_to_another_problem_rejects_the_record(session):
    data = (
        b'<collection xmlns="http://www.loc.gov/MARC21/slim"><record><leader>short</leader>'
        b"<controlfield>no tag</controlfield>"
        b'<datafield tag="245" ind1="1" ind2="0"><subfield code="a">T</subfield></datafield>'
        b"</record></collection>"
    )
    outcome = harness.stage_then_commit(session, data)
    assert outcome.status == "imported" and outcome.report.rejected == 1 and outcome.report.created == 0
    assert "controlfield" in outcome.report.rejections[0].reason
