"""Image I/O: any picture file in, RGB float tensors in [0, 1] out, and back to files.

Loading applies the EXIF orientation and turns every mode into RGB: greyscale, palette,
CMYK, 16-bit (scaled by 65535, not clipped) and 32-bit float; transparency is composited
on white. Resizing is bilinear with antialiasing (as PIL's, which the published tools
used). Saving rounds like torchvision's ``save_image`` and writes atomically.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps, UnidentifiedImageError
from torch import Tensor

from .atomic import atomic_path
from .errors import AdaINError

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif", ".ppm",
                    ".pgm", ".jfif"}
WRITABLE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
_SIXTEEN_BIT_MODES = {"I;16", "I;16L", "I;16B", "I;16N", "I"}


@contextlib.contextmanager
def read_errors(path: Path) -> Iterator[None]:
    """Turn PIL's many errors for missing, foreign, huge or broken files into one line."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    except FileNotFoundError as exc:
        raise AdaINError(f"{path}: no such file") from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise AdaINError(f"{path}: refused, the picture is too large to decode safely "
                         f"({exc}); scale it down first") from exc
    except UnidentifiedImageError as exc:
        raise AdaINError(f"{path}: not an image file this tool can read") from exc
    except (OSError, SyntaxError, ValueError) as exc:  # PIL's errors for broken files
        raise AdaINError(f"{path}: the image is corrupt or truncated ({exc}); "
                         "re-export or re-download it") from exc


def image_size(path: str | Path) -> tuple[int, int]:
    """(width, height) from the file's header, without decoding the pixels."""
    path = Path(path)
    with read_errors(path), Image.open(path) as img:
        return img.size


def load_image(path: str | Path) -> np.ndarray:
    """Read an image file as float32 RGB (H, W, 3) in [0, 1], or raise a one-line error."""
    path = Path(path)
    with read_errors(path), Image.open(path) as img:
        img.load()
        return pil_to_array(ImageOps.exif_transpose(img))


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


def array_to_tensor(array: np.ndarray) -> Tensor:
    """(H, W, 3) RGB, uint8 or float in [0, 1], as a (1, 3, H, W) float32 tensor."""
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    if array.ndim != 3 or array.shape[2] not in (3, 4):
        raise AdaINError(f"expected an RGB array of shape (H, W, 3), got {array.shape}")
    if array.dtype == np.uint8:
        array = array.astype(np.float32) / 255.0
    elif array.dtype == np.uint16:
        array = array.astype(np.float32) / 65535.0
    if array.shape[2] == 4:
        array = array[:, :, :3] * array[:, :, 3:] + (1.0 - array[:, :, 3:])
    return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32)).permute(2, 0, 1)[None]


# Host bytes per pixel while decoding: PIL's buffer, the float32 array, the tensor.
DECODE_BYTES_PER_PIXEL = 32


def resized_shape(height: int, width: int, size: int) -> tuple[int, int]:
    """(height, width) once the shorter side is ``size`` (0 keeps the shape)."""
    if size == 0 or min(height, width) == size:
        return height, width
    if height <= width:
        return size, int(size * width / height)
    return int(size * height / width), size


def resize_shorter(image: Tensor, size: int) -> Tensor:
    """Resize (B, 3, H, W) so that its shorter side is ``size``; 0 keeps it as it is."""
    shape = resized_shape(*image.shape[-2:], size)
    if shape == tuple(image.shape[-2:]):
        return image
    out = F.interpolate(image, size=shape, mode="bilinear", antialias=True, align_corners=False)
    return out.clamp_(0.0, 1.0)


def center_crop(image: Tensor, size: int) -> Tensor:
    """The central ``size`` x ``size`` square of (B, 3, H, W) (the whole image if smaller)."""
    h, w = image.shape[-2:]
    top, left = max((h - size) // 2, 0), max((w - size) // 2, 0)
    return image[..., top:top + size, left:left + size]


def tensor_to_uint8(image: Tensor) -> np.ndarray:
    """(1, 3, H, W) float -> (H, W, 3) uint8, clamped and rounded like ``save_image``."""
    scaled = image[0].detach().float().cpu().clamp(0.0, 1.0).mul(255.0).add_(0.5)
    return scaled.to(torch.uint8).permute(1, 2, 0).numpy()


def check_writable(path: str | Path) -> None:
    """Refuse, before any work, an output whose extension no image format writes."""
    if Path(path).suffix.lower() not in WRITABLE_EXTENSIONS:
        raise AdaINError(f"cannot write {path}: use one of "
                         f"{', '.join(sorted(WRITABLE_EXTENSIONS))}")


def save_image(image: Tensor | np.ndarray | Image.Image, path: str | Path,
               quality: int = 95) -> Path:
    """Write an RGB image atomically; the format follows the file extension."""
    path = Path(path)
    check_writable(path)
    if isinstance(image, Tensor):
        image = tensor_to_uint8(image)
    pil = image if isinstance(image, Image.Image) else Image.fromarray(np.ascontiguousarray(image))
    fmt = Image.registered_extensions()[path.suffix.lower()]
    with atomic_path(path) as tmp:
        pil.save(tmp, format=fmt, **({"quality": quality} if fmt in ("JPEG", "WEBP") else {}))
    return path


def find_images(root: Path) -> list[Path]:
    """Image files under a folder, recursively, in a stable order (hidden files skipped)."""
    return sorted(p for p in root.rglob("*")
                  if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
                  and not any(part.startswith(".") for part in p.relative_to(root).parts))
