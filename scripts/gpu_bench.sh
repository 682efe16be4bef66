#!/usr/bin/env bash
# GPU figures in one command, for a machine with CUDA and PyTorch preinstalled and no network:
#
#   bash scripts/gpu_bench.sh            # prints one JSON object on stdout, progress on stderr
#
# It runs `python -m segloss_core bench --device cuda --json` (survey engine vs naive, single pair,
# focal grid, the one-loss sweeps with MONAI's batched evaluation on the GPU when MONAI is
# installed), the train figures (segloss_core.train.bench_train on cuda: free logits and the tiny
# network, 6 losses, 300 steps), and times the full 26-loss survey on the GPU warm (best of 5,
# after one warm-up run, CUDA synchronized), with the same survey on the CPU of that machine for
# scale. Nothing is installed or downloaded: a missing package is reported in the JSON ("error")
# with exit status 1.
# Python: $PYTHON if set, else .venv/bin/python if present, else python3.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-}"
if [ -z "$PY" ]; then
    if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
fi
exec "$PY" - <<'EOF'
import json
import sys
import time

out = {"script": "scripts/gpu_bench.sh"}
try:
    import torch
    out["torch"] = torch.__version__
    if not torch.cuda.is_available():
        raise RuntimeError("no CUDA device visible to torch")
    out["gpu"] = torch.cuda.get_device_name(0)
    import numpy, scipy, skimage, pandas  # noqa: F401  (segloss_core's own dependencies)
    from segloss_core.bench import run_bench
    from segloss_core.registry import KEYS
    from segloss_core.survey import SurveyConfig, run_survey
except Exception as e:  # report, do not install anything
    out["error"] = f"{type(e).__name__}: {e}"
    print(json.dumps(out, indent=2))
    sys.exit(1)
try:
    import monai
    out["monai"] = monai.__version__
except ImportError:
    out["monai"] = None  # the bench then omits vs_monai


def survey_s(device, repeat):
    cfg = SurveyConfig()
    run_survey(cfg, list(KEYS), device=device)  # warm-up: kernels, allocator, caches
    best = float("inf")
    for _ in range(repeat):
        if device == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        run_survey(cfg, list(KEYS), device=device)
        if device == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t)
    return round(best, 4)


print("bench --device cuda ...", file=sys.stderr)
out["bench_cuda"] = run_bench(device="cuda")
print("train figures on cuda ...", file=sys.stderr)
try:
    from segloss_core.train import bench_train
    out["train_cuda"] = bench_train(device="cuda")
except ImportError as e:
    out["train_cuda"] = f"not available: {e}"
print("survey on cuda (warm, best of 5) ...", file=sys.stderr)
out["survey_cuda_warm_s"] = survey_s("cuda", 5)
print("survey on cpu (best of 3) ...", file=sys.stderr)
out["survey_cpu_s"] = survey_s("cpu", 3)
out["cpu_threads"] = torch.get_num_threads()
print(json.dumps(out, indent=2))
EOF
