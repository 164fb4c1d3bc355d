"""Images per second of `adain stylize-dataset` beside bethgelab/stylize-datasets' stylize.py.

    python bench/dataset_bench.py [--peer DIR] [--vgg V --decoder D] [--images 32]
                                  [--images-original 12] [--repeats 2] [--quick]

Both tools stylise the same ImageNet-like content tree (built in a temporary folder from
../shared/media/content: three class folders of JPEGs at ImageNet's sizes, 500x375 and the
like, flipped and shifted crops of the photos) with the paintings of ../shared/media/style,
the same weights (random ones in the published formats unless --vgg/--decoder are given),
one style per image, alpha 1, on the same device, in two settings:

- original: the peer's defaults, content at its own size, styles' shorter side 512, no crop;
- stylized-imagenet: the peer with ``--content-size 256 --crop 224 --style-size 224``, ours
  with ``--preset stylized-imagenet`` (the same sizes; ours also crops each style to a
  square, as Geirhos et al.'s code does, and writes PNG where the peer writes JPEG).

Every run is a whole command timed from outside (start-up, loading the weights and, for
ours, building the style bank included), into a fresh output folder (a rerun of ours would
resume and skip): "whole" is N / t(N) for N content images. "steady" is the rate once
started, read from the outputs' modification times: (N - B) / (last - first), B the batch
size (a batch's pictures are saved together); "start" is t(N) - N / steady, the fixed cost
(for ours, building the style bank is most of it). The tools run in turn; each figure is
the median of --repeats runs. The peer draws its styles unseeded (each run other ones), and
encodes each image's style again, so its times vary with the styles' sizes. Ours is also
timed with --precision bf16 (where the CPU has bf16), --batch-size 4 and --workers 0 in the
second setting; and, if ``adain.StyleAugment`` exists, its images/s at batches of 1, 4 and
8 at 224x224 from the bank ours wrote.

Running it beside the peer
--------------------------
The peer's code is not part of this repository. Get it once::

    git clone https://github.com/bethgelab/stylize-datasets /tmp/stylize-datasets
    pip install tqdm    # the peer's only requirement beyond torch, torchvision and Pillow
    python bench/dataset_bench.py --peer /tmp/stylize-datasets

The peer reads ``models/decoder.pth`` and ``models/vgg_normalised.pth`` from its working
folder: each peer run starts in a temporary folder whose models/ links to the weights in
use. It runs with this Python (or --peer-python), which must have tqdm. It picks CUDA
whenever CUDA is available: with --device cpu (the default) both tools run with
CUDA_VISIBLE_DEVICES empty. The peer only reads the lower-case extensions png, jpeg and
jpg, so the tree's files are named .jpg (ImageNet's are .JPEG).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from common import MEDIA, cpu_name, random_weights
from PIL import Image, ImageOps

# A snapshot of github.com/bethgelab/stylize-datasets (a bare git folder), used when --peer
# is not given and it exists.
PEER_MIRROR = Path("/work/.mirror/bethgelab+stylize-datasets/repo")
PEER_URL = "https://github.com/bethgelab/stylize-datasets"
CLASSES = ("n01440764", "n02102040", "n02979186")  # three ImageNet synsets
SIZES = ((500, 375), (500, 375), (500, 333), (375, 500))  # ImageNet's commonest (w, h)
_SIN_PEER = ["--content-size", "256", "--crop", "224", "--style-size", "224"]
_SIN_OURS = ["--content-size", "256", "--crop", "224", "--style-size", "224", "--style-crop",
             "--format", "png"]  # what --preset stylized-imagenet sets, less --num-styles 1
SETTINGS = {  # name: (the peer's options, ours, outputs per content image)
    "original": ([], ["--content-size", "0", "--style-size", "512"], 1),
    "stylized-imagenet": (_SIN_PEER, ["--preset", "stylized-imagenet"], 1),
    "stylized-imagenet sizes, 4 styles": (_SIN_PEER + ["--num-styles", "4"],
                                          _SIN_OURS + ["--num-styles", "4"], 4),
}
VARIANTS = {"--precision bf16": ["--precision", "bf16"], "--batch-size 4": ["--batch-size", "4"],
            "--workers 0": ["--workers", "0"]}


@dataclass
class Timing:
    seconds: float  # the whole command
    steady: float  # images/s between the first and the last output saved
    images: int

    @property
    def whole(self) -> float:
        return self.images / self.seconds

    @property
    def start(self) -> float:
        return self.seconds - self.images / self.steady


# -- the content tree ---------------------------------------------------------------------
def variant(photo: Image.Image, k: int, size: tuple[int, int]) -> Image.Image:
    """The k-th ImageNet-like picture from ``photo``: a window of ``size``'s shape, shifted
    with k, flipped for odd k, resized to ``size``."""
    w, h = photo.size
    scale = min(w / size[0], h / size[1]) * (0.9 if k % 3 else 1.0)
    cw, ch = int(size[0] * scale), int(size[1] * scale)
    step = (k * 37) % 100 / 100
    x, y = int((w - cw) * step), int((h - ch) * (1 - step))
    picture = photo.crop((x, y, x + cw, y + ch)).resize(size, Image.Resampling.BICUBIC)
    return ImageOps.mirror(picture) if k % 2 else picture


def content_tree(folder: Path, count: int) -> Path:
    """A tree of ``count`` JPEGs in class folders."""
    photos = [Image.open(p).convert("RGB") for p in sorted((MEDIA / "content").iterdir())
              if p.suffix.lower() in (".jpg", ".jpeg", ".png")]
    root = folder / "content"
    for k in range(count):
        cls = CLASSES[k % len(CLASSES)]
        picture = variant(photos[k % len(photos)], k // len(photos) + k, SIZES[k % len(SIZES)])
        (root / cls).mkdir(parents=True, exist_ok=True)
        picture.save(root / cls / f"{cls}_{k:05d}.jpg", quality=90)
    return root


# -- the two tools --------------------------------------------------------------------------
def peer_folder(given: Path | None, work: Path) -> Path | None:
    """The folder holding the peer's stylize.py, or None with a line saying how to get it."""
    if given is not None:
        if not (given / "stylize.py").is_file():
            sys.exit(f"--peer {given}: no stylize.py there; git clone {PEER_URL}")
        return given
    if PEER_MIRROR.is_dir():
        target = work / "peer"
        target.mkdir()
        archive = subprocess.run(["git", f"--git-dir={PEER_MIRROR}", "archive", "HEAD"],
                                 check=True, capture_output=True).stdout
        subprocess.run(["tar", "x", "-C", str(target)], input=archive, check=True)
        return target
    print(f"peer skipped: give --peer DIR, a clone of {PEER_URL} (git clone {PEER_URL})")
    return None


def peer_python_ready(python: str) -> bool:
    found = subprocess.run([python, "-c", "import tqdm"], capture_output=True).returncode == 0
    if not found:
        print(f"peer skipped: {python} has no tqdm, which the peer's stylize.py imports "
              "(pip install tqdm, or give --peer-python)")
    return found


class Tools:
    """Runs a tool once into a fresh output folder: (its wall seconds, its steady images/s)."""

    def __init__(self, args: argparse.Namespace, work: Path, vgg: Path, decoder: Path,
                 styles: Path, peer: Path | None) -> None:
        self.args, self.work, self.styles, self.peer = args, work, styles, peer
        self.vgg, self.decoder = vgg, decoder
        self.env = dict(os.environ)
        if args.device == "cpu":
            self.env["CUDA_VISIBLE_DEVICES"] = ""
        self.peer_cwd = work / "peer-cwd"
        (self.peer_cwd / "models").mkdir(parents=True)
        (self.peer_cwd / "models" / "vgg_normalised.pth").symlink_to(vgg.resolve())
        (self.peer_cwd / "models" / "decoder.pth").symlink_to(decoder.resolve())
        self.runs = 0
        self.bank: Path | None = None  # a style bank ours wrote (for StyleAugment)

    def _out(self) -> Path:
        self.runs += 1
        return self.work / f"out-{self.runs}"

    def peer_run(self, content: Path, options: list[str], k: int) -> tuple[float, float]:
        out = self._out()
        command = [self.args.peer_python, str(self.peer / "stylize.py"), "--content-dir",
                   str(content), "--style-dir", str(self.styles), "--output-dir", str(out),
                   *options]
        seconds = self._timed(command, self.peer_cwd)
        return seconds, self._steady(out, content, k, k, "peer")

    def ours_run(self, content: Path, options: list[str], k: int) -> tuple[float, float]:
        out = self._out()
        command = [sys.executable, "-m", "adain", "stylize-dataset", str(content),
                   "--style-dir", str(self.styles), "-o", str(out), "--vgg", str(self.vgg),
                   "--decoder", str(self.decoder), "--device", self.args.device, *options]
        seconds = self._timed(command, self.work)
        if "stylized-imagenet" in options and (out / "style_bank.safetensors").is_file():
            self.bank = self.work / "style_bank.safetensors"
            shutil.copy2(out / "style_bank.safetensors", self.bank)
        batch = (int(options[options.index("--batch-size") + 1]) if "--batch-size" in options
                 else 16 if self.args.device == "cuda" else 1)  # ours' default
        return seconds, self._steady(out, content, batch * k, k, "ours")

    def _timed(self, command: list[str], cwd: Path) -> float:
        start = time.perf_counter()
        done = subprocess.run(command, cwd=cwd, env=self.env, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if done.returncode:
            sys.exit(f"failed ({done.returncode}): {' '.join(command)}\n"
                     f"{done.stderr[-2000:]}{done.stdout[-1000:]}")
        return seconds

    @staticmethod
    def _steady(out: Path, content: Path, batch: int, k: int, who: str) -> float:
        """Outputs/s between the first and the last picture saved (a batch's, ``batch``
        outputs, at once), after checking that there are ``k`` per content image; ``out`` is
        then removed."""
        times = sorted(p.stat().st_mtime for p in out.rglob("*")
                       if p.suffix in (".jpg", ".png") and not p.name.startswith("."))
        wanted = k * sum(1 for _ in content.rglob("*.jpg"))
        if len(times) != wanted:
            print(f"warning: {who} made {len(times)} outputs of {wanted} in {out}")
        shutil.rmtree(out, ignore_errors=True)
        span = times[-1] - times[0] if times else 0.0
        return (len(times) - batch) / span if len(times) > batch and span > 0 else float("nan")


# -- measuring --------------------------------------------------------------------------------
def measure(tools: Tools, content: Path, images: int, setting: str,
            repeats: int, variants: dict[str, list[str]]) -> dict[str, Timing]:
    """Timings of the peer, ours and ours with each of ``variants``, run in turn."""
    peer_options, ours_options, k = SETTINGS[setting]
    runners = {"ours": lambda c: tools.ours_run(c, ours_options, k)}
    if tools.peer is not None:
        runners = {"peer": lambda c: tools.peer_run(c, peer_options, k), **runners}
    for name, extra in variants.items():
        runners[f"ours {name}"] = lambda c, extra=extra: tools.ours_run(c, ours_options + extra,
                                                                         k)
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in runners}
    for _ in range(repeats):
        for name, run in runners.items():
            runs[name].append(run(content))
            seconds, steady = runs[name][-1]
            print(f"  {setting:>17} {name:<22} {images * k:>3} outputs {seconds:7.1f} s, "
                  f"steady {steady:6.3f} outputs/s", flush=True)
    return {name: Timing(statistics.median(s for s, _ in done),
                         statistics.median(r for _, r in done), images * k)
            for name, done in runs.items()}


def bf16_supported() -> bool:
    import torch

    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def style_augment(bank: Path | None, vgg: Path, decoder: Path, batches: list[int],
                  size: int = 224) -> None:
    """Images/s of ``adain.StyleAugment`` (p=1) at each batch size, if it exists."""
    try:
        from adain import StyleAugment
    except ImportError as exc:
        print(f"StyleAugment: skipped ({exc})")
        return
    if bank is None:
        print("StyleAugment: skipped (no style bank was written)")
        return
    import torch

    augment = StyleAugment(str(bank), vgg=str(vgg), decoder=str(decoder), p=1.0)
    print(f"StyleAugment(p=1) from {bank.name}, {size}x{size} batches:")
    for batch in batches:
        x = torch.rand(batch, 3, size, size)
        with torch.no_grad():
            augment(x)  # warm-up
            calls, start = 0, time.perf_counter()
            while calls < 3 or time.perf_counter() - start < 2.0:
                augment(x)
                calls += 1
        rate = calls * batch / (time.perf_counter() - start)
        print(f"  batch {batch:>2}: {rate:6.2f} images/s")


# -- the report -----------------------------------------------------------------------------
def table(results: dict[str, dict[str, Timing]]) -> None:
    print(f"{'setting':<36} {'outputs':>7} | {'peer outputs/s':>16} | {'ours outputs/s':>16} | "
          f"{'ours/peer':>13} | {'start s':>11}")
    print(f"{'':<36} {'':>7} | {'whole':>7} {'steady':>8} | {'whole':>7} {'steady':>8} | "
          f"{'whole':>6} {'steady':>6} | {'peer':>5} {'ours':>5}")
    for setting, timings in results.items():
        peer = timings.get("peer")
        for name, ours in timings.items():
            if name == "peer":
                continue
            label = setting + ("" if name == "ours" else f" {name[5:]}")
            left = (f"{peer.whole:>7.3f} {peer.steady:>8.3f}" if peer else f"{'-':>7} {'-':>8}")
            ratio = (f"{ours.whole / peer.whole:>5.2f}x {ours.steady / peer.steady:>5.2f}x"
                     if peer else f"{'-':>6} {'-':>6}")
            start = f"{peer.start:>5.1f}" if peer else f"{'-':>5}"
            print(f"{label:<36} {ours.images:>7} | {left} | {ours.whole:>7.3f} "
                  f"{ours.steady:>8.3f} | {ratio} | {start} {ours.start:>5.1f}")
    print("outputs: stylised pictures made (one per content image, or four); "
          "whole: N / t(N), the whole command; steady: between the first and the last "
          "output saved; start: t(N) - N / steady")
    print("original: JPEG out, ours at quality 95, the peer at PIL's default 75")
    print("stylized-imagenet: peer --content-size 256 --crop 224 --style-size 224 (styles "
          "not cropped, JPEG out); ours --preset stylized-imagenet (styles cropped square, "
          "PNG out)")


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peer", type=Path, help="folder holding stylize-datasets' stylize.py "
                        f"(a clone of {PEER_URL})")
    parser.add_argument("--peer-python", default=sys.executable,
                        help="the Python that runs the peer (needs tqdm) [default: this one]")
    parser.add_argument("--vgg", type=Path, help="vgg_normalised.pth (default: random)")
    parser.add_argument("--decoder", type=Path, help="decoder.pth (default: random)")
    parser.add_argument("--images", type=int, default=32,
                        help="content images in the stylized-imagenet setting [default: 32]")
    parser.add_argument("--images-original", type=int, default=12,
                        help="content images in the original-size setting [default: 12]")
    parser.add_argument("--images-four", type=int, default=8,
                        help="content images in the four-styles setting [default: 8]")
    parser.add_argument("--repeats", type=int, default=2,
                        help="runs per time, their median [default: 2]")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--no-variants", action="store_true",
                        help="skip ours with bf16, --batch-size 4 and --workers 0")
    parser.add_argument("--quick", action="store_true", help="a tiny run: 6 and 3 images, "
                        "one repeat, no variants, StyleAugment at batch 1")
    args = parser.parse_args()
    if (args.vgg is None) != (args.decoder is None):
        parser.error("give both --vgg and --decoder, or neither (random weights)")
    for path in (args.vgg, args.decoder, args.peer):
        if path is not None and not path.exists():
            parser.error(f"{path}: no such file or folder")
    if args.quick:
        args.images, args.images_original, args.repeats, args.no_variants = 6, 3, 1, True
    if min(args.images, args.images_original) < 3 or args.repeats < 1:
        parser.error("--images and --images-original need at least 3, --repeats 1")
    return args


def main() -> None:
    args = parse()
    with tempfile.TemporaryDirectory(prefix="dataset-bench-") as folder:
        work = Path(folder)
        vgg, decoder = (args.vgg, args.decoder) if args.vgg else random_weights(work)
        peer = peer_folder(args.peer, work)
        if peer is not None and not peer_python_ready(args.peer_python):
            peer = None
        tools = Tools(args, work, vgg, decoder, MEDIA / "style", peer)
        variants = {} if args.no_variants else dict(VARIANTS)
        if "--precision bf16" in variants and args.device == "cpu" and not bf16_supported():
            print("ours --precision bf16 skipped: this CPU has no bf16 instructions")
            del variants["--precision bf16"]
        results = {}
        for setting, images in (("original", args.images_original),
                                ("stylized-imagenet", args.images)):
            content = content_tree(work / setting, images)
            results[setting] = measure(tools, content, images, setting, args.repeats,
                                       variants if setting == "stylized-imagenet" else {})
        four = "stylized-imagenet sizes, 4 styles"
        if not args.quick:
            content = content_tree(work / "four", args.images_four)
            results[four] = measure(tools, content, args.images_four, four, args.repeats, {})
        styles = len([p for p in (MEDIA / "style").iterdir() if p.is_file()])
        print(f"CPU: {cpu_name()} ({os.cpu_count()} cores), device {args.device}; "
              f"{styles} styles from shared/media/style; "
              f"{'given' if args.vgg else 'random'} weights; load average at the end "
              f"{os.getloadavg()[0]:.2f}")
        table(results)
        style_augment(tools.bank, vgg, decoder, [1] if args.quick else [1, 4, 8])


if __name__ == "__main__":
    main()
