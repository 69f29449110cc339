"""Legacy Vietnamese 8-bit encodings (TCVN3/ABC and VNI-Windows) converted to and from Unicode."""

from __future__ import annotations

import re
import unicodedata

# Vowel bases in the order of the tables below, and the tone marks in dictionary order:
# none, huyền (grave), hỏi (hook), ngã (tilde), sắc (acute), nặng (dot below).
_BASES = ("a", "ă", "â", "e", "ê", "i", "o", "ô", "ơ", "u", "ư", "y")
_TONE_MARKS = ("", "\u0300", "\u0309", "\u0303", "\u0301", "\u0323")


def _toned(base: str, tone: int) -> str:
    """Return the precomposed (NFC) letter for `base` with tone number `tone` (0-5)."""
    return unicodedata.normalize("NFC", base + _TONE_MARKS[tone])


# --- TCVN3 (TCVN 5712:1993 VN3, the "ABC" fonts such as .VnTime) ---------------------------
# One byte per letter. Toned capitals do not exist in VN3: they were typed as the lowercase
# byte and shown with a capitals-only font (.VnTimeH), so the case cannot be recovered.
_TCVN3_ROWS = {
    "a": (0x61, 0xB5, 0xB6, 0xB7, 0xB8, 0xB9),
    "ă": (0xA8, 0xBB, 0xBC, 0xBD, 0xBE, 0xC6),
    "â": (0xA9, 0xC7, 0xC8, 0xC9, 0xCA, 0xCB),
    "e": (0x65, 0xCC, 0xCE, 0xCF, 0xD0, 0xD1),
    "ê": (0xAA, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6),
    "i": (0x69, 0xD7, 0xD8, 0xDC, 0xDD, 0xDE),
    "o": (0x6F, 0xDF, 0xE1, 0xE2, 0xE3, 0xE4),
    "ô": (0xAB, 0xE5, 0xE6, 0xE7, 0xE8, 0xE9),
    "ơ": (0xAC, 0xEA, 0xEB, 0xEC, 0xED, 0xEE),
    "u": (0x75, 0xEF, 0xF1, 0xF2, 0xF3, 0xF4),
    "ư": (0xAD, 0xF5, 0xF6, 0xF7, 0xF8, 0xF9),
    "y": (0x79, 0xFA, 0xFB, 0xFC, 0xFD, 0xFE),
}
_TCVN3_EXTRA = {0xAE: "đ", 0xA1: "Ă", 0xA2: "Â", 0xA3: "Ê", 0xA4: "Ô", 0xA5: "Ơ", 0xA6: "Ư", 0xA7: "Đ"}

TCVN3_DECODE: dict[int, str] = dict(_TCVN3_EXTRA)
for _base, _row in _TCVN3_ROWS.items():
    for _tone, _byte in enumerate(_row):
        if _byte >= 0x80:
            TCVN3_DECODE[_byte] = _toned(_base, _tone)

_TCVN3_ENCODE: dict[str, int] = {ch: b for b, ch in TCVN3_DECODE.items()}
for _ch, _b in list(_TCVN3_ENCODE.items()):
    # Toned capitals share the lowercase byte (see above); plain capitals A-Z are ASCII.
    _upper = _ch.upper()
    if _upper not in _TCVN3_ENCODE:
        _TCVN3_ENCODE[_upper] = _b


def _cp1252_char(byte: int) -> str:
    """Return the character Windows-1252 shows for `byte` (Latin-1 where 1252 has none)."""
    try:
        return bytes([byte]).decode("cp1252")
    except UnicodeDecodeError:
        return chr(byte)


# Legacy text may arrive as bytes or as a string that was read as Latin-1 or Windows-1252,
# so every byte is known under both spellings.
_TCVN3_TRANSLATE: dict[int, str] = {}
for _b, _ch in TCVN3_DECODE.items():
    _TCVN3_TRANSLATE[_b] = _ch
    _TCVN3_TRANSLATE[ord(_cp1252_char(_b))] = _ch


# --- VNI-Windows ----------------------------------------------------------------------------
# A vowel is an ASCII base letter followed by one modifier byte (tone, or circumflex/breve with
# its tone); ơ, ư, đ, the toned i's and ỵ are single bytes. Bytes are given as Windows-1252
# characters, which is how the text looks without a VNI font.
_VNI_TONES_LOWER = ("", "ø", "û", "õ", "ù", "ï")
_VNI_TONES_UPPER = ("", "Ø", "Û", "Õ", "Ù", "Ï")
_VNI_CIRC_LOWER = ("â", "à", "å", "ã", "á", "ä")
_VNI_CIRC_UPPER = ("Â", "À", "Å", "Ã", "Á", "Ä")
_VNI_BREVE_LOWER = ("ê", "è", "ú", "ü", "é", "ë")
_VNI_BREVE_UPPER = ("Ê", "È", "Ú", "Ü", "É", "Ë")
_VNI_SINGLE = {
    "ñ": "đ",
    "Ñ": "Đ",
    "ô": "ơ",
    "Ô": "Ơ",
    "ö": "ư",
    "Ö": "Ư",
    "ì": "ì",
    "Ì": "Ì",
    "æ": "ỉ",
    "Æ": "Ỉ",
    "ó": "ĩ",
    "Ó": "Ĩ",
    "í": "í",
    "Í": "Í",
    "ò": "ị",
    "Ò": "Ị",
    "î": "ỵ",
    "Î": "Ỵ",
}
# The letter each single byte stands for when a tone byte follows it (ơ and ư take tones).
_VNI_TONED_SINGLES = {"ô": "ơ", "Ô": "Ơ", "ö": "ư", "Ö": "Ư"}


def _build_vni() -> tuple[dict[str, str], dict[str, str]]:
    """Build the VNI token→Unicode decode table and the Unicode→token encode table."""
    decode: dict[str, str] = {}
    encode: dict[str, str] = {}

    def add(token: str, letter: str, canonical: bool) -> None:
        decode.setdefault(token, letter)
        if canonical:
            encode.setdefault(letter, token)

    # Single bytes first, so that ỵ encodes as the usual î (decoding "y" + dot below also works).
    for token, letter in _VNI_SINGLE.items():
        add(token, letter, canonical=True)
    tone_sets = ((_VNI_TONES_LOWER, True), (_VNI_TONES_UPPER, False))
    for base in "aeouyAEOUY":
        upper = base.isupper()
        for tones, is_lower_set in tone_sets:
            for tone in range(1, 6):
                add(base + tones[tone], _toned(base, tone), canonical=(is_lower_set != upper))
    for base in "aeoAEO":
        upper = base.isupper()
        for circ, is_lower_set in ((_VNI_CIRC_LOWER, True), (_VNI_CIRC_UPPER, False)):
            for tone in range(6):
                letter = _toned(unicodedata.normalize("NFC", base + "\u0302"), tone)
                add(base + circ[tone], letter, canonical=(is_lower_set != upper))
    for base in "aA":
        upper = base.isupper()
        for breve, is_lower_set in ((_VNI_BREVE_LOWER, True), (_VNI_BREVE_UPPER, False)):
            for tone in range(6):
                letter = _toned(unicodedata.normalize("NFC", base + "\u0306"), tone)
                add(base + breve[tone], letter, canonical=(is_lower_set != upper))
    for single, horned in _VNI_TONED_SINGLES.items():
        upper = single.isupper()
        for tones, is_lower_set in tone_sets:
            for tone in range(1, 6):
                add(single + tones[tone], _toned(horned, tone), canonical=(is_lower_set != upper))
    return decode, encode


VNI_DECODE, _VNI_ENCODE = _build_vni()
_VNI_PATTERN = re.compile("|".join(re.escape(t) for t in sorted(VNI_DECODE, key=lambda t: (-len(t), t))))
_VNI_MODIFIERS = frozenset(
    _VNI_TONES_LOWER[1:]
    + _VNI_TONES_UPPER[1:]
    + _VNI_CIRC_LOWER
    + _VNI_CIRC_UPPER
    + _VNI_BREVE_LOWER
    + _VNI_BREVE_UPPER
)
_VNI_BASES = frozenset("aeouyAEOUY") | frozenset(_VNI_TONED_SINGLES)


def _as_text(data: bytes | str) -> str:
    """Return legacy `data` as a string with one character per byte (bytes read as Latin-1)."""
    if isinstance(data, bytes | bytearray):
        return bytes(data).decode("latin-1")
    return data


def _latin_view(text: str) -> str:
    """Map Windows-1252 characters (€, Œ, …) back to the Latin-1 character of the same byte."""
    if text.isascii():
        return text
    return text.translate(_CP1252_TO_LATIN1)


_CP1252_TO_LATIN1 = {ord(_cp1252_char(b)): chr(b) for b in range(0x80, 0xA0) if _cp1252_char(b) != chr(b)}


def tcvn3_to_unicode(data: bytes | str) -> str:
    """Convert TCVN3 (ABC) text, as bytes or as a Latin-1/Windows-1252 string, to NFC Unicode."""
    return _as_text(data).translate(_TCVN3_TRANSLATE)


def vni_to_unicode(data: bytes | str) -> str:
    """Convert VNI-Windows text, as bytes or as a Latin-1/Windows-1252 string, to NFC Unicode."""
    text = _latin_view(_as_text(data))
    return _VNI_PATTERN.sub(lambda m: VNI_DECODE[m.group()], text)


def unicode_to_tcvn3(text: str, errors: str = "strict") -> bytes:
    """Encode Unicode `text` as TCVN3 bytes (toned capitals become the lowercase byte)."""
    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        code = ord(ch)
        if code < 0x80:
            out.append(code)
        elif ch in _TCVN3_ENCODE:
            out.append(_TCVN3_ENCODE[ch])
        elif errors == "replace":
            out.append(0x3F)
        else:
            raise ValueError(f"character {ch!r} (U+{code:04X}) has no TCVN3 encoding")
    return bytes(out)


def unicode_to_vni(text: str, errors: str = "strict") -> bytes:
    """Encode Unicode `text` as VNI-Windows bytes."""
    out: list[str] = []
    for ch in unicodedata.normalize("NFC", text):
        if ord(ch) < 0x80:
            out.append(ch)
        elif ch in _VNI_ENCODE:
            out.append(_VNI_ENCODE[ch])
        elif errors == "replace":
            out.append("?")
        else:
            raise ValueError(f"character {ch!r} (U+{ord(ch):04X}) has no VNI encoding")
    return "".join(out).encode("cp1252")


def _high_positions(text: str) -> list[int]:
    """Return the positions of the non-ASCII characters in `text`."""
    return [i for i, ch in enumerate(text) if ord(ch) >= 0x80]


def _vni_score(text: str) -> tuple[int, int, int]:
    """Return (non-ASCII chars, those explained by VNI, those that are modifiers after a base)."""
    high = _high_positions(text)
    explained = modifiers = 0
    for i in high:
        ch = text[i]
        if ch in _VNI_MODIFIERS and i > 0 and text[i - 1] in _VNI_BASES:
            explained += 1
            modifiers += 1
        elif ch in _VNI_SINGLE:
            explained += 1
    return len(high), explained, modifiers


def looks_like_vni(data: bytes | str) -> bool:
    """Guess whether `data` is Vietnamese in VNI-Windows (modifier bytes following vowels)."""
    text = _latin_view(_as_text(data))
    total, explained, modifiers = _vni_score(text)
    return total > 0 and modifiers > 0 and explained >= 0.95 * total


def looks_like_tcvn3(data: bytes | str) -> bool:
    """Guess whether `data` is Vietnamese in TCVN3 (ABC): every non-ASCII byte a TCVN3 letter."""
    text = _as_text(data)
    high = [ch for ch in text if ord(ch) >= 0x80]
    if not high:
        return False
    known = sum(1 for ch in high if ord(ch) in _TCVN3_TRANSLATE)
    return known >= 0.95 * len(high) and not looks_like_vni(text)


def detect_legacy(data: bytes | str) -> str | None:
    """Return "vni" or "tcvn3" when `data` looks like that legacy encoding, else None."""
    if looks_like_vni(data):
        return "vni"
    if looks_like_tcvn3(data):
        return "tcvn3"
    return None
