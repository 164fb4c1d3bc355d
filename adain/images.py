"""Image I/O for the torch side: pictures as RGB float tensors in [0, 1], and back to files.

Files are read by ``adain.picture`` (EXIF orientation, ICC profiles to sRGB, every mode to
RGB, transparency on white), the same reader the torch-free realtime side uses; import its
readers from there. ``prepare`` is what the stylizer, ``adain optimize`` and ``adain eval``
share: load a path, PIL image or array, resize, crop, and refuse a picture that will not
fit in memory or is too small for the encoder before the work is tried. Resizing
is bilinear with antialiasing (as PIL's, which the published tools used). Saving rounds
like torchvision's ``save_image``, writes atomically, and tags the file as sRGB (with the
content's EXIF when given) where the format allows.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor

from .atomic import atomic_path
from .device import BYTES_PER_PIXEL, check_fits
from .encoder import MIN_SIDE
from .errors import AdaINError
from .picture import (
    DECODE_BYTES_PER_PIXEL,
    WRITABLE_EXTENSIONS,
    image_size,
    load_image,
    pil_to_array,
    resized_shape,
    srgb_profile,
    to_srgb,
)

log = logging.getLogger(__name__)

ImageSource = str | Path | Image.Image | np.ndarray


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


_TAGGED_FORMATS = {"JPEG", "PNG", "WEBP", "TIFF"}  # formats that carry ICC and EXIF
_JPEG_MAX_EXIF = 65533  # one APP1 marker's payload (Pillow refuses more)



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


def quantize(image: Tensor) -> Tensor:
    """Float pixels -> uint8 on the same device, clamped and rounded like ``save_image``."""
    return image.detach().float().clamp(0.0, 1.0).mul_(255.0).add_(0.5).to(torch.uint8)


def tensor_to_uint8(image: Tensor) -> np.ndarray:
    """(1, 3, H, W) float -> (H, W, 3) uint8, clamped and rounded like ``save_image``."""
    return quantize(image[0].cpu()).permute(1, 2, 0).numpy()


def prepare(source: ImageSource, size: int, crop: bool, device: torch.device,
            bytes_per_pixel: int = BYTES_PER_PIXEL, min_side: int = MIN_SIDE) -> Tensor:
    """Load, resize (shorter side) and optionally crop an image: (1, 3, H, W) on the CPU.

    A file's size is read from its header first, so a picture that cannot be decoded,
    resized, or processed on ``device`` at ``bytes_per_pixel`` in the free memory is
    refused before any of that is tried.
    """
    name = source_name(source)
    cpu = torch.device("cpu")
    if isinstance(source, (str, Path)):
        width, height = image_size(source)
        check_fits(height, width, cpu, name, DECODE_BYTES_PER_PIXEL, "decoding")
    image = _to_tensor(source)
    target = resized_shape(*image.shape[-2:], size)
    check_fits(*target, cpu, name, DECODE_BYTES_PER_PIXEL, "resizing")
    check_fits(*target, device, name, bytes_per_pixel)
    image = resize_shorter(image, size)
    if crop:
        image = center_crop(image, size or min(image.shape[-2:]))
    h, w = image.shape[-2:]
    if min(h, w) < min_side:
        raise AdaINError(f"{name} is {w}x{h} pixels after resizing; each side "
                         f"needs at least {min_side}")
    return image


def _to_tensor(source: ImageSource) -> Tensor:
    if isinstance(source, (str, Path)):
        return array_to_tensor(load_image(source))
    if isinstance(source, Image.Image):
        return array_to_tensor(pil_to_array(to_srgb(source)))
    if isinstance(source, np.ndarray):
        return array_to_tensor(source)
    raise TypeError(f"expected a path, a PIL image or a numpy array, got {type(source)}")


def source_name(source: ImageSource) -> str:
    """How messages name an image: its path, or its type in angle brackets."""
    return str(source) if isinstance(source, (str, Path)) else f"<{type(source).__name__}>"


def check_writable(path: str | Path) -> None:
    """Refuse, before any work, an output whose extension no image format writes."""
    if Path(path).suffix.lower() not in WRITABLE_EXTENSIONS:
        raise AdaINError(f"cannot write {path}: use one of "
                         f"{', '.join(sorted(WRITABLE_EXTENSIONS))}")


def save_image(image: Tensor | np.ndarray | Image.Image, path: str | Path,
               quality: int = 95, exif: bytes = b"") -> Path:
    """Write an RGB image atomically; the format follows the file extension.

    JPEG, PNG, WebP and TIFF files are tagged sRGB (an ICC profile) and carry ``exif``
    (e.g. ``upright_exif`` of the content); ``quality`` (1-100) applies to JPEG and WebP.
    """
    path = Path(path)
    check_writable(path)
    if isinstance(image, Tensor):
        image = tensor_to_uint8(image)
    pil = image if isinstance(image, Image.Image) else Image.fromarray(np.ascontiguousarray(image))
    fmt = Image.registered_extensions()[path.suffix.lower()]
    options: dict[str, object] = {}
    if fmt == "JPEG" and len(exif) > _JPEG_MAX_EXIF:
        log.warning("%s: the content's EXIF (%d bytes) is too long for a JPEG; written without "
                    "it", path, len(exif))
        exif = b""
    if fmt in _TAGGED_FORMATS:
        options = {"icc_profile": srgb_profile(), **({"exif": exif} if exif else {})}
    if fmt in ("JPEG", "WEBP"):
        options["quality"] = quality
    with atomic_path(path) as tmp:
        pil.save(tmp, format=fmt, **options)
    return path
