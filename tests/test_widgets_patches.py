"""PatchExplorer: update() returns what it drew; the widget builds; it redraws quickly."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vitlearn import load_image, patchify
from vitlearn.widgets import PatchExplorer


@pytest.fixture(scope="module")
def ex():
    return PatchExplorer(size=(96, 128), patch_size=32)


def test_update_numbers(ex):
    r = ex.update(image="coffee", patch_size=16, k=5)
    assert r["grid"] == (6, 8) and r["num_tokens"] == 48
    assert r["token_dim"] == 768 and r["tokens_shape"] == (48, 768)
    assert r["image_shape"] == (3, 96, 128) and r["k"] == 5
    # the strip shows the first 5 tokens, each back as a 16 x 16 patch, gaps of 4
    strip = r["strip"]
    assert strip.shape == (16, 5 * 16 + 4 * 4, 3)
    first = patchify(load_image("coffee", (96, 128)), 16)[0].reshape(16, 16, 3).numpy()
    assert np.allclose(strip[:, :16], first)
    assert np.allclose(strip[:, 16:20], 1.0)  # white gap


def test_numbers_mark_the_tokens_of_the_strip(ex):
    ex.update(patch_size=32, k=16)  # 3 x 4 = 12 patches: k is clipped to 12, all numbered
    shown = [t.get_text() for t in ex._numbers if t.get_visible()]
    assert shown == [str(i) for i in range(12)]
    # number n sits at the centre of grid cell (n // cols, n % cols)
    assert ex._numbers[5].get_position() == (1 * 32 + 15.5, 1 * 32 + 15.5)
    ex.update(patch_size=8, k=6)  # 12 x 16 patches: only the 6 shown in the strip are numbered
    assert [t.get_text() for t in ex._numbers if t.get_visible()] == [str(i) for i in range(6)]
    ex.update(patch_size=2)  # patches too small to hold a number
    assert not any(t.get_visible() for t in ex._numbers)
    segs = ex._lines.get_segments()
    assert len(segs) == (48 - 1) + (64 - 1)  # inner grid lines only


def test_k_clipped_and_bad_input(ex):
    assert ex.update(patch_size=32, k=100)["k"] == 12
    with pytest.raises(
        ValueError, match=r"patch_size 5 does not divide the image \(H, W\) = \(96, 128\)"
    ):
        ex.update(patch_size=5)
    with pytest.raises(ValueError, match="unknown image 'dog'"):
        ex.update(image="dog", patch_size=16)
    with pytest.raises(TypeError, match="unknown control"):
        ex.update(colour="red")
    with pytest.raises(ValueError, match="choose one of"):
        PatchExplorer(size=(96, 128), patch_size=5)


def test_widget_and_static_figure(ex):
    box = ex.widget()
    controls = box.children[0].children
    assert [c.description for c in controls] == ["image", "patch P", "tokens shown"]
    assert list(controls[1].options) == ex.patch_sizes == [2, 4, 8, 16, 32]
    before = box.children[1].value
    controls[1].value = 4  # moving the slider redraws the PNG
    assert box.children[1].value != before and box.children[2].value == ""
    fig = ex.static_figure(patch_size=16, image="astronaut")
    assert fig is ex.fig
    assert ex.render_png()[:4] == b"\x89PNG"
    assert isinstance(ex._photo("astronaut"), torch.Tensor)


def test_plot_helpers():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from vitlearn.plot import (
        draw_patch_grid,
        show_image,
        show_token_strip,
        to_numpy_image,
        token_strip,
    )

    img = torch.rand(3, 32, 48)
    assert to_numpy_image(img).shape == (32, 48, 3)
    assert to_numpy_image(img[:1]).shape == (32, 48)
    with pytest.raises(ValueError, match="5 channels"):
        to_numpy_image(torch.rand(5, 4, 4))
    ax = show_image(img, title="x")
    lines, texts = draw_patch_grid(ax, (32, 48), 16, numbers=True)
    assert len(lines.get_segments()) == (2 + 1) + (3 + 1)
    assert [t.get_text() for t in texts] == [str(i) for i in range(6)]
    assert texts[4].get_position() == (1 * 16 + 7.5, 1 * 16 + 7.5)  # token 4: row 1, col 1
    grey = show_image(torch.full((8, 8), 0.5)).images[0]
    assert grey.get_clim() == (0.0, 1.0)  # not stretched to its own min/max
    strip = token_strip(patchify(img, 16), 16, k=3, gap=2)
    assert strip.shape == (16, 3 * 16 + 2 * 2, 3)
    assert np.allclose(strip[:, 18:34], img[:, :16, 16:32].permute(1, 2, 0).numpy())
    ax = show_token_strip(patchify(img, (16, 8)), (16, 8), k=4)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "1", "2", "3"]
    plt.close("all")


def test_a_square_image_never_offers_a_single_token():
    # P = H on a square photo would leave one token, and the "tokens shown" slider nothing to do
    ex = PatchExplorer(size=(128, 128), patch_size=32, k=8)  # notebook 00's explorer
    assert ex.patch_sizes == [2, 4, 8, 16, 32, 64]
    assert min(ex._k_max(p) for p in ex.patch_sizes) == 4
    with pytest.raises(ValueError, match="choose one of"):
        ex.update(patch_size=128)


def test_the_notebooks_explorers_have_no_dead_control():
    """The explorer contract (tests/explorer_contract.py), on the explorers of notebooks 00, 01."""
    from explorer_contract import assert_every_control_changes_the_picture as check

    check(PatchExplorer("astronaut", patch_size=32, size=(128, 128), k=8))  # notebook 00
    check(PatchExplorer("rocket", patch_size=32))  # notebook 01
