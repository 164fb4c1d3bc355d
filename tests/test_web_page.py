"""The page of ``adain export --web`` in a real browser: headless Chromium (Debian's package)
driven by Playwright, the site built by the real CLI from random weights in the published
formats and served by ``adain.export.web.serve``. The page's pixels are held against
onnxruntime in Python on the very input the page used (WASM backend).

Skipped, with the reason, where Chromium or Playwright is missing; ``.ci/run`` installs
Chromium. The site needs onnxruntime-web 1.31.1: from the cache ``adain export --web``
keeps, or the npm registry once (skipped, with the reason, where neither can be had).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import urllib.request

import numpy as np
import onnxruntime as ort
import pytest
from helpers import SHARED_MEDIA, run, write_image
from PIL import Image

from adain.export.web.runtime import ORT_WEB, default_cache
from adain.export.web.serve import make_server, url_of

sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed "
                               "(pip install -e '.[dev]' installs it)")
CHROMIUM = os.environ.get("ADAIN_CHROMIUM") or shutil.which("chromium") or \
    shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed (Debian: "
                                "apt-get install chromium; or set ADAIN_CHROMIUM)")
TIMEOUT_MS = 180_000  # one stylisation on one slow core is seconds; page start-up a few more


@pytest.fixture(scope="module")
def site(published_weights, tmp_path_factory):
    root = tmp_path_factory.mktemp("web") / "site"
    result = run("export", "--web", "-o", root, "--vgg", published_weights[0], "--decoder",
                 published_weights[1])
    if result.exit_code != 0 and "onnxruntime-web" in result.output:
        pytest.skip(f"onnxruntime-web 1.31.1 could not be had: {result.output.strip()}")
    assert result.exit_code == 0, result.output
    return root


def _serve(folder):
    server = make_server(folder, port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def url(site):
    server = _serve(site)
    yield url_of(server)
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def fake_camera(tmp_path_factory):
    """Chromium's fake camera fed from a shared clip (y4m), or its own test pattern where
    the media are not beside the checkout."""
    clip = SHARED_MEDIA / "video" / "cockatoo.mp4"
    if not clip.is_file():
        return []
    from imageio_ffmpeg import get_ffmpeg_exe

    y4m = tmp_path_factory.mktemp("camera") / "cockatoo.y4m"
    subprocess.run([get_ffmpeg_exe(), "-v", "error", "-i", str(clip), "-t", "2", "-vf",
                    "scale=160:90", "-pix_fmt", "yuv420p", str(y4m)], check=True)
    return [f"--use-file-for-fake-video-capture={y4m}"]


@pytest.fixture(scope="module")
def chromium(fake_camera):
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
                  *fake_camera])
        yield playwright, browser
        browser.close()


@pytest.fixture
def page(chromium):
    _, browser = chromium
    context = browser.new_context(viewport={"width": 1200, "height": 800},
                                  accept_downloads=True)
    context.grant_permissions(["camera"])
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    yield page
    context.close()


def _open(page, url, query="", results=1):
    page.goto(f"{url}index.html{query}")
    if results:
        _wait_for_results(page, results)


def _wait_for_results(page, count):
    page.wait_for_function(f"window.adain && (adain.done >= {count} || adain.errors.length)")
    assert page.evaluate("adain.errors") == []


def _last(page) -> dict:
    """The page's last stylisation: input and output RGB (H, W, 3) uint8, the style
    statistics and alpha."""
    last = page.evaluate("""() => {
        const l = adain.last;
        return {width: l.input.width, height: l.input.height, input: Array.from(l.input.data),
                output: Array.from(l.output.data), mean: Array.from(l.mean),
                std: Array.from(l.std), alpha: l.alpha, tiles: l.tiles};
    }""")
    shape = (last["height"], last["width"], 4)
    last["input"] = np.array(last["input"], np.uint8).reshape(shape)[..., :3]
    last["output"] = np.array(last["output"], np.uint8).reshape(shape)[..., :3]
    return last


def _onnxruntime(site, name, **inputs):
    session = ort.InferenceSession(str(site / "models" / f"{name}.onnx"),
                                   providers=["CPUExecutionProvider"])
    return session.run(None, inputs)


def _stylized_in_python(site, last) -> np.ndarray:
    """onnxruntime in Python on the page's input, statistics and alpha: RGB uint8, rounded as
    the page and adain.realtime round (clip, +0.5, floor)."""
    content = (last["input"].astype(np.float32) / 255).transpose(2, 0, 1)[None]
    stats = {k: np.array(last[k], np.float32).reshape(1, -1, 1, 1) for k in ("mean", "std")}
    (out,) = _onnxruntime(site, "stylizer", content=content, style_mean=stats["mean"],
                          style_std=stats["std"], alpha=np.array(last["alpha"], np.float32))
    return np.clip(out[0].transpose(1, 2, 0) * 255 + 0.5, 0, 255).astype(np.uint8)


def _assert_same_picture(got: np.ndarray, want: np.ndarray, levels: int = 2,
                         equal: float = 0.99) -> None:
    """At most ``levels`` apart anywhere, and at least the fraction ``equal`` of the values
    the same (float rounding in two builds of onnxruntime flips a few roundings)."""
    assert got.shape == want.shape
    assert int(np.abs(got.astype(np.int16) - want).max()) <= levels
    assert np.mean(got == want) >= equal


def test_page_encodes_a_style_and_stylises_the_photo_as_onnxruntime_does(site, url, page):
    _open(page, url, "?backend=wasm&photo=48")
    assert page.evaluate("adain.state.backend") == "wasm"
    assert "WASM" in page.text_content("#readout")
    style = page.evaluate("""async () => {
        const s = await adain.styleStats(0);
        return {mean: Array.from(s.mean), std: Array.from(s.std), width: s.image.width,
                height: s.image.height, data: Array.from(s.image.data)};
    }""")
    pixels = np.array(style["data"], np.uint8).reshape(style["height"], style["width"], 4)
    assert min(style["height"], style["width"]) == 512  # the style size of adain stylize
    mean, std = _onnxruntime(site, "style_encoder", style=(
        pixels[..., :3].astype(np.float32) / 255).transpose(2, 0, 1)[None])
    np.testing.assert_allclose(style["mean"], mean.ravel(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(style["std"], std.ravel(), rtol=1e-4, atol=1e-4)
    last = _last(page)
    assert min(last["input"].shape[:2]) == 48
    assert last["mean"] == pytest.approx(style["mean"])  # the cached statistics
    _assert_same_picture(last["output"], _stylized_in_python(site, last))


def test_an_uploaded_photo_is_stylised_at_full_size_as_onnxruntime_does(site, url, page,
                                                                        tmp_path):
    _open(page, url, "?backend=wasm&photo=40&style=64")
    photo = write_image(tmp_path / "upload.png", (72, 40), seed=3)
    page.set_input_files("#photo-file", str(photo))
    _wait_for_results(page, 2)
    last = _last(page)
    np.testing.assert_array_equal(last["input"], np.asarray(Image.open(photo)))  # unchanged
    _assert_same_picture(last["output"], _stylized_in_python(site, last))
    shown = page.evaluate("[document.getElementById('output').width, "
                          "document.getElementById('output').height]")
    assert shown == [72, 40]


def test_tiles_in_the_page_equal_the_whole_picture(site, url, page, tmp_path):
    # 264 x 260 in tiles of 56: the middle tile's halos (88 px: the encoder's 40 and the
    # decoder's 6 positions) stay inside the picture, and the edges are not multiples of 8.
    _open(page, url, "?backend=wasm&photo=260&tile=56&style=64")
    photo = write_image(tmp_path / "big.png", (267, 260), seed=5)
    page.set_input_files("#photo-file", str(photo))
    _wait_for_results(page, 2)
    last = _last(page)
    assert last["tiles"] == 25  # 5 x 5 tiles of 56 px
    # As adain stylize's tiles: within 1 level of the whole picture, nearly all equal (with
    # too small a halo, a quarter of the values differ).
    _assert_same_picture(last["output"], _stylized_in_python(site, last), levels=1,
                         equal=0.999)


def test_a_tiled_picture_can_be_cancelled_between_tiles(url, page, tmp_path):
    _open(page, url, "?backend=wasm&photo=0&tile=16&style=64", results=0)  # 1024 tiles
    page.click("#cancel")
    page.wait_for_function("document.getElementById('status').textContent === 'cancelled'")
    assert page.evaluate("[adain.done, adain.errors]") == [0, []]  # the job ended unfinished
    assert page.locator("#cancel").is_hidden()
    photo = write_image(tmp_path / "small.png", (40, 30), seed=2)
    page.set_input_files("#photo-file", str(photo))  # and the page goes on
    _wait_for_results(page, 1)


def test_a_webcam_frame_is_stylised_as_onnxruntime_does(site, url, page):
    _open(page, url, "?backend=wasm&photo=32&size=64&style=64")
    page.click("#use-camera")
    _wait_for_results(page, 3)  # the photo, then camera frames
    assert page.evaluate("adain.state.camera !== null")
    last = _last(page)
    assert max(last["input"].shape[:2]) == 64
    assert last["input"].std() > 1  # a picture from the camera, not a blank frame
    _assert_same_picture(last["output"], _stylized_in_python(site, last))
    assert "fps" in page.text_content("#readout")
    page.keyboard.press("q")  # as in adain webcam: the camera stops
    page.wait_for_function("adain.state.camera === null")


def test_blend_strength_and_colours_are_those_of_the_python_graphs(site, url, page):
    _open(page, url, "?backend=wasm&photo=48&style=64")
    page.click("#styles [role=option]:nth-child(3)", modifiers=["Shift"])  # blend in a second
    page.locator("#blend").fill("0.25")
    page.locator("#alpha").fill("0.5")
    page.check("#colours")
    page.wait_for_function("adain.last.colours && adain.last.alpha === 0.5 && "
                           "!adain.state.busy && adain.state.blend === 0.25")
    last = _last(page)
    first, second = (np.array(page.evaluate(f"adain.styleStats({i}).then(s => [Array.from(s.mean),"
                                            " Array.from(s.std)])")) for i in (0, 2))
    blended = 0.75 * first + 0.25 * second  # (mean, std)
    np.testing.assert_allclose([last["mean"], last["std"]], blended, rtol=1e-5, atol=1e-6)
    stylized = _stylized_in_python(site, last).astype(np.float64)
    content = last["input"].astype(np.float64)
    luma = np.array([0.299, 0.587, 0.114])
    kept = np.clip(np.round(content + (stylized @ luma - content @ luma)[..., None]), 0, 255)
    _assert_same_picture(last["output"], kept.astype(np.uint8))


def test_a_style_dropped_on_the_right_half_is_encoded_and_used(site, url, page, tmp_path):
    _open(page, url, "?backend=wasm&photo=32&style=64")
    style = write_image(tmp_path / "mine.png", (80, 64), seed=9)
    transfer = page.evaluate_handle("""([name, bytes]) => {
        const transfer = new DataTransfer();
        transfer.items.add(new File([new Uint8Array(bytes)], name, {type: 'image/png'}));
        return transfer;
    }""", ["mine.png", list(style.read_bytes())])
    page.dispatch_event("body", "drop", {"dataTransfer": transfer, "clientX": 1100,
                                         "clientY": 300})
    page.wait_for_function("adain.state.styles.length === 7 && adain.state.first === 6 && "
                           "adain.done >= 2 && !adain.state.busy")
    encoded = page.evaluate("adain.styleStats(6).then(s => ({mean: Array.from(s.mean), "
                            "width: s.image.width, height: s.image.height}))")
    assert (encoded["width"], encoded["height"]) == (80, 64)  # shorter side 64: as it is
    pixels = np.asarray(Image.open(style), np.float32) / 255
    mean, _ = _onnxruntime(site, "style_encoder", style=pixels.transpose(2, 0, 1)[None])
    np.testing.assert_allclose(encoded["mean"], mean.ravel(), rtol=1e-4, atol=1e-4)
    assert _last(page)["mean"] == pytest.approx(encoded["mean"])
    page.click("#styles [role=option]:nth-child(1)")
    page.dispatch_event("body", "drop", {"dataTransfer": transfer, "clientX": 1100,
                                         "clientY": 300})  # the same file again
    page.wait_for_function("adain.state.first === 6")
    assert page.evaluate("adain.state.styles.length") == 7  # its thumbnail, not a second


def test_keys_change_style_strength_and_colours(url, page):
    _open(page, url, "?backend=wasm&photo=32&style=64")
    page.keyboard.press("n")
    page.keyboard.press("-")
    page.keyboard.press("c")
    assert page.evaluate("[adain.state.first, adain.state.alpha, adain.state.colours]") == \
        [1, 0.9, True]
    page.keyboard.press("p")
    assert page.evaluate("adain.state.first") == 0
    page.keyboard.press("Control+c")  # the browser's copy, not a key of the page
    assert page.evaluate("adain.state.colours") is True


def test_a_second_camera_click_while_the_first_starts_leaves_no_camera_on(url, page):
    page.add_init_script("""
        const original = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
        window.streams = [];
        navigator.mediaDevices.getUserMedia = async (constraints) => {
            const stream = await original(constraints);
            window.streams.push(stream);
            return stream;
        };""")
    _open(page, url, "?backend=wasm&photo=32&size=64&style=64")
    page.click("#use-camera")
    page.click("#use-camera")
    page.wait_for_function("adain.state.camera !== null && adain.done >= 2")
    page.keyboard.press("q")
    page.wait_for_function("adain.state.camera === null")
    assert page.evaluate("window.streams.every(s => s.getTracks().every("
                         "t => t.readyState === 'ended'))")


def test_the_snapshot_is_the_photo_at_full_size(url, page, tmp_path):
    _open(page, url, "?backend=wasm&photo=32&style=64")
    photo = write_image(tmp_path / "holiday.png", (96, 64), seed=7)
    page.set_input_files("#photo-file", str(photo))
    _wait_for_results(page, 2)
    with page.expect_download() as download:
        page.click("#snapshot")
    saved = tmp_path / "saved.png"
    download.value.save_as(saved)
    assert download.value.suggested_filename == "holiday_stylized_starry_night.png"
    assert Image.open(saved).size == (96, 64)  # the display was 48 x 32


@pytest.mark.parametrize(("args", "grant", "sentence"), [
    ([], True, "No camera was found"),  # no fake camera: none at all
    # A camera, but no automatic yes: headless Chromium answers the prompt with no.
    (["--use-fake-device-for-media-stream"], False, "Camera permission was denied"),
])
def test_camera_failures_are_said_on_the_page(chromium, url, args, grant, sentence):
    playwright, _ = chromium
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
    try:
        context = browser.new_context()
        if grant:
            context.grant_permissions(["camera"])
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        _open(page, url, "?backend=wasm&photo=32&style=64")
        page.click("#use-camera")
        page.wait_for_selector("#error:not([hidden])")
        assert page.text_content("#error").startswith(sentence)
        assert page.evaluate("adain.state.camera") is None
    finally:
        browser.close()


def test_missing_graphs_are_said_on_the_page(site, page, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(site, broken, ignore=shutil.ignore_patterns("stylizer.onnx"))
    server = _serve(broken)
    try:
        page.goto(f"{url_of(server)}index.html?backend=wasm")
        page.wait_for_selector("#error:not([hidden])")
        text = page.text_content("#error")
        assert "models/stylizer.onnx is missing" in text and "adain export --web" in text
    finally:
        server.shutdown()
        server.server_close()


def _has_webgpu(page) -> bool:
    return page.evaluate("async () => Boolean(navigator.gpu && "
                         "await navigator.gpu.requestAdapter())")


def test_on_webgpu_the_page_stylises_as_onnxruntime_does(site, url, page):
    page.goto(f"{url}index.html")
    if not _has_webgpu(page):
        pytest.skip("this headless Chromium has no WebGPU adapter (no GPU)")
    _open(page, url, "?backend=webgpu&photo=48&style=64")
    assert page.evaluate("adain.state.backend") == "webgpu"
    _assert_same_picture(_last(page)["output"], _stylized_in_python(site, _last(page)))


def test_asking_for_webgpu_where_there_is_none_says_so_and_runs_on_wasm(url, page):
    page.goto(f"{url}index.html?photo=32&style=64")
    if _has_webgpu(page):
        pytest.skip("this browser has WebGPU")
    page.goto(f"{url}index.html?backend=webgpu&photo=32&style=64")
    page.wait_for_function("adain.done >= 1")
    assert page.locator("#notice").is_visible()  # it stays: the picture clears only errors
    assert page.text_content("#notice").startswith("WebGPU is not available")
    assert page.evaluate("adain.state.backend") == "wasm"


def test_serve_onnx_puts_a_site_together_serves_it_and_removes_it_when_stopped(site,
                                                                              tmp_path):
    tarball = default_cache() / ORT_WEB.tarball  # the site fixture put it there
    process = subprocess.Popen(
        [sys.executable, "-m", "adain", "serve", "--onnx", str(site / "models"), "--ort-dir",
         str(tarball), "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, env={**os.environ, "TMPDIR": str(tmp_path)})
    try:
        lines = []
        while not (url := re.search(r"http://127\.0\.0\.1:\d+/", "".join(lines))):
            lines.append(process.stdout.readline())  # a progress line may come first
            assert lines[-1] and len(lines) < 10, lines
        with urllib.request.urlopen(url.group(0) + "site.json") as response:
            assert set(json.loads(response.read())["graphs"]) == {
                "style_encoder", "stylizer", "encoder", "decoder"}
        assert list(tmp_path.glob("adain-site-*"))
        process.terminate()  # SIGTERM, as a service manager stops it
        assert process.wait(timeout=30) == 0
        assert not list(tmp_path.glob("adain-site-*"))
    finally:
        process.kill()


def test_the_page_fits_a_phone_screen(url, chromium):
    _, browser = chromium
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                  has_touch=True)
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        _open(page, url, "?backend=wasm&photo=32&style=64")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        box = page.locator("#output").bounding_box()
        assert box["width"] > 300  # the picture takes the screen's width
        assert page.locator("#use-camera").is_visible()
    finally:
        context.close()
