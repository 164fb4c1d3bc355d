"""The web export's building blocks: the pinned onnxruntime-web files (download, cache,
integrity, local copies) and the local server's headers. A fake release, built here in
npm's tarball layout, stands in for the real one: tests never download."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import threading
import urllib.request

import pytest

from adain.errors import AdaINError
from adain.export.web import runtime as rt
from adain.export.web.serve import ISOLATION_HEADERS, make_server, url_of

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
