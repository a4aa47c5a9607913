"""Make ``tests/fixtures/tiny_vit_timm.pt``: tiny timm ViTs, their weights, an input and outputs.

Regenerate (needs timm, which only the reference venv has; the tests themselves do not):

    /work/refvenv/bin/python tests/make_models_fixtures.py

For each pooling (``"token"`` = our ``pool="cls"``, ``"avg"`` = our ``pool="mean"``) it stores the
state dict of a randomly initialised ``timm.models.vision_transformer.VisionTransformer`` of the
sizes below, an input batch, the logits and the features timm computes, so ``tests/test_models.py``
can check that :class:`vitlearn.TinyViT` loads timm's weights under the same names and computes
the same function.
"""

from pathlib import Path

import timm
import torch
from timm.models.vision_transformer import VisionTransformer

SIZES = dict(img_size=16, patch_size=4, embed_dim=16, depth=2, num_heads=2, mlp_ratio=2.0, num_classes=3)


def main() -> None:
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
    path = Path(__file__).parent / "fixtures" / "tiny_vit_timm.pt"
    torch.save(out, path)
    print(f"wrote {path} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
