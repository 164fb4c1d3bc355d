"""Peak memory and time per megapixel of `adain stylize` whole and in tiles (issue 14).

    python bench/tiled_bench.py [--sizes 1,4,12,24] [--tiles 0,1024] [--quick]
                                [--vgg PATH --decoder PATH] [--content PATH] [--style PATH]

For each size (megapixels, 3:2; 24 MP is 6000x4000) ../shared/media/content/kodim01.png
(or --content) is upscaled (cubic) and saved as a JPEG (quality 95) in a temporary folder;
then, each in a fresh process,

    adain stylize PIC -s STYLE --content-size 0 --style-size 512 --tile T -o OUT.png

runs for each --tiles value T (0: whole, N: tiles of N px, auto: no --tile, the tool's own
choice). The peak resident set size is that child's own (os.wait4's ru_maxrss; GB are
10^9 bytes), the time its wall time. "per MP" leaves out the start-up (imports, loading
the weights, the style), measured first as the whole run of a 240x160 picture. When the
whole picture would not fit in memory the tool refuses it (about 1.1 KB per pixel on the
CPU): the row says 'refused'.
"max diff" is the largest difference, in 8-bit levels, between that output and the whole
one, where the whole one was made. Without --vgg/--decoder the weights are random, in the
published formats (what is measured is the same work).

--quick measures 1 and 4 MP; 48 MP is left to ``--sizes 48``. On 2 busy cores (another
process at load 3 to 5) the default sizes need about 20 minutes: 16-27 s per MP, 24 MP tiled
alone 6.5 minutes; 48 MP would take about 13 more.
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import MEDIA, cpu_name, random_weights
from PIL import Image

ADAIN = [sys.executable, "-m", "adain"]
DEFAULT_SIZES = "1,4,12,24"
QUICK_SIZES = "1,4"
Image.MAX_IMAGE_PIXELS = None  # our own upscaled pictures: no decompression-bomb check


STARTUP_MP = 0.0384  # 240x160: the run that measures the start-up


def picture_size(megapixels: float) -> tuple[int, int]:
    """(width, height) of a 3:2 picture of about ``megapixels`` (24 -> 6000x4000)."""
    height = round(math.sqrt(megapixels * 1e6 / 1.5) / 8) * 8
    return round(1.5 * height), height


def upscaled(source: Path, folder: Path, megapixels: float) -> Path:
    width, height = picture_size(megapixels)
    path = folder / f"{source.stem}_{width}x{height}.jpg"
    with Image.open(source) as small:
        big = small.convert("RGB").resize((width, height), Image.Resampling.BICUBIC)
    big.save(path, quality=95)
    return path


def run_child(args: list[str]) -> tuple[int, float, int, str]:
    """(exit status, wall seconds, peak RSS in bytes, last stderr line) of one fresh process."""
    start = time.perf_counter()
    with tempfile.TemporaryFile(mode="w+") as err:
        child = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - start
        err.seek(0)
        lines = [line.strip() for line in err.read().splitlines() if line.strip()]
    return child.returncode, seconds, usage.ru_maxrss * 1024, lines[-1] if lines else ""


def stylize(pic: Path, style: Path, weights: tuple[Path, Path], tile: str, out: Path) -> dict:
    args = ADAIN + ["stylize", str(pic), "-s", str(style), "--content-size", "0",
                    "--style-size", "512", "--device", "cpu", "--vgg", str(weights[0]),
                    "--decoder", str(weights[1]), "-o", str(out)]
    if tile != "auto":
        args += ["--tile", tile]
    rc, seconds, peak, last = run_child(args)
    if rc == 0 and out.is_file():
        return {"ok": True, "seconds": seconds, "peak": peak}
    refused = rc == 1 and "needs about" in last
    return {"ok": False, "why": "refused" if refused else f"failed rc={rc}", "peak": peak,
            "seconds": seconds, "message": last}


def max_diff(a: Path, b: Path) -> int:
    with Image.open(a) as x, Image.open(b) as y:
        return int(np.abs(np.asarray(x, np.int16) - np.asarray(y, np.int16)).max())


def label(tile: str) -> str:
    return {"0": "whole", "auto": "auto"}.get(tile, f"tile {tile}")


def row_text(megapixels: float, tile: str, res: dict, diff: str, startup: float) -> str:
    w, h = picture_size(megapixels)
    head = f"{megapixels:>5g} {f'{w}x{h}':>10} {label(tile):>10}"
    if not res["ok"]:
        return f"{head} {res['why']:>10}"
    per_mp = (res["seconds"] - startup) / (w * h / 1e6)
    return (f"{head} {res['peak'] / 1e9:>7.2f} GB {res['seconds']:>7.1f} s "
            f"{per_mp:>6.2f} s {diff:>8}")


def measure_size(megapixels: float, tiles: list[str], work: Path, content: Path, style: Path,
                 weights: tuple[Path, Path], startup: float) -> list[dict]:
    pic = upscaled(content, work, megapixels)
    outs, results = {}, []
    for tile in tiles:
        outs[tile] = work / f"out_{megapixels:g}_{tile}.png"
        res = stylize(pic, style, weights, tile, outs[tile])
        whole = outs.get("0")
        diff = "-"
        if res["ok"] and tile != "0" and whole is not None and whole.is_file():
            diff = str(max_diff(whole, outs[tile]))
        print(row_text(megapixels, tile, res, diff, startup), flush=True)
        if not res["ok"] and res["why"] != "refused":
            print(f"      {res['message']}", flush=True)
        results.append({"mp": megapixels, "tile": tile, **res, "diff": diff})
    for path in outs.values():
        path.unlink(missing_ok=True)
    pic.unlink()
    return results


def startup_seconds(work: Path, content: Path, style: Path, weights: tuple[Path, Path]) -> float:
    pic = upscaled(content, work, STARTUP_MP)
    res = stylize(pic, style, weights, "0", work / "startup.png")
    pic.unlink()
    if not res["ok"]:
        raise SystemExit(f"the start-up run failed: {res['message']}")
    return res["seconds"]


def summary(results: list[dict], startup: float) -> None:
    """Against the goals: 24 MP tiled under 3 GB, time per MP within 1.3x, diff <= 2."""
    whole = {r["mp"]: r for r in results if r["tile"] == "0" and r["ok"]}
    for r in results:
        if r["tile"] == "0" or not r["ok"]:
            continue
        w, h = picture_size(r["mp"])
        note = ""
        if r["mp"] in whole:
            ratio = (r["seconds"] - startup) / (whole[r["mp"]]["seconds"] - startup)
            note = (f"; time less start-up {ratio:.2f}x whole (goal <= 1.3), "
                    f"max diff {r['diff']} (goal <= 2)")
        goal = " (goal < 3 GB)" if (w, h) == (6000, 4000) else ""
        print(f"{w}x{h} {label(r['tile'])}: peak {r['peak'] / 1e9:.2f} GB{goal}, "
              f"{r['seconds']:.1f} s{note}")


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=DEFAULT_SIZES, help="megapixels, comma-separated "
                        f"[default: {DEFAULT_SIZES}; 48 is optional]")
    parser.add_argument("--quick", action="store_true", help=f"--sizes {QUICK_SIZES}")
    parser.add_argument("--tiles", default="0,1024", help="--tile values: 0 whole, N px, "
                        "auto (the tool's choice) [default: 0,1024]")
    parser.add_argument("--content", type=Path, default=MEDIA / "content" / "kodim01.png")
    parser.add_argument("--style", type=Path, default=MEDIA / "style" / "starry_night.jpg")
    parser.add_argument("--vgg", type=Path, help="encoder weights [default: random]")
    parser.add_argument("--decoder", type=Path, help="decoder weights [default: random]")
    args = parser.parse_args()
    if args.quick:
        args.sizes = QUICK_SIZES
    if (args.vgg is None) != (args.decoder is None):
        parser.error("give both --vgg and --decoder, or neither (random weights)")
    for path in (args.content, args.style, args.vgg, args.decoder):
        if path is not None and not path.is_file():
            parser.error(f"{path}: no such file")
    return args


def main() -> None:
    args = parse()
    sizes = [float(s) for s in args.sizes.split(",")]
    tiles = [t.strip() for t in args.tiles.split(",")]
    print(f"CPU: {cpu_name()} ({os.cpu_count()} cores); content {args.content.name} upscaled, "
          f"style {args.style.name} at 512, --device cpu, "
          f"{'given' if args.vgg else 'random'} weights")
    with tempfile.TemporaryDirectory(prefix="tiled-bench-") as folder:
        work = Path(folder)
        weights = (args.vgg, args.decoder) if args.vgg else random_weights(work)
        startup = startup_seconds(work, args.content, args.style, weights)
        print(f"start-up (240x160 whole): {startup:.1f} s; per MP = (time - start-up) / MP")
        print(f"{'MP':>5} {'size':>10} {'mode':>10} {'peak RSS':>10} {'time':>9} "
              f"{'per MP':>8} {'max diff':>8}")
        results = []
        for megapixels in sizes:
            results += measure_size(megapixels, tiles, work, args.content, args.style, weights,
                                    startup)
        summary(results, startup)


if __name__ == "__main__":
    main()
