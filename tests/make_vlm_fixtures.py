"""Make tests/fixtures/vlm_qwen.npz: the Qwen-VL position and token arithmetic, from its own code.

Regenerate, from the repository root, in the reference venv (see tests/reference/README.md):

    python tests/make_vlm_fixtures.py

``--out`` is where the file goes (default: tests/fixtures/vlm_qwen.npz). transformers and
qwen-vl-utils come from ``tests/requirements-reference.txt``. What is stored (``cases``, a JSON
list, says what each entry is):

- ``smart_resize``: the size each of the two published ``smart_resize`` functions gives
  (transformers ``models/qwen2_vl/image_processing_qwen2_vl.py``; qwen-vl-utils
  ``vision_process.py``), for 28 px and 32 px per token, with each one's default pixel limits and
  with explicit ones; their errors too (in the JSON, no arrays);
- ``rope_index/<name>``: ``get_rope_index`` of ``Qwen2VLModel`` and ``Qwen3VLModel`` (called as
  plain functions of a stand-in ``self`` holding ``spatial_merge_size = 2``) on text-and-image
  sequences, and one clip longer in time than in space, ``(3, L)`` each;
- ``vision_ids/<name>``: ``vision_utils.get_vision_position_ids`` (the vision tower's 2-D RoPE ids,
  merge-block order), ``(N, 2)``;
- ``qwen3_pos/<name>``: Qwen3-VL's table resized to an image's grid the way
  ``Qwen3VLVisionModel.forward`` does it (``get_vision_interpolation_indices_and_weights`` with
  bilinear, corners aligned, merge-block order, then the weighted sum of table rows): ``/table``
  ``(side*side, D)``, ``/out`` ``(t*h*w, D)``;
- ``rotary/<name>``: ``Qwen2VLRotaryEmbedding`` (chunked M-RoPE) and ``Qwen3VLTextRotaryEmbedding``
  (interleaved) on a small config: ``/position_ids`` ``(3, L)``, ``/inv_freq``, ``/cos``, ``/sin``
  ``(L, 2F)``;
- ``merger``: Qwen2-VL's ``PatchMerger`` with seeded weights: its state dict, ``/x`` ``(N, C)`` and
  ``/out``;
- ``patchify``: ``Qwen2VLImageProcessor.patchify`` of one small image (patch 2, merge 2, two
  frames per tubelet): ``/image`` ``(1, C, H, W)``, ``/patches`` ``(N, C*t*P*P)``.

The tests read only the .npz file.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "reference"))  # cpu_kernels
DEFAULT_OUT = HERE / "fixtures" / "vlm_qwen.npz"

# (height, width, factor, min_pixels, max_pixels); None: the function's own default
SMART_RESIZE_CASES = [
    (768, 1024, 28, 56 * 56, 28 * 28 * 1280),
    (768, 1024, 32, 56 * 56, 28 * 28 * 1280),
    (1080, 1920, 28, 56 * 56, 28 * 28 * 1280),  # over max_pixels: scaled down, rounded down
    (1080, 1920, 32, 56 * 56, 28 * 28 * 1280),
    (224, 224, 28, 56 * 56, 28 * 28 * 1280),
    (224, 224, 32, 56 * 56, 28 * 28 * 1280),
    (70, 70, 28, 56 * 56, 28 * 28 * 1280),  # 70 / 28 = 2.5: Python rounds half to even
    (30, 40, 28, 56 * 56, 28 * 28 * 1280),  # under min_pixels: scaled up, rounded up
    (30, 40, 32, 128 * 32 * 32, 16384 * 32 * 32),
    (4000, 3000, 32, None, None),  # qwen-vl-utils' limits: 4 to 16384 tokens
    (4000, 3000, 28, None, None),
    (600, 800, 32, None, None),
    (50, 5000, 28, 56 * 56, 28 * 28 * 1280),  # a long strip, 100:1
    (20, 3000, 28, 56 * 56, 28 * 28 * 1280),  # a short side of one block
    (12, 2000, 28, 56 * 56, 28 * 28 * 1280),  # 12 / 28 rounds to 0: the two functions part
    (40, 2000, 28, 56 * 56, 28 * 28 * 16),  # over a small max_pixels, a side floors to 0: they part
    (10, 3000, 28, 56 * 56, 28 * 28 * 1280),  # ratio 300 > 200: both refuse
]

# (name, segments) with segments as in vitlearn.mrope_position_ids; never two images in a row
# (the processors put vision start and end tokens around each one)
ROPE_INDEX_CASES = [
    ("text_image_text", [("text", 3), ("image", (1, 4, 6)), ("text", 2)]),
    ("image_first", [("image", (1, 6, 4)), ("text", 4)]),
    (
        "two_images",
        [("text", 2), ("image", (1, 2, 8)), ("text", 1), ("image", (1, 4, 4)), ("text", 3)],
    ),
    ("clip_short", [("text", 2), ("video", (3, 6, 8)), ("text", 2)]),  # t = 3 <= max(3, 4)
    ("clip_long", [("text", 2), ("video", (5, 4, 4)), ("text", 2)]),  # t = 5 > max(2, 2)
]

VISION_ID_GRIDS = [("one", [[1, 4, 6]]), ("two", [[1, 2, 2], [2, 4, 8]])]
QWEN3_POS_CASES = [
    # name, side of the table, grid_thw
    ("6_to_4x8", 6, (1, 4, 8)),
    ("6_to_10x6", 6, (1, 10, 6)),
    ("6_to_2x2", 6, (1, 2, 2)),
    ("6_to_6x6", 6, (1, 6, 6)),  # the same size: the table itself, reordered
    ("5_to_4x4_t2", 5, (2, 4, 4)),  # two time steps: the same codes twice
    (
        "48_to_24x32",
        48,
        (1, 24, 32),
    ),  # Qwen3-VL's 48 x 48 table on a 768 x 1024 image (32 px/token)
]
DIM = 3


def _rope_index(model_cls, segments):
    """``model_cls.get_rope_index`` on ``segments``: position ids ``(3, L)``."""
    import types

    import torch

    kinds = {"text": 0, "image": 1, "video": 2}
    token_types, images, videos = [], [], []
    for kind, size in segments:
        if kind == "text":
            token_types += [0] * size
        else:
            t, h, w = size
            token_types += [kinds[kind]] * (t * (h // 2) * (w // 2))
            (images if kind == "image" else videos).append(list(size))
    fake = types.SimpleNamespace(
        config=types.SimpleNamespace(vision_config=types.SimpleNamespace(spatial_merge_size=2))
    )
    fake.get_vision_position_ids = types.MethodType(model_cls.get_vision_position_ids, fake)
    types_ = torch.tensor([token_types])
    position_ids, _ = model_cls.get_rope_index(
        fake,
        torch.arange(types_.shape[1])[None],
        types_,
        image_grid_thw=torch.tensor(images) if images else None,
        video_grid_thw=torch.tensor(videos) if videos else None,
    )
    return position_ids[:, 0]


def build() -> dict:
    """Every array of the fixture, by name."""
    import numpy as np
    import qwen_vl_utils
    import qwen_vl_utils.vision_process as qwen_utils
    import torch
    import transformers
    from transformers.models.qwen2_vl.configuration_qwen2_vl import Qwen2VLTextConfig
    from transformers.models.qwen2_vl.image_processing_qwen2_vl import Qwen2VLImageProcessor
    from transformers.models.qwen2_vl.image_processing_qwen2_vl import (
        smart_resize as hf_smart_resize,
    )
    from transformers.models.qwen2_vl.modeling_qwen2_vl import (
        PatchMerger,
        Qwen2VLModel,
        Qwen2VLRotaryEmbedding,
    )
    from transformers.models.qwen3_vl.configuration_qwen3_vl import Qwen3VLTextConfig
    from transformers.models.qwen3_vl.modeling_qwen3_vl import (
        Qwen3VLModel,
        Qwen3VLTextRotaryEmbedding,
    )
    from transformers.vision_utils import (
        get_vision_interpolation_indices_and_weights,
        get_vision_position_ids,
    )

    gen = torch.Generator().manual_seed(0)
    arrays: dict[str, np.ndarray] = {}
    meta: list[dict] = []

    def outcome(fn, *args, **kwargs):
        try:
            return list(fn(*args, **kwargs))
        except (ValueError, AssertionError) as err:
            return {"error": type(err).__name__, "message": str(err)}

    for h, w, factor, low, high in SMART_RESIZE_CASES:
        hf_kwargs = {} if low is None else {"min_pixels": low, "max_pixels": high}
        meta.append(
            {
                "name": f"smart_resize_{h}x{w}_f{factor}_{'defaults' if low is None else 'limits'}",
                "kind": "smart_resize",
                "height": h,
                "width": w,
                "factor": factor,
                "min_pixels": low,
                "max_pixels": high,
                "transformers": outcome(hf_smart_resize, h, w, factor=factor, **hf_kwargs)
                if low
                else None,
                "qwen_vl_utils": outcome(qwen_utils.smart_resize, h, w, factor, low, high),
                "qwen_vl_utils_min": qwen_utils.IMAGE_MIN_TOKEN_NUM * factor**2,
                "qwen_vl_utils_max": qwen_utils.IMAGE_MAX_TOKEN_NUM * factor**2,
            }
        )

    for name, segments in ROPE_INDEX_CASES:
        for label, cls in (("qwen2_vl", Qwen2VLModel), ("qwen3_vl", Qwen3VLModel)):
            if label == "qwen3_vl" and any(kind == "video" for kind, _ in segments):
                continue  # Qwen3-VL cuts clips into frames between timestamps: another sequence
            key = f"rope_index/{label}/{name}"
            arrays[key] = _rope_index(cls, segments).numpy()
            meta.append(
                {
                    "name": key,
                    "kind": "rope_index",
                    "model": label,
                    "segments": [[k, s] for k, s in segments],
                }
            )

    for name, grids in VISION_ID_GRIDS:
        key = f"vision_ids/{name}"
        arrays[key] = get_vision_position_ids(torch.tensor(grids), 2).numpy()
        meta.append({"name": key, "kind": "vision_ids", "grid_thw": grids})

    for name, side, grid in QWEN3_POS_CASES:
        key = f"qwen3_pos/{name}"
        table = torch.randn(side * side, DIM, generator=gen)
        embedding = torch.nn.Embedding.from_pretrained(table)
        indices, weights = get_vision_interpolation_indices_and_weights(
            torch.tensor([grid]),
            num_grid_per_side=side,
            mode="bilinear",
            align_corners=True,
            spatial_merge_size=2,
        )
        out = (embedding(indices) * weights[:, :, None]).sum(1)  # as Qwen3VLVisionModel.forward
        arrays[f"{key}/table"] = table.numpy()
        arrays[f"{key}/out"] = out.numpy()
        meta.append({"name": key, "kind": "qwen3_pos", "side": side, "grid_thw": list(grid)})

    position_ids = _rope_index(Qwen2VLModel, ROPE_INDEX_CASES[0][1])[:, None]  # (3, 1, L)
    rotaries = {
        "qwen2_vl_chunked": Qwen2VLRotaryEmbedding(
            Qwen2VLTextConfig(
                hidden_size=32,
                num_attention_heads=2,
                rope_parameters={
                    "rope_type": "default",
                    "rope_theta": 10000.0,
                    "mrope_section": [2, 3, 3],
                },
            )
        ),
        "qwen3_vl_interleaved": Qwen3VLTextRotaryEmbedding(
            Qwen3VLTextConfig(
                hidden_size=64,
                num_attention_heads=2,
                head_dim=32,
                rope_parameters={
                    "rope_type": "default",
                    "rope_theta": 5e5,
                    "mrope_section": [6, 5, 5],
                    "mrope_interleaved": True,
                },
            )
        ),
    }
    for name, rotary in rotaries.items():
        cos, sin = rotary(torch.zeros(1), position_ids)
        key = f"rotary/{name}"
        arrays[f"{key}/position_ids"] = position_ids[:, 0].numpy()
        arrays[f"{key}/inv_freq"] = rotary.inv_freq.numpy()
        arrays[f"{key}/cos"] = cos[0].numpy()
        arrays[f"{key}/sin"] = sin[0].numpy()
        meta.append(
            {
                "name": key,
                "kind": "rotary",
                "mrope_section": list(rotary.mrope_section),
                "interleaved": name.endswith("interleaved"),
            }
        )

    merger = PatchMerger(dim=6, context_dim=4, spatial_merge_size=2)
    with torch.no_grad():
        for param in merger.parameters():
            param.copy_(torch.randn(param.shape, generator=gen))
        x = torch.randn(24, 4, generator=gen)  # a 4 x 6 grid of patches, merge-block order
        out = merger(x)
    for key, value in merger.state_dict().items():
        arrays[f"merger/state/{key}"] = value.numpy()
    arrays["merger/x"] = x.numpy()
    arrays["merger/out"] = out.numpy()
    meta.append(
        {"name": "merger", "kind": "merger", "context_dim": 4, "out_dim": 6, "grid": [4, 6]}
    )

    image = torch.randn(1, 3, 8, 12, generator=gen)
    patches, grid_h, grid_w = Qwen2VLImageProcessor().patchify(
        image, patch_size=2, merge_size=2, temporal_patch_size=2
    )
    arrays["patchify/image"] = image.numpy()
    arrays["patchify/patches"] = patches[0].numpy()
    meta.append(
        {
            "name": "patchify",
            "kind": "patchify",
            "patch_size": 2,
            "merge_size": 2,
            "temporal_patch_size": 2,
            "grid": [grid_h, grid_w],
        }
    )

    arrays["cases"] = np.array(json.dumps(meta))
    arrays["versions"] = np.array(
        json.dumps(
            {
                "torch": torch.__version__,
                "transformers": transformers.__version__,
                "qwen-vl-utils": getattr(qwen_vl_utils, "__version__", None)
                or __import__("importlib.metadata").metadata.version("qwen-vl-utils"),
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
