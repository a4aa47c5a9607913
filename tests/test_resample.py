"""resample_pos_embed: parity with timm, Hugging Face, MAE, vit_jax and DINOv2 (fixtures made by
tests/make_resample_fixtures.py; Qwen3-VL's in tests/test_vlm.py, from tests/make_vlm_fixtures.py),
with the tables timm's and transformers' everyday calls end up with
(tests/make_library_resize_fixtures.py), dtypes, errors, and the numpy interpolation matrix vs
torch."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from vitlearn import resample_pos_embed
from vitlearn.resample import INTERPOLATIONS, RECIPES, interpolation_matrix

FIXTURES = Path(__file__).parent / "fixtures" / "resample_reference.npz"
LIBRARY_FIXTURES = Path(__file__).parent / "fixtures" / "library_resize.npz"


def _load_cases():
    data = np.load(FIXTURES)
    cases = json.loads(str(data["cases"]))
    return [(c, data[c["name"] + "/in"], data[c["name"] + "/out"]) for c in cases]


CASES = _load_cases()


def _qwen3_vl_cases():
    """Qwen3-VL's resizes, as {recipe, old, new, prefix}: its table is checked in tests/test_vlm.py
    against its vision tower, whose output comes in another order than the other libraries'."""
    data = np.load(Path(__file__).parent / "fixtures" / "vlm_qwen.npz")
    return [
        {"recipe": "qwen3_vl", "old": [c["side"]] * 2, "new": c["grid_thw"][1:], "prefix": 0}
        for c in json.loads(str(data["cases"]))
        if c["kind"] == "qwen3_pos"
    ]


def test_fixtures_cover_every_recipe_both_ways_and_non_square():
    every = [c for c, _, _ in CASES] + _qwen3_vl_cases()
    recipes = {c["recipe"] for c in every}
    assert recipes == set(RECIPES)
    for recipe in RECIPES:
        mine = [c for c in every if c["recipe"] == recipe]
        assert any(c["new"][0] > c["old"][0] for c in mine), recipe
        assert any(c["new"][0] < c["old"][0] for c in mine), recipe
    assert any(c["old"][0] != c["old"][1] for c, _, _ in CASES)
    assert any(c["new"][0] != c["new"][1] for c, _, _ in CASES)
    assert {c["prefix"] for c, _, _ in CASES} >= {0, 1, 2, 5}


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c, _, _ in CASES])
def test_recipe_matches_reference_library(case):
    meta, table_in, expected = case
    table = torch.from_numpy(table_in)
    out = resample_pos_embed(
        table,
        tuple(meta["new"]),
        old_size=tuple(meta["old"]),
        num_prefix_tokens=meta["prefix"],
        recipe=meta["recipe"],
    )
    assert out.dtype == table.dtype
    assert tuple(out.shape) == expected.shape
    # vit_jax's reference is scipy, which interpolates in float64; the others are torch float32
    atol = 2e-6 if meta["recipe"] == "vit_jax" else 1e-6
    np.testing.assert_allclose(out.float().numpy(), expected.astype(np.float32), rtol=0, atol=atol)


def _load_library_cases():
    data = np.load(LIBRARY_FIXTURES)
    cases = json.loads(str(data["cases"]))
    return [(c, data[c["name"] + "/in"], data[c["name"] + "/out"]) for c in cases]


LIBRARY_CASES = _load_library_cases()


def test_library_fixtures_cover_each_call_bigger_wider_and_smaller():
    calls = {c["call"] for c, _, _ in LIBRARY_CASES}
    assert len(calls) == 3  # timm at creation, timm in every forward, transformers in every forward
    for call in calls:
        grids = [tuple(c["new"]) for c, _, _ in LIBRARY_CASES if c["call"] == call]
        assert {(24, 24), (14, 24), (10, 10)} <= set(grids), (call, grids)


@pytest.mark.parametrize("case", LIBRARY_CASES, ids=[c["name"] for c, _, _ in LIBRARY_CASES])
def test_what_the_library_call_uses_is_its_recipe(case):
    # the table timm's create_model(img_size=...) / dynamic_img_size=True and transformers'
    # interpolate_pos_encoding=True end up with is resample_pos_embed(..., recipe=<library>)
    meta, table_in, expected = case
    table = torch.from_numpy(table_in)
    out = resample_pos_embed(table, tuple(meta["new"]), recipe=meta["recipe"])
    assert tuple(out.shape) == expected.shape
    np.testing.assert_allclose(out.numpy(), expected, rtol=0, atol=1e-6)
    # and not the other library's: the two recipes give other numbers on the same table
    other = "hf" if meta["recipe"] == "timm" else "timm"
    theirs = resample_pos_embed(table, tuple(meta["new"]), recipe=other).numpy()
    assert np.abs(theirs - expected).max() > 1e-2


def test_recipes_really_differ_on_the_same_table():
    _, table_in, _ = CASES[0]
    table = torch.from_numpy(table_in)
    outs = {r: resample_pos_embed(table, 6, recipe=r) for r in RECIPES}
    assert torch.equal(outs["hf"], outs["mae"])  # same call in both libraries
    assert torch.equal(outs["vit_jax"], outs["qwen3_vl"])  # the same interpolation, two roads
    for a, b in [("timm", "hf"), ("hf", "vit_jax"), ("hf", "dinov2_legacy"), ("timm", "vit_jax")]:
        assert (outs[a] - outs[b]).abs().max() > 1e-2, (a, b)


def test_vit_jax_is_bilinear_with_corners_aligned():
    table = torch.randn(1, 1 + 25, 4)
    out = resample_pos_embed(table, (7, 3), recipe="vit_jax")
    grid = table[:, 1:].reshape(1, 5, 5, 4).permute(0, 3, 1, 2)
    ref = F.interpolate(grid, size=(7, 3), mode="bilinear", align_corners=True)
    assert torch.equal(out[:, 1:], ref.permute(0, 2, 3, 1).reshape(1, 21, 4))


def test_timm_default_is_antialiased_bicubic():
    table = torch.randn(1, 1 + 36, 4)
    assert torch.equal(resample_pos_embed(table, 4), resample_pos_embed(table, 4, recipe="timm"))
    plain = resample_pos_embed(table, 4, antialias=False)
    assert (plain - resample_pos_embed(table, 4)).abs().max() > 1e-3


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
def test_dtype_round_trip_computes_in_float32(dtype):
    table = torch.randn(1, 1 + 16, 8).to(dtype)
    out = resample_pos_embed(table, (6, 3))
    assert out.dtype == dtype
    ref = resample_pos_embed(table.float(), (6, 3)).to(dtype)
    assert torch.equal(out, ref)
    assert torch.equal(out[:, :1], table[:, :1])


def test_float16_matches_timm_fixture():
    meta, table_in, expected = next(c for c in CASES if c[0]["name"] == "float16_timm")
    out = resample_pos_embed(torch.from_numpy(table_in), tuple(meta["new"]), recipe="timm")
    assert out.dtype == torch.float16
    assert np.array_equal(out.numpy(), expected)


def test_two_d_table_gives_two_d_result():
    table = torch.randn(1 + 9, 4)
    out = resample_pos_embed(table, (4, 2))
    assert out.shape == (1 + 8, 4)
    assert torch.equal(out, resample_pos_embed(table[None], (4, 2))[0])


def test_same_size_returns_the_input_itself():
    table = torch.randn(1, 1 + 12, 4)
    assert resample_pos_embed(table, (3, 4), old_size=(3, 4)) is table
    assert resample_pos_embed(table, (3, 4), old_size=(3, 4), recipe="dinov2_legacy") is table


def test_prefix_tokens_pass_through_and_grid_layout_is_row_major():
    # channel 0 = row index, channel 1 = column index: a linear ramp survives bilinear resizing
    rows, cols = 4, 6
    r, c = torch.meshgrid(torch.arange(rows), torch.arange(cols), indexing="ij")
    grid = torch.stack([r, c], -1).float().reshape(1, rows * cols, 2)
    prefix = torch.tensor([[[7.0, -7.0], [3.0, 3.0]]])
    table = torch.cat([prefix, grid], 1)
    out = resample_pos_embed(
        table, (8, 3), old_size=(rows, cols), num_prefix_tokens=2, recipe="vit_jax"
    )
    assert torch.equal(out[:, :2], prefix)
    new = out[0, 2:].reshape(8, 3, 2)
    assert torch.allclose(new[..., 0], torch.linspace(0, rows - 1, 8)[:, None].expand(8, 3))
    assert torch.allclose(new[..., 1], torch.linspace(0, cols - 1, 3)[None, :].expand(8, 3))


@pytest.mark.parametrize("mode", ["nearest", "nearest-exact", "area", "bilinear", "bicubic"])
def test_every_mode_runs(mode):
    out = resample_pos_embed(torch.randn(1, 17, 4), (3, 5), interpolation=mode)
    assert out.shape == (1, 16, 4)
    assert set(INTERPOLATIONS) >= {mode}


@settings(max_examples=60, deadline=None)
@given(
    rows=st.integers(1, 6),
    cols=st.integers(1, 6),
    new=st.integers(1, 9),
    prefix=st.integers(0, 3),
    mode=st.sampled_from(["bilinear", "bicubic", "nearest"]),
    corners=st.booleans(),
    along_rows=st.booleans(),
)
def test_an_axis_that_keeps_its_size_is_copied(rows, cols, new, prefix, mode, corners, along_rows):
    """Without antialiasing, resizing an axis to its own size copies it, which is why returning
    the input for an unchanged grid changes nothing. Checked where the interpolation really
    runs: the grid changes along one axis only; the other axis must come out as it went in, and
    the changed one as the (independently written, torch-checked) interpolation matrix says."""
    assume(new != (rows if along_rows else cols))
    new_size = (new, cols) if along_rows else (rows, new)
    table = torch.randn(1, prefix + rows * cols, 3, dtype=torch.float64).float()
    align = corners if mode != "nearest" else None
    out = resample_pos_embed(
        table,
        new_size,
        old_size=(rows, cols),
        num_prefix_tokens=prefix,
        interpolation=mode,
        antialias=False,
        align_corners=align,
    )
    assert out.shape == (1, prefix + new_size[0] * new_size[1], 3)
    assert torch.equal(out[:, :prefix], table[:, :prefix])
    grid = table[0, prefix:].reshape(rows, cols, 3).double().numpy()
    kept = rows if not along_rows else cols
    np.testing.assert_allclose(
        interpolation_matrix(kept, kept, mode, False, bool(align)), np.eye(kept), atol=1e-6
    )
    if along_rows:
        m = interpolation_matrix(rows, new, mode, False, bool(align))  # (new, rows)
        want = np.einsum("ir,rcd->icd", m, grid)  # every column resized, the columns kept
    else:
        m = interpolation_matrix(cols, new, mode, False, bool(align))  # (new, cols)
        want = np.einsum("jc,rcd->rjd", m, grid)  # every row resized, the rows kept
    got = out[0, prefix:].reshape(*new_size, 3).double().numpy()
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)


@settings(max_examples=40, deadline=None)
@given(
    old=st.tuples(st.integers(1, 6), st.integers(1, 6)),
    new=st.tuples(st.integers(1, 9), st.integers(1, 9)),
    prefix=st.integers(0, 4),
    recipe=st.sampled_from(sorted(RECIPES)),
)
def test_prefix_tokens_unchanged_and_shape(old, new, prefix, recipe):
    table = torch.randn(1, prefix + old[0] * old[1], 5)
    out = resample_pos_embed(table, new, old_size=old, num_prefix_tokens=prefix, recipe=recipe)
    assert out.shape == (1, prefix + new[0] * new[1], 5)
    assert torch.equal(out[:, :prefix], table[:, :prefix])


def test_constant_table_stays_constant():
    table = torch.full((1, 1 + 20, 3), 0.25)
    for recipe in RECIPES:
        out = resample_pos_embed(table, (7, 2), old_size=(4, 5), recipe=recipe)
        assert torch.allclose(out, torch.full_like(out, 0.25), atol=1e-6), recipe


# ---- errors: every message names the numbers ------------------------------------------------


def test_non_square_token_count_needs_old_size():
    table = torch.randn(1, 1 + 12, 4)
    with pytest.raises(
        ValueError, match=r"13 tokens.*12 grid tokens, not a square number.*old_size"
    ):
        resample_pos_embed(table, 4)
    assert resample_pos_embed(table, 4, old_size=(3, 4)).shape == (1, 17, 4)


def test_old_size_must_match_token_count():
    table = torch.randn(1, 1 + 16, 4)
    with pytest.raises(ValueError, match=r"a 3x5 grid means 15 grid tokens.*17 tokens.*= 16"):
        resample_pos_embed(table, 4, old_size=(3, 5))


def test_never_guesses_with_wrong_prefix_count():
    table = torch.randn(1, 1 + 16, 4)  # class token + 4x4
    with pytest.raises(ValueError, match=r"17 tokens.*num_prefix_tokens=0.*17 grid tokens"):
        resample_pos_embed(table, 5, num_prefix_tokens=0)


def test_too_many_prefix_tokens():
    with pytest.raises(
        ValueError, match=r"num_prefix_tokens=5 leaves no grid.*\(1, 5, 4\).*only 5 tokens"
    ):
        resample_pos_embed(torch.randn(1, 5, 4), 2, num_prefix_tokens=5)
    with pytest.raises(ValueError, match=r"num_prefix_tokens must be an int >= 0, got -1"):
        resample_pos_embed(torch.randn(1, 5, 4), 2, num_prefix_tokens=-1)


def test_new_size_below_one():
    with pytest.raises(ValueError, match=r"new_size must be at least 1.*\(0, 3\)"):
        resample_pos_embed(torch.randn(1, 17, 4), (0, 3))


def test_unknown_interpolation_and_recipe_list_known_ones():
    with pytest.raises(
        ValueError, match=r"unknown interpolation 'cubic'; known: 'nearest'.*'bicubic'"
    ):
        resample_pos_embed(torch.randn(1, 17, 4), 3, interpolation="cubic")
    with pytest.raises(
        ValueError,
        match=r"unknown recipe 'jax'; known: 'timm', 'hf', 'mae', 'vit_jax', 'dinov2_legacy'",
    ):
        resample_pos_embed(torch.randn(1, 17, 4), 3, recipe="jax")


def test_recipe_conflicts_with_explicit_arguments():
    table = torch.randn(1, 17, 4)
    with pytest.raises(
        ValueError,
        match=r"recipe='vit_jax' uses interpolation='bilinear', but interpolation='bicubic'",
    ):
        resample_pos_embed(table, 3, recipe="vit_jax", interpolation="bicubic")
    with pytest.raises(ValueError, match=r"recipe='timm' uses antialias=True, but antialias=False"):
        resample_pos_embed(table, 3, recipe="timm", antialias=False)
    # the recipe's own values may be repeated
    same = resample_pos_embed(table, 3, recipe="hf", interpolation="bicubic", antialias=False)
    assert torch.equal(same, resample_pos_embed(table, 3, recipe="hf"))


def test_antialias_and_corners_only_for_smooth_modes():
    with pytest.raises(
        ValueError, match="antialias=True works only with 'bilinear' or 'bicubic', not 'nearest'"
    ):
        resample_pos_embed(torch.randn(1, 17, 4), 3, interpolation="nearest", antialias=True)
    with pytest.raises(ValueError, match="align_corners=True works only"):
        resample_pos_embed(torch.randn(1, 17, 4), 3, interpolation="area", align_corners=True)


def test_wrong_ndim_and_batch_and_dtype():
    with pytest.raises(ValueError, match=r"got a 4-D tensor of shape \(1, 1, 17, 4\)"):
        resample_pos_embed(torch.randn(1, 1, 17, 4), 3)
    with pytest.raises(ValueError, match=r"leading dimension of 1.*got \(2, 17, 4\)"):
        resample_pos_embed(torch.randn(2, 17, 4), 3)
    with pytest.raises(TypeError, match="floating-point.*torch.int64"):
        resample_pos_embed(torch.zeros(1, 17, 4, dtype=torch.long), 3)
    with pytest.raises(TypeError, match="torch.Tensor"):
        resample_pos_embed(np.zeros((1, 17, 4)), 3)


# ---- the numpy resize matrix vs torch -----------------------------------------------------

MATRIX_MODES = [
    ("nearest", False, False),
    ("nearest-exact", False, False),
    ("bilinear", False, False),
    ("bilinear", False, True),
    ("bicubic", False, False),
    ("bicubic", False, True),
    ("bilinear", True, False),
    ("bicubic", True, False),
]


@pytest.mark.parametrize("mode,antialias,corners", MATRIX_MODES)
def test_interpolation_matrix_reproduces_torch(mode, antialias, corners):
    gen = torch.Generator().manual_seed(1)
    for old_r, old_c, new_r, new_c in [
        (14, 14, 24, 24),
        (14, 14, 9, 9),
        (5, 7, 11, 3),
        (3, 1, 1, 4),
        (8, 8, 8, 8),
        (16, 6, 7, 13),
    ]:
        grid = torch.rand(old_r, old_c, 4, generator=gen) * 2 - 1  # values in [-1, 1)
        kw = (
            {} if mode.startswith("nearest") else {"align_corners": corners, "antialias": antialias}
        )
        ref = F.interpolate(grid.permute(2, 0, 1)[None], size=(new_r, new_c), mode=mode, **kw)
        ref = ref[0].permute(1, 2, 0).double().numpy()
        m_rows = interpolation_matrix(old_r, new_r, mode, antialias, corners)
        m_cols = interpolation_matrix(old_c, new_c, mode, antialias, corners)
        mine = np.einsum("ir,rcd,jc->ijd", m_rows, grid.double().numpy(), m_cols)
        np.testing.assert_allclose(mine, ref, rtol=0, atol=1e-6)


def test_interpolation_matrix_rows_sum_to_one_and_bicubic_overshoots():
    m = interpolation_matrix(4, 9, "bicubic")
    np.testing.assert_allclose(m.sum(1), 1.0, atol=1e-6)
    assert m.min() < 0  # the cubic kernel has negative lobes
    assert interpolation_matrix(9, 3, "bicubic", antialias=True).shape == (3, 9)
    assert np.count_nonzero(interpolation_matrix(9, 3, "bicubic", antialias=True)[1]) > 4


def test_interpolation_matrix_scale_factor_matches_dinov2_recipe():
    table = torch.rand(1, 1 + 36, 3) * 2 - 1
    out = resample_pos_embed(table, (4, 5), recipe="dinov2_legacy")[0, 1:].reshape(4, 5, 3)
    grid = table[0, 1:].reshape(6, 6, 3).double().numpy()
    m_rows = interpolation_matrix(6, 4, "bicubic", scale_factor=(4 + 0.1) / 6)
    m_cols = interpolation_matrix(6, 5, "bicubic", scale_factor=(5 + 0.1) / 6)
    mine = np.einsum("ir,rcd,jc->ijd", m_rows, grid, m_cols)
    np.testing.assert_allclose(mine, out.double().numpy(), rtol=0, atol=1e-6)


def test_interpolation_matrix_errors():
    with pytest.raises(ValueError, match="unknown interpolation 'area'"):
        interpolation_matrix(4, 5, "area")
    with pytest.raises(ValueError, match="old must be a positive int, got 0"):
        interpolation_matrix(0, 5)
    with pytest.raises(ValueError, match="new must be a positive int, got 0"):
        interpolation_matrix(4, 0)
    with pytest.raises(ValueError, match="antialias=True works only"):
        interpolation_matrix(4, 5, "nearest", antialias=True)
