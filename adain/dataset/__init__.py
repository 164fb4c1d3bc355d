"""Stylised copies of whole datasets (Stylized-ImageNet and the like) and the style bank.

- ``plan``: which styles and alpha each image gets (a pure function of the seed and its
  path), output names, shards (torch-free);
- ``config``: ``DatasetConfig`` and the Stylized-ImageNet preset (torch-free);
- ``records``: run.json, the manifest and skipped list, their shard parts (torch-free);
- ``bank``: the style bank, every style's relu4_1 statistics computed once;
- ``inputs``: content images decoded in worker processes, bucketed by size;
- ``run``: ``stylize_dataset``, the loop over one process's shard.

``StyleAugment`` (``adain.augment``) reads the same style banks inside a training loop.
"""
