"""The `make audit` wrapper: vulnerable → 1, PyPI unreachable → 2, nothing audited is never a pass."""

from __future__ import annotations

import urllib.error

import pytest

from tests.security import audit


@pytest.fixture
def fake(monkeypatch):
    """Replace pip-audit and the PyPI project lookup with canned answers."""
    state = {"deps": [], "latest": {}}
    monkeypatch.setattr(audit, "run_pip_audit", lambda: state["deps"])
    monkeypatch.setattr(audit.metadata, "version", lambda name: "1.0")

    def latest(name, version):
        answer = state["latest"].get(name)
        if isinstance(answer, Exception):
            raise answer
        return answer

    monkeypatch.setattr(audit, "latest_release_vulns", latest)
    return state


def test_clean_environment_passes(fake, capsys):
    fake["deps"] = [{"name": "flask", "version": "3.1.3", "vulns": []}]
    assert audit.audit() == 0
    assert "1 distributions audited by pip-audit" in capsys.readouterr().out


def test_a_vulnerability_fails(fake, capsys):
    fake["deps"] = [
        {"name": "jinja2", "version": "3.1.2", "vulns": [{"id": "GHSA-x", "fix_versions": ["3.1.3"]}]}
    ]
    assert audit.audit() == 1
    assert "jinja2 3.1.2: GHSA-x (fixed in 3.1.3)" in capsys.readouterr().err


def test_skipped_versions_fall_back_to_the_project_data(fake, capsys):
    skipped = {"skip_reason": "Dependency not found on PyPI and could not be audited"}
    fake["deps"] = [{"name": "a", **skipped}, {"name": "b", **skipped}, {"name": "tram-sach", **skipped}]
    fake["latest"] = {"a": [], "b": None}
    assert audit.audit() == 0
    out = capsys.readouterr().out
    assert "1 from the project data" in out and "NOT AUDITED" in out and "b 1.0" in out
    assert audit.audit(strict=True) == 1
    fake["latest"] = {"a": [{"id": "PYSEC-1", "fixed_in": ["2.0"]}], "b": []}
    assert audit.audit() == 1


def test_nothing_audited_is_a_failure(fake):
    fake["deps"] = [{"name": "a", "skip_reason": "not found"}]
    fake["latest"] = {"a": None}
    assert audit.audit() == 1


def test_pypi_unreachable_fails_loudly(fake, monkeypatch, capsys):
    def down():
        raise audit.Unreachable("pip-audit failed (exit 1): ConnectionError")

    monkeypatch.setattr(audit, "run_pip_audit", down)
    assert audit.audit() == 2
    assert "AUDIT FAILED" in capsys.readouterr().err


def test_project_lookup_turns_network_errors_into_unreachable(monkeypatch):
    def refuse(*_args, **_kwargs):
        raise urllib.error.URLError("connection refused")

    monkeypatch.setattr(audit.urllib.request, "urlopen", refuse)
    with pytest.raises(audit.Unreachable):
        audit.latest_release_vulns("flask", "3.1.3")
