"""PatchSizeExplorer: update() returns the numbers it drew; errors match the definitions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vitlearn import widgets
from vitlearn.flexi import naive_resize_patch_embed, resample_patch_embed
from vitlearn.widgets.flexi import PatchSizeExplorer, token_errors


@pytest.fixture(scope="module")
def explorer():
    g = torch.Generator().manual_seed(0)
    weight = torch.randn(6, 3, 4, 4, generator=g)
    images = torch.rand(2, 3, 8, 12, generator=g)
    return PatchSizeExplorer(weight, images, sizes=[2, 3, 4, 6, 8])


def test_reexported():
    assert widgets.PatchSizeExplorer is PatchSizeExplorer


def test_update_returns_what_it_drew(explorer):
    out = explorer.update(patch_size=8, filter=2)
    assert out["patch_size"] == 8 and out["filter"] == 2
    assert (
        out["original"].shape == (4, 4)
        and out["naive"].shape == (8, 8)
        and out["pi"].shape == (8, 8)
    )
    pi = resample_patch_embed(explorer.weight, 8)[2].mean(0).numpy()
    naive = naive_resize_patch_embed(explorer.weight, 8)[2].mean(0).numpy()
    np.testing.assert_allclose(out["pi"], pi, rtol=1e-6)
    np.testing.assert_allclose(out["naive"], naive, rtol=1e-6)
    # growing the kernel: the PI tokens are exact, the naive ones far off
    assert out["pi_error"] < 1e-6 < 0.5 < out["naive_error"]
    # the artists show these arrays
    np.testing.assert_allclose(explorer._im[2].get_array(), pi, rtol=1e-6)


def test_shrinking_pi_beats_naive(explorer):
    out = explorer.update(patch_size=2)
    assert 0 < out["pi_error"] < out["naive_error"]
    assert explorer.update(patch_size=4)["naive_error"] == pytest.approx(0, abs=1e-9)


def test_token_errors_definition():
    g = torch.Generator().manual_seed(1)
    w = torch.randn(3, 1, 2, 2, generator=g)
    x = torch.rand(1, 1, 4, 4, generator=g)
    errs = token_errors(w, x, [4])
    # a 2x2 patch upsampled to 4x4 bilinearly... the naive kernel sums ~4x as many pixels
    assert errs["pi"][0] < 1e-9 and errs["naive"][0] > 1.0


def test_static_figure_and_widget(explorer):
    fig = explorer.static_figure(patch_size=6)
    assert len(fig.axes) == 4
    box = explorer.widget()
    assert len(box.children) == 3


def test_bad_input():
    with pytest.raises(ValueError, match="not one of the precomputed sizes"):
        PatchSizeExplorer(torch.randn(2, 3, 4, 4), torch.rand(1, 3, 8, 8), sizes=[4, 8]).update(
            patch_size=5
        )
    with pytest.raises(ValueError, match=r"height H=9 is not a multiple of patch height 4"):
        PatchSizeExplorer(torch.randn(2, 3, 4, 4), torch.rand(1, 3, 9, 8))
    with pytest.raises(ValueError, match=r"must have C=3 channels"):
        PatchSizeExplorer(torch.randn(2, 3, 4, 4), torch.rand(1, 1, 8, 8))


def test_no_dead_control_in_the_notebooks_explorer():
    """Notebook 07 builds the explorer with its own arguments (a 32-filter 8 x 8 kernel, the new
    patch size from 4 to 16): every control moves the picture from every corner there too."""
    from explorer_contract import assert_every_control_changes_the_picture

    g = torch.Generator().manual_seed(0)
    weight = torch.randn(32, 3, 8, 8, generator=g)
    images = torch.rand(4, 3, 32, 32, generator=g)
    explorer = PatchSizeExplorer(weight, images, sizes=list(range(4, 17)))
    assert_every_control_changes_the_picture(explorer)
