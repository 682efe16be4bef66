"""Loss values and the gradients they send back, for a whole batch at once.

"Gradient" means the gradient of the per-sample loss with respect to the prediction logits z
(what backpropagation hands the network), with p = sigmoid(z) (softmax for C>1). Samples are
independent, so one backward of the batch sum gives every sample's own gradient. The gradient with
respect to the probabilities is available on request.

Summaries per sample: the L2 norm of the gradient over the image and the mean |∂L/∂z| over the
TP, FP, FN and TN regions of the prediction thresholded at p = 0.5 (binary input), with the pixel
count of each region (a region with no pixel reports a mean of 0 and count 0).

The implementation is the evaluation engine, :mod:`segloss_core.engine` (how it is fast and why
it is exact is documented there); this module keeps its public names importable from here.
"""
from .engine import REGIONS, GradientReport, LossResult, Regions, loss_gradients, region_index, summarize

__all__ = ["REGIONS", "GradientReport", "LossResult", "Regions", "loss_gradients", "region_index", "summarize"]
