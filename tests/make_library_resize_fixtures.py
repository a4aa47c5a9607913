"""Make tests/fixtures/library_resize.npz: the tables timm and transformers use at a new resolution.

Regenerate, from the repository root, in the reference venv (see tests/reference/README.md):

    python tests/make_library_resize_fixtures.py

``--out`` is where the file goes (default: tests/fixtures/library_resize.npz).

``tests/make_resample_fixtures.py`` calls each library's resampling function directly. This script
goes through the calls a practitioner types instead, and records the table each one ends up with:

- timm ``create_model(name, pretrained=True, img_size=...)``: the checkpoint is a random
  ``vit_base_patch16_224`` saved to a temporary file and loaded through
  ``pretrained_cfg_overlay=dict(file=...)``, so timm's own loading path (``load_pretrained``, then
  ``checkpoint_filter_fn``) resizes the table, with no network; the result is ``model.pos_embed``;
- timm ``create_model(name, dynamic_img_size=True)``, then ``model(images)`` at another size: the
  table is resized in every forward; it is read at the input of ``model.pos_drop`` (the tokens
  plus the table), with the patch projection and the class token set to zero so that the tokens
  add nothing;
- transformers ``ViTModel.from_pretrained(folder)``, then ``model(pixel_values,
  interpolate_pos_encoding=True)``: the same trick, read from ``hidden_states[0]`` (the output of
  the embeddings).

The models keep their names' patch size (16) and training size (224 px, a 14 x 14 grid) but are
shrunk to width 8 and one block: the table's resize depends on neither, and the file stays small.
Each case stores ``<name>/in`` (1, 1 + 14*14, 8), ``<name>/out`` (1, 1 + rows*cols, 8) and, in
``cases``, a JSON list of {name, library, call, image_size, old, new, recipe}: ``recipe`` is the
``vitlearn.resample_pos_embed`` recipe that should give the same table. The tests read only the
.npz file.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "reference"))  # cpu_kernels
DEFAULT_OUT = HERE / "fixtures" / "library_resize.npz"

TIMM_NAME = "vit_base_patch16_224"
SMALL = {
    "embed_dim": 8,
    "depth": 1,
    "num_heads": 2,
}  # timm's keyword arguments for the shrunk model
PATCH, TRAIN_SIZE, DIM = 16, 224, SMALL["embed_dim"]
SIZES = [(384, 384), (224, 384), (160, 160)]  # (H, W) in pixels: bigger, wider, smaller


def random_table(gen):
    """A (1, 1 + 14*14, DIM) table with values of order 1, so that the recipes' differences show."""
    import torch

    grid = TRAIN_SIZE // PATCH
    return torch.randn(1, 1 + grid * grid, DIM, generator=gen) * 0.5


def timm_cases(gen, folder: Path) -> list[tuple[dict, object, object]]:
    import timm
    import torch

    source = timm.create_model(TIMM_NAME, pretrained=False, **SMALL)
    table = random_table(gen)
    with torch.no_grad():
        source.pos_embed.copy_(table)
    checkpoint = folder / "timm_checkpoint.pth"
    torch.save(source.state_dict(), checkpoint)
    cases = []
    for h, w in SIZES:
        size = h if h == w else (h, w)
        model = timm.create_model(
            TIMM_NAME,
            pretrained=True,
            img_size=size,
            pretrained_cfg_overlay={"file": str(checkpoint)},
            **SMALL,
        )
        meta = {
            "library": "timm",
            "call": "timm.create_model(name, pretrained=True, img_size=size)",
        }
        cases.append((meta, (h, w), table, model.pos_embed.detach().clone()))

    dynamic = timm.create_model(TIMM_NAME, pretrained=False, dynamic_img_size=True, **SMALL).eval()
    dynamic.load_state_dict(torch.load(checkpoint, weights_only=True))
    with torch.no_grad():  # the tokens add nothing: what reaches pos_drop is the table itself
        dynamic.patch_embed.proj.weight.zero_()
        dynamic.patch_embed.proj.bias.zero_()
        dynamic.cls_token.zero_()
    seen = {}
    dynamic.pos_drop.register_forward_hook(
        lambda m, args, out: seen.update(table=args[0].detach().clone())
    )
    for h, w in SIZES:
        with torch.no_grad():
            dynamic(torch.randn(1, 3, h, w, generator=gen))
        meta = {"library": "timm", "call": "timm.create_model(name, dynamic_img_size=True)(images)"}
        cases.append((meta, (h, w), table, seen["table"]))
    return cases


def hf_cases(gen, folder: Path) -> list[tuple[dict, object, object]]:
    import torch
    from transformers import ViTConfig, ViTModel
    from transformers.utils import logging

    logging.disable_progress_bar()  # no bars while saving and loading the small model

    config = ViTConfig(
        image_size=TRAIN_SIZE,
        patch_size=PATCH,
        hidden_size=DIM,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=2 * DIM,
    )
    source = ViTModel(config, add_pooling_layer=False)
    table = random_table(gen)
    with torch.no_grad():
        source.embeddings.position_embeddings.copy_(table)
        source.embeddings.patch_embeddings.projection.weight.zero_()
        source.embeddings.patch_embeddings.projection.bias.zero_()
        source.embeddings.cls_token.zero_()
    source.save_pretrained(folder / "hf_vit")
    model = ViTModel.from_pretrained(folder / "hf_vit", add_pooling_layer=False).eval()
    cases = []
    for h, w in SIZES:
        with torch.no_grad():
            out = model(
                torch.randn(1, 3, h, w, generator=gen),
                interpolate_pos_encoding=True,
                output_hidden_states=True,
            )
        meta = {
            "library": "transformers",
            "call": "model(pixel_values, interpolate_pos_encoding=True)",
        }
        cases.append((meta, (h, w), table, out.hidden_states[0].detach().clone()))
    return cases


def build() -> dict:
    """Every array of the fixture, by name."""
    import numpy as np
    import timm
    import torch
    import transformers

    gen = torch.Generator().manual_seed(0)
    grid = TRAIN_SIZE // PATCH
    arrays: dict[str, np.ndarray] = {}
    meta = []
    with tempfile.TemporaryDirectory() as tmp:
        cases = timm_cases(gen, Path(tmp)) + hf_cases(gen, Path(tmp))
    for i, (info, (h, w), table, out) in enumerate(cases):
        new = (h // PATCH, w // PATCH)
        recipe = "timm" if info["library"] == "timm" else "hf"
        kind = "dynamic" if "dynamic" in info["call"] else info["library"]
        name = f"{i:02d}_{kind}_{h}x{w}"
        assert out.shape == (1, 1 + new[0] * new[1], DIM), (name, out.shape)
        arrays[f"{name}/in"] = table.numpy()
        arrays[f"{name}/out"] = out.float().numpy()
        meta.append(
            {
                "name": name,
                **info,
                "image_size": [h, w],
                "old": [grid, grid],
                "new": list(new),
                "recipe": recipe,
            }
        )
    arrays["cases"] = np.array(json.dumps(meta))
    arrays["versions"] = np.array(
        json.dumps(
            {
                "torch": torch.__version__,
                "timm": timm.__version__,
                "transformers": transformers.__version__,
            }
        )
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
