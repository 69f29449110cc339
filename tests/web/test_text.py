"""Vietnamese text helpers: NFC repair, folding for search, collation for sorting."""

import unicodedata

from app.text import fold, nfc, sort_key, sort_key_str


def test_fold_maps_d_bar_and_strips_marks():
    assert fold("Đường Sơn La") == "duong son la"
    assert fold("ĐẶNG THỊ Ả") == "dang thi a"
    assert fold("plain ASCII") == "plain ascii"


def test_nfc_repairs_tone_before_circumflex_and_marks_after_spaces():
    assert nfc("Ch" + "e\u0301\u0302") == "Chế"
    assert nfc("m" + "o\u0302\u0323" + "t") == "một"
    assert nfc("Nha \u0300xuất bản") == "Nhà xuất bản"
    assert unicodedata.is_normalized("NFC", nfc("Vie\u0323\u0302t Nam"))


def test_vietnamese_collation_orders_letters_then_tones():
    words = ["mạ", "ma", "mã", "Đá", "Dê", "Ân", "An", "Ăn", "mà", "má", "mả", "Bé"]
    expected = ["An", "Ăn", "Ân", "Bé", "Dê", "Đá", "ma", "mà", "mả", "mã", "má", "mạ"]
    assert sorted(words, key=sort_key) == expected
    assert sorted(words, key=sort_key_str) == expected


def test_collation_string_keeps_prefixes_first():
    # o < ô < ơ, and a word sorts before the longer words it begins.
    assert sort_key_str("Sông Mã") < sort_key_str("Sốp Cộp") < sort_key_str("Sơn") < sort_key_str("Sơn La")
