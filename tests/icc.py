"""ICC colour profiles built by hand for the tests (none can be downloaded here).

``adobe_rgb_profile`` is a matrix/TRC display profile (ICC v2) with Adobe RGB (1998)'s
D50-adapted primaries and its 563/256 gamma, the way Adobe's own profile describes the space.
``adobe_rgb_to_srgb`` converts pixel values with the same maths in numpy, independently of
littlecms, so a test can say what a correct reader must return.
"""

from __future__ import annotations

import struct

import numpy as np

D50 = (0.9642, 1.0, 0.8249)
ADOBE_RGB_D50 = {  # columns of the RGB -> XYZ (D50) matrix
    "r": (0.60974, 0.31111, 0.01947),
    "g": (0.20528, 0.62567, 0.06087),
    "b": (0.14919, 0.06322, 0.74457),
}
ADOBE_GAMMA = 563 / 256  # u8Fixed8 2.19921875, as Adobe's profile stores it
# XYZ (D50) -> linear sRGB, the sRGB matrix Bradford-adapted to D50 (Lindbloom's table).
XYZ_D50_TO_SRGB = np.array([[3.1338561, -1.6168667, -0.4906146],
                            [-0.9787684, 1.9161415, 0.0334540],
                            [0.0719453, -0.2289914, 1.4052427]])


def _s15fixed16(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _xyz(values: tuple[float, float, float]) -> bytes:
    return b"XYZ " + bytes(4) + b"".join(map(_s15fixed16, values))


def _curve(gamma_u8fixed8: int) -> bytes:
    return b"curv" + bytes(4) + struct.pack(">IH", 1, gamma_u8fixed8) + bytes(2)


def _description(text: str) -> bytes:
    ascii_text = text.encode("ascii") + b"\0"
    return (b"desc" + bytes(4) + struct.pack(">I", len(ascii_text)) + ascii_text
            + struct.pack(">II", 0, 0) + struct.pack(">HB", 0, 0) + bytes(67))


def _text(text: str) -> bytes:
    return b"text" + bytes(4) + text.encode("ascii") + b"\0"


def _pad(data: bytes) -> bytes:
    return data + bytes(-len(data) % 4)


def rgb_profile(description: str, primaries: dict[str, tuple[float, float, float]],
                gamma_u8fixed8: int) -> bytes:
    """An ICC v2 'mntr' RGB profile with an XYZ PCS, D50 white, one gamma for all channels."""
    curve = _curve(gamma_u8fixed8)
    tags = [(b"desc", _description(description)), (b"wtpt", _xyz(D50)),
            (b"rXYZ", _xyz(primaries["r"])), (b"gXYZ", _xyz(primaries["g"])),
            (b"bXYZ", _xyz(primaries["b"])), (b"rTRC", curve), (b"gTRC", curve),
            (b"bTRC", curve), (b"cprt", _text("No copyright, test data"))]
    offset = 128 + 4 + 12 * len(tags)
    table, data = [], b""
    for signature, body in tags:
        table.append(struct.pack(">4sII", signature, offset + len(data), len(body)))
        data += _pad(body)
    size = offset + len(data)
    header = (struct.pack(">I4sI", size, bytes(4), 0x02100000) + b"mntr" + b"RGB " + b"XYZ "
              + struct.pack(">6H", 2026, 1, 1, 0, 0, 0) + b"acsp" + bytes(4 * 4) + bytes(8)
              + struct.pack(">I", 0) + b"".join(map(_s15fixed16, D50)) + bytes(4) + bytes(44))
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + b"".join(table) + data


def adobe_rgb_profile() -> bytes:
    """Adobe RGB (1998) as an ICC v2 matrix/TRC profile."""
    return rgb_profile("Adobe RGB (1998) test profile", ADOBE_RGB_D50, 563)


def adobe_rgb_to_srgb(rgb: tuple[int, int, int]) -> np.ndarray:
    """8-bit Adobe RGB -> sRGB (float, 0-255, clipped): decode, to XYZ D50, to sRGB, encode."""
    linear = (np.asarray(rgb, dtype=np.float64) / 255.0) ** ADOBE_GAMMA
    matrix = np.array([ADOBE_RGB_D50[c] for c in "rgb"]).T  # (3, 3): XYZ = matrix @ rgb
    srgb = np.clip(XYZ_D50_TO_SRGB @ matrix @ linear, 0.0, 1.0)
    encoded = np.where(srgb <= 0.0031308, 12.92 * srgb, 1.055 * srgb ** (1 / 2.4) - 0.055)
    return encoded * 255.0
