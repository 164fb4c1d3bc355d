"""A local static server for the page, with the headers onnxruntime-web needs.

Browsers give WebAssembly threads (SharedArrayBuffer) only to a cross-origin isolated
page: every response carries ``Cross-Origin-Opener-Policy: same-origin`` and
``Cross-Origin-Embedder-Policy: require-corp``. ``.wasm`` is served as
``application/wasm`` (streaming compilation needs it) and ``.mjs`` as JavaScript (module
scripts need it), whatever the system's MIME table says. Files are never cached, so a
re-exported site is what the next reload shows.
"""

from __future__ import annotations

import errno
import functools
import http.server
from pathlib import Path

from adain.errors import AdaINError

ISOLATION_HEADERS = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
}
MIME_TYPES = {".wasm": "application/wasm", ".mjs": "text/javascript", ".js": "text/javascript",
              ".onnx": "application/octet-stream", ".json": "application/json"}


class _Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, **MIME_TYPES}

    def end_headers(self) -> None:
        for name, value in ISOLATION_HEADERS.items():
            self.send_header(name, value)
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (the base's name)
        pass  # the CLI prints the URL; one line per request would bury it


def make_server(root: Path, host: str = "127.0.0.1",
                port: int = 8000) -> http.server.ThreadingHTTPServer:
    """A server of the files under ``root`` (not started); port 0 takes a free port."""
    if not root.is_dir():
        raise AdaINError(f"{root} is not a folder to serve")
    handler = functools.partial(_Handler, directory=str(root))
    try:
        return http.server.ThreadingHTTPServer((host, port), handler)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise AdaINError(f"port {port} on {host} is already in use; give another with "
                             "--port (0 takes a free one)") from exc
        raise AdaINError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc


def url_of(server: http.server.ThreadingHTTPServer) -> str:
    host, port = server.server_address[:2]
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{port}/"
