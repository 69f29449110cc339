"""Every interface string is in the Vietnamese catalogue, translated, with matching placeholders."""

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "app/translations/vi/LC_MESSAGES/messages.po"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None, "N_": None}
METHOD_MAP = [("**.py", "python"), ("**.html", "jinja2")]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def _code_msgids() -> set[str]:
    found: set[str] = set()
    for package in ("app", "catalog", "rotation"):
        for _file, _line, message, _comments, _ctx in extract_from_dir(
            ROOT / package, METHOD_MAP, keywords=KEYWORDS
        ):
            found.add(message[0] if isinstance(message, tuple) else message)
    return found


def _catalogue():
    with PO.open("rb") as fh:
        return read_po(fh, locale="vi")


def test_every_string_in_the_code_is_translated_to_vietnamese():
    catalogue = _catalogue()
    missing = sorted(m for m in _code_msgids() if m not in catalogue or not catalogue[m].string)
    assert missing == [], f"{len(missing)} strings lack a Vietnamese translation: {missing[:20]}"


def test_no_fuzzy_or_broken_placeholders():
    for message in _catalogue():
        if not message.id:
            continue
        assert not message.fuzzy, message.id
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        expected = set(PLACEHOLDER.findall(ids[0]))
        for text in strings:
            assert set(PLACEHOLDER.findall(text)) == expected, (message.id, text)


def test_login_page_speaks_vietnamese_then_english(client):
    html = client.get("/login").get_data(as_text=True)
    assert "Đăng nhập" in html and "Mật khẩu" in html
    client.get("/lang/en")
    html = client.get("/login").get_data(as_text=True)
    assert "Sign in" in html and "Password" in html
