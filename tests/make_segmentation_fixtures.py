"""Make tests/fixtures/segmentation_sam.npz: SAM's and ViTDet's position functions on small inputs.

Regenerate, from the repository root, in the reference venv (see tests/reference/README.md):

    python tests/make_segmentation_fixtures.py --sources tests/reference/_src

``--sources`` is the folder ``tests/reference/fetch_sources.py`` fills (its default too); ``--out``
is where the file goes (default: tests/fixtures/segmentation_sam.npz).

Neither SAM nor ViTDet is on PyPI; their files are fetched at pinned commits, checked by sha256 and
loaded from ``--sources``:

- SAM (facebookresearch/segment-anything ``segment_anything/modeling/image_encoder.py``):
  ``get_rel_pos``, ``add_decomposed_rel_pos``, ``window_partition``, ``window_unpartition``;
- ViTDet (facebookresearch/detectron2 ``detectron2/modeling/backbone/utils.py``): ``get_abs_pos``.

Stored, each under its case name (``cases`` is a JSON list of {name, kind, ...}):

- ``rel_pos``: ``<name>/table`` (L, C) and ``<name>/out`` (q_size, k_size, C), with and without
  the table resized, equal and unequal query and key sizes;
- ``decomposed``: ``<name>/attn``, ``/q``, ``/rel_pos_h``, ``/rel_pos_w`` and ``/out``;
- ``window``: ``<name>/x`` (B, H, W, C), ``/windows`` and the padded size in the case;
- ``abs_pos``: ``<name>/table`` (1, [1 +] n*n, C) and ``/out`` (1, H, W, C).

The tests read only the .npz file.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "reference"))  # fetch_sources, cpu_kernels
DEFAULT_OUT = HERE / "fixtures" / "segmentation_sam.npz"
DEFAULT_SOURCES = HERE / "reference" / "_src"
DIM = 4

REL_POS_CASES = [
    # q_size, k_size, rows of the table
    (14, 14, 27),  # a 14 x 14 window, the table as trained: no resize
    (7, 7, 13),
    (64, 64, 127),  # a global block at 1024 px
    (32, 32, 127),  # the global table at half the resolution: resized from 127 to 63 rows
    (14, 14, 9),  # a short table stretched to 27 rows
    (7, 14, 27),  # fewer queries than keys: coordinates scaled
    (14, 7, 27),
    (5, 3, 9),
    (6, 4, 7),  # unequal sizes and a resize (7 -> 11 rows)
    (3, 5, 5),
]

DECOMPOSED_CASES = [
    # batch (B * heads), q_size, k_size, rows of rel_pos_h, rows of rel_pos_w
    (3, (4, 5), (4, 5), 7, 9),
    (2, (4, 6), (2, 3), 7, 11),  # pooled keys, as in MViTv2
    (2, (3, 3), (3, 3), 4, 8),  # both tables resized
]

WINDOW_CASES = [
    # B, H, W, window size
    (2, 10, 13, 4),  # padded to 12 x 16
    (1, 8, 8, 4),  # no padding
    (1, 5, 3, 7),  # one window, mostly padding
]

ABS_POS_CASES = [
    # has class token, old side, new (rows, cols)
    (True, 4, (6, 6)),
    (True, 4, (5, 7)),
    (True, 4, (4, 4)),  # same size: only reshaped
    (False, 5, (3, 8)),
    (True, 14, (64, 64)),  # ViTDet's 224 px table at 1024 px
]


def build(sources: Path) -> dict:
    """Every array of the fixture, by name."""
    import numpy as np
    import torch
    from fetch_sources import load_detectron2_backbone_utils, load_sam_functions

    sam = load_sam_functions(sources)
    vitdet = load_detectron2_backbone_utils(sources)
    gen = torch.Generator().manual_seed(0)
    arrays: dict[str, np.ndarray] = {}
    meta = []

    for q, k, rows in REL_POS_CASES:
        name = f"rel_pos_q{q}_k{k}_L{rows}"
        table = torch.randn(rows, DIM, generator=gen)
        out = sam["get_rel_pos"](q, k, table)
        assert out.shape == (q, k, DIM), (name, out.shape)
        arrays[f"{name}/table"] = table.numpy()
        arrays[f"{name}/out"] = out.numpy()
        meta.append({"name": name, "kind": "rel_pos", "q_size": q, "k_size": k})

    for b, qs, ks, lh, lw in DECOMPOSED_CASES:
        name = f"decomposed_q{qs[0]}x{qs[1]}_k{ks[0]}x{ks[1]}"
        attn = torch.randn(b, qs[0] * qs[1], ks[0] * ks[1], generator=gen)
        q = torch.randn(b, qs[0] * qs[1], DIM, generator=gen)
        rel_h = torch.randn(lh, DIM, generator=gen)
        rel_w = torch.randn(lw, DIM, generator=gen)
        out = sam["add_decomposed_rel_pos"](attn.clone(), q, rel_h, rel_w, qs, ks)
        for key, value in (
            ("attn", attn),
            ("q", q),
            ("rel_pos_h", rel_h),
            ("rel_pos_w", rel_w),
            ("out", out),
        ):
            arrays[f"{name}/{key}"] = value.numpy()
        meta.append({"name": name, "kind": "decomposed", "q_size": qs, "k_size": ks})

    for b, h, w, ws in WINDOW_CASES:
        name = f"window_{h}x{w}_ws{ws}"
        x = torch.randn(b, h, w, DIM, generator=gen)
        windows, pad_hw = sam["window_partition"](x, ws)
        back = sam["window_unpartition"](windows, ws, pad_hw, (h, w))
        assert torch.equal(back, x), name
        arrays[f"{name}/x"] = x.numpy()
        arrays[f"{name}/windows"] = windows.numpy()
        meta.append({"name": name, "kind": "window", "window_size": ws, "pad_hw": list(pad_hw)})

    for cls, side, hw in ABS_POS_CASES:
        name = f"abs_pos_{'cls_' if cls else ''}{side}x{side}_to_{hw[0]}x{hw[1]}"
        table = torch.randn(1, int(cls) + side * side, DIM, generator=gen)
        out = vitdet.get_abs_pos(table, cls, hw)
        assert out.shape == (1, *hw, DIM), (name, out.shape)
        arrays[f"{name}/table"] = table.numpy()
        arrays[f"{name}/out"] = out.contiguous().numpy()
        meta.append({"name": name, "kind": "abs_pos", "has_cls_token": cls, "hw": list(hw)})

    arrays["cases"] = np.array(json.dumps(meta))
    arrays["versions"] = np.array(
        json.dumps(
            {
                "torch": torch.__version__,
                "segment-anything": "dca509fe793f601edb92606367a655c15ac00fdf",
                "detectron2": "02b5c4e295e990042a714712c21dc79b731e8833",
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
    parser.add_argument(
        "--sources",
        type=Path,
        default=DEFAULT_SOURCES,
        help="the folder tests/reference/fetch_sources.py filled "
        f"(default: {DEFAULT_SOURCES.relative_to(HERE.parent)})",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    from cpu_kernels import pin_cpu_kernels

    pin_cpu_kernels()  # before torch loads: the same bits on any x86-64 machine
    import numpy as np
    from fetch_sources import SourceError

    try:
        arrays = build(args.sources)
    except SourceError as err:
        sys.exit(f"error: {err}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **arrays)
    print(
        f"wrote {args.out} ({args.out.stat().st_size} bytes, "
        f"{len(json.loads(str(arrays['cases'])))} cases)"
    )


if __name__ == "__main__":
    main()
