"""Vietnamese text helpers: NFC normalisation, diacritic folding and Vietnamese collation keys."""

from __future__ import annotations

import re
import unicodedata

_D_MAP = str.maketrans({"đ": "d", "Đ": "D"})

# Vietnamese alphabet order; letters not listed sort after, by code point.
_ALPHABET = "aăâbcdđeêfghijklmnoôơpqrstuưvwxyz"
_LETTER_RANK = {ch: i for i, ch in enumerate(_ALPHABET)}
# Tone order used by Vietnamese dictionaries: none, huyền, hỏi, ngã, sắc, nặng.
_TONES = {"\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}
# Marks that make a new letter (ă â ê ô ơ ư) rather than a tone.
_LETTER_MARKS = {"\u0306", "\u0302", "\u031b"}


# Real records put a tone mark before the circumflex/breve/horn ("Chế" as e + U+0301 + U+0302):
# both marks have the same combining class, so NFC keeps that order and cannot compose "ế".
# Some also carry a mark after a space ("Nha ̀xuất bản"). Both are repaired before NFC.
_MARK_TROUBLE = re.compile("[\u0300-\u036f]{2,}| [\u0300-\u036f]")
_MARK_RUN = re.compile("[\u0300-\u036f]{2,}")
_MARK_AFTER_SPACE = re.compile("(?<=\\w) ([\u0300-\u036f]+)")
_LETTER_FORMING = frozenset("\u0302\u0306\u031b")


def _reorder_marks(match: re.Match[str]) -> str:
    """Put letter-forming marks before tone marks in a run of combining marks."""
    return "".join(sorted(match.group(), key=lambda ch: ch not in _LETTER_FORMING))


def nfc(text: str | None) -> str:
    """Return `text` in NFC, with Vietnamese combining marks put in an order NFC can compose."""
    if not text:
        return ""
    if text.isascii():
        return text
    if _MARK_TROUBLE.search(text) is not None:
        text = _MARK_AFTER_SPACE.sub(r"\1 ", text)
        text = _MARK_RUN.sub(_reorder_marks, text)
    return unicodedata.normalize("NFC", text)


def fold(text: str | None) -> str:
    """Return `text` lower-cased with every diacritic removed and đ mapped to d, for matching."""
    if not text:
        return ""
    if text.isascii():
        return text.casefold()
    decomposed = unicodedata.normalize("NFD", text.translate(_D_MAP))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", stripped).casefold()


def _split_letter(ch: str) -> tuple[str, int]:
    """Split one NFC character into its base letter (with ă/â/… marks kept) and its tone rank."""
    decomposed = unicodedata.normalize("NFD", ch)
    tone = 0
    kept = []
    for part in decomposed:
        if part in _TONES:
            tone = _TONES[part]
        else:
            kept.append(part)
    return unicodedata.normalize("NFC", "".join(kept)), tone


def _letter_rank(base: str) -> int:
    """The collation rank of a base letter (as `_split_letter` returns it)."""
    rank = _LETTER_RANK.get(base)
    return rank if rank is not None else 1000 + ord(base[0]) if base else 0


def sort_key(text: str | None) -> tuple:
    """Return a key that orders strings by Vietnamese collation (letters first, then tones)."""
    letters: list[int] = []
    tones: list[int] = []
    for ch in nfc(text).casefold():
        base, tone = _split_letter(ch)
        letters.append(_letter_rank(base))
        tones.append(tone)
    return (tuple(letters), tuple(tones), nfc(text))


class _SortTable(dict):
    """A str.translate table filled on first use: a character's part of `sort_key_str`.

    Part 0 is the letter rank as 4+ hex digits, part 1 the tone digit; both depend on the character
    alone (`_split_letter`), so translating a string gives what a loop over its characters gives.
    """

    def __init__(self, part: int) -> None:
        super().__init__()
        self.part = part

    def __missing__(self, code_point: int) -> str:
        base, tone = _split_letter(chr(code_point))
        value = f"{_letter_rank(base):04x}" if self.part == 0 else str(tone)
        if len(self) < _SORT_TABLE_MAX:
            self[code_point] = value
        return value


_SORT_TABLE_MAX = 50_000  # characters remembered per table; others are computed each time
_SORT_LETTERS = _SortTable(0)
_SORT_TONES = _SortTable(1)


def sort_key_str(text: str | None) -> str:
    """Return a string whose code-point order is Vietnamese collation order (for an ORDER BY column)."""
    # Fixed-width encodings keep the comparison lexicographic; letters decide before tones.
    folded = nfc(text).casefold()
    return folded.translate(_SORT_LETTERS) + " " + folded.translate(_SORT_TONES)
