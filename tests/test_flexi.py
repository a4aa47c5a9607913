"""Tests of vitlearn.flexi: parity with timm (fixtures), the PI property, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import vitlearn
from vitlearn.flexi import (
    naive_resize_patch_embed,
    patch_tokens,
    pi_resize_matrix,
    resample_patch_embed,
    resize_matrix,
    resize_patchwise,
)

FIXTURES = np.load(Path(__file__).parent / "fixtures" / "flexi_resample.npz")
CASES = sorted(k[: -len("__weight")] for k in FIXTURES.files if k.endswith("__weight"))
MODES = {"bicubic_aa": ("bicubic", True), "bilinear_noaa": ("bilinear", False)}


def test_public_names():
    assert vitlearn.resample_patch_embed is resample_patch_embed
    assert vitlearn.resize_matrix is resize_matrix


def test_fixture_covers_up_down_square_nonsquare():
    assert {"up_square", "down_square", "up_nonsquare", "down_nonsquare"} <= set(CASES)


@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("case", CASES)
def test_matches_timm(case, mode):
    interpolation, antialias = MODES[mode]
    weight = torch.from_numpy(FIXTURES[f"{case}__weight"])
    new_size = tuple(int(v) for v in FIXTURES[f"{case}__new_size"])
    expected = torch.from_numpy(FIXTURES[f"{case}__{mode}"])
    got = resample_patch_embed(weight, new_size, interpolation=interpolation, antialias=antialias)
    assert got.dtype == torch.float32
    assert got.shape == (*weight.shape[:2], *new_size)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=2e-5)


def test_resize_matrix_is_the_resize():
    torch.manual_seed(0)
    x = torch.randn(5, 1, 3, 4)
    b = resize_matrix((3, 4), (7, 5), interpolation="bicubic", antialias=True)
    assert b.shape == (35, 12)
    direct = F.interpolate(x, size=(7, 5), mode="bicubic", antialias=True, align_corners=False)
    torch.testing.assert_close((x.reshape(5, 12) @ b.T).reshape(5, 1, 7, 5), direct)


def test_resize_matrix_int_is_square_and_dtype():
    b = resize_matrix(2, 4, interpolation="bilinear", antialias=False, dtype=torch.float64)
    assert b.shape == (16, 4) and b.dtype == torch.float64
    # bilinear upsampling preserves constants: every row sums to 1
    torch.testing.assert_close(b.sum(1), torch.ones(16, dtype=torch.float64))


def test_pi_resize_matrix_inverts_transpose_when_growing():
    b = resize_matrix((4, 4), (8, 8), dtype=torch.float64)
    p = pi_resize_matrix((4, 4), (8, 8))
    torch.testing.assert_close(b.T @ p, torch.eye(16, dtype=torch.float64))


@settings(max_examples=25, deadline=None)
@given(
    # at least 2 pixels a side: torch's antialiased interpolate mishandles 1-pixel-wide inputs
    # ((2, 1) -> (3, 1) copies the first row), so its resize is not invertible there
    old=st.tuples(st.integers(2, 5), st.integers(2, 5)),
    grow=st.tuples(st.integers(0, 4), st.integers(0, 4)),
    interpolation=st.sampled_from(["bilinear", "bicubic"]),
    antialias=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_pi_property_upsampled_tokens_equal(old, grow, interpolation, antialias, seed):
    """Growing the kernel: tokens of patch-wise upsampled images equal the original tokens."""
    gen = torch.Generator().manual_seed(seed)
    new = (old[0] + grow[0], old[1] + grow[1])
    weight = torch.randn(4, 2, *old, generator=gen, dtype=torch.float64)
    images = torch.randn(3, 2, 2 * old[0], 3 * old[1], generator=gen, dtype=torch.float64)
    w_new = resample_patch_embed(weight, new, interpolation=interpolation, antialias=antialias)
    up = resize_patchwise(images, old, new, interpolation=interpolation, antialias=antialias)
    assert up.shape == (3, 2, 2 * new[0], 3 * new[1])
    torch.testing.assert_close(
        patch_tokens(up, w_new), patch_tokens(images, weight), rtol=1e-7, atol=1e-9
    )


def test_shrinking_is_least_squares_best():
    """Shrinking: PI gives a smaller token error than naive, and it is the lstsq solution."""
    gen = torch.Generator().manual_seed(1)
    weight = torch.randn(8, 3, 8, 8, generator=gen, dtype=torch.float64)
    patches = torch.randn(200, 3, 8, 8, generator=gen, dtype=torch.float64)
    small = F.interpolate(patches, size=(4, 4), mode="bicubic", antialias=True)
    ref = patch_tokens(patches, weight)

    def err(w):
        return (patch_tokens(small, w) - ref).pow(2).sum().item()

    w_pi = resample_patch_embed(weight, 4)
    w_naive = naive_resize_patch_embed(weight, 4)
    assert err(w_pi) < err(w_naive)
    # w_new minimises ||B^T w_new - w||: the token error summed over every basis patch
    b = resize_matrix(8, 4, dtype=torch.float64)
    exact = torch.linalg.lstsq(b.T, weight.reshape(24, 64).T).solution.T.reshape(8, 3, 4, 4)
    torch.testing.assert_close(w_pi, exact)


def test_same_size_is_identity_and_keeps_dtype():
    w = torch.randn(3, 2, 4, 5, dtype=torch.float16)
    out = resample_patch_embed(w, (4, 5))
    assert out.dtype == torch.float16
    torch.testing.assert_close(out, w)


def test_naive_changes_tokens_when_growing():
    gen = torch.Generator().manual_seed(2)
    w = torch.randn(4, 1, 4, 4, generator=gen)
    x = torch.randn(2, 1, 8, 8, generator=gen)
    up = resize_patchwise(x, 4, 8)
    naive = patch_tokens(up, naive_resize_patch_embed(w, 8))
    rel = (naive - patch_tokens(x, w)).norm() / patch_tokens(x, w).norm()
    assert rel > 1.0  # roughly 4x too large: the area grew by 4


def test_errors_name_the_numbers():
    w = torch.zeros(2, 3, 4, 4)
    with pytest.raises(ValueError, match=r"4-D.*got a 3-D tensor of shape \(3, 4, 4\)"):
        resample_patch_embed(w[0], 8)
    with pytest.raises(ValueError, match=r"new_size.*at least 1.*\(0, 3\)"):
        resample_patch_embed(w, (0, 3))
    with pytest.raises(ValueError, match=r"new_size.*at least 1.*-2"):
        resample_patch_embed(w, -2)
    with pytest.raises(
        ValueError, match=r"unknown interpolation 'nearest'; known: 'bilinear', 'bicubic'"
    ):
        resample_patch_embed(w, 8, interpolation="nearest")
    with pytest.raises(TypeError, match="floating-point"):
        resample_patch_embed(torch.zeros(2, 3, 4, 4, dtype=torch.long), 8)
    with pytest.raises(ValueError, match="old_size.*at least 1"):
        resize_matrix(0, 4)
    with pytest.raises(ValueError, match=r"height H=10 is not a multiple of patch height 4"):
        resize_patchwise(torch.zeros(1, 1, 10, 8), 4, 8)
    with pytest.raises(ValueError, match="3 channels"):
        patch_tokens(torch.zeros(1, 1, 8, 8), w)
