"""vitlearn.vlm and the qwen3_vl recipe: parity with transformers' Qwen-VL code and qwen-vl-utils
(fixtures made by tests/make_vlm_fixtures.py), small cases by hand, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from vitlearn import (
    PatchMerger,
    merge_order,
    mrope_position_ids,
    resample_pos_embed,
    smart_resize,
    tubeletify,
    vision_rope_ids,
)
from vitlearn.vlm import PATCHING, merge_patches, mrope_angles, mrope_axes

FIXTURES = Path(__file__).parent / "fixtures" / "vlm_qwen.npz"
DATA = np.load(FIXTURES)
CASES = json.loads(str(DATA["cases"]))


def _cases(kind, **match):
    found = [c for c in CASES if c["kind"] == kind and all(c.get(k) == v for k, v in match.items())]
    assert found, (kind, match)
    return found


def _size(case, limits):
    low, high = limits
    return smart_resize(
        case["height"],
        case["width"],
        patch_size=case["factor"] // 2,
        merge_size=2,
        min_pixels=low,
        max_pixels=high,
    )


# ---- smart_resize -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "case", [c for c in _cases("smart_resize") if c["transformers"]], ids=lambda c: c["name"]
)
def test_smart_resize_matches_transformers(case):
    want = case["transformers"]
    if isinstance(want, dict):
        with pytest.raises(ValueError, match="aspect ratio"):
            _size(case, (case["min_pixels"], case["max_pixels"]))
        return
    assert list(_size(case, (case["min_pixels"], case["max_pixels"])).size) == want


@pytest.mark.parametrize("case", _cases("smart_resize"), ids=lambda c: c["name"])
def test_smart_resize_matches_qwen_vl_utils_except_at_its_two_edges(case):
    """Where qwen-vl-utils keeps a side of at least one block (and, past max_pixels, lets one
    reach zero), it parts from transformers; everywhere else the two agree, and so do we."""
    want = case["qwen_vl_utils"]
    limits = (
        case["min_pixels"] or case["qwen_vl_utils_min"],
        case["max_pixels"] or case["qwen_vl_utils_max"],
    )
    if isinstance(want, dict):
        with pytest.raises(ValueError):
            _size(case, limits)
        return
    ours = list(_size(case, limits).size)
    if case["transformers"] is None or case["transformers"] == want:
        assert ours == want
    else:
        factor = case["factor"]
        small_side = min(case["height"], case["width"])
        assert round(small_side / factor) == 0 or 0 in want, case  # one of the two edges
        assert ours == case["transformers"]


def test_the_fixtures_show_the_two_functions_parting():
    parted = [
        c for c in _cases("smart_resize") if c["transformers"] not in (None, c["qwen_vl_utils"])
    ]
    assert len(parted) == 2


def test_token_counts_28_against_32_px():
    q2 = smart_resize(768, 1024, **PATCHING["qwen2_vl"])
    q3 = smart_resize(768, 1024, **PATCHING["qwen3_vl"])
    assert (q2.size, q2.grid, q2.num_tokens) == ((756, 1036), (54, 74), 999)
    assert (q3.size, q3.grid, q3.num_tokens) == ((768, 1024), (48, 64), 768)
    assert q2.num_patches == 4 * q2.num_tokens


# ---- position ids -------------------------------------------------------------------------------


def _segments(case):
    # the fixture calls a clip "video"; for Qwen2-VL's rule it is an image with t > 1
    return [
        ("image" if kind == "video" else kind, tuple(size) if kind != "text" else size)
        for kind, size in case["segments"]
    ]


@pytest.mark.parametrize(
    "case",
    [c for c in _cases("rope_index") if not c["name"].endswith("clip_long")],
    ids=lambda c: c["name"],
)
def test_mrope_position_ids_match_get_rope_index(case):
    assert torch.equal(mrope_position_ids(_segments(case)), torch.from_numpy(DATA[case["name"]]))


def test_a_clip_longer_in_time_resumes_one_past_its_largest_id():
    """transformers 5.24 resumes after max(h/m, w/m); Qwen2-VL's rule (one past the largest id)
    resumes after the clip's last time step. They part exactly there."""
    (case,) = _cases("rope_index", name="rope_index/qwen2_vl/clip_long")
    theirs = torch.from_numpy(DATA[case["name"]])
    ours = mrope_position_ids(_segments(case))
    assert torch.equal(ours[:, :-2], theirs[:, :-2])
    assert int(ours[:, :-2].max()) == 2 + 4  # text 0-1, then time steps 2..6
    assert torch.equal(ours[:, -2:], torch.tensor([[7, 8]] * 3))
    assert torch.equal(theirs[:, -2:], torch.tensor([[4, 5]] * 3))


def test_mrope_position_ids_by_hand():
    ids = mrope_position_ids([("text", 2), ("image", (1, 4, 6)), ("text", 1)])
    assert torch.equal(
        ids,
        torch.tensor(
            [
                [0, 1, 2, 2, 2, 2, 2, 2, 5],
                [0, 1, 2, 2, 2, 3, 3, 3, 5],
                [0, 1, 2, 3, 4, 2, 3, 4, 5],
            ]
        ),
    )
    assert mrope_position_ids([("image", (2, 2, 2))]).tolist() == [[0, 1], [0, 0], [0, 0]]
    assert mrope_position_ids([("text", 3)], spatial_merge_size=1).tolist() == [[0, 1, 2]] * 3


@pytest.mark.parametrize("case", _cases("vision_ids"), ids=lambda c: c["name"])
def test_vision_rope_ids_match_transformers(case):
    ours = torch.cat([vision_rope_ids(tuple(g)) for g in case["grid_thw"]])
    assert torch.equal(ours, torch.from_numpy(DATA[case["name"]]))


def test_merge_order_keeps_each_block_together():
    order = merge_order(4, 6)
    assert order[:8].tolist() == [0, 1, 6, 7, 2, 3, 8, 9]
    assert sorted(order.tolist()) == list(range(24))
    blocks = order.reshape(-1, 4)  # each group of 4: rows r, r, r+1, r+1 and columns c, c+1, c, c+1
    assert torch.all(blocks // 6 // 2 == (blocks[:, :1] // 6 // 2)) and torch.all(
        blocks % 6 // 2 == blocks[:, :1] % 6 // 2
    )


# ---- the merger, the processor's order -----------------------------------------------------------


def test_patch_merger_matches_qwen2_vl():
    (case,) = _cases("merger")
    state = {
        k.removeprefix("merger/state/"): torch.from_numpy(DATA[k])
        for k in DATA.files
        if k.startswith("merger/state/")
    }
    merger = PatchMerger(case["context_dim"], case["out_dim"])
    merger.load_state_dict(state)  # the same parameter names
    with torch.no_grad():
        out = merger(torch.from_numpy(DATA["merger/x"]))
    np.testing.assert_allclose(out.numpy(), DATA["merger/out"], rtol=1e-6, atol=1e-5)


def test_merge_patches_from_raster_order_is_the_mergers_view():
    x = torch.randn(2, 24, 3)
    grouped = merge_patches(x, (4, 6))
    assert grouped.shape == (2, 6, 12)
    assert torch.equal(grouped, x[:, merge_order(4, 6)].reshape(2, 6, 12))
    assert torch.equal(grouped[0, 1], torch.cat([x[0, 2], x[0, 3], x[0, 8], x[0, 9]]))


def test_the_processor_flattens_tubelets_in_merge_block_order_channel_first():
    (case,) = _cases("patchify")
    image = torch.from_numpy(DATA["patchify/image"])  # (1, 3, 8, 12): a 4 x 6 grid of 2 px patches
    clip = image[:, :, None].expand(
        -1, -1, 2, -1, -1
    )  # the still image repeated: one tubelet of 2 frames
    ours = tubeletify(clip, 2, 2)[0]  # (24, t*P*P*C), raster order, channel last
    ours = (
        ours.reshape(24, 2, 2, 2, 3).permute(0, 4, 1, 2, 3).reshape(24, -1)
    )  # (C, t, P, P) features
    assert torch.equal(ours[merge_order(*case["grid"])], torch.from_numpy(DATA["patchify/patches"]))


# ---- M-RoPE frequencies --------------------------------------------------------------------------


@pytest.mark.parametrize("case", _cases("rotary"), ids=lambda c: c["name"])
def test_mrope_angles_match_the_rotary_embeddings(case):
    n = case["name"]
    angles = mrope_angles(
        torch.from_numpy(DATA[n + "/position_ids"]),
        torch.from_numpy(DATA[n + "/inv_freq"]),
        case["mrope_section"],
        interleaved=case["interleaved"],
    )
    np.testing.assert_allclose(
        torch.cat([angles, angles], -1).cos().numpy(), DATA[n + "/cos"], rtol=0, atol=1e-6
    )
    np.testing.assert_allclose(
        torch.cat([angles, angles], -1).sin().numpy(), DATA[n + "/sin"], rtol=0, atol=1e-6
    )


def test_mrope_axes_chunked_and_interleaved():
    assert mrope_axes((2, 3, 3)).tolist() == [0, 0, 1, 1, 1, 2, 2, 2]
    assert mrope_axes((6, 5, 5), interleaved=True).tolist() == [0, 1, 2] * 5 + [0]
    big = mrope_axes((24, 20, 20), interleaved=True)
    assert [int((big == a).sum()) for a in range(3)] == [24, 20, 20]
    chunked = mrope_axes((16, 24, 24))
    assert chunked[:16].eq(0).all() and chunked[40:].eq(2).all()


def test_one_d_ids_make_mrope_plain_rope():
    ids = torch.arange(7).expand(3, 7)
    inv = 1.0 / 10000 ** (torch.arange(0, 16, 2) / 16)
    assert torch.equal(mrope_angles(ids, inv, (2, 3, 3)), ids[0, :, None].float() * inv)


# ---- Qwen3-VL's table: the qwen3_vl recipe ---------------------------------------------------


@pytest.mark.parametrize("case", _cases("qwen3_pos"), ids=lambda c: c["name"])
def test_qwen3_vl_recipe_matches_its_vision_tower(case):
    t, h, w = case["grid_thw"]
    side = case["side"]
    table = torch.from_numpy(DATA[case["name"] + "/table"])  # (side*side, D): no class row
    ours = resample_pos_embed(
        table, (h, w), old_size=(side, side), num_prefix_tokens=0, recipe="qwen3_vl"
    )
    ours = ours[merge_order(h, w)].repeat(t, 1)  # the tower lists patches in merge-block order
    # transformers places sample i at i * (side - 1) / (n - 1), F.interpolate at i * ((side - 1) /
    # (n - 1)): one float32 rounding apart, up to one unit in the last place of a position near
    # side - 1 (4e-6 at side 48), times the difference between neighbouring table rows
    atol = 1e-6 if side < 16 else 1e-5
    np.testing.assert_allclose(ours.numpy(), DATA[case["name"] + "/out"], rtol=0, atol=atol)


def test_qwen3_vl_recipe_is_vit_jax_interpolation():
    table = torch.randn(1, 1 + 36, 5)
    for size in [(4, 8), (9, 9), (3, 5)]:
        assert torch.equal(
            resample_pos_embed(table, size, recipe="qwen3_vl"),
            resample_pos_embed(table, size, recipe="vit_jax"),
        )


# ---- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: mrope_position_ids([("image", (1, 5, 4))]),
            ValueError,
            r"5 x 4 grid .* 2 x 2 merge blocks",
        ),
        (
            lambda: mrope_position_ids([("audio", 3)]),
            ValueError,
            "unknown kind 'audio'; known: 'text', 'image'",
        ),
        (lambda: mrope_position_ids([("image", (4, 4))]), TypeError, r"triple of ints \(t, h, w\)"),
        (lambda: mrope_position_ids([("text", 0)]), ValueError, "must be a positive int, got 0"),
        (lambda: mrope_position_ids([]), TypeError, "non-empty list"),
        (lambda: mrope_position_ids(["text"]), TypeError, r"segments\[0\] must be a pair"),
        (
            lambda: smart_resize(10, 3000),
            ValueError,
            "aspect ratio of 300.0; the Qwen-VL processors accept at most 200",
        ),
        (
            lambda: smart_resize(100, 100, min_pixels=10, max_pixels=5),
            ValueError,
            "min_pixels=10 is larger",
        ),
        (lambda: smart_resize(100.0, 100), TypeError, "height must be an int"),
        (lambda: merge_order(3, 4), ValueError, "3 x 4 grid of patches does not split"),
        (lambda: PatchMerger(4, 6)(torch.zeros(6, 4)), ValueError, "N a multiple of 4"),
        (
            lambda: mrope_axes((24, 30, 10), interleaved=True),
            ValueError,
            "neither can have more than a third",
        ),
        (
            lambda: mrope_angles(torch.zeros(2, 5), torch.zeros(8)),
            ValueError,
            r"position_ids must be \(3, L\)",
        ),
        (
            lambda: mrope_angles(torch.zeros(3, 5), torch.zeros(7)),
            ValueError,
            "gives 64 frequencies, inv_freq has 7",
        ),
    ],
)
def test_bad_input_is_named(call, error, message):
    with pytest.raises(error, match=message):
        call()
