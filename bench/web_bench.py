"""The browser page against onnxruntime in Python, in one run on this CPU (issue 16).

    python bench/web_bench.py [--vgg V --decoder D] [--model RUN/compact.safetensors]
                              [--sizes 256 512] [--runs 5] [--ort-dir ONNXRUNTIME_WEB]

For the VGG pair and a compact model (random weights in the published formats, and a
random width-0.25 model, unless given), it builds a site as ``adain export --web`` does,
serves it as ``adain serve`` does and drives the page in headless Chromium (Debian's
package, through Playwright):

1. ms per frame of ``stylizer.onnx`` at each size (square), the page's WASM backend with
   one thread and with every core (the page cross-origin isolated), beside onnxruntime in
   Python on the same CPU with the same thread counts; the median of ``--runs`` after one
   warm-up, each measured where it runs (``performance.now()`` in the page's worker,
   ``time.perf_counter`` in Python);
2. the page's load: seconds from navigation to the first stylised picture (the bundled
   photo at 512 px, the first style at 512 px), and the bytes transferred, in a fresh
   browser context (nothing cached).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
from common import cpu_name, random_weights

from adain.export.web.serve import make_server, url_of
from adain.export.web.site import SiteConfig, build_site

TIMEOUT_MS = 600_000


def random_compact(folder: Path) -> Path:
    import torch

    from adain import Decoder, VGGEncoder
    from adain.compact import save_compact

    torch.manual_seed(0)
    return save_compact(folder / "compact.safetensors", VGGEncoder(width=0.25),
                        Decoder(width=0.25), step=0, teacher="random")


def python_ms(site: Path, size: int, threads: int, runs: int) -> float:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(site / "models" / "stylizer.onnx"), options,
                                   providers=["CPUExecutionProvider"])
    channels = session.get_inputs()[1].shape[1]
    rng = np.random.default_rng(0)
    feeds = {"content": rng.random((1, 3, size, size), np.float32),
             "style_mean": rng.random((1, channels, 1, 1), np.float32),
             "style_std": rng.random((1, channels, 1, 1), np.float32) + 0.5,
             "alpha": np.array(1.0, np.float32)}
    session.run(None, feeds)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        session.run(None, feeds)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def page_ms(browser, url: str, size: int, threads: int, runs: int) -> float:
    page = browser.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{url}index.html?backend=wasm&threads={threads}&photo=32&style=64")
    page.wait_for_function("adain.done >= 1 || adain.errors.length")
    if page.evaluate("adain.errors.length"):
        raise SystemExit(f"the page failed: {page.evaluate('adain.errors')}")
    assert page.evaluate("adain.state.threads") == threads
    ms = page.evaluate(f"adain.bench({size}, {runs})")
    page.close()
    return statistics.median(ms)


def page_load(browser, url: str) -> tuple[float, int]:
    """Seconds to the first stylised picture and bytes transferred, nothing cached."""
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    sizes = []
    page.on("requestfinished", lambda request: sizes.append(request.sizes()["responseBodySize"]))
    start = time.perf_counter()
    page.goto(f"{url}index.html")
    page.wait_for_function("adain.done >= 1 || adain.errors.length")
    seconds = time.perf_counter() - start
    context.close()
    return seconds, sum(sizes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vgg")
    parser.add_argument("--decoder")
    parser.add_argument("--model", help="a compact model [default: random, width 0.25]")
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--ort-dir", help="a local copy of onnxruntime-web (else the cache)")
    parser.add_argument("--chromium", default=shutil.which("chromium"))
    args = parser.parse_args()
    if not args.chromium:
        sys.exit("no Chromium: apt-get install chromium (or give --chromium)")
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="web-bench-"))
    vgg, decoder = (args.vgg, args.decoder) if args.vgg else map(str, random_weights(work))
    pairs = {"VGG pair": {"vgg": vgg, "decoder": decoder},
             "compact": {"model": args.model or str(random_compact(work))}}
    cores = os.cpu_count() or 1
    print(f"CPU: {cpu_name()} ({cores} cores); onnxruntime {ort.__version__} in Python, "
          f"onnxruntime-web in Chromium (WASM); median of {args.runs} runs, ms per frame")
    rows, loads = [], {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=args.chromium)
        for name, networks in pairs.items():
            site = build_site(SiteConfig(out_dir=str(work / name.replace(" ", "_")),
                                         networks=networks, ort_dir=args.ort_dir,
                                         verify=False)).path
            server = make_server(site, port=0)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            url = url_of(server)
            for size in args.sizes:
                for threads in sorted({1, cores}):
                    rows.append((name, size, threads, page_ms(browser, url, size, threads,
                                                              args.runs),
                                 python_ms(site, size, threads, args.runs)))
            loads[name] = page_load(browser, url)
            server.shutdown()
            server.server_close()
        browser.close()
    print(f"{'model':>9} {'size':>5} {'threads':>7} {'page ms':>9} {'python ms':>10} "
          f"{'page/python':>11}")
    for name, size, threads, page, python in rows:
        print(f"{name:>9} {size:>5} {threads:>7} {page:9.0f} {python:10.0f} "
              f"{page / python:10.2f}x")
    for name, (seconds, size) in loads.items():
        print(f"page load ({name}): first picture after {seconds:.1f} s, "
              f"{size / 1e6:.1f} MB transferred")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
