"""The web export without a browser: the pinned onnxruntime-web files (download, cache,
integrity, local copies), the local server's headers, the site that ``adain export --web``
writes and ``adain serve``. A fake release, built here in npm's tarball layout, stands in
for the real one: these tests never download. The page itself is tested in a browser in
test_web_page.py."""

from __future__ import annotations

import errno
import hashlib
import io
import json
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import threading
import urllib.request

import onnx
import pytest
from helpers import run

from adain import samples, tiling
from adain.errors import AdaINError
from adain.export.graph_file import read_metadata, set_metadata
from adain.export.web import runtime as rt
from adain.export.web import site as site_module
from adain.export.web.serve import ISOLATION_HEADERS, make_server, url_of
from adain.export.web.site import SiteConfig, build_site

FILES_GONE = "ort-old.wasm"  # a runtime file an older export wrote and the new one does not
FILES = {"ort.wasm.min.mjs": b"export const ort = 1;\n", "ort-wasm-simd-threaded.wasm": b"\0asm1"}


def _tarball(files: dict[str, bytes], version: str = "9.9.9") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in {**{f"dist/{k}": v for k, v in files.items()},
                           "package.json": json.dumps({"version": version}).encode()}.items():
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _release(data: bytes) -> rt.Runtime:
    return rt.Runtime("fake-ort", "9.9.9", rt.integrity_of(data),
                      {name: hashlib.sha256(body).hexdigest() for name, body in FILES.items()})


@pytest.fixture
def registry(tmp_path):
    """A local registry serving the fake release: (url, runtime, served folder)."""
    data = _tarball(FILES)
    release = _release(data)
    served = tmp_path / "registry"
    (served / release.package / "-").mkdir(parents=True)
    (served / release.package / "-" / release.tarball).write_bytes(data)
    server = make_server(served, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield url_of(server).rstrip("/"), release, served
    server.shutdown()
    server.server_close()


def test_the_pinned_release_names_every_file_a_page_loads():
    assert rt.ORT_WEB.integrity.startswith("sha512-")
    bundles = {"ort.wasm.min.mjs", "ort.webgpu.min.mjs"}
    assert bundles <= set(rt.ORT_WEB.files)
    assert all(len(digest) == 64 for digest in rt.ORT_WEB.files.values())
    assert rt.ORT_WEB.url() == ("https://registry.npmjs.org/onnxruntime-web/-/"
                                "onnxruntime-web-1.31.1.tgz")


def test_download_checks_integrity_caches_and_copies_the_files(registry, tmp_path):
    url, release, served = registry
    cache, site = tmp_path / "cache", tmp_path / "site"
    written = rt.install_runtime(site, release, cache=cache, registry=url)
    assert {p.name: p.read_bytes() for p in written} == FILES
    assert (cache / release.tarball).is_file()
    (served / release.package / "-" / release.tarball).unlink()  # offline from now on
    again = rt.install_runtime(tmp_path / "site2", release, cache=cache, registry=url)
    assert {p.name: p.read_bytes() for p in again} == FILES  # from the cache


def test_a_tampered_download_is_refused_and_leaves_nothing(registry, tmp_path):
    url, release, served = registry
    (served / release.package / "-" / release.tarball).write_bytes(_tarball(
        {**FILES, "ort.wasm.min.mjs": b"evil();"}))
    cache = tmp_path / "cache"
    with pytest.raises(AdaINError, match="integrity hash differs"):
        rt.install_runtime(tmp_path / "site", release, cache=cache, registry=url)
    assert list(cache.iterdir()) == [] and not (tmp_path / "site").exists()


def test_a_corrupt_cached_tarball_is_downloaded_again(registry, tmp_path):
    url, release, _ = registry
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / release.tarball).write_bytes(b"torn")
    rt.install_runtime(tmp_path / "site", release, cache=cache, registry=url)
    assert rt.integrity_of((cache / release.tarball).read_bytes()) == release.integrity


def test_offline_says_how_to_give_a_local_copy(tmp_path):
    data = _tarball(FILES)
    with pytest.raises(AdaINError, match=r"npm pack fake-ort@9\.9\.9.*--ort-dir"):
        rt.install_runtime(tmp_path / "site", _release(data), cache=tmp_path / "cache",
                           registry="http://127.0.0.1:9")  # nothing listens on port 9


@pytest.mark.parametrize("layout", ["tarball", "package", "dist", "node_modules"])
def test_a_local_copy_in_any_usual_layout_is_accepted(tmp_path, layout):
    data = _tarball(FILES)
    root = tmp_path / "copy"
    dist = {"package": root / "dist", "dist": root,
            "node_modules": root / "node_modules" / "fake-ort" / "dist"}.get(layout)
    if dist is None:
        root.mkdir()
        (root / "pkg.tgz").write_bytes(data)
        local = root / "pkg.tgz"
    else:
        dist.mkdir(parents=True)
        for name, body in FILES.items():
            (dist / name).write_bytes(body)
        local = root
    written = rt.install_runtime(tmp_path / "site", _release(data), local=local)
    assert {p.name: p.read_bytes() for p in written} == FILES


def test_a_local_copy_of_another_version_is_refused_by_name(tmp_path):
    release = _release(_tarball(FILES))
    dist = tmp_path / "pkg" / "dist"
    dist.mkdir(parents=True)
    (tmp_path / "pkg" / "package.json").write_text(json.dumps({"version": "1.0.0"}))
    for name, body in FILES.items():
        (dist / name).write_bytes(body + b"changed")
    with pytest.raises(AdaINError, match=r"other contents.*holds version 1\.0\.0.*npm pack"):
        rt.install_runtime(tmp_path / "site", release, local=tmp_path / "pkg")
    with pytest.raises(AdaINError, match="does not hold fake-ort's dist files"):
        rt.install_runtime(tmp_path / "site", release, local=tmp_path)
    with pytest.raises(AdaINError, match="does not exist"):
        rt.install_runtime(tmp_path / "site", release, local=tmp_path / "nope")
    assert not (tmp_path / "site").exists()


def test_the_server_isolates_the_page_and_types_wasm_and_modules(tmp_path):
    (tmp_path / "a.wasm").write_bytes(b"\0asm")
    (tmp_path / "b.mjs").write_text("export {};")
    server = make_server(tmp_path, port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        for name, mime in (("a.wasm", "application/wasm"), ("b.mjs", "text/javascript")):
            with urllib.request.urlopen(url_of(server) + name) as response:
                assert response.headers["Content-Type"] == mime
                for header, value in ISOLATION_HEADERS.items():
                    assert response.headers[header] == value
        with pytest.raises(AdaINError, match="already in use; give another with --port"):
            make_server(tmp_path, port=server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


# -- the site (adain export --web) and adain serve -------------------------------------------

def _fake_site(tmp_path, exported, name="site", **options):
    """A site built from the exported graphs, with the fake release as its runtime."""
    data = _tarball(FILES)
    local = tmp_path / "fake-ort.tgz"
    local.write_bytes(data)
    config = SiteConfig(out_dir=str(tmp_path / name), onnx_dir=str(exported[0]),
                        runtime=_release(data), ort_dir=str(local), **options)
    return build_site(config)


def test_a_site_holds_the_page_its_graphs_the_runtime_the_styles_and_a_manifest(exported,
                                                                                tmp_path):
    site = _fake_site(tmp_path, exported)
    root = site.path
    for name in ("index.html", "app.mjs", "worker.mjs", "tiles.mjs", "pixels.mjs", "style.css",
                 "_headers", "styles/SOURCES.md", *(f"ort/{name}" for name in FILES)):
        assert (root / name).is_file(), name
    assert sorted(p.name for p in (root / "models").iterdir()) == [
        "style_encoder.onnx", "stylizer.onnx"]  # adain.onnx and the variants stay behind
    manifest = json.loads((root / "site.json").read_text())
    assert manifest["channels"] == 512 and manifest["runtime"]["version"] == "9.9.9"
    assert manifest["tiling"] == {"stride": tiling.STRIDE, "encoder_halo": tiling.ENCODER_HALO,
                                  "decoder_halo": tiling.DECODER_HALO}
    assert [s["name"] for s in manifest["styles"]] == [s.name for s in samples.STYLES]
    assert all((root / s["file"]).is_file() for s in (*manifest["styles"], manifest["photo"]))
    assert "Cross-Origin-Embedder-Policy: require-corp" in (root / "_headers").read_text()
    assert not site.tiles  # a plain export has no tile graphs: the page shrinks large photos
    assert not list(tmp_path.glob(".site-*"))  # no staging folder left


def test_an_earlier_site_is_replaced_whole_and_other_folders_are_refused(exported, tmp_path):
    first = _fake_site(tmp_path, exported).path
    (first / "ort" / FILES_GONE).write_text("a file the last export wrote")
    manifest = json.loads((first / "site.json").read_text())
    (first / "site.json").write_text(json.dumps(
        {**manifest, "files": [*manifest["files"], f"ort/{FILES_GONE}"]}))
    (first / "CNAME").write_text("art.example.org")  # the user's own files
    (first / "photos").mkdir()
    (first / "photos" / "me.png").write_bytes(b"png")
    again = _fake_site(tmp_path, exported)
    assert again.path == first and not (first / "ort" / FILES_GONE).exists()
    assert again.kept == ("CNAME", "photos/me.png")
    assert (first / "CNAME").read_text() == "art.example.org"
    assert (first / "photos" / "me.png").read_bytes() == b"png"
    manifest = json.loads((first / "site.json").read_text())  # app.mjs as the user's own:
    manifest["files"].remove("app.mjs")  # a name the next site needs, so a clash
    (first / "site.json").write_text(json.dumps(manifest))
    with pytest.raises(AdaINError, match="app.mjs is yours.*nothing was changed"):
        _fake_site(tmp_path, exported)
    assert (first / "CNAME").is_file()
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    (mine / "index.html").write_text("my own page")
    (mine / "site.json").write_text('{"producer": "my static site generator"}')
    with pytest.raises(AdaINError, match="holds other files.*nothing in it was changed"):
        _fake_site(tmp_path, exported, name="mine")
    assert sorted(p.name for p in mine.iterdir()) == ["index.html", "notes.txt", "site.json"]


def test_a_failed_write_says_so_in_one_line_and_leaves_the_earlier_site(exported, tmp_path,
                                                                        monkeypatch):
    first = _fake_site(tmp_path, exported).path
    before = sorted(p.relative_to(first) for p in first.rglob("*"))

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(site_module.shutil, "copytree", full_disk)
    with pytest.raises(AdaINError, match="No space left on device.*free some room"):
        _fake_site(tmp_path, exported)
    assert sorted(p.relative_to(first) for p in first.rglob("*")) == before
    assert not list(tmp_path.glob(".site-*"))


def test_the_current_folder_is_not_a_site_folder(exported, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(AdaINError, match="is the current folder"):
        build_site(SiteConfig(out_dir=".", onnx_dir=str(exported[0])))


def test_graphs_from_other_weights_do_not_make_a_site(exported, tmp_path):
    mixed = tmp_path / "mixed"
    shutil.copytree(exported[0], mixed)
    model = onnx.load(str(mixed / "style_encoder.onnx"))
    set_metadata(model, {**read_metadata(mixed / "style_encoder.onnx"), "vgg_sha256": "other"})
    onnx.save(model, str(mixed / "style_encoder.onnx"))
    with pytest.raises(AdaINError, match="different weights"):
        _fake_site(tmp_path, (mixed,))


def test_export_web_refuses_in_one_line_before_any_work(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run("export", "--web", "--onnx", empty, "-o", tmp_path / "site")
    assert result.exit_code == 1
    assert "lacks style_encoder.onnx, stylizer.onnx" in result.output
    assert "adain export -o" in result.output
    for args, message in ((["--web", "--half"], "leave out --half"),
                          (["--onnx", empty], "for --web"),
                          (["--web", "--onnx", empty, "--vgg", "v.pth"], "leave out --vgg"),
                          (["--ort-dir", empty], "is for --web"),
                          (["--web", "--onnx", "-o", "x"], "--onnx needs its DIR with --web")):
        result = run("export", *args)
        assert result.exit_code == 2 and message in result.output, result.output
    assert not (tmp_path / "site").exists()


def test_serve_refuses_a_folder_that_is_not_a_site(tmp_path):
    result = run("serve", tmp_path)
    assert result.exit_code == 1
    assert "is not a site of adain export --web" in result.output
    assert run("serve", tmp_path, "--onnx", tmp_path).exit_code == 2


def test_serve_prints_the_url_serves_with_isolation_and_stops_on_ctrl_c(exported, tmp_path):
    site = _fake_site(tmp_path, exported).path
    process = subprocess.Popen([sys.executable, "-m", "adain", "serve", str(site), "--port", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = process.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/", line)
        assert url, line
        with urllib.request.urlopen(url.group(0)) as response:
            assert b"<title>adain" in response.read()
            assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"
        with urllib.request.urlopen(url.group(0) + "site.json") as response:
            assert json.loads(response.read())["graphs"]["stylizer"]["file"] == \
                "models/stylizer.onnx"
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        assert "stopped" in process.stdout.read()
    finally:
        process.kill()
