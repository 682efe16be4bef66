"""Exact pixel compression; the implementation lives in :mod:`segloss_core.engine.compression`
(and the two-valued fast path in :mod:`segloss_core.engine.profile`). Kept importable from here."""
from .engine.compression import Compressed, Ranks, compress, compress_with_maps

__all__ = ["Compressed", "Ranks", "compress", "compress_with_maps"]
