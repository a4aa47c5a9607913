"""vitlearn.segmentation: parity with SAM and ViTDet (fixtures made by
tests/make_segmentation_fixtures.py), small cases by hand, round trips and errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from vitlearn import add_decomposed_rel_pos, get_abs_pos, get_rel_pos, window_partition
from vitlearn.segmentation import window_unpartition

FIXTURES = Path(__file__).parent / "fixtures" / "segmentation_sam.npz"
DATA = np.load(FIXTURES)
CASES = json.loads(str(DATA["cases"]))


def _cases(kind):
    found = [c for c in CASES if c["kind"] == kind]
    assert found, kind
    return found


def _t(key):
    return torch.from_numpy(DATA[key])


@pytest.mark.parametrize("case", _cases("rel_pos"), ids=lambda c: c["name"])
def test_get_rel_pos_matches_sam(case):
    table = _t(case["name"] + "/table")
    out = get_rel_pos(case["q_size"], case["k_size"], table)
    assert out.shape == (case["q_size"], case["k_size"], table.shape[1])
    np.testing.assert_allclose(out.numpy(), DATA[case["name"] + "/out"], rtol=0, atol=1e-6)


def test_the_fixtures_cover_resizing_and_unequal_sizes():
    rel = _cases("rel_pos")
    resized = [
        c
        for c in rel
        if DATA[c["name"] + "/table"].shape[0] != 2 * max(c["q_size"], c["k_size"]) - 1
    ]
    assert len(resized) >= 3 and any(c["q_size"] != c["k_size"] for c in resized)
    assert any(c["q_size"] < c["k_size"] for c in rel) and any(
        c["q_size"] > c["k_size"] for c in rel
    )


def test_get_rel_pos_by_hand():
    # one channel holding the offset itself: entry [i, j] must read i - j
    table = torch.arange(-2.0, 3.0)[:, None]  # offsets -2 .. 2, a 3-long axis
    out = get_rel_pos(3, 3, table)[..., 0]
    assert torch.equal(out, torch.tensor([[0.0, -1, -2], [1, 0, -1], [2, 1, 0]]))
    # 2 queries, 4 keys: the queries are stretched to the keys' scale (query 1 sits at 2)
    wide = torch.arange(-3.0, 4.0)[:, None]
    assert torch.equal(
        get_rel_pos(2, 4, wide)[..., 0], torch.tensor([[0.0, -1, -2, -3], [2, 1, 0, -1]])
    )


def test_get_rel_pos_resizes_linearly_when_the_table_is_short():
    table = torch.arange(5.0)[:, None] * 2  # 5 rows, needed 9 for size 5: a ramp stays a ramp
    out = get_rel_pos(5, 5, table)[..., 0]
    resized = torch.nn.functional.interpolate(table.T[None], size=9, mode="linear")[0, 0]
    assert torch.equal(out[0], resized[[4, 3, 2, 1, 0]])
    assert torch.equal(torch.diagonal(out), torch.full((5,), float(resized[4])))


@pytest.mark.parametrize("case", _cases("decomposed"), ids=lambda c: c["name"])
def test_add_decomposed_rel_pos_matches_sam(case):
    n = case["name"]
    out = add_decomposed_rel_pos(
        _t(n + "/attn"),
        _t(n + "/q"),
        _t(n + "/rel_pos_h"),
        _t(n + "/rel_pos_w"),
        tuple(case["q_size"]),
        tuple(case["k_size"]),
    )
    np.testing.assert_allclose(out.numpy(), DATA[n + "/out"], rtol=0, atol=1e-5)


def test_decomposed_equals_a_full_2d_table():
    """q . (Rh[dy] + Rw[dx]): the two small tables act as one table of (2n-1)^2 rows."""
    g = torch.Generator().manual_seed(0)
    h, w, c = 3, 4, 5
    rel_h, rel_w = torch.randn(2 * h - 1, c, generator=g), torch.randn(2 * w - 1, c, generator=g)
    q = torch.randn(1, h * w, c, generator=g)
    out = add_decomposed_rel_pos(torch.zeros(1, h * w, h * w), q, rel_h, rel_w, (h, w), (h, w))
    full = torch.zeros(h * w, h * w)
    for i in range(h * w):
        for j in range(h * w):
            dy, dx = i // w - j // w, i % w - j % w
            full[i, j] = q[0, i] @ (rel_h[dy + h - 1] + rel_w[dx + w - 1])
    assert torch.allclose(out[0], full, atol=1e-5)
    attn = torch.randn(1, h * w, h * w, generator=g)
    assert torch.allclose(
        add_decomposed_rel_pos(attn, q, rel_h, rel_w, (h, w), (h, w)), attn + full, atol=1e-5
    )


@pytest.mark.parametrize("case", _cases("window"), ids=lambda c: c["name"])
def test_window_partition_matches_sam(case):
    x = _t(case["name"] + "/x")
    windows, pad_hw = window_partition(x, case["window_size"])
    assert list(pad_hw) == case["pad_hw"]
    assert torch.equal(windows, _t(case["name"] + "/windows"))
    assert torch.equal(window_unpartition(windows, case["window_size"], pad_hw, x.shape[1:3]), x)


@settings(max_examples=30, deadline=None)
@given(b=st.integers(1, 2), h=st.integers(1, 9), w=st.integers(1, 9), ws=st.integers(1, 5))
def test_window_round_trip(b, h, w, ws):
    x = torch.randn(b, h, w, 2)
    windows, pad_hw = window_partition(x, ws)
    assert windows.shape == (b * (pad_hw[0] // ws) * (pad_hw[1] // ws), ws, ws, 2)
    assert pad_hw[0] - h < ws and pad_hw[1] - w < ws and pad_hw[0] % ws == 0 == pad_hw[1] % ws
    assert torch.equal(window_unpartition(windows, ws, pad_hw, (h, w)), x)


def test_sam_at_1024_px_pads_its_grid_to_25_windows():
    windows, pad_hw = window_partition(torch.zeros(1, 64, 64, 1), 14)
    assert pad_hw == (70, 70) and windows.shape == (25, 14, 14, 1)


@pytest.mark.parametrize("case", _cases("abs_pos"), ids=lambda c: c["name"])
def test_get_abs_pos_matches_vitdet(case):
    table = _t(case["name"] + "/table")
    out = get_abs_pos(table, case["has_cls_token"], tuple(case["hw"]))
    np.testing.assert_allclose(out.numpy(), DATA[case["name"] + "/out"], rtol=0, atol=1e-6)


def test_get_abs_pos_at_the_same_size_only_reshapes():
    table = torch.randn(1, 1 + 9, 4)
    assert torch.equal(get_abs_pos(table, True, (3, 3)), table[:, 1:].reshape(1, 3, 3, 4))


# ---- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: get_rel_pos(0, 3, torch.zeros(5, 2)),
            ValueError,
            "q_size must be a positive int, got 0",
        ),
        (lambda: get_rel_pos(3, 2.0, torch.zeros(5, 2)), TypeError, "k_size must be an int"),
        (
            lambda: get_rel_pos(3, 3, torch.zeros(5)),
            ValueError,
            r"rel_pos must be a 2-D table \(L, C\)",
        ),
        (
            lambda: get_rel_pos(3, 3, torch.zeros(5, 2, dtype=torch.long)),
            TypeError,
            "floating-point",
        ),
        (
            lambda: get_abs_pos(torch.zeros(1, 1 + 12, 4), True, (4, 4)),
            ValueError,
            "12 grid tokens, not a square",
        ),
        (
            lambda: get_abs_pos(torch.zeros(1, 17, 4), 1, (4, 4)),
            TypeError,
            "has_cls_token must be a bool",
        ),
        (
            lambda: get_abs_pos(torch.zeros(17, 4), True, 4),
            ValueError,
            r"abs_pos must be \(1, \[1 \+\] n\*n, C\)",
        ),
        (
            lambda: add_decomposed_rel_pos(
                torch.zeros(1, 12, 12),
                torch.zeros(1, 10, 4),
                torch.zeros(5, 4),
                torch.zeros(7, 4),
                (3, 4),
                (3, 4),
            ),
            ValueError,
            "has 10 queries",
        ),
        (
            lambda: add_decomposed_rel_pos(
                torch.zeros(1, 12, 6),
                torch.zeros(1, 12, 4),
                torch.zeros(5, 4),
                torch.zeros(7, 4),
                (3, 4),
                (3, 4),
            ),
            ValueError,
            r"attn must be \(B, qh\*qw, kh\*kw\)",
        ),
        (
            lambda: add_decomposed_rel_pos(
                torch.zeros(1, 12, 12),
                torch.zeros(1, 12, 4),
                torch.zeros(5, 3),
                torch.zeros(7, 4),
                (3, 4),
                (3, 4),
            ),
            ValueError,
            "rel_pos_h of shape",
        ),
        (
            lambda: window_partition(torch.zeros(4, 4, 2), 2),
            ValueError,
            r"x must be a token grid \(B, H, W, C\)",
        ),
        (
            lambda: window_unpartition(torch.zeros(3, 2, 2, 1), 2, (4, 4), (4, 4)),
            ValueError,
            "do not tile",
        ),
    ],
)
def test_bad_input_is_named(call, error, message):
    with pytest.raises(error, match=message):
        call()
