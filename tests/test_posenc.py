"""Tests of vitlearn.posenc: parity with MAE, big_vision / vit-pytorch and timm (fixtures made by
tests/make_posenc_fixtures.py), the RoPE offset property, errors, and position_similarity."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from vitlearn import (
    FactorizedPosEmbed,
    LearnedPosEmbed,
    RelativePositionBias,
    RotaryEmbedding2D,
    position_similarity,
    sincos_1d_pos_embed,
    sincos_2d_pos_embed,
)

FIXTURES = np.load(Path(__file__).parent / "fixtures" / "posenc_sincos.npz")
SINCOS_KEYS = [k for k in FIXTURES.files if k.split("_")[0] in ("mae", "big", "timm")]


def test_fixture_covers_square_and_non_square_grids_for_every_convention():
    for convention in ("mae", "big_vision", "timm"):
        grids = {k.split("_")[-2] for k in SINCOS_KEYS if k.startswith(convention + "_")}
        shapes = [tuple(int(v) for v in g.split("x")) for g in grids]
        assert any(r == c for r, c in shapes) and any(r != c for r, c in shapes)


@pytest.mark.parametrize("key", SINCOS_KEYS)
def test_sincos_2d_matches_reference(key):
    convention, grid, d = key.rsplit("_", 2)
    rows, cols = (int(v) for v in grid.split("x"))
    dim = int(d[1:])
    ref = FIXTURES[key]
    got = sincos_2d_pos_embed((rows, cols), dim, convention=convention)
    assert got.dtype == torch.float32
    assert tuple(got.shape) == ref.shape == (rows * cols, dim)
    np.testing.assert_allclose(got.numpy(), ref, rtol=0, atol=2e-6)


def test_sincos_2d_int_grid_is_square():
    assert torch.equal(sincos_2d_pos_embed(5, 16), sincos_2d_pos_embed((5, 5), 16))


def test_conventions_are_permutations_or_frequency_changes_of_each_other():
    rows, cols, dim = 3, 5, 16
    f = dim // 4
    mae = sincos_2d_pos_embed((rows, cols), dim)
    timm = sincos_2d_pos_embed((rows, cols), dim, convention="timm")
    # mae: [sin x | cos x | sin y | cos y]; timm: [sin y | sin x | cos y | cos x]
    perm = torch.cat([torch.arange(2 * f, 3 * f), torch.arange(0, f),
                      torch.arange(3 * f, 4 * f), torch.arange(f, 2 * f)])
    assert torch.equal(mae[:, perm], timm)
    bv = sincos_2d_pos_embed((rows, cols), dim, convention="big_vision")
    assert torch.equal(mae[:, 0], bv[:, 0])  # k = 0: frequency 1 in both
    assert not torch.allclose(mae, bv)
    # big_vision's lowest frequency is exactly 1/temperature: sin(c / 10000) for column c
    cols_idx = torch.arange(rows * cols) % cols
    torch.testing.assert_close(bv[:, f - 1], torch.sin(cols_idx / 10000.0))


def test_sincos_1d_matches_mae_1d():
    for key in [k for k in FIXTURES.files if k.startswith("mae1d_")]:
        _, n, d = key.split("_")
        got = sincos_1d_pos_embed(int(n), int(d[1:]))
        np.testing.assert_allclose(got.numpy(), FIXTURES[key], rtol=0, atol=2e-6)


@pytest.mark.parametrize("dim, nearest", [(30, "28 or 32"), (2, "4"), (6, "4 or 8")])
def test_sincos_2d_bad_dim_names_nearest(dim, nearest):
    with pytest.raises(ValueError, match=rf"dim={dim}.*nearest valid: {nearest}$"):
        sincos_2d_pos_embed(4, dim)


def test_sincos_errors():
    with pytest.raises(ValueError, match="known: 'mae', 'big_vision', 'timm'"):
        sincos_2d_pos_embed(4, 16, convention="moco")
    with pytest.raises(ValueError, match="big_vision.*dim >= 8"):
        sincos_2d_pos_embed(4, 4, convention="big_vision")
    with pytest.raises(ValueError, match="dim=7"):
        sincos_1d_pos_embed(4, 7)
    with pytest.raises(TypeError, match="grid_size"):
        sincos_2d_pos_embed((2, 3, 4), 16)


@settings(max_examples=30, deadline=None)
@given(
    rows=st.integers(1, 5),
    cols=st.integers(1, 5),
    quarter=st.integers(1, 6),
    prefix=st.integers(0, 2),
    seed=st.integers(0, 2**16),
)
def test_rope_score_depends_only_on_offset(rows, cols, quarter, prefix, seed):
    head_dim = 4 * quarter
    g = torch.Generator().manual_seed(seed)
    rope = RotaryEmbedding2D(head_dim)
    q, k = torch.randn(head_dim, generator=g), torch.randn(head_dim, generator=g)
    n = prefix + rows * cols
    qs = rope(q.repeat(2, n, 1), (rows, cols), num_prefix_tokens=prefix)
    ks = rope(k.repeat(2, n, 1), (rows, cols), num_prefix_tokens=prefix)
    assert qs.shape == (2, n, head_dim)
    # prefix tokens untouched
    assert torch.equal(qs[:, :prefix], q.repeat(2, prefix, 1))
    scores = (qs[0, prefix:].double() @ ks[0, prefix:].double().T)  # (N, N)
    ys, xs = torch.arange(rows * cols) // cols, torch.arange(rows * cols) % cols
    by_offset: dict[tuple[int, int], float] = {}
    for i in range(rows * cols):
        for j in range(rows * cols):
            off = (int(ys[j] - ys[i]), int(xs[j] - xs[i]))
            s = float(scores[i, j])
            ref = by_offset.setdefault(off, s)
            assert abs(s - ref) < 1e-4 * (1 + abs(ref))
    # the score at offset (0, 0) is the plain dot product: rotations keep lengths and angles
    assert abs(by_offset[(0, 0)] - float(q.double() @ k.double())) < 1e-4 * (1 + abs(float(q @ k)))


def test_rope_layout_half_by_column_half_by_row():
    rope = RotaryEmbedding2D(8)
    angles = rope.angles((2, 3))  # (6, 4): pairs 0,1 by column, pairs 2,3 by row
    cols = torch.arange(6) % 3
    rows = torch.arange(6) // 3
    torch.testing.assert_close(angles[:, 0], cols.float())
    torch.testing.assert_close(angles[:, 2], rows.float())
    torch.testing.assert_close(angles[:, 1], cols.float() / 100.0)  # 10000 ** (-1/2)
    # a patch at (0, 1) rotates pair 0 (channels 0, 1) by 1 radian and leaves the row pairs alone
    x = torch.zeros(1, 6, 8)
    x[0, 1, 0] = 1.0
    x[0, 1, 4] = 1.0
    out = rope(x, (2, 3))
    torch.testing.assert_close(out[0, 1, :2], torch.tensor([np.cos(1.0), np.sin(1.0)]).float())
    torch.testing.assert_close(out[0, 1, 4:6], torch.tensor([1.0, 0.0]))


def test_rope_errors():
    with pytest.raises(ValueError, match="head_dim=6.*4 or 8"):
        RotaryEmbedding2D(6)
    rope = RotaryEmbedding2D(8)
    with pytest.raises(ValueError, match=r"N=13 \(1 prefix \+ 3x4 patches\).*\(2, 12, 8\)"):
        rope(torch.zeros(2, 12, 8), (3, 4), num_prefix_tokens=1)


def test_learned_pos_embed():
    torch.manual_seed(0)
    pe = LearnedPosEmbed(17, 32)
    assert pe.weight.shape == (17, 32)
    assert 0.015 < float(pe.weight.detach().std()) < 0.025
    x = torch.randn(2, 17, 32)
    torch.testing.assert_close(pe(x), x + pe.weight)
    with pytest.raises(ValueError, match=r"N=17.*\(2, 16, 32\)"):
        pe(torch.zeros(2, 16, 32))


def test_factorized_pos_embed():
    pe = FactorizedPosEmbed((2, 3), 4)
    table = pe.table()
    assert table.shape == (6, 4)
    torch.testing.assert_close(table[1 * 3 + 2], pe.row_embed[1] + pe.col_embed[2])
    x = torch.randn(5, 7, 4)
    out = pe(x, num_prefix_tokens=1)
    assert torch.equal(out[:, 0], x[:, 0])
    torch.testing.assert_close(out[:, 1:], x[:, 1:] + table)
    assert sum(p.numel() for p in pe.parameters()) == (2 + 3) * 4


def test_relative_position_bias_follows_offsets():
    rows, cols = 3, 4
    rpb = RelativePositionBias((rows, cols), num_heads=2)
    assert rpb.bias_table.shape == ((2 * rows - 1) * (2 * cols - 1), 2)
    bias = rpb()
    assert bias.shape == (2, 12, 12)
    ys, xs = torch.arange(12) // cols, torch.arange(12) % cols
    seen: dict[tuple[int, int], torch.Tensor] = {}
    for i in range(12):
        for j in range(12):
            off = (int(ys[i] - ys[j]), int(xs[i] - xs[j]))
            if off in seen:
                assert torch.equal(bias[:, i, j], seen[off])
            seen[off] = bias[:, i, j]
    assert len(seen) == (2 * rows - 1) * (2 * cols - 1)  # every table row is used
    padded = rpb(num_prefix_tokens=1)
    assert padded.shape == (2, 13, 13)
    assert torch.equal(padded[:, 1:, 1:], bias) and not padded[:, 0].any()


def test_position_similarity_values_and_shape():
    table = sincos_2d_pos_embed((3, 5), 32)
    sim = position_similarity(table, (3, 5))
    assert sim.shape == (3, 5, 3, 5)
    diag = sim.reshape(15, 15).diagonal()
    torch.testing.assert_close(diag, torch.ones(15))
    flat = sim.reshape(15, 15)
    torch.testing.assert_close(flat, flat.T)
    assert float(sim.max()) <= 1 + 1e-6 and float(sim.min()) >= -1 - 1e-6
    # prefix rows are set aside; (1, N, D) and numpy are accepted
    with_cls = torch.cat([torch.randn(1, 32), table])[None]
    torch.testing.assert_close(position_similarity(with_cls.numpy(), (3, 5), 1), sim)


def test_position_similarity_errors():
    with pytest.raises(ValueError, match=r"a 3x5 grid means 15 grid tokens, but the table \(16, 8\) has 16 tokens"):
        position_similarity(torch.zeros(16, 8), (3, 5))
    with pytest.raises(ValueError, match=r"\(2, 15, 8\)"):
        position_similarity(torch.zeros(2, 15, 8), (3, 5))


def test_plot_position_similarity_draws_every_tile():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from vitlearn.plot import plot_position_similarity

    table = sincos_2d_pos_embed((2, 3), 16)
    sim = position_similarity(table, (2, 3))
    fig = Figure()
    ax = fig.add_subplot()
    assert plot_position_similarity(table, (2, 3), ax=ax) is fig
    mosaic = np.asarray(ax.images[0].get_array())
    assert mosaic.shape == (2 * 3 - 1, 3 * 4 - 1)  # 2x3 tiles of 2x3 pixels, 1-pixel gaps
    np.testing.assert_allclose(mosaic[3:5, 8:11], sim[1, 2].numpy(), atol=1e-6)  # tile (1, 2)
    with pytest.raises(ValueError, match="grid_size"):
        plot_position_similarity(table)
