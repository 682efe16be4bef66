"""SegLoss Lab core: segmentation losses, their gradients, masks, perturbations and sweeps.

No Streamlit here. The calling convention (see :mod:`segloss_core.tensors`): logits
``(B, C, *spatial)`` and target ``(B|1, C, *spatial)`` in, one value per sample ``(B,)`` out.
The registry (:mod:`segloss_core.registry`) is the single source of truth for the losses.
"""
from .distance import TargetMaps
from .registry import FAMILIES, KEYS, REGISTRY, LossSpec, Param, get

__all__ = ["FAMILIES", "KEYS", "REGISTRY", "LossSpec", "Param", "TargetMaps", "get"]
