"""Legacy Vietnamese encodings: full tables, round trips on real sentences, detection."""

from __future__ import annotations

import unicodedata

import pytest

from catalog.encodings import (
    TCVN3_DECODE,
    VNI_DECODE,
    detect_legacy,
    looks_like_tcvn3,
    looks_like_vni,
    tcvn3_to_unicode,
    unicode_to_tcvn3,
    unicode_to_vni,
    vni_to_unicode,
)

SENTENCES = [
    "Cộng hoà xã hội chủ nghĩa Việt Nam. Độc lập - Tự do - Hạnh phúc.",
    "Thư viện tỉnh Sơn La luân chuyển sách đến các điểm Bưu điện - Văn hóa xã.",
    "Những người khốn khổ; Truyện Kiều của Nguyễn Du; Dế Mèn phiêu lưu ký.",
    "Đường Trường Sơn, nước Mỹ, ông bà, quyển sách, ngữ pháp tiếng Việt, kỹ thuật.",
    "Sổ đăng ký cá biệt: số hiệu, ngày vào sổ, tác giả và tên sách, giá tiền, ghi chú.",
    "Tỉnh Yên Bái, huyện Mường La, xã Chiềng Ân, bản Mứn; thuỷ điện; lũy tre; ỷ lại; tuỳ.",
]

VOWELS = "aăâeêioôơuưy"
TONES = ["", "\u0300", "\u0309", "\u0303", "\u0301", "\u0323"]


def all_letters(upper: bool) -> list[str]:
    letters = [unicodedata.normalize("NFC", v + t) for v in VOWELS for t in TONES] + ["đ"]
    return [ch.upper() for ch in letters] if upper else letters


@pytest.mark.parametrize("sentence", SENTENCES)
def test_vni_round_trip(sentence: str) -> None:
    encoded = unicode_to_vni(sentence)
    assert encoded != sentence.encode("utf-8")
    assert vni_to_unicode(encoded) == sentence
    # The same text read by a program as Windows-1252 converts too.
    assert vni_to_unicode(encoded.decode("cp1252")) == sentence


@pytest.mark.parametrize("sentence", SENTENCES)
def test_tcvn3_round_trip(sentence: str) -> None:
    encoded = unicode_to_tcvn3(sentence)
    # TCVN3 keeps one byte per letter.
    assert len(encoded) == len(unicodedata.normalize("NFC", sentence))
    # Toned capitals do not exist in TCVN3, so compare after lower-casing them.
    assert tcvn3_to_unicode(encoded) == _tcvn3_case(sentence)


def _tcvn3_case(text: str) -> str:
    keep = set("ĂÂÊÔƠƯĐ")
    return "".join(ch if ch.isascii() or ch in keep else ch.lower() for ch in text)


def test_known_legacy_spellings() -> None:
    # How these strings look in Windows when the legacy font is missing.
    assert tcvn3_to_unicode("Céng hoµ x· héi chñ nghÜa ViÖt Nam") == "Cộng hoà xã hội chủ nghĩa Việt Nam"
    assert tcvn3_to_unicode("§éc lËp - Tù do - H¹nh phóc") == "Độc lập - Tự do - Hạnh phúc"
    assert tcvn3_to_unicode("®\xadêng") == "đường"
    assert vni_to_unicode("Coäng hoøa xaõ hoäi chuû nghóa Vieät Nam") == "Cộng hòa xã hội chủ nghĩa Việt Nam"
    assert vni_to_unicode("Ñoäc laäp - Töï do - Haïnh phuùc") == "Độc lập - Tự do - Hạnh phúc"
    assert vni_to_unicode("ñöôøng") == "đường"


def test_vni_table_covers_every_letter_in_both_cases() -> None:
    for upper in (False, True):
        for letter in all_letters(upper):
            encoded = unicode_to_vni(letter)
            assert vni_to_unicode(encoded) == letter, letter
    # Every non-ASCII Vietnamese letter, lowercase and capital: 2 x (73 - a e i o u y).
    assert len(set(VNI_DECODE.values())) == 2 * (len(all_letters(False)) - 6) == 134


def test_tcvn3_table_is_complete_and_one_to_one() -> None:
    lower = all_letters(False)
    for letter in lower:
        assert tcvn3_to_unicode(unicode_to_tcvn3(letter)) == letter
    for capital in "ĂÂÊÔƠƯĐ":
        assert tcvn3_to_unicode(unicode_to_tcvn3(capital)) == capital
    # 12 vowels x 5 tones + 6 modified vowels + đ + 7 capitals, each on its own byte.
    assert len(TCVN3_DECODE) == 12 * 5 + 6 + 1 + 7
    assert len(set(TCVN3_DECODE.values())) == len(TCVN3_DECODE)
    assert all(b >= 0xA1 for b in TCVN3_DECODE)


def test_ascii_passes_through() -> None:
    text = "ISBN 978-604-0-00000-0 (pbk.) : 25 cm; [Hanoi] $a"
    assert tcvn3_to_unicode(text.encode()) == text
    assert vni_to_unicode(text.encode()) == text
    assert detect_legacy(text.encode()) is None


def test_unencodable_characters() -> None:
    with pytest.raises(ValueError, match="no TCVN3 encoding"):
        unicode_to_tcvn3("中文")
    with pytest.raises(ValueError, match="no VNI encoding"):
        unicode_to_vni("中文")
    assert unicode_to_vni("a中", errors="replace") == b"a?"
    assert unicode_to_tcvn3("a中", errors="replace") == b"a?"


@pytest.mark.parametrize("sentence", SENTENCES)
def test_detection(sentence: str) -> None:
    vni = unicode_to_vni(sentence)
    tcvn3 = unicode_to_tcvn3(sentence)
    assert looks_like_vni(vni) and not looks_like_tcvn3(vni)
    assert looks_like_tcvn3(tcvn3) and not looks_like_vni(tcvn3)
    assert detect_legacy(vni) == "vni"
    assert detect_legacy(tcvn3) == "tcvn3"


def test_detection_rejects_other_text() -> None:
    assert detect_legacy("Société linnéenne de Bordeaux, Łódź".encode("cp1250")) is None
    assert detect_legacy("Ελληνικά".encode()) is None
    assert detect_legacy(b"") is None
