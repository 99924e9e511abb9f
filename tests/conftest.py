"""Suite-wide settings.

Tests run single-threaded in torch: their tensors are small, and on a 2-core machine that
is shared (or running FFmpeg threads at the same time) OpenMP's spin-waiting threads make
small ops many times slower. Subprocesses started by tests inherit OMP_NUM_THREADS.
"""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import torch  # noqa: E402

torch.set_num_threads(1)
