"""The evaluation engine: values, gradients w.r.t. the logits and gradient summaries of many losses
on a batch of predictions, exactly those of the plain per-pixel evaluation, in as few passes over
the pixels as the losses allow.

Modules, one optimization each (the reason and the measured gain are in each docstring):

* :mod:`.evaluate`: one call (:func:`loss_gradients`): which loss runs where, what is shared.
* :mod:`.profile`: two-valued levels (the survey's and the app's ladders) compressed from a few
  passes of bit counts, without sort or logit transform of the stack.
* :mod:`.compression`: the general exact compression (distinct ``(z, g)`` pairs and
  ``(z, g, map values)`` tuples weighted by their pixel counts).
* :mod:`.regions`: TP/FP/FN/TN sums from the entries of a compressed batch, or with one matrix
  product over the pixels.
* :mod:`.full`: the full-image losses on a worker thread beside the compressed ones.
* :mod:`.results`: :class:`LossResult`, :class:`GradientReport`.

:mod:`segloss_core.gradients` re-exports the public names (its historical home).
"""
from .evaluate import Batch, evaluate, loss_gradients
from .regions import REGIONS, EntryRegions, Regions, region_index, summarize
from .results import GradientReport, LossResult

__all__ = ["REGIONS", "Batch", "EntryRegions", "GradientReport", "LossResult", "Regions", "evaluate",
           "loss_gradients", "region_index", "summarize"]
