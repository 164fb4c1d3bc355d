"""Compare adain's saved images with the pytorch-AdaIN port's, run side by side.

    python bench/port_parity.py --port /path/to/pytorch-AdaIN-checkout

Random weights in the published formats (as the tests make them) are given to both; the
port's own test.py runs in a subprocess on ../shared/media pictures whose sizes are
multiples of 8, with --content_size 0 --style_size 0, and its PNGs are compared with
adain's pixel by pixel. Prints the max and mean |difference| in 8-bit levels per case.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from common import MEDIA, random_weights
from PIL import Image

from adain import StyleOptions, Stylizer

FULL = dict(content_size=0, style_size=0)
# (case, content, styles, port flags, adain options, port output name)
CASES = [
    ("alpha 1", "content/kodim01.png", ["style/udnie.jpg"], [], StyleOptions(**FULL),
     "kodim01_stylized_udnie.png"),
    ("alpha 0.5", "content/kodim04.png", ["style/udnie.jpg"], ["--alpha", "0.5"],
     StyleOptions(alpha=0.5, **FULL), "kodim04_stylized_udnie.png"),
    ("interpolation 0.3,0.7", "content/astronaut.png", ["style/udnie.jpg", "content/baboon.jpg"],
     ["--style_interpolation_weights", "3,7"],
     StyleOptions(interpolation_weights=(0.3, 0.7), **FULL),
     "astronaut_interpolation.png"),
    ("preserve-color", "content/astronaut.png", ["style/udnie.jpg"], ["--preserve_color"],
     StyleOptions(preserve_color=True, **FULL), "astronaut_stylized_udnie.png"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=Path, required=True, help="pytorch-AdaIN checkout")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="port-parity-"))
    vgg, decoder = random_weights(work)
    stylizer = Stylizer(vgg, decoder, device="cpu")
    print(f"{'case':24s} {'size':>9s} {'max |diff|':>10s} {'mean |diff|':>11s}")
    for case, content, styles, flags, options, port_name in CASES:
        out = work / case.replace(" ", "_")
        subprocess.run([sys.executable, "test.py", "--content", str(MEDIA / content),
                        "--style", ",".join(str(MEDIA / s) for s in styles),
                        "--vgg", str(vgg), "--decoder", str(decoder), "--content_size", "0",
                        "--style_size", "0", "--save_ext", ".png", "--output", str(out),
                        *flags], cwd=args.port, check=True, capture_output=True)
        port = np.asarray(Image.open(out / port_name)).astype(int)
        ours = np.asarray(stylizer.stylize(MEDIA / content, [MEDIA / s for s in styles],
                                           options)).astype(int)
        diff = np.abs(port - ours)
        print(f"{case:24s} {ours.shape[1]:>4d}x{ours.shape[0]:<4d} {diff.max():>10d} "
              f"{diff.mean():>11.4f}")


if __name__ == "__main__":
    main()
