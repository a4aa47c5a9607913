"""Make tests/fixtures/tiny_vit_timm.pt: tiny timm ViTs, their weights, an input and outputs.

Regenerate, from the repository root, in the reference venv (see tests/reference/README.md):

    python tests/make_models_fixtures.py

``--out`` is where the file goes (default: tests/fixtures/tiny_vit_timm.pt). It needs timm (from
``tests/requirements-reference.txt``); the tests themselves do not.

For each pooling (``"token"`` = our ``pool="cls"``, ``"avg"`` = our ``pool="mean"``) it stores the
state dict of a randomly initialised ``timm.models.vision_transformer.VisionTransformer`` of the
sizes below, an input batch, the logits and the features timm computes, so ``tests/test_models.py``
can check that :class:`vitlearn.TinyViT` loads timm's weights under the same names and computes
the same function.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "reference"))  # fetch_sources, cpu_kernels
DEFAULT_OUT = HERE / "fixtures" / "tiny_vit_timm.pt"

SIZES = dict(
    img_size=16, patch_size=4, embed_dim=16, depth=2, num_heads=2, mlp_ratio=2.0, num_classes=3
)


def build() -> dict:
    """The fixture's content: sizes, timm's version, the input, and per pooling its results."""
    import timm
    import torch
    from timm.models.vision_transformer import VisionTransformer

    out: dict[str, object] = {"sizes": SIZES, "timm_version": timm.__version__}
    torch.manual_seed(0)
    x = torch.randn(2, 3, 16, 16)
    out["input"] = x
    for pool in ("token", "avg"):
        torch.manual_seed(1)
        model = VisionTransformer(**SIZES, global_pool=pool, class_token=True).eval()
        with torch.no_grad():
            # make every parameter visibly non-trivial (timm starts some at zero or one)
            for p in model.parameters():
                p.add_(0.1 * torch.randn_like(p))
            feats = model.forward_features(x)
            logits = model(x)
        out[pool] = {
            "state_dict": {k: v.clone() for k, v in model.state_dict().items()},
            "features": feats,
            "logits": logits,
        }
    return out


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help=f"the .pt file to write (default: {DEFAULT_OUT.relative_to(HERE.parent)})",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    from cpu_kernels import pin_cpu_kernels

    pin_cpu_kernels()  # before torch loads: the same bits on any x86-64 machine
    import torch

    out = build()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(out, args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
