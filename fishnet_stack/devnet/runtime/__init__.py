"""The devnet runtime: what runs inside each devnet VM process.

Everything in this package is **standard-library only** and imports its siblings relatively: the
compute node copies these files into ``<data_dir>/crn/runtime/fishnet_devnet_runtime/`` and starts
each VM as ``python -I -S -c <bootstrap>``, so a VM sees the stdlib, this harness, its code and its
volumes, and never the project's virtualenv. ``spec`` is the contract between the two sides.
"""

from __future__ import annotations

__all__: list[str] = []
