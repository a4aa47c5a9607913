"""vitlearn.posenc.grid_structure: Spearman's rho of similarity against grid distance, and the
neighbour check, on tables whose answer is known (sin-cos passes, noise fails, a swap is found)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from vitlearn import grid_structure, sincos_2d_pos_embed
from vitlearn.posenc import _average_ranks, _spearman


def brute_force_ranks(x: list[float]) -> list[float]:
    """Rank of each value: how many are smaller, plus the middle of the run of equal values."""
    return [sum(v < xi for v in x) + (sum(v == xi for v in x) + 1) / 2 for xi in x]


def test_average_ranks_share_ties():
    assert _average_ranks(torch.tensor([3.0, 1.0, 3.0, 2.0, 3.0])).tolist() == [
        4.0,
        1.0,
        4.0,
        2.0,
        4.0,
    ]
    assert _average_ranks(torch.tensor([0.5, 0.5])).tolist() == [1.5, 1.5]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(-3, 3), min_size=1, max_size=30))
def test_average_ranks_match_the_definition(values):
    x = [float(v) for v in values]
    assert _average_ranks(torch.tensor(x)).tolist() == brute_force_ranks(x)


def test_spearman_by_hand_with_a_tie():
    # ranks of y: 1, 2, 3.5, 5, 3.5; deviations from 3: x -2 -1 0 1 2, y -2 -1 .5 2 .5
    # sum of products 8, sums of squares 10 and 9.5: rho = 8 / sqrt(95)
    rho = _spearman(torch.tensor([1.0, 2, 3, 4, 5]), torch.tensor([5.0, 6, 7, 8, 7]))
    assert rho == pytest.approx(8 / math.sqrt(95), abs=1e-12)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(-10, 10), min_size=3, max_size=40), st.integers(0, 1000))
def test_spearman_sees_only_the_order(a, seed):
    a = torch.tensor(a, dtype=torch.float64)
    b = torch.randn(len(a), generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    rho = _spearman(a, b)
    if math.isnan(rho):  # a constant sample has no order
        assert bool((a == a[0]).all())
        return
    assert -1 - 1e-12 <= rho <= 1 + 1e-12
    assert _spearman(a, b.exp() * 3 + 1) == pytest.approx(rho, abs=1e-12)  # increasing map: same
    assert _spearman(a, -b) == pytest.approx(-rho, abs=1e-12)  # reversed order: opposite sign


def test_sincos_table_passes_both_checks():
    # the fixed 2-D sin-cos code at ViT-B/16's 14 x 14 grid, with a class-token row in front
    table = torch.cat([torch.zeros(1, 64), sincos_2d_pos_embed(14, 64)])[None]  # (1, 197, 64)
    out = grid_structure(table, 14, num_prefix_tokens=1)
    assert out["spearman"] <= -0.6
    assert out["all_neighbours_above_median"] and out["neighbour_fraction"] == 1.0
    assert out["neighbours_above_median"].shape == (14, 14)
    assert bool((out["neighbour_min"] > out["median"]).all())


def test_random_table_fails_both_checks():
    table = torch.randn(1, 197, 64, generator=torch.Generator().manual_seed(0))
    out = grid_structure(table, 14, num_prefix_tokens=1)
    assert abs(out["spearman"]) < 0.05  # no relation between similarity and distance
    assert not out["all_neighbours_above_median"]
    assert out["neighbour_fraction"] < 0.2


def test_two_swapped_codes_are_found_where_they_are():
    table = sincos_2d_pos_embed(14, 64).clone()
    table[[0, 195]] = table[[195, 0]]  # the corners (0, 0) and (13, 13) trade codes
    out = grid_structure(table, 14)
    failed = (~out["neighbours_above_median"]).nonzero().tolist()
    # each corner, and the neighbours that now sit next to a code from the far corner
    assert failed == [[0, 0], [0, 1], [1, 0], [12, 13], [13, 12], [13, 13]]
    assert out["spearman"] > grid_structure(sincos_2d_pos_embed(14, 64), 14)["spearman"]


def test_a_1x3_grid_by_hand():
    # codes at 0, 45 and 90 degrees: cosines 0.707 between neighbours, 0 between the ends
    table = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    out = grid_structure(table, (1, 3))
    assert out["spearman"] == pytest.approx(-1.0)  # distance 1 pairs are the most similar
    # the ends: neighbour 0.707 > median of (0.707, 0) = 0.354; the middle: 0.707 is not > 0.707
    assert out["neighbours_above_median"].tolist() == [[True, False, True]]
    assert out["median"][0].tolist() == pytest.approx(
        [0.5**0.5 / 2, 0.5**0.5, 0.5**0.5 / 2], abs=1e-6
    )


def test_prefix_rows_and_numpy_input_change_nothing():
    codes = sincos_2d_pos_embed((5, 7), 32)
    plain = grid_structure(codes, (5, 7))
    prefixed = grid_structure(
        np.concatenate([np.ones((2, 32), np.float32), codes.numpy()]), (5, 7), 2
    )
    assert prefixed["spearman"] == pytest.approx(plain["spearman"], abs=1e-12)
    assert torch.equal(prefixed["neighbours_above_median"], plain["neighbours_above_median"])


def test_errors_name_what_was_expected():
    with pytest.raises(ValueError, match="at least 2 patches"):
        grid_structure(torch.ones(1, 4), 1)
    with pytest.raises(
        ValueError,
        match=r"a 14x14 grid means 196 grid tokens, but the table \(196, 8\) has 196 tokens, "
        r"minus num_prefix_tokens=1 = 195",
    ):
        grid_structure(torch.ones(196, 8), 14, num_prefix_tokens=1)
