"""Serve the app with its heavy imports done before the first visitor arrives.

    python -m segloss_app.serve [streamlit options]     (what scripts/run_app.sh runs)

A fresh Streamlit server imports a page's modules when the page is first visited, inside that
visit. On the 2-core CPU ``import torch`` alone takes ~2.3 s and SciPy, scikit-image, pandas and
Plotly another ~1 s, so the first visitor of the Playground waited ~6.5 s, most of it for imports.
Here they are imported, and torch runs its first operations (thread pool, kernel registration),
before ``streamlit run`` starts: the app's scripts then find them in ``sys.modules``. Nothing else
changes: the same ``app.py``, the same options, the same ``.streamlit/config.toml``.

One more thing is switched off: a headless ``streamlit run`` asks checkip.amazonaws.com for the
machine's public address, only to print an "External URL" line. No request leaves the machine (a
lecture hall often has no internet), so that lookup answers "none" here; the local and network URLs
are printed as before.

And the libraries' objects are frozen for the garbage collector (``gc.freeze`` after the imports):
a full collection scanned their ~300 000 objects in 0.17 s; after the freeze it skips them (0 s).
Streamlit's own full collection after every script run is switched off in ``.streamlit/config.toml``
(``runner.postScriptGC``): it cost 0.24 s of every rerun.
"""
from __future__ import annotations

import gc
import sys
import time
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "app.py"


def warm() -> float:
    """Import what every page needs and run one tiny loss evaluation; returns the seconds spent."""
    t = time.perf_counter()
    import numpy as np
    import pandas  # noqa: F401
    import plotly.graph_objects  # noqa: F401
    import scipy.ndimage  # noqa: F401
    import skimage.draw  # noqa: F401
    import skimage.morphology  # noqa: F401
    import torch

    from segloss_core import figures, registry, survey, sweep  # noqa: F401

    g = torch.zeros(1, 1, 8, 8)
    g[..., 2:5, 2:5] = 1
    z = torch.zeros_like(g, requires_grad=True)
    for key in ("dice", "bce"):
        registry.REGISTRY[key](z, g).sum().backward()
    np.asarray(z.grad)
    return time.perf_counter() - t


def main(argv: list[str] | None = None) -> None:
    seconds = warm()
    print(f"SegLoss Lab: libraries loaded in {seconds:.1f} s", flush=True)
    from streamlit import net_util
    from streamlit.web import cli

    net_util.get_external_ip = lambda: None  # no request leaves the machine (see the module docstring)
    gc.collect()
    gc.freeze()  # the libraries' objects (see the module docstring): never scanned by the collector again
    sys.argv = ["streamlit", "run", str(APP), *(sys.argv[1:] if argv is None else argv)]
    sys.exit(cli.main())


if __name__ == "__main__":
    main()
