"""Picture files without torch: the one way every command reads (and tags) an image.

``load_image`` turns any file Pillow reads into float32 sRGB, RGB, (H, W, 3) in [0, 1]:

- the EXIF orientation is applied (JPEG, PNG, WebP and TIFF all carry it);
- an embedded ICC profile (Adobe RGB, Display P3, ProPhoto, a CMYK press profile, a grey
  gamma) is converted to sRGB with littlecms; a file without one is taken as sRGB;
- greyscale, palette and CMYK become RGB; 16-bit is scaled by 65535 (not clipped), 32-bit
  float is clipped to [0, 1]; transparency is composited on white.

``adain stylize``, ``optimize``, ``eval``, ``train`` and the torch-free ``adain.realtime``
all read pictures through here, so a picture means the same to each of them.
"""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psutil
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from .errors import AdaINError

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif", ".ppm",
                    ".pgm", ".jfif"}
WRITABLE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
_SIXTEEN_BIT_MODES = {"I;16", "I;16L", "I;16B", "I;16N", "I"}
_ICC_MODES = {"RGB": "RGB", "RGBA": "RGBA", "CMYK": "RGB", "L": "RGB", "LA": "RGBA"}
_SRGB = ImageCms.createProfile("sRGB")
_ORIENTATION, _EXIF_IFD, _PIXEL_DIMENSIONS = 0x0112, 0x8769, (0xA002, 0xA003)


# Pillow refuses pictures over MAX_IMAGE_PIXELS (89.5 MP) as possible decompression bombs.
# The limit is raised while a file is read, as far as the free memory could decode it
# (at the bytes per pixel of decoding to float), never switched off.
DECODE_BYTES_PER_PIXEL = 32
_PIL_LIMIT = Image.MAX_IMAGE_PIXELS or 89_478_485


def pixel_limit() -> int:
    """The most pixels a picture file may have to be read: Pillow's own limit, or more as
    far as the free memory could decode it."""
    return max(_PIL_LIMIT, psutil.virtual_memory().available // DECODE_BYTES_PER_PIXEL)


@contextlib.contextmanager
def read_errors(path: Path) -> Iterator[None]:
    """Turn PIL's many errors for missing, foreign, huge or broken files into one line."""
    previous = Image.MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            Image.MAX_IMAGE_PIXELS = pixel_limit()
            yield
    except FileNotFoundError as exc:
        raise AdaINError(f"{path}: no such file") from exc
    except IsADirectoryError as exc:
        raise AdaINError(f"{path} is a folder, not an image file") from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise AdaINError(f"{path}: refused, the picture is too large to decode in the free "
                         f"memory ({exc}); scale it down first, or free memory") from exc
    except UnidentifiedImageError as exc:
        raise AdaINError(f"{path}: not an image file this tool can read") from exc
    except (OSError, SyntaxError, ValueError) as exc:  # PIL's errors for broken files
        raise AdaINError(f"{path}: the image is corrupt or truncated ({exc}); "
                         "re-export or re-download it") from exc
    finally:
        Image.MAX_IMAGE_PIXELS = previous


def image_size(path: str | Path) -> tuple[int, int]:
    """(width, height) as the picture will be shown (EXIF orientation applied), from the
    file's header, without decoding the pixels."""
    path = Path(path)
    with read_errors(path), Image.open(path) as img:
        width, height = img.size
        turned = img.getexif().get(0x0112, 1) in (5, 6, 7, 8)  # 90 or 270 degrees
    return (height, width) if turned else (width, height)


def open_image(path: str | Path, draft: tuple[int, int] | None = None) -> Image.Image:
    """A picture file decoded, upright, and in sRGB (any mode; see ``pil_to_array``).

    ``draft`` (width, height) lets a JPEG decode at a reduced scale that still covers it.
    """
    path = Path(path)
    with read_errors(path), Image.open(path) as img:
        if draft:
            img.draft("RGB", draft)
        img.load()
        return to_srgb(ImageOps.exif_transpose(img), path)


def load_image(path: str | Path) -> np.ndarray:
    """Read an image file as float32 sRGB (H, W, 3) in [0, 1], or raise a one-line error."""
    return pil_to_array(open_image(path))


def to_srgb(img: Image.Image, name: str | Path = "the picture") -> Image.Image:
    """Convert ``img`` from its embedded ICC profile to sRGB; without a profile, or with an
    sRGB one, it is returned as it is (so sRGB pictures keep their exact values)."""
    icc = img.info.get("icc_profile")
    if not icc:
        return img
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    except (ImageCms.PyCMSError, OSError, TypeError) as exc:
        log.warning("%s: its colour profile is unreadable (%s); taken as sRGB", name, exc)
        return img
    if _is_srgb(ImageCms.getProfileDescription(profile)):
        return img
    mode = img.mode
    if mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    if img.mode not in _ICC_MODES:  # 16-bit and float modes: littlecms here works on 8 bits
        log.warning("%s: %s pictures are read without their colour profile", name, img.mode)
        return img
    try:
        converted = ImageCms.profileToProfile(img, profile, _SRGB, outputMode=_ICC_MODES[img.mode],
                                              renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC)
    except ImageCms.PyCMSError as exc:
        log.warning("%s: its colour profile does not apply to a %s picture (%s); taken as sRGB",
                    name, mode, exc)
        return img
    converted.info = {k: v for k, v in img.info.items() if k != "icc_profile"}
    return converted


def _is_srgb(description: str) -> bool:
    """Whether a profile's description names sRGB itself ("sRGB IEC61966-2.1", "sRGB
    built-in"), not a space that shares its primaries with another curve ("Linear sRGB")."""
    text = description.lower()
    return "srgb" in text and "linear" not in text


@functools.cache
def srgb_profile() -> bytes:
    """An sRGB ICC profile to embed in written pictures (what they are); built once."""
    return ImageCms.ImageCmsProfile(_SRGB).tobytes()


def upright_exif(path: str | Path) -> bytes:
    """A picture file's EXIF as it should travel with a picture made from it: the orientation
    1 (``load_image`` has applied it) and the pixel dimensions left out (the result has its
    own); camera, date, GPS and the rest kept. b"" when the file has none."""
    path = Path(path)
    with read_errors(path), Image.open(path) as img:
        exif = img.getexif()
        if not exif:
            return b""
        if _ORIENTATION in exif:
            exif[_ORIENTATION] = 1
        details = exif.get_ifd(_EXIF_IFD)
        for tag in _PIXEL_DIMENSIONS:
            details.pop(tag, None)
        return exif.tobytes()


def pil_to_array(img: Image.Image) -> np.ndarray:
    """Any PIL image as float32 RGB (H, W, 3) in [0, 1]; transparency composited on white."""
    if img.mode in _SIXTEEN_BIT_MODES or img.mode == "F":
        raw = np.asarray(img)
        grey = raw.astype(np.float32) / (1.0 if img.mode == "F" else 65535.0)
        alpha = np.ones_like(grey)
        if "transparency" in img.info and isinstance(img.info["transparency"], int):
            alpha = (raw != img.info["transparency"]).astype(np.float32)
        grey = np.clip(grey, 0.0, 1.0) * alpha + (1.0 - alpha)
        return np.repeat(grey[:, :, None], 3, axis=2)
    has_alpha = img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in img.info
    if has_alpha:
        rgba = np.asarray(img.convert("RGBA"), dtype=np.float32) / 255.0
        rgb, alpha = rgba[:, :, :3], rgba[:, :, 3:]
        return np.ascontiguousarray(rgb * alpha + (1.0 - alpha))
    return np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0


def resized_shape(height: int, width: int, size: int) -> tuple[int, int]:
    """(height, width) once the shorter side is ``size`` (0 keeps the shape)."""
    if size == 0 or min(height, width) == size:
        return height, width
    if height <= width:
        return size, int(size * width / height)
    return int(size * height / width), size


def find_images(root: Path) -> list[Path]:
    """Image files under a folder, recursively, in a stable order (hidden files skipped)."""
    return sorted(p for p in root.rglob("*")
                  if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
                  and not any(part.startswith(".") for part in p.relative_to(root).parts))
