"""``adain serve``: the page of ``adain export --web`` on a local web server, with the headers
its runtime needs (cross-origin isolation for WASM threads, the .wasm and .mjs types)."""

from __future__ import annotations

import contextlib
import ipaddress
import signal
import tempfile
import webbrowser
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from ..errors import AdaINError
from ..paths import DEFAULT_WEB_DIR
from .common import console, download_bar, err_console, fail, user_errors
from .options import OrtDirOption

EXAMPLES = """
Examples:

\b
  adain serve                                   # models/web, at http://127.0.0.1:8000/
  adain serve site/ --port 8080 --open          # and open it in the browser
  adain serve --onnx models/onnx                # a page for graphs already exported
  adain serve site/ --host 0.0.0.0              # to the network (the camera needs https)
"""


def serve(
    site: Annotated[Path | None, typer.Argument(
        file_okay=False, show_default=False,
        help=f"A folder written by adain export --web (default {DEFAULT_WEB_DIR}).")] = None,
    onnx: Annotated[Path | None, typer.Option(
        "--onnx", file_okay=False, show_default=False,
        help="Serve a page for the graphs in this folder (adain export's) instead of a site: "
             "it is put together in a temporary folder.")] = None,
    ort_dir: OrtDirOption = None,
    host: Annotated[str, typer.Option(
        help="Address to listen on; 127.0.0.1 keeps it to this machine.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port; 0 takes a free one.")
                    ] = 8000,
    open_browser: Annotated[bool, typer.Option("--open", metavar="",
                                               help="Open the page in the browser.")] = False,
) -> None:
    """Serve the browser page locally and print its URL (Ctrl-C stops)."""
    if site is not None and onnx is not None:
        raise fail("give a SITE folder or --onnx DIR, not both", 2)
    if ort_dir is not None and onnx is None:
        raise fail("--ort-dir is for --onnx (a SITE already holds its runtime)", 2)
    with user_errors(), _site_folder(site, onnx, ort_dir) as root:
        from ..export.web.serve import make_server, url_of

        server = make_server(root, host, port)
        url = url_of(server)
        console.print(f"serving {escape(str(site or onnx or root))} at [bold]{url}[/]  "
                      "(Ctrl-C stops)", soft_wrap=True)
        if not _is_loopback(host):
            err_console.print("[yellow]anyone who can reach this address sees the page; "
                              "browsers allow the camera only on https:// or localhost "
                              "pages[/]", soft_wrap=True)
        if open_browser:
            webbrowser.open(url)
        # A kill (SIGTERM) stops like Ctrl-C, so a site put together for --onnx is removed.
        signal.signal(signal.SIGTERM, _interrupt)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            console.print("stopped")
        finally:
            server.server_close()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def _site_folder(site: Path | None, onnx: Path | None, ort_dir: Path | None) -> Iterator[Path]:
    from ..export.web.site import SiteConfig, build_site, is_site

    if onnx is None:
        root = site or DEFAULT_WEB_DIR
        if not is_site(root):
            if (root / "stylizer.onnx").is_file():
                raise AdaINError(f"{root} holds graphs, not a site: serve them with `adain "
                                 f"serve --onnx {root}`")
            raise AdaINError(f"{root} is not a site of adain export --web; make one with "
                             f"`adain export --web -o {root}`, or serve graphs with --onnx DIR")
        yield root
        return
    with tempfile.TemporaryDirectory(prefix="adain-site-") as tmp:
        with download_bar() as bar:
            site = build_site(SiteConfig(out_dir=str(Path(tmp) / "site"), onnx_dir=str(onnx),
                                         ort_dir=str(ort_dir) if ort_dir else None),
                              progress=bar)
        yield site.path


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
