"""Peak host memory per input pixel of one encode + decode on the CPU.

    python bench/memory.py 1024 2048

Each size (shorter side, 3:2 pictures) runs in a fresh process, so the peak resident
set size it reports belongs to that size alone. adain/device.py's BYTES_PER_PIXEL comes
from this.
"""

from __future__ import annotations

import resource
import subprocess
import sys

import torch

from adain.decoder import Decoder
from adain.encoder import VGGEncoder


def measure(side: int) -> None:
    encoder, decoder = VGGEncoder().eval(), Decoder().eval()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    image = torch.rand(1, 3, side, side * 3 // 2)
    with torch.inference_mode():
        decoder(encoder.encode(image))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    pixels = side * side * 3 // 2
    print(f"{side * 3 // 2}x{side}: {(peak - before) / 2**20:.0f} MiB above the "
          f"{before / 2**20:.0f} MiB of a loaded process, "
          f"{(peak - before) / pixels:.0f} bytes/pixel")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--one":
        measure(int(sys.argv[2]))
    else:
        for side in sys.argv[1:] or ["1024", "2048"]:
            subprocess.run([sys.executable, __file__, "--one", side], check=True)
