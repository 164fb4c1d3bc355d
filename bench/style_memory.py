"""Peak memory and time of encoding one large style picture for `adain video`/`webcam`.

    python bench/style_memory.py [--style PATH] [--width 6000 --height 4750] [--skip-full]

The realtime style encoder graph (style_encoder.onnx, fp32, exported unverified from
random weights in the published formats) encodes one picture through
``adain.realtime.engine.Engine.style(path, size, crop=False)`` at ``--style-size 0``
(full resolution: what `adain video` and `adain webcam` did before issue 11) and at the
default 512 (shorter side). Each size runs in its own fresh process, so each peak
resident set size (ru_maxrss; GB are 10^9 bytes) belongs to that size alone; the time
is that of ``Engine.style`` only, the session already loaded.

By default the picture is ../shared/media/style/the_scream.jpg upscaled to 6000x4750
(JPEG, in a temporary folder). The full-resolution run needs about 20 GB of memory: it is
skipped, with a message, when less than 22 GB is available (or with --skip-full).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import psutil
from common import MEDIA, cpu_name, random_graphs

from adain.picture import image_size

FULL_RUN_NEEDS = 22e9  # bytes available before the full-resolution run is tried


def large_picture(folder: Path, width: int, height: int) -> Path:
    small = cv2.imread(str(MEDIA / "style" / "the_scream.jpg"))
    path = folder / f"the_scream_{width}x{height}.jpg"
    big = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
    cv2.imwrite(str(path), big, [cv2.IMWRITE_JPEG_QUALITY, 95])
    return path


def encode_once(onnx_dir: str, style: str, size: int) -> None:
    """Child process: one JSON line: seconds, peak RSS and the RSS before (bytes)."""
    from adain.realtime.engine import Engine

    engine = Engine(Path(onnx_dir), "cpu")
    loaded = psutil.Process().memory_info().rss
    start = time.perf_counter()
    engine.style(style, size, False)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    print(json.dumps({"seconds": seconds, "peak": peak, "loaded": loaded}))


def measure(onnx_dir: Path, style: Path, size: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", str(onnx_dir), str(style),
                          str(size)], check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def full_run_allowed(skip: bool) -> bool:
    if skip:
        print("full resolution skipped (--skip-full)")
        return False
    available = psutil.virtual_memory().available
    if available < FULL_RUN_NEEDS:
        print(f"full resolution skipped: {available / 1e9:.1f} GB of memory available, "
              f"it needs about {FULL_RUN_NEEDS / 1e9:.0f} GB")
        return False
    print("warning: the full-resolution run takes about 20 GB of memory and minutes")
    return True


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        encode_once(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--style", type=Path, help="a picture to encode instead of the "
                        "upscaled the_scream.jpg")
    parser.add_argument("--width", type=int, default=6000, help="of the upscaled picture")
    parser.add_argument("--height", type=int, default=4750, help="of the upscaled picture")
    parser.add_argument("--skip-full", action="store_true",
                        help="measure only --style-size 512 (the full run needs ~20 GB)")
    args = parser.parse_args()
    if args.style and not args.style.is_file():
        parser.error(f"{args.style}: no such file")
    sizes = ([0] if full_run_allowed(args.skip_full) else []) + [512]
    with tempfile.TemporaryDirectory(prefix="style-memory-") as work:
        style = args.style or large_picture(Path(work), args.width, args.height)
        report(random_graphs(Path(work), verify=False), style, sizes)


def report(onnx_dir: Path, style: Path, sizes: list[int]) -> None:
    w, h = image_size(style)
    print(f"CPU: {cpu_name()}; style {style.name} ({w}x{h}), "
          f"style_encoder.onnx fp32, provider cpu")
    print(f"{'--style-size':>14} {'peak RSS':>10} {'RSS before':>11} {'time':>9}")
    for size in sizes:
        row = measure(onnx_dir, style, size)
        label = "0 (full)" if size == 0 else str(size)
        print(f"{label:>14} {row['peak'] / 1e9:>7.2f} GB {row['loaded'] / 1e9:>8.2f} GB "
              f"{row['seconds']:>7.1f} s")


if __name__ == "__main__":
    main()
