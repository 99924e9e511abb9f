#!/usr/bin/env bash
# GPU benchmark of videocam, prepared for ONE call on a lent GPU machine.
#
#   scripts/bench_gpu.sh prepare   here, on the CPU machine, once: fetch the wheels the GPU
#                                  image lacks (PyAV) into .whl/ (ignored by git), for
#                                  Python 3.12 x86-64
#   scripts/bench_gpu.sh run       on the GPU machine: install the carried wheels, print the
#                                  device, run scripts/bench_gpu.py; results land in $OUT
#   scripts/bench_gpu.sh dry-run   anywhere: the same steps on the CPU at tiny sizes
#   scripts/bench_gpu.sh publish F write the section of bench_gpu.json F into BENCHMARKS.md
#
# The device call (15 minutes of device time per session; one start costs 1-2 of them):
#   command:   bash scripts/bench_gpu.sh run
#   carry:     [".whl"]
#   timeout_s: 360          (the run takes about 3-4 minutes; this leaves room to rerun once)
# then: bash scripts/bench_gpu.sh publish <files_at>/bench_gpu.json
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] && [ "${1:-}" != run ] && PY=.venv/bin/python

case "${1:-}" in
prepare)
    grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >>.git/info/exclude
    version=$($PY -c 'import av; print(av.__version__)')
    $PY -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
        --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
        -d .whl "av==$version"
    ls -la .whl
    ;;
run)
    export PYTHONUNBUFFERED=1
    out=${OUT:-bench-gpu-out}
    mkdir -p "$out"
    if ! $PY -c 'import av' 2>/dev/null; then
        ls .whl/*.whl >/dev/null 2>&1 || { echo "PyAV missing and no .whl/: run 'scripts/bench_gpu.sh prepare' here and carry .whl" >&2; exit 3; }
        $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
            --target /tmp/site .whl/*.whl
        export PYTHONPATH=/tmp/site
    fi
    export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
    nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.max.sm --format=csv || true
    $PY -c 'import torch, av; print("torch", torch.__version__, "cuda", torch.version.cuda, "av", av.__version__)'
    $PY scripts/bench_gpu.py --out-dir "$out" 2>&1 | tee "$out/bench_gpu.log"
    ;;
dry-run)
    shift
    $PY scripts/bench_gpu.py --dry-run --out-dir "${OUT:-/tmp/bench-gpu-dry}" "$@"
    ;;
publish)
    [ -n "${2:-}" ] || { echo "usage: $0 publish bench_gpu.json" >&2; exit 2; }
    $PY scripts/bench_gpu.py --publish "$2"
    ;;
*)
    sed -n '2,17p' "$0"
    exit 2
    ;;
esac
