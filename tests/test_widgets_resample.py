"""ResampleExplorer: update() returns what it drew, without a kernel, quickly."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vitlearn import resample_pos_embed, sincos_2d_pos_embed
from vitlearn.widgets import ResampleExplorer
from vitlearn.widgets.resample import METHODS, flattened_resample


def _table(rows=6, cols=6, dim=16):
    codes = sincos_2d_pos_embed((rows, cols), dim)
    return torch.cat([torch.full((1, dim), 0.5), codes])[None]


def test_update_returns_the_resampled_maps():
    table = _table()
    ex = ResampleExplorer(table, size=6, row=1, col=2)
    out = ex.update(size=9, method="bicubic + antialias (timm)", channel=3)
    assert out["size"] == (9, 9)
    ref = resample_pos_embed(table, 9)
    np.testing.assert_array_equal(out["table"], ref.numpy())
    np.testing.assert_array_equal(out["channel_new"], ref[0, 1:, 3].reshape(9, 9).numpy())
    np.testing.assert_array_equal(out["channel_old"], table[0, 1:, 3].reshape(6, 6).numpy())
    assert out["patch_old"] == (1, 2) and out["patch_new"] == (2, 3)  # same relative position
    assert out["sim_old"].shape == (6, 6) and out["sim_new"].shape == (9, 9)
    assert out["sim_old"][1, 2] == pytest.approx(1.0) and out["sim_new"][2, 3] == pytest.approx(1.0)
    np.testing.assert_array_equal(ex._sim_new.get_array(), out["sim_new"])
    np.testing.assert_array_equal(ex._ch_new.get_array(), out["channel_new"])
    assert ex._ch_new.get_extent() == [-0.5, 8.5, 8.5, -0.5]


def test_every_method_and_shrinking():
    ex = ResampleExplorer(_table(), size=4)
    for method in METHODS:
        out = ex.update(method=method, size=4)
        assert out["table"].shape == (1, 1 + 16, 16)
        np.testing.assert_array_equal(out["table"][0, 0], np.full(16, 0.5, dtype=np.float32))


def test_flattened_method_damages_the_maps():
    """The 2-D method keeps a row-only pattern constant along each row; the 1-D one does not."""
    rows = torch.arange(6.0).repeat_interleave(6)  # code = row index, constant along each row
    table = torch.cat([torch.zeros(1, 2), torch.stack([rows, torch.ones(36)], 1)])[None]
    ex = ResampleExplorer(table, size=6)
    good = ex.update(size=9, method="bilinear", channel=0)["channel_new"]
    assert np.allclose(good, good[:, :1])
    bad = ex.update(method="flattened 1-D (wrong)")["channel_new"]
    assert not np.allclose(bad, bad[:, :1])
    np.testing.assert_array_equal(ex.update()["table"], flattened_resample(table, 9).numpy())


def test_non_square_grid_and_errors():
    table = _table(3, 5)
    with pytest.raises(
        ValueError, match=r"minus num_prefix_tokens=1 that is 15 grid tokens, not a square number"
    ):
        ResampleExplorer(table)
    ex = ResampleExplorer(table, (3, 5), size=4)
    assert ex.update(size=(6, 10))["sim_new"].shape == (6, 10)
    with pytest.raises(ValueError, match="outside the 3x5 grid"):
        ex.update(row=3)
    ex.update(row=0)
    with pytest.raises(ValueError, match="unknown method 'cubic'"):
        ex.update(method="cubic")
    ex.update(method="nearest")
    with pytest.raises(ValueError, match=r"channel must be in 0..15, got 16"):
        ex.update(channel=16)
    ex.update(channel=0)
    with pytest.raises(TypeError, match="unknown control"):
        ex.update(colour=1)
    with pytest.raises(
        ValueError,
        match=r"a 4x4 grid means 16 grid tokens, but pos_embed \(1, 16, 16\) has 16 tokens.*= 15",
    ):
        ResampleExplorer(table, (4, 4))


def test_default_table_controls_and_static_figure():
    ex = ResampleExplorer()
    assert ex.old == (14, 14)
    controls = ex.controls()
    assert set(controls) == {"size", "method", "channel"}
    assert list(controls["method"].options) == list(METHODS)
    fig = ex.static_figure(size=20)
    assert fig is ex.fig and ex.render_png()[:4] == b"\x89PNG"
