"""AnyResolutionExplorer: update() returns what it drew, from results given beforehand."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vitlearn import position_similarity, sincos_2d_pos_embed
from vitlearn.plot import similarity_mosaic
from vitlearn.widgets import AnyResolutionExplorer
from vitlearn.widgets.anyres import DEFAULT_SIZES, default_codes

SIZES = [(32, 32), (64, 64), (32, 48)]


def _results():
    codes = {
        "none": {s: None for s in SIZES},
        "sincos": {s: sincos_2d_pos_embed((s[0] // 8, s[1] // 8), 16) for s in SIZES},
    }
    accuracy = {
        "none": {s: 0.25 for s in SIZES},
        "sincos": {(32, 32): 0.9, (64, 64): 0.4, (32, 48): 0.5},
    }
    return codes, accuracy


def test_update_returns_the_accuracy_and_the_codes_drawn():
    codes, accuracy = _results()
    ex = AnyResolutionExplorer(codes, accuracy)
    assert ex.state == {"scheme": "none", "size": (64, 64)}  # the largest square by default
    out = ex.update(scheme="sincos", size=(32, 48))
    assert out["grid"] == (4, 6) and out["accuracy"] == 0.5
    sim = position_similarity(codes["sincos"][(32, 48)], (4, 6)).numpy()
    np.testing.assert_array_equal(out["similarity"], sim)
    np.testing.assert_array_equal(out["mosaic"], similarity_mosaic(sim))
    np.testing.assert_array_equal(ex._map.get_array(), out["mosaic"])  # what is on screen
    assert ex._marker.get_data()[1][0] == 0.5 and ex._marker.get_data()[0][0] == SIZES.index(
        (32, 48)
    )
    assert ex._lines["sincos"].get_linewidth() > ex._lines["none"].get_linewidth()
    assert "accuracy 0.500 at 32x48 px (4x6)" in ex._acc_title.get_text()
    none = ex.update(scheme="none")
    assert none["similarity"] is None and np.isnan(none["mosaic"]).all()
    assert "no position codes" in ex._map_title.get_text()


def test_bad_values_raise_and_leave_the_state_alone():
    codes, accuracy = _results()
    ex = AnyResolutionExplorer(codes, accuracy, scheme="sincos", size=(32, 32))
    before = dict(ex.state)
    with pytest.raises(ValueError, match=r"size \(48, 48\) was not measured"):
        ex.update(size=(48, 48))
    with pytest.raises(ValueError, match="unknown scheme 'rope'"):
        ex.update(scheme="rope")
    with pytest.raises(TypeError, match="unknown control"):
        ex.update(grid=(4, 4))
    assert ex.state == before


def test_inputs_are_checked():
    codes, accuracy = _results()
    bad = {"sincos": {(32, 32): torch.zeros(15, 16)}}
    with pytest.raises(ValueError, match=r"must have 4\*4 = 16 rows .* got shape \(15, 16\)"):
        AnyResolutionExplorer(bad)
    with pytest.raises(
        ValueError,
        match=r"every scheme at every size; missing \(scheme, size\): \[\('sincos', \(64, 64\)\)\]",
    ):
        AnyResolutionExplorer(
            {"none": {(32, 32): None, (64, 64): None}, "sincos": {(32, 32): torch.zeros(16, 4)}}
        )
    with pytest.raises(ValueError, match="accuracy has no entry for scheme 'sincos'"):
        AnyResolutionExplorer(codes, {"none": accuracy["none"]})
    with pytest.raises(ValueError, match=r"accuracy\['sincos'\] misses the sizes \[\(64, 64\)\]"):
        AnyResolutionExplorer(codes, {**accuracy, "sincos": {(32, 32): 1.0, (32, 48): 1.0}})


def test_defaults_controls_and_static_figure():
    ex = AnyResolutionExplorer()  # no model, no accuracies: the fixed codes at the default sizes
    assert ex.sizes == list(DEFAULT_SIZES) and ex.accuracy is None
    assert list(ex.schemes) == list(default_codes())
    out = ex.update(scheme="RoPE, DINOv3 box", size=(64, 64))
    assert out["accuracy"] is None and out["grid"] == (8, 8)
    controls = ex.controls()
    assert set(controls) == {"scheme", "size"}
    assert controls["size"].value == (64, 64)
    fig = ex.static_figure(scheme="RoPE, patch indices", size=(40, 72))
    assert fig is ex.fig and ex.render_png()[:4] == b"\x89PNG"
