"""The ISO 2709 export is read by Perl's MARC::Record (another independent MARC implementation)."""

import shutil
import subprocess

import pytest

from tests.catalog.test_exporting import catalogue, export_bytes  # noqa: F401 - fixture and helper

PERL = shutil.which("perl")
READ_ALL = r"""
use strict; use warnings;
use MARC::Batch;
my $batch = MARC::Batch->new('USMARC', $ARGV[0]);
$batch->strict_off();
binmode STDOUT, ':utf8';
my $n = 0;
while (my $record = $batch->next()) {
    $n++;
    print "WARN: $_\n" for $record->warnings();
    my $title = $record->field('245') ? $record->field('245')->subfield('a') : '';
    utf8::decode($title);
    print "TITLE: $title\n";
}
print "WARN: $_\n" for $batch->warnings();
print "COUNT: $n\n";
"""


def _has_marc_record() -> bool:
    return (
        PERL is not None
        and subprocess.run([PERL, "-MMARC::Batch", "-e", "1"], capture_output=True).returncode == 0
    )


@pytest.mark.skipif(
    not _has_marc_record(), reason="MARC::Record is not installed (.ci/run installs libmarc-record-perl)"
)
def test_iso2709_export_is_read_by_perl_marc_record(session, catalogue, tmp_path):  # noqa: F811
    data, _ = export_bytes(session, "iso2709")
    path = tmp_path / "export.mrc"
    path.write_bytes(data)
    result = subprocess.run([PERL, "-e", READ_ALL, str(path)], capture_output=True, check=True)
    out = result.stdout.decode("utf-8")
    assert f"COUNT: {len(catalogue)}" in out
    assert "WARN:" not in out, out[:1000]
    first_title = catalogue[0][1]["245"]["a"]
    assert f"TITLE: {first_title}" in out


@pytest.mark.skipif(
    not _has_marc_record(), reason="MARC::Record is not installed (.ci/run installs libmarc-record-perl)"
)
def test_perl_marc_record_does_warn_about_a_broken_file(tmp_path):
    """The check above can fail: MARC::Record warns about a record whose lengths are wrong."""
    from pathlib import Path

    broken = Path(__file__).resolve().parents[1] / "data/marc/file_marc/wronglen.mrc"
    result = subprocess.run([PERL, "-e", READ_ALL, str(broken)], capture_output=True, check=False)
    assert b"WARN: Invalid record length" in result.stdout
