"""Lovász extensions of the Jaccard loss (Berman, Rannen Triki & Blaschko, CVPR 2018).

Both losses sort a per-pixel error vector per sample and dot it with the gradient of the Jaccard
loss along that order (Berman's ``lovasz_grad``); everything is batched over samples (and classes)
with one ``torch.sort``. Per image, never over the batch.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..tensors import class_log_probs, class_targets, require_binary


def lovasz_grad(gt_sorted: torch.Tensor) -> torch.Tensor:
    """Gradient of the Lovász extension of the Jaccard loss w.r.t. sorted errors, row-wise.

    ``gt_sorted``: ``(R, N)`` 0/1 ground truth in the order of decreasing error.
    """
    gts = gt_sorted.sum(1, keepdim=True)
    intersection = gts - gt_sorted.cumsum(1)
    union = gts + (1 - gt_sorted).cumsum(1)
    jac = 1.0 - intersection / union
    return torch.cat([jac[:, :1], jac[:, 1:] - jac[:, :-1]], dim=1)


def _lovasz_rows(errors: torch.Tensor, fg: torch.Tensor) -> torch.Tensor:
    """``(R, N)`` errors and foreground indicators -> ``(R,)`` Lovász values."""
    err_sorted, perm = torch.sort(errors, dim=1, descending=True)
    grad = lovasz_grad(torch.gather(fg, 1, perm))
    return (err_sorted * grad).sum(1)


def lovasz_hinge(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    r"""Binary Lovász hinge, per image, on logits.

    .. math:: m_i = \max(0, 1 - z_i (2g_i - 1)),\quad
              L = \overline{\Delta_J}(m) = \sum_i m_{\pi(i)}\, \nabla\Delta_J(g_\pi)_i

    with π the order of decreasing hinge error. Binary only.
    """
    require_binary("lovasz_hinge", logits)
    b = logits.shape[0]
    z = logits.reshape(b, -1)
    g = target.expand_as(logits).reshape(b, -1)
    return _lovasz_rows(F.relu(1.0 - z * (2 * g - 1)), g)


def lovasz_softmax(logits: torch.Tensor, target: torch.Tensor, classes: str = "present") -> torch.Tensor:
    r"""Lovász-Softmax, per image, on probabilities.

    .. math:: L = \frac{1}{|C'|}\sum_{c\in C'} \overline{\Delta_{J_c}}(m(c)),\quad m_i(c) = |g_{ic} - p_{ic}|

    Each class uses its own foreground indicator ``g_c`` (not the class label). Binary input is the
    two-class softmax ``{1-p, p}``. ``classes="present"`` averages over the classes present in the
    sample's ground truth; ``"all"`` over every class.
    """
    if classes not in ("present", "all"):
        raise ValueError(f"classes must be 'present' or 'all'; got {classes!r}")
    b = logits.shape[0]
    if logits.shape[1] == 1:
        # Two-class softmax {1-p, p}: both classes have the same errors |g - p|, so one sort serves both.
        p = torch.sigmoid(logits).reshape(b, -1)
        g = target.expand_as(logits).reshape(b, -1)
        err_sorted, perm = torch.sort((g - p).abs(), dim=1, descending=True)
        fg = torch.gather(g, 1, perm)
        vals = torch.stack([(err_sorted * lovasz_grad(1 - fg)).sum(1), (err_sorted * lovasz_grad(fg)).sum(1)], 1)
        gr = torch.stack([1 - g, g], 1).reshape(2 * b, -1)
        k = 2
    else:
        p, _ = class_log_probs(logits)
        g = class_targets(target).expand_as(p)
        k = p.shape[1]
        pr = p.reshape(b * k, -1)
        gr = g.reshape(b * k, -1)
        vals = _lovasz_rows((gr - pr).abs(), gr).reshape(b, k)
    if classes == "all":
        return vals.mean(1)
    present = (gr.sum(1) > 0).reshape(b, k).to(vals.dtype)
    present = torch.where(present.sum(1, keepdim=True) > 0, present, torch.ones_like(present))
    return (vals * present).sum(1) / present.sum(1)
