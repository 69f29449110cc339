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


# --- the fast sort_key_str against the implementation it replaced -------------------

_OLD_TONES = {"\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}
_OLD_RANK = {ch: i for i, ch in enumerate("aăâbcdđeêfghijklmnoôơpqrstuưvwxyz")}


def _old_sort_key_str(text):
    """sort_key_str as it was: one character at a time, by decomposition."""
    letters, tones = [], []
    for ch in nfc(text).casefold():
        tone, kept = 0, []
        for part in unicodedata.normalize("NFD", ch):
            if part in _OLD_TONES:
                tone = _OLD_TONES[part]
            else:
                kept.append(part)
        base = unicodedata.normalize("NFC", "".join(kept))
        rank = _OLD_RANK.get(base)
        letters.append(rank if rank is not None else 1000 + ord(base[0]) if base else 0)
        tones.append(tone)
    return "".join(f"{n:04x}" for n in letters) + " " + "".join(str(t) for t in tones)


_ODD_STRINGS = [
    "",
    None,
    " ",
    "Đường Sơn La",
    "ĐẶNG THỊ Ả",
    "Nguyễn Du. Truyện Kiều / Nguyễn Du ; Đào Duy Anh khảo đính",
    "Ch" + "e\u0301\u0302",  # tone before the circumflex
    "m" + "o\u0302\u0323" + "t",
    "Vie\u0323\u0302t Nam",
    "Nha \u0300xuất bản",  # a mark after a space
    "\u0300\u0301 leading marks",
    "a\u0300\u0300\u0300 repeated marks",
    "ư\u031b double horn",
    "NGƯỜI ĐÀN BÀ ĐI TRÊN BIỂN",
    "Tiếng Việt: ắằẳẵặ ấầẩẫậ ếềểễệ ốồổỗộ ớờởỡợ ứừửữự ỳýỷỹỵ",
    "TIẾNG VIỆT: ẮẰẲẴẶ ẤẦẨẪẬ ẾỀỂỄỆ ỐỒỔỖỘ ỚỜỞỠỢ ỨỪỬỮỰ ỲÝỶỸỴ",
    unicodedata.normalize("NFD", "Hồ Chí Minh toàn tập, tập 12"),
    "Straße ẞ ß",
    "İstanbul ı I",
    "Ωmega Ω Å K",  # singleton decompositions (ohm, angstrom, kelvin signs)
    "ﬁnancial ﬀ",  # ligatures that casefold into two letters
    "Ἀθῆναι ᾳ ᾼ",
    "Москва Ёж",
    "中文書名 한국어 제목 にほんご",
    "\U0001d400\U0001d41a 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 😀",
    "Arabic العربية Hebrew עִבְרִית",
    "Hindi हिन्दी Thai ภาษาไทย",
    "tab\tnew\nline\x1f\x1e",
    "\ufeffBOM\u200b zero width",
    "\u0345 ypogegrammeni alone",
    "ǅ ǆ Ǆ titlecase digraphs",
    "1.234,56 — “quotes” «guillemets» № ½",
]


def _random_strings(count, seed):
    import random

    rng = random.Random(seed)
    pool = (
        list("aăâbcdđeêghiklmnoôơpqrstuưvxyAĂÂBCDĐEÊGHIKLMNOÔƠPQRSTUƯVXY .,;:-'()0123456789")
        + ["\u0300", "\u0301", "\u0303", "\u0309", "\u0323", "\u0302", "\u0306", "\u031b", "\u0304"]
        + list("ẠảẫệỏợựỹßİıΩÅKﬁǅ中한😀")
    )
    out = []
    for _ in range(count):
        text = "".join(rng.choice(pool) for _ in range(rng.randint(0, 40)))
        if rng.random() < 0.3:
            text += "".join(chr(rng.randint(0x20, 0x2FFFF)) for _ in range(rng.randint(1, 6)))
        out.append(text.encode("utf-8", "replace").decode("utf-8", "replace"))  # no lone surrogates
    return out


def test_sort_key_str_gives_what_the_old_implementation_gave():
    texts = _ODD_STRINGS + _random_strings(3000, 1)
    for text in texts:
        assert sort_key_str(text) == _old_sort_key_str(text), repr(text)
    # the tables remember characters: a second pass over the same strings gives the same again
    for text in texts[:200]:
        assert sort_key_str(text) == _old_sort_key_str(text), repr(text)


def test_sort_key_str_on_every_character_of_the_first_planes():
    chars = [chr(cp) for cp in range(0x20000) if not 0xD800 <= cp < 0xE000]
    for start in range(0, len(chars), 4000):
        text = "".join(chars[start : start + 4000])
        assert sort_key_str(text) == _old_sort_key_str(text)
    for cp in range(0, 0x20000, 997):
        if not 0xD800 <= cp < 0xE000:
            assert sort_key_str(chr(cp)) == _old_sort_key_str(chr(cp))
