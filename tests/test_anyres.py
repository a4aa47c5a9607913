"""vitlearn.anyres: the NaFlex size (properties, an independent oracle, SigLIP 2's search), the
resize of an image and of a table to it, and the codes a TinyViT uses on any grid."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from vitlearn import TinyViT, position_similarity, resample_pos_embed, sincos_2d_pos_embed
from vitlearn.anyres import (
    NAFLEX_POS_EMBED_RESIZE,
    NaflexSize,
    naflex_resize,
    naflex_size,
    position_codes,
)

sides = st.integers(1, 3000)
patches = st.sampled_from([1, 2, 7, 8, 14, 16, 32])
budgets = st.integers(1, 1024)


def _oracle(h: int, w: int, p: int, budget: int) -> tuple[int, int]:
    """Every grid (r, c) within the budget that some scale reaches, the one reached at the largest
    scale. A grid is reached by the scales s with ceil(h s / p) = r and ceil(w s / p) = c, i.e.
    s in ((r-1) p/h, r p/h] and ((c-1) p/w, c p/w]; its largest such scale is min(r p/h, c p/w)."""
    best, best_scale = (0, 0), Fraction(-1)
    for r in range(1, budget + 1):
        for c in range(1, budget // r + 1):
            low = max(Fraction((r - 1) * p, h), Fraction((c - 1) * p, w))
            high = min(Fraction(r * p, h), Fraction(c * p, w))
            if low < high and high > best_scale:
                best, best_scale = (r, c), high
    return best


def _siglip2_search(h: int, w: int, p: int, budget: int, eps: float = 1e-5) -> tuple[int, int]:
    """The binary search of SigLIP 2's NaFlex preprocessing, restated from its two sources:
    big_vision ``pp/proj/image_text/ops_naflex.py`` (``_get_image_size_for_seq``) and Hugging Face
    transformers ``models/siglip2/image_processing_siglip2.py``
    (``get_image_size_for_max_num_patches``): scale in [eps/10, 100], bisect until the interval
    is shorter than eps, keep the feasible end; sides ceil(side * s / p) * p, at least p."""

    def sides_at(s: float) -> tuple[int, int]:
        return tuple(max(p, math.ceil(side * s / p) * p) for side in (h, w))

    lo, hi = eps / 10, 100.0
    while hi - lo >= eps:
        mid = (lo + hi) / 2
        th, tw = sides_at(mid)
        if (th // p) * (tw // p) <= budget:
            lo = mid
        else:
            hi = mid
    th, tw = sides_at(lo)
    return th // p, tw // p


@settings(max_examples=300, deadline=None)
@given(h=sides, w=sides, p=patches, budget=budgets)
def test_naflex_size_properties(h, w, p, budget):
    size = naflex_size(h, w, p, budget)
    assert isinstance(size, NaflexSize)
    # never over budget, every side a whole number of patches, at least one patch
    assert 1 <= size.num_patches == size.rows * size.cols <= budget
    assert size.height == size.rows * p and size.width == size.cols * p
    assert size.size == (size.height, size.width) and size.grid == (size.rows, size.cols)
    # the aspect ratio is kept up to rounding each side up by less than one patch: some scale s
    # has H' - P < h s <= H' and W' - P < w s <= W'
    low = max(Fraction(size.height - p, h), Fraction(size.width - p, w))
    high = min(Fraction(size.height, h), Fraction(size.width, w))
    assert low < high
    # the largest such scale: growing the image at all would need more patches than the budget
    grow = high + Fraction(1, 10**9)
    rows, cols = math.ceil(h * grow / p), math.ceil(w * grow / p)
    assert rows * cols > budget


@settings(max_examples=150, deadline=None)
@given(h=st.integers(1, 600), w=st.integers(1, 600), p=patches, budget=st.integers(1, 120))
def test_naflex_size_equals_an_independent_oracle(h, w, p, budget):
    assert naflex_size(h, w, p, budget).grid == _oracle(h, w, p, budget)


@settings(max_examples=300, deadline=None)
@given(
    h=sides,
    w=sides,
    p=st.sampled_from([14, 16]),
    budget=st.sampled_from([64, 128, 256, 576, 784, 1024]),
)
def test_naflex_size_agrees_with_siglip2s_search(h, w, p, budget):
    """SigLIP 2's bisection stops within 1e-5 of the largest scale; it can only differ from the
    exact answer when two candidate scales lie within 1e-5 of each other, or when the image would
    have to grow more than 100 times (the top of its search range: Hugging Face then returns the
    size at scale 100, big_vision fails an assertion; naflex_size has no such limit)."""
    exact = naflex_size(h, w, p, budget)
    searched = _siglip2_search(h, w, p, budget)
    scale = min(Fraction(exact.rows * p, h), Fraction(exact.cols * p, w))
    if scale >= 100:
        assert searched == tuple(math.ceil(side * 100 / p) for side in (h, w))
        return
    if searched != exact.grid:
        near = [Fraction(k * p, side) for side in (h, w) for k in range(1, budget + 1)]
        assert any(0 < scale - s < 1e-5 for s in near), (h, w, p, budget, exact, searched)


def test_naflex_size_grows_an_image_without_limit():
    # a 1 x 1 image and 11 x 11 patches of 14 px: scale 154, beyond SigLIP 2's search range
    assert naflex_size(1, 1, 14, 128) == NaflexSize(154, 154, 11, 11)
    assert _siglip2_search(1, 1, 14, 128) == (8, 8)


def test_naflex_size_examples():
    # Hugging Face's defaults: 16 px patches, 256 patches; a square 512 px image -> 16 x 16
    assert naflex_size(512, 512, 16, 256) == NaflexSize(256, 256, 16, 16)
    assert naflex_size(256, 384, 16, 64) == NaflexSize(96, 144, 6, 9)  # the rocket: 2:3
    assert naflex_size(384, 256, 16, 64) == NaflexSize(144, 96, 9, 6)  # portrait: swapped
    assert naflex_size(10, 10, 16, 64) == NaflexSize(128, 128, 8, 8)  # a small image grows
    assert naflex_size(1000, 1, 16, 64) == NaflexSize(1024, 16, 64, 1)  # never below one patch
    assert naflex_size(5, 7, 16, 1) == NaflexSize(16, 16, 1, 1)


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        ((0, 10, 16, 64), ValueError, "height must be a positive int, got 0"),
        ((10, 10.0, 16, 64), TypeError, "width must be an int, got float 10.0"),
        ((10, 10, 0, 64), ValueError, "patch_size must be a positive int"),
        ((10, 10, 16, True), TypeError, "max_patches must be an int, got bool True"),
    ],
)
def test_naflex_size_errors(args, error, match):
    with pytest.raises(error, match=match):
        naflex_size(*args)


def test_naflex_resize_image_and_table():
    image = torch.full((3, 256, 384), 0.25)
    out, size = naflex_resize(image, 16, 64)
    assert size == naflex_size(256, 384, 16, 64) and out.shape == (3, 96, 144)
    torch.testing.assert_close(out, torch.full_like(out, 0.25))  # a flat image stays flat
    batch, _ = naflex_resize(torch.rand(2, 3, 40, 30), 8, 12)
    assert batch.shape == (2, 3, 32, 24)
    with pytest.raises(TypeError, match="floating-point"):
        naflex_resize(torch.zeros(3, 8, 8, dtype=torch.uint8), 8, 4)
    with pytest.raises(ValueError, match=r"image must be \(C, H, W\) or \(B, C, H, W\)"):
        naflex_resize(torch.zeros(8, 8), 8, 4)
    # the table: what Hugging Face's Siglip2VisionEmbeddings.resize_positional_embeddings calls
    table = torch.randn(1, 16 * 16, 12, generator=torch.Generator().manual_seed(0))
    ours = resample_pos_embed(table, size.grid, num_prefix_tokens=0, **NAFLEX_POS_EMBED_RESIZE)
    image_of_table = table[0].reshape(16, 16, 12).permute(2, 0, 1)[None]
    hf = F.interpolate(
        image_of_table, size=size.grid, mode="bilinear", align_corners=False, antialias=True
    )
    torch.testing.assert_close(ours[0], hf[0].reshape(12, -1).T, rtol=0, atol=1e-6)


@pytest.mark.parametrize("kind", ["none", "learned", "sincos", "rope", "factorized"])
def test_position_codes_of_every_kind(kind):
    torch.manual_seed(0)
    model = TinyViT(img_size=32, patch_size=8, embed_dim=16, num_heads=2, pos_embed=kind)
    codes = position_codes(model, (4, 4))
    if kind == "none":
        assert codes is None
        return
    assert codes.shape[0] == 16
    sim = position_similarity(codes, (4, 4))
    assert sim.shape == (4, 4, 4, 4) and torch.allclose(sim[1, 2, 1, 2], torch.tensor(1.0))
    if kind == "factorized":
        with pytest.raises(ValueError, match="made for a 4x4 grid, not 6x8"):
            position_codes(model, (6, 8))
        return
    wide = position_codes(model, (6, 8))
    assert wide.shape[0] == 48
    if kind == "learned":
        torch.testing.assert_close(codes, model.pos_embed[0, 1:].detach())
        ref = resample_pos_embed(model.pos_embed.detach(), (6, 8), recipe="timm")[0, 1:]
        torch.testing.assert_close(wide, ref)
    if kind == "sincos":
        assert torch.equal(wide, sincos_2d_pos_embed((6, 8), 16))
    if kind == "rope":
        angles = model.rope.angles((6, 8))
        assert torch.equal(wide, torch.cat([angles.cos(), angles.sin()], 1))


def test_position_codes_of_rope_ignore_the_augmentation_and_keep_the_mode():
    model = TinyViT(
        img_size=32,
        patch_size=8,
        embed_dim=16,
        num_heads=2,
        pos_embed="rope",
        rope_kwargs={"normalize_coords": "separate", "rescale_coords": 2.0},
    ).train()
    first = position_codes(model, (4, 4))
    assert torch.equal(first, position_codes(model, (4, 4))) and model.rope.training
    with pytest.raises(TypeError, match="model must be a vitlearn.TinyViT"):
        position_codes(torch.nn.Linear(2, 2), (4, 4))


def test_the_test_sizes_are_one_list_used_by_the_notebook_the_record_and_the_explorer():
    from pathlib import Path

    from vitlearn import grid_shape, load_anyres_record
    from vitlearn.anyres import TEST_SIZES
    from vitlearn.widgets.anyres import DEFAULT_SIZES

    # notebook 09's claims: the training size, four larger squares up to 2x, a 3:4 and a 1.8:1
    grids = [grid_shape(s, 8) for s in TEST_SIZES]
    assert grids == [(4, 4), (5, 5), (6, 6), (7, 7), (8, 8), (6, 8), (5, 9)]
    assert [tuple(s) for s in load_anyres_record()["test_sizes"]] == list(TEST_SIZES)
    assert DEFAULT_SIZES is TEST_SIZES
    root = Path(__file__).resolve().parents[1]
    for notebook in ("notebooks/09_any_resolution.ipynb", "notebooks/text/09_any_resolution.md"):
        text = (root / notebook).read_text()
        assert "SIZES, SEEDS, P = TEST_SIZES" in text and "(40, 72)" not in text, notebook
