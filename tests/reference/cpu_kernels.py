"""Pin the CPU kernels and thread count torch uses, so that a generator writes the same bits
anywhere.

A float32 convolution, matrix product or pseudo-inverse rounds differently depending on which
vector instructions its library picks and on how many threads share the work. Measured on the
fixtures (torch 2.14.1, AMD EPYC with AVX-512): letting oneDNN use AVX-512 moves timm's patch
embedding tokens by up to ~4e-6 (``embedding_timm_vit.npz``) and TinyViT's features by ~6e-7
(``tiny_vit_timm.pt``); 1, 3, 4 or 8 threads instead of 2 move FlexiViT's resized kernels (a
``torch.linalg.pinv``) by ~1e-6 and the ViT features again. The committed fixtures were made with
AVX2 kernels on 2 threads, so every generator calls :func:`pin_cpu_kernels` before torch loads:

- ``ONEDNN_MAX_CPU_ISA=AVX2``: oneDNN (convolutions) uses AVX2 at most;
- ``ATEN_CPU_CAPABILITY=avx2``: torch's own vectorised kernels (interpolation, norms, activations);
- ``MKL_ENABLE_INSTRUCTIONS=AVX2``: MKL (matrix products, LAPACK) uses AVX2 at most;
- two threads, fixed (``OMP_NUM_THREADS``, ``MKL_NUM_THREADS``, ``MKL_DYNAMIC=FALSE`` and
  ``torch.set_num_threads``), whatever the machine's core count.

AVX2 is on every x86-64 CPU since about 2015. On a CPU that is not x86-64 (an Arm laptop, say) the
instruction pins do nothing and the numbers may differ from the committed ones in the last bits:
far inside the parity tests' tolerances, but not the same files.
"""

from __future__ import annotations

import os
import sys

THREADS = 2
PINNED_ENV = {
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    "ATEN_CPU_CAPABILITY": "avx2",
    "MKL_ENABLE_INSTRUCTIONS": "AVX2",
    "OMP_NUM_THREADS": str(THREADS),
    "MKL_NUM_THREADS": str(THREADS),
    "MKL_DYNAMIC": "FALSE",
}


def pin_cpu_kernels() -> None:
    """Set the variables above (overriding the caller's), then import torch on ``THREADS``
    threads."""
    if "torch" in sys.modules:
        raise RuntimeError(
            "pin_cpu_kernels() must run before torch is imported: torch reads "
            f"{', '.join(PINNED_ENV)} when it loads, and it is already loaded"
        )
    os.environ.update(PINNED_ENV)
    import torch

    torch.set_num_threads(THREADS)
