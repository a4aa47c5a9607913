"""Make tests/fixtures/video_videomae.npz: VideoMAE's tubelet embedding and its 1-D sinusoid table.

Regenerate, from the repository root, in the reference venv (see tests/reference/README.md):

    python tests/make_video_fixtures.py

``--out`` is where the file goes (default: tests/fixtures/video_videomae.npz). transformers comes
from ``tests/requirements-reference.txt``:

- ``get_sinusoid_encoding_table(n_position, d_hid)`` from ``models/videomae/modeling_videomae.py``:
  ``sincos/<n>x<d>`` (n, d);
- ``VideoMAEPatchEmbeddings`` (a ``Conv3d`` with kernel = stride = (tubelet, P, P)) on a small
  config with seeded weights: ``tubelet/<name>/weight`` (D, C, t, P, P), ``/bias``, ``/videos``
  (B, T, C, H, W) as VideoMAE takes them, and ``/out`` (B, N, D).

``cases`` is a JSON list of {name, kind, ...}. The tests read only the .npz file.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "reference"))  # cpu_kernels
DEFAULT_OUT = HERE / "fixtures" / "video_videomae.npz"

SINCOS_CASES = [
    (8, 6),
    (64, 12),
    (98, 16),
]  # (n_position, d_hid): VideoMAE's tables are T'*h*w long
TUBELET_CASES = [
    # name, image size, patch, frames, tubelet, channels, hidden
    ("t2_p4", 8, 4, 4, 2, 3, 10),
    ("t3_p2_rect", (6, 4), 2, 6, 3, 2, 7),
    ("t1_p4", 8, 4, 2, 1, 3, 5),  # a tubelet of one frame: a 2-D patch embedding per frame
]


def build() -> dict:
    """Every array of the fixture, by name."""
    import numpy as np
    import torch
    import transformers
    from transformers import VideoMAEConfig
    from transformers.models.videomae.modeling_videomae import (
        VideoMAEPatchEmbeddings,
        get_sinusoid_encoding_table,
    )

    gen = torch.Generator().manual_seed(0)
    arrays: dict[str, np.ndarray] = {}
    meta = []
    for n, d in SINCOS_CASES:
        name = f"sincos/{n}x{d}"
        arrays[name] = get_sinusoid_encoding_table(n, d)[0].numpy()  # (1, n, d) -> (n, d)
        meta.append({"name": name, "kind": "sincos", "num_tokens": n, "dim": d})
    for name, image, patch, frames, tubelet, chans, hidden in TUBELET_CASES:
        config = VideoMAEConfig(
            image_size=image,
            patch_size=patch,
            num_channels=chans,
            num_frames=frames,
            tubelet_size=tubelet,
            hidden_size=hidden,
        )
        embed = VideoMAEPatchEmbeddings(config)
        with torch.no_grad():
            embed.projection.weight.copy_(torch.randn(embed.projection.weight.shape, generator=gen))
            embed.projection.bias.copy_(torch.randn(hidden, generator=gen))
            size = image if isinstance(image, tuple) else (image, image)
            videos = torch.randn(2, frames, chans, *size, generator=gen)
            out = embed(videos)
        key = f"tubelet/{name}"
        arrays[f"{key}/weight"] = embed.projection.weight.detach().numpy()
        arrays[f"{key}/bias"] = embed.projection.bias.detach().numpy()
        arrays[f"{key}/videos"] = videos.numpy()
        arrays[f"{key}/out"] = out.numpy()
        meta.append({"name": key, "kind": "tubelet", "tubelet_size": tubelet, "patch_size": patch})
    arrays["cases"] = np.array(json.dumps(meta))
    arrays["versions"] = np.array(
        json.dumps({"torch": torch.__version__, "transformers": transformers.__version__})
    )
    return arrays


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help=f"the .npz file to write (default: {DEFAULT_OUT.relative_to(HERE.parent)})",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    from cpu_kernels import pin_cpu_kernels

    pin_cpu_kernels()  # before torch loads: the same bits on any x86-64 machine
    import numpy as np

    arrays = build()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **arrays)
    print(
        f"wrote {args.out} ({args.out.stat().st_size} bytes, "
        f"{len(json.loads(str(arrays['cases'])))} cases)"
    )


if __name__ == "__main__":
    main()
