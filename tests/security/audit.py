"""The dependency audit behind `make audit`: pip-audit with PyPI's vulnerability data, never silent.

1. `pip-audit -s pypi` audits every installed distribution of the virtual environment against the
   vulnerability data PyPI publishes (OSV is not reachable from the build machines; pypi.org is).
2. A distribution pip-audit could not look up (some PyPI mirrors answer 404 on the per-version JSON
   endpoint it uses) is looked up on the project endpoint, whose `vulnerabilities` list describes the
   project's latest release: when the installed version is that release, it is audited from there.
3. Whatever still could not be audited is listed by name; `--strict` makes that an error.

Exit status: 0 clean, 1 vulnerable (or unaudited with --strict), 2 PyPI unreachable. Accepted risks
are listed in IGNORED with the reason, and passed to pip-audit as --ignore-vuln.

Run: `make audit`, or `.venv/bin/python -m tests.security.audit [--strict]`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import urllib.error
import urllib.request
from importlib import metadata
from pathlib import Path

PYPI = "https://pypi.org/pypi/{name}/json"
# Accepted risks: vulnerability id → why it does not apply to Trạm Sách (none today).
IGNORED: dict[str, str] = {}
PROJECT = "tram-sach"


class Unreachable(RuntimeError):
    """PyPI could not be asked: the audit proves nothing and must fail."""


def run_pip_audit() -> list[dict]:
    """Run pip-audit on the environment; return its dependency list (raise Unreachable on failure)."""
    pip_audit = Path(sys.executable).with_name("pip-audit")
    command = [
        str(pip_audit),
        "-s",
        "pypi",
        "--skip-editable",
        "--progress-spinner",
        "off",
        "--format",
        "json",
    ]
    for vuln_id in IGNORED:
        command += ["--ignore-vuln", vuln_id]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        tail = "\n".join(result.stderr.strip().splitlines()[-5:])
        raise Unreachable(f"pip-audit failed (exit {result.returncode}):\n{tail}") from None
    return report["dependencies"]


def latest_release_vulns(name: str, version: str) -> list[dict] | None:
    """Return PyPI's vulnerabilities of `name` when `version` is its latest release, else None."""
    try:
        with urllib.request.urlopen(PYPI.format(name=name), timeout=30) as response:  # noqa: S310 - fixed https URL
            data = json.load(response)
    except urllib.error.HTTPError as err:
        if err.code == 404:
            return None
        raise Unreachable(f"PyPI answered {err.code} for {name}") from err
    except (urllib.error.URLError, TimeoutError, OSError) as err:
        raise Unreachable(f"PyPI cannot be reached: {err}") from err
    if data.get("info", {}).get("version") != version:
        return None
    return [
        v for v in data.get("vulnerabilities") or [] if v.get("id") not in IGNORED and not v.get("withdrawn")
    ]


def audit(strict: bool = False) -> int:
    """Run the audit, print the report, return the exit status."""
    try:
        dependencies = run_pip_audit()
        vulnerable: list[str] = []
        by_pip_audit = by_project = 0
        unaudited: list[str] = []
        for dep in dependencies:
            name = dep["name"]
            if dep.get("skip_reason"):
                if name == PROJECT:
                    continue
                version = metadata.version(name)
                vulns = latest_release_vulns(name, version)
                if vulns is None:
                    unaudited.append(f"{name} {version}")
                    continue
                by_project += 1
                vulnerable += [
                    f"{name} {version}: {v['id']} (fixed in {', '.join(v.get('fixed_in') or ['?'])})"
                    for v in vulns
                ]
            else:
                by_pip_audit += 1
                for v in dep.get("vulns", []):
                    fixed = ", ".join(v.get("fix_versions") or ["?"])
                    vulnerable.append(f"{name} {dep['version']}: {v['id']} (fixed in {fixed})")
    except Unreachable as err:
        print(f"AUDIT FAILED: {err}", file=sys.stderr)
        return 2
    print(
        f"dependency audit (PyPI vulnerability data): {by_pip_audit} distributions audited by pip-audit, "
        f"{by_project} from the project data of their latest release, {len(unaudited)} not audited"
    )
    for vuln_id, reason in IGNORED.items():
        print(f"  accepted risk {vuln_id}: {reason}")
    if unaudited:
        print("  NOT AUDITED (PyPI has no data for these exact versions): " + ", ".join(sorted(unaudited)))
    for line in vulnerable:
        print(f"  VULNERABLE {line}", file=sys.stderr)
    if vulnerable:
        return 1
    if strict and unaudited:
        print("AUDIT FAILED: --strict and some distributions could not be audited", file=sys.stderr)
        return 1
    if by_pip_audit + by_project == 0:
        print("AUDIT FAILED: nothing could be audited", file=sys.stderr)
        return 1
    print("no known vulnerabilities")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strict", action="store_true", help="fail when a distribution cannot be audited")
    return audit(strict=parser.parse_args(argv).strict)


if __name__ == "__main__":
    raise SystemExit(main())
