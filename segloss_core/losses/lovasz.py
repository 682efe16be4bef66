"""Lovász extensions of the Jaccard loss (Berman, Rannen Triki & Blaschko, CVPR 2018).

Both losses sort a per-pixel error vector per sample and dot it with the gradient of the Jaccard
loss along that order (Berman's ``lovasz_grad``, here :func:`tie_averaged_grad`); everything is
batched over samples (and classes) with one ``torch.sort``. Per image, never over the batch.

Ties. Where several pixels have the same error the Lovász extension has a kink: every order of
the tied pixels gives a valid (sub)gradient, and ``torch.sort`` picks one by the pixels' places in
memory, so two identical pixels can receive very different gradients (a raster-order pattern in a
gradient map). Here the tied pixels receive the *average over all orders* of the tied block (its
Shapley value): identical pixels get identical gradients, the value is unchanged (it does not
depend on the order), and without ties the result is exactly Berman's. Because the loss then
depends on the pixels only through the multiset of their (error, label) pairs, it can be evaluated
on distinct pairs weighted by their counts (:func:`segloss_core.tensors.weighted_pixels`).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..tensors import class_log_probs, class_targets, pixel_weights, require_binary


def tie_averaged_grad(err_sorted: torch.Tensor, fg: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    r"""Per-pixel Lovász gradient for rows sorted by decreasing error, averaged over ties.

    ``err_sorted``, ``fg`` (0/1), ``weight`` (pixel multiplicities): ``(R, N)``, in sorted order.
    With ``J(F, B) = 1 - (G - F)/(G + B)`` after F foreground and B background pixels (G = Σ fg), a
    block of equal errors holding f foreground and b background pixels after (F₀, B₀) changes J by
    ``J(F₀+f, B₀+b) - J(F₀, B₀)``. Averaged over the orders of the block, a foreground pixel sees
    ``k`` of the block's background pixels before it with k uniform on 0..b, so it gets
    :math:`\frac{1}{b+1}\sum_{k=0}^{b}\frac{1}{G+B_0+k} = \frac{\psi(G+B_0+b+1)-\psi(G+B_0)}{b+1}`;
    the background pixels share the rest equally. Blocks of one pixel give Berman's gradient.
    Computed in float64 without gradient (it weights the errors).
    """
    return _Blocks(err_sorted, fg, weight).grad()


class _Blocks:
    """The blocks of equal errors of sorted rows and their foreground/background pixel counts, shared
    by the two classes of the binary Lovász-Softmax (whose indicators are ``fg`` and ``1 - fg``)."""

    def __init__(self, err_sorted: torch.Tensor, fg: torch.Tensor, weight: torch.Tensor | None):
        with torch.no_grad():
            r, n = err_sorted.shape
            new = torch.zeros(r, n, dtype=torch.bool, device=err_sorted.device)
            torch.ne(err_sorted[:, 1:], err_sorted[:, :-1], out=new[:, 1:])
            self.block = new.cumsum(1)  # (R, N) block of each sorted pixel, from 0
            self.k = int(self.block[:, -1].max()) + 1  # blocks per row at most: block-level work is (R, k)
            self.fg, self.dtype = fg, err_sorted.dtype
            self.untied = self.k == n and weight is None
            if not self.untied:
                fg_w = fg if weight is None else fg * weight
                bg_w = (1 - fg) if weight is None else (1 - fg) * weight
                zeros = torch.zeros(r, self.k, dtype=fg_w.dtype, device=fg.device)
                self.f = zeros.clone().scatter_add_(1, self.block, fg_w).double()
                self.b = zeros.scatter_add_(1, self.block, bg_w).double()

    def grad(self, flip: bool = False) -> torch.Tensor:
        """Per-pixel gradient for the class ``fg`` (``1 - fg`` with ``flip``)."""
        with torch.no_grad():
            if self.untied:  # no tie anywhere: Berman's gradient along the one order
                return _berman_grad(1 - self.fg if flip else self.fg).to(self.dtype)
            f, b = (self.b, self.f) if flip else (self.f, self.b)
            f_after, b_after = f.cumsum(1), b.cumsum(1)
            f_before, b_before = f_after - f, b_after - b
            gts = f_after[:, -1:]

            def jaccard(fc, bc):
                union = gts + bc
                return torch.where(union > 0, 1 - (gts - fc) / union.clamp_min(1e-300), torch.zeros_like(union))

            total = jaccard(f_after, b_after) - jaccard(f_before, b_before)
            base = (gts + b_before).clamp_min(1.0)  # >= 1 wherever the block holds a foreground pixel
            per_fg = torch.where(f > 0, 1.0 / base, torch.zeros_like(f))  # exact for blocks without background
            mixed = torch.nonzero((f > 0) & (b > 0), as_tuple=True)
            if mixed[0].numel():  # digamma only where a block mixes both labels
                bm, xm = b[mixed], base[mixed]
                per_fg[mixed] = (torch.digamma(xm + bm + 1) - torch.digamma(xm)) / (bm + 1)
            per_bg = torch.where(b > 0, (total - f * per_fg) / torch.where(b > 0, b, torch.ones_like(b)),
                                 torch.zeros_like(b))
            table = torch.stack([per_bg, per_fg], 2).reshape(f.shape[0], -1).to(self.dtype)  # [bg, fg] per block
            return torch.gather(table, 1, self.block * 2 + ((self.fg < 0.5) if flip else (self.fg > 0.5)))


def _berman_grad(gt_sorted: torch.Tensor) -> torch.Tensor:
    """Berman's ``lovasz_grad``: the Jaccard loss's increments along one order, row-wise."""
    gts = gt_sorted.sum(1, keepdim=True)
    jac = 1.0 - (gts - gt_sorted.cumsum(1)) / (gts + (1 - gt_sorted).cumsum(1))
    return torch.cat([jac[:, :1], jac[:, 1:] - jac[:, :-1]], dim=1)


def _sorted_rows(errors: torch.Tensor, weight: torch.Tensor | None):
    """Rows sorted by decreasing error, the permutation, and the sorted multiplicities (or None)."""
    err_sorted, perm = torch.sort(errors, dim=1, descending=True)
    return err_sorted, perm, None if weight is None else torch.gather(weight.to(errors.dtype), 1, perm)


def _dot(err_sorted: torch.Tensor, grad: torch.Tensor, w: torch.Tensor | None) -> torch.Tensor:
    return (err_sorted * grad).sum(1) if w is None else (err_sorted * grad * w).sum(1)


def _lovasz_rows(errors: torch.Tensor, fg: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """``(R, N)`` errors, foreground indicators and optional multiplicities -> ``(R,)`` Lovász values."""
    err_sorted, perm, w = _sorted_rows(errors, weight)
    return _dot(err_sorted, _Blocks(err_sorted.detach(), torch.gather(fg, 1, perm), w).grad(), w)


def _present(indicator: torch.Tensor, weight: torch.Tensor | None) -> torch.Tensor:
    """``(R,)``: does the row hold a pixel of the class (padding entries have multiplicity 0)?"""
    return (indicator if weight is None else indicator * weight).sum(1) > 0


def _row_weights(b: int, channels: int) -> torch.Tensor | None:
    w = pixel_weights()
    return None if w is None else w.expand(b, channels, *w.shape[2:]).reshape(b * channels, -1)


def lovasz_hinge(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    r"""Binary Lovász hinge, per image, on logits.

    .. math:: m_i = \max(0, 1 - z_i (2g_i - 1)),\quad
              L = \overline{\Delta_J}(m) = \sum_i m_{\pi(i)}\, \nabla\Delta_J(g_\pi)_i

    with π the order of decreasing hinge error (tied pixels: gradient averaged over their orders,
    see the module docstring). Binary only.
    """
    require_binary("lovasz_hinge", logits)
    b = logits.shape[0]
    z = logits.reshape(b, -1)
    g = target.expand_as(logits).reshape(b, -1)
    return _lovasz_rows(F.relu(1.0 - z * (2 * g - 1)), g, _row_weights(b, 1))


def lovasz_softmax(logits: torch.Tensor, target: torch.Tensor, classes: str = "present") -> torch.Tensor:
    r"""Lovász-Softmax, per image, on probabilities.

    .. math:: L = \frac{1}{|C'|}\sum_{c\in C'} \overline{\Delta_{J_c}}(m(c)),\quad m_i(c) = |g_{ic} - p_{ic}|

    Each class uses its own foreground indicator ``g_c`` (not the class label). Binary input is the
    two-class softmax ``{1-p, p}``. ``classes="present"`` averages over the classes present in the
    sample's ground truth; ``"all"`` over every class. Tied errors: see the module docstring.
    """
    if classes not in ("present", "all"):
        raise ValueError(f"classes must be 'present' or 'all'; got {classes!r}")
    b = logits.shape[0]
    if logits.shape[1] == 1:
        # Two-class softmax {1-p, p}: both classes have the same errors |g - p|, so one sort serves both.
        p = torch.sigmoid(logits).reshape(b, -1)
        g = target.expand_as(logits).reshape(b, -1)
        weight = _row_weights(b, 1)
        err_sorted, perm, w = _sorted_rows((g - p).abs(), weight)
        fg = torch.gather(g, 1, perm)
        blocks = _Blocks(err_sorted.detach(), fg, w)
        vals = torch.stack([_dot(err_sorted, blocks.grad(flip=True), w), _dot(err_sorted, blocks.grad(), w)], 1)
        present = torch.stack([_present(1 - g, weight), _present(g, weight)], 1)
        k = 2
    else:
        p, _ = class_log_probs(logits)
        g = class_targets(target).expand_as(p)
        k = p.shape[1]
        pr = p.reshape(b * k, -1)
        gr = g.reshape(b * k, -1)
        weight = _row_weights(b, k)
        vals = _lovasz_rows((gr - pr).abs(), gr, weight).reshape(b, k)
        present = _present(gr, weight).reshape(b, k)
    if classes == "all":
        return vals.mean(1)
    present = present.to(vals.dtype)
    present = torch.where(present.sum(1, keepdim=True) > 0, present, torch.ones_like(present))
    return (vals * present).sum(1) / present.sum(1)
