"""The browser side of export: the onnxruntime-web files a static page needs, and a local
server that gives them the headers browsers ask for.

- ``runtime``: onnxruntime-web at a pinned version, from the npm registry with its
  integrity hash checked, or from a local copy; each file checked by its SHA-256.
- ``serve``: a static file server with cross-origin isolation (so WebAssembly may use
  threads) and the MIME types of ``.wasm`` and ``.mjs``.
"""
