"""The engine's faster QR encoding gives exactly the matrix the qrcode library makes.

Both modes: the fixed mask the labels use (`QR_MASK`, compared with qrcode told to use that mask) and
the penalty-based mask choice (`mask=None`, compared with qrcode's automatic choice). The rectangles
a QR code is drawn with cover exactly its dark modules.
"""

from __future__ import annotations

import random

import pytest
import qrcode
from qrcode.constants import ERROR_CORRECT_H, ERROR_CORRECT_L, ERROR_CORRECT_M, ERROR_CORRECT_Q

from app.labels.engine import QR_MASK, qr_matrix, qr_rectangles

LEVELS = {"L": ERROR_CORRECT_L, "M": ERROR_CORRECT_M, "Q": ERROR_CORRECT_Q, "H": ERROR_CORRECT_H}


def reference(data: str, level: str, mask: int | None = None) -> list[list[bool]]:
    code = qrcode.QRCode(error_correction=LEVELS[level], border=4, box_size=1, mask_pattern=mask)
    code.add_data(data)
    code.make(fit=True)
    return code.get_matrix()


def samples() -> list[tuple[str, str]]:
    rng = random.Random(20261127)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-./:?=&ạệồữ "
    cases = [
        ("https://thuvien.sonla.gov.vn/tramsach/b/LC-2026-001", "M"),
        ("VN.000123", "M"),
        ("HTTPS://EXAMPLE.VN/C/VN.000123", "Q"),
        ("1234567890", "L"),
        ("Truyện Kiều – Nguyễn Du", "H"),
        ("x" * 1200, "L"),  # version 26+: several block sizes, the version number blocks
    ]
    for index in range(140):
        length = rng.choice([1, 3, 8, 20, 40, 70, 120, 200])
        text = "".join(rng.choice(alphabet) for _ in range(length))
        cases.append((text, "LMQH"[index % 4]))
    return cases


@pytest.mark.parametrize(("data", "level"), samples())
def test_same_matrix_as_the_qrcode_library(data, level):
    assert qr_matrix(data, level, mask=None) == reference(data, level)
    assert qr_matrix(data, level) == reference(data, level, QR_MASK)


def test_every_mask_matches_the_qrcode_library():
    data = "https://thuvien.sonla.gov.vn/c/VN.00042"
    for mask in range(8):
        assert qr_matrix(data, "M", mask=mask) == reference(data, "M", mask)


@pytest.mark.parametrize(("data", "level"), samples()[:12])
def test_rectangles_cover_exactly_the_dark_modules(data, level):
    matrix = qr_matrix(data, level)
    covered = [[0] * len(matrix) for _ in matrix]
    for x, y, width, height in qr_rectangles(matrix):
        for row in range(y, y + height):
            for column in range(x, x + width):
                covered[row][column] += 1
    assert covered == [[int(cell) for cell in row] for row in matrix]
    assert len(qr_rectangles(matrix)) < sum(
        1 for row in matrix for i, c in enumerate(row) if c and (i == 0 or not row[i - 1])
    )
