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
from vitlearn.posenc import SINCOS_CONVENTIONS, SINCOS_LAYOUTS, describe_sincos_channel

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
    perm = torch.cat(
        [
            torch.arange(2 * f, 3 * f),
            torch.arange(0, f),
            torch.arange(3 * f, 4 * f),
            torch.arange(f, 2 * f),
        ]
    )
    assert torch.equal(mae[:, perm], timm)
    bv = sincos_2d_pos_embed((rows, cols), dim, convention="big_vision")
    assert torch.equal(mae[:, 0], bv[:, 0])  # k = 0: frequency 1 in both
    assert not torch.allclose(mae, bv)
    # big_vision's lowest frequency is exactly 1/temperature: sin(c / 10000) for column c
    cols_idx = torch.arange(rows * cols) % cols
    torch.testing.assert_close(bv[:, f - 1], torch.sin(cols_idx / 10000.0))


@pytest.mark.parametrize("convention", SINCOS_CONVENTIONS)
def test_every_channel_is_what_the_layout_table_says(convention):
    """SINCOS_LAYOUTS, read by describe_sincos_channel, names the function, the axis and the
    frequency of every channel of the table (which the fixtures above pin to the libraries)."""
    rows, cols, dim = 3, 5, 16
    table = sincos_2d_pos_embed((rows, cols), dim, convention=convention).double()
    y, x = torch.meshgrid(torch.arange(rows), torch.arange(cols), indexing="ij")
    coord = {"y": y.reshape(-1).double(), "x": x.reshape(-1).double()}
    seen = set()
    for channel in range(dim):
        info = describe_sincos_channel(channel, dim, convention)
        want = getattr(torch, info["func"])(coord[info["axis"]] * info["omega"])
        torch.testing.assert_close(table[:, channel], want, rtol=0, atol=1e-6)
        seen.add((info["func"], info["axis"], info["k"]))
    assert len(seen) == dim  # each (func, axis, k) once: the table is a layout, not a guess


def test_the_docstring_table_is_the_layout_table():
    doc = sincos_2d_pos_embed.__doc__
    for name, layout in SINCOS_LAYOUTS.items():
        row = next(line for line in doc.splitlines() if line.strip().startswith(f'``"{name}"``'))
        assert f"``{layout.channels}``" in row, (name, row)
        exponent = layout.exponent if layout.offset == 0 else f"({layout.exponent})"
        assert f"(-k/{exponent})".replace(" ", "") in row.replace(" ", ""), (name, row)
    assert SINCOS_LAYOUTS["mae"].channels == "[sin x | cos x | sin y | cos y]"
    assert SINCOS_LAYOUTS["timm"].channels == "[sin y | sin x | cos y | cos x]"
    assert describe_sincos_channel(3, 16, "big_vision")["omega"] == pytest.approx(1e-4)


def test_sincos_1d_matches_mae_1d():
    keys = [k for k in FIXTURES.files if k.startswith("mae1d_")]
    assert len(keys) >= 2, f"the fixture has no MAE 1-D tables to compare with: {FIXTURES.files}"
    for key in keys:
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
    scores = qs[0, prefix:].double() @ ks[0, prefix:].double().T  # (N, N)
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
    with pytest.raises(
        ValueError, match=r"a 3x5 grid means 15 grid tokens, but the table \(16, 8\) has 16 tokens"
    ):
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


# -- RotaryEmbedding2D: coordinates (indices or DINOv3's box) and training-time augmentation ------


def _rope_angles_before_options(
    head_dim: int, temperature: float, rows: int, cols: int
) -> torch.Tensor:
    """RotaryEmbedding2D.angles as it was before the coordinate options (commit 6cf495e),
    restated."""
    f = head_dim // 4
    k = torch.arange(f, dtype=torch.float64)
    omega = (float(temperature) ** (-k / f)).float().double()  # stored as a float32 buffer
    y, x = torch.meshgrid(
        torch.arange(rows, dtype=torch.float64),
        torch.arange(cols, dtype=torch.float64),
        indexing="ij",
    )
    return torch.cat([x.reshape(-1, 1) * omega, y.reshape(-1, 1) * omega], dim=1).float()


def _rope_forward_before_options(x, theta, prefix):
    cos, sin = theta.cos().to(x.dtype), theta.sin().to(x.dtype)
    pre, patches = x[..., :prefix, :], x[..., prefix:, :]
    pairs = patches.reshape(*patches.shape[:-1], -1, 2)
    a, b = pairs[..., 0], pairs[..., 1]
    rotated = torch.stack([a * cos - b * sin, a * sin + b * cos], dim=-1).reshape(patches.shape)
    return torch.cat([pre, rotated], dim=-2) if prefix else rotated


@settings(max_examples=40, deadline=None)
@given(
    rows=st.integers(1, 9),
    cols=st.integers(1, 9),
    quarter=st.integers(1, 8),
    temperature=st.sampled_from([100.0, 10000.0, 7.5]),
    prefix=st.integers(0, 2),
    training=st.booleans(),
)
def test_rope_with_options_off_is_bit_identical_to_before(
    rows, cols, quarter, temperature, prefix, training
):
    head_dim = 4 * quarter
    rope = RotaryEmbedding2D(head_dim, temperature).train(training)
    old = _rope_angles_before_options(head_dim, temperature, rows, cols)
    assert torch.equal(rope.angles((rows, cols)), old)
    x = torch.randn(
        2, 3, prefix + rows * cols, head_dim, generator=torch.Generator().manual_seed(rows)
    )
    assert torch.equal(
        rope(x, (rows, cols), num_prefix_tokens=prefix),
        _rope_forward_before_options(x, old, prefix),
    )
    # augmentations only act in training mode: in eval mode they change nothing
    augmented = RotaryEmbedding2D(
        head_dim, temperature, shift_coords=0.5, jitter_coords=1.5, rescale_coords=2.0
    ).eval()
    assert torch.equal(augmented.angles((rows, cols)), old)


def test_rope_normalized_coords_follow_dinov3():
    """DINOv3's RopePositionEmbedding (facebookresearch/dinov3,
    dinov3/layers/rope_position_encoding.py), restated: patch centres arange(0.5, n) / n, moved to
    [-1, 1]; periods base ** (2k / (D/2)), k < D/4; angle 2 pi coord / period; its layout is [y | x]
    where ours is [x | y]."""
    head_dim, base, rows, cols = 16, 100.0, 3, 5
    rope = RotaryEmbedding2D(head_dim, base, normalize_coords="separate")
    k = torch.arange(head_dim // 4, dtype=torch.float64)
    periods = base ** (2 * k / (head_dim // 2))
    ch = 2 * (torch.arange(0.5, rows, dtype=torch.float64) / rows) - 1
    cw = 2 * (torch.arange(0.5, cols, dtype=torch.float64) / cols) - 1
    y, x = torch.meshgrid(ch, cw, indexing="ij")
    ay = 2 * torch.pi * y.reshape(-1, 1) / periods
    ax = 2 * torch.pi * x.reshape(-1, 1) / periods
    torch.testing.assert_close(
        rope.angles((rows, cols)), torch.cat([ax, ay], 1).float(), rtol=1e-6, atol=1e-5
    )
    coords = rope.coordinates((rows, cols))
    assert coords.shape == (15, 2) and coords.dtype == torch.float64
    assert float(coords[:, 0].min()) == pytest.approx(-2 / 3) and float(
        coords[:, 1].max()
    ) == pytest.approx(0.8)
    # "max" keeps the aspect ratio (both axes divided by the longer side); "min" by the shorter
    wide = RotaryEmbedding2D(8, normalize_coords="max").coordinates((2, 4))
    assert wide[:, 0].unique().tolist() == [-0.75, -0.25] and wide[:, 1].unique().tolist() == [
        -0.75,
        -0.25,
        0.25,
        0.75,
    ]
    narrow = RotaryEmbedding2D(8, normalize_coords="min").coordinates((2, 4))
    assert narrow[:, 1].unique().tolist() == [-0.5, 0.5, 1.5, 2.5]
    # index coordinates on a twice larger grid extend the offsets; the box refines them
    idx = RotaryEmbedding2D(8)
    assert (
        float(idx.coordinates((8, 8))[:, 1].max())
        == 2 * float(idx.coordinates((4, 4))[:, 1].max()) + 1
    )
    assert rope.coordinates((8, 8)).abs().max() < 1


def _augmented(**kw):
    return RotaryEmbedding2D(8, 100.0, normalize_coords="separate", **kw).train()


def test_rope_rescale_is_one_log_uniform_factor_for_both_axes():
    rope = _augmented(rescale_coords=2.0)
    base = rope.eval().coordinates((4, 6))
    rope.train()
    factors = []
    for _ in range(200):
        ratio = rope.coordinates((4, 6)) / base  # (N, 2): the same factor everywhere
        assert torch.allclose(ratio, ratio[0, 0].expand_as(ratio), rtol=1e-12, atol=0)
        factors.append(float(ratio[0, 0]))
    logs = torch.tensor(factors).log()
    assert logs.min() >= -np.log(2) and logs.max() <= np.log(2)
    assert logs.min() < -0.5 and logs.max() > 0.5  # it does explore the range [1/2, 2]


def test_rope_jitter_and_shift_act_per_axis():
    base = _augmented().eval().coordinates((4, 6))
    jittered = _augmented(jitter_coords=3.0).coordinates((4, 6)) / base
    fy, fx = jittered[0]
    assert torch.allclose(jittered, torch.stack([fy, fx]).expand_as(jittered), rtol=1e-12, atol=0)
    assert fy != fx and 1 / 3 <= fy <= 3 and 1 / 3 <= fx <= 3
    shifted = _augmented(shift_coords=0.25).coordinates((4, 6)) - base
    dy, dx = shifted[0]
    assert torch.allclose(shifted, torch.stack([dy, dx]).expand_as(shifted), rtol=0, atol=1e-12)
    assert abs(dy) <= 0.25 and abs(dx) <= 0.25 and dy != dx


def test_rope_augmentation_is_seeded_and_leaves_the_global_rng_alone():
    before = torch.random.get_rng_state()
    a = [_augmented(rescale_coords=2.0, jitter_coords=1.5, seed=3).angles((4, 4)) for _ in range(2)]
    assert torch.equal(a[0], a[1])  # same seed, same first draw
    rope = _augmented(rescale_coords=2.0, seed=3)
    first, second = rope.angles((4, 4)), rope.angles((4, 4))
    assert not torch.equal(first, second)  # a new draw per call
    rope.manual_seed()
    assert torch.equal(rope.angles((4, 4)), first)  # restarted
    rope.manual_seed(4)
    assert not torch.equal(rope.angles((4, 4)), first)
    assert torch.equal(torch.random.get_rng_state(), before)


def test_rope_score_still_depends_only_on_offset_under_one_draw():
    rope = _augmented(rescale_coords=2.0, jitter_coords=1.5)
    angles = rope.angles((3, 4))  # one draw, given to both rotations
    g = torch.Generator().manual_seed(0)
    q, k = torch.randn(8, generator=g), torch.randn(8, generator=g)
    qs = rope(q.repeat(12, 1), (3, 4), angles=angles).double()
    ks = rope(k.repeat(12, 1), (3, 4), angles=angles).double()
    scores = (qs @ ks.T).reshape(3, 4, 3, 4)
    torch.testing.assert_close(
        scores[0, 0, 1, 2], scores[1, 1, 2, 3], rtol=1e-5, atol=1e-5
    )  # offset (1, 2)
    torch.testing.assert_close(
        scores[2, 3, 1, 1], scores[1, 2, 0, 0], rtol=1e-5, atol=1e-5
    )  # (-1, -2)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"rescale_coords": 0.5}, ValueError, "rescale_coords must be at least 1, got 0.5"),
        ({"jitter_coords": 0.9}, ValueError, "jitter_coords must be at least 1"),
        ({"shift_coords": -0.1}, ValueError, "shift_coords must be at least 0"),
        ({"rescale_coords": "2"}, TypeError, "rescale_coords must be a number, got str '2'"),
        ({"rescale_coords": float("inf")}, ValueError, "rescale_coords must be a finite number"),
        (
            {"normalize_coords": "box"},
            ValueError,
            "unknown normalize_coords 'box'; known: 'separate', 'max', 'min'",
        ),
        ({"temperature": 0}, ValueError, "temperature must be greater than 0"),
        ({"seed": 1.5}, TypeError, "seed must be an int"),
    ],
)
def test_rope_option_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        RotaryEmbedding2D(8, **kwargs)


def test_rope_given_angles_must_fit_the_grid():
    rope = RotaryEmbedding2D(8)
    with pytest.raises(
        ValueError,
        match=r"angles must have shape \(12, 4\) for a 3x4 grid and head_dim=8, got \(16, 4\)",
    ):
        rope(torch.zeros(1, 12, 8), (3, 4), angles=rope.angles((4, 4)))
    assert "rescale_coords=2.0" in repr(RotaryEmbedding2D(8, rescale_coords=2))
    assert repr(RotaryEmbedding2D(8)) == "RotaryEmbedding2D(head_dim=8, temperature=10000)"
