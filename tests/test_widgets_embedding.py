"""ReconstructionExplorer: update() returns what it drew; reconstruction = pinv; speed."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vitlearn import widgets
from vitlearn.patches import patchify
from vitlearn.widgets.embedding import ReconstructionExplorer


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():  # type: ignore[no-untyped-def]
    # tiny linear algebra: a second thread only adds waiting, a lot of it on a busy machine
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def ex() -> ReconstructionExplorer:
    return ReconstructionExplorer(size=32, patch_size=8, images=["astronaut", "cat"])


def test_exported() -> None:
    assert widgets.ReconstructionExplorer is ReconstructionExplorer
    assert "ReconstructionExplorer" in widgets.__all__


@pytest.mark.parametrize("projection", ["random", "pca"])
@pytest.mark.parametrize("dim", [1, 17, 191, 192, 250, 384])
def test_reconstruction_is_pinv(ex: ReconstructionExplorer, dim: int, projection: str) -> None:
    out = ex.reconstruct("cat", dim, projection)
    x = patchify(ex._images["cat"], 8).double()  # (16, 192)
    w = ex.projections[projection][:dim]  # (D, 192)
    tokens = x @ w.T
    want = tokens @ torch.linalg.pinv(w).T
    assert out["tokens"].shape == (16, dim)
    torch.testing.assert_close(out["tokens"].double(), tokens, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(out["patches_hat"].double(), want, rtol=1e-4, atol=1e-4)
    assert out["rank"] == int(torch.linalg.matrix_rank(w)) == min(dim, 192)
    assert out["image_hat"].shape == (3, 32, 32)


def test_update_returns_what_it_drew(ex: ReconstructionExplorer) -> None:
    r = ex.update(dim=40, image="astronaut", projection="random")
    assert (r["dim"], r["rank"], r["image"], r["projection"]) == (40, 40, "astronaut", "random")
    assert r["reconstruction"].shape == (32, 32, 3)
    assert np.array_equal(ex._im_rec.get_array(), r["reconstruction"])
    assert r["reconstruction"].min() >= 0 and r["reconstruction"].max() <= 1
    assert ex._marker.get_xdata()[0] == 40
    assert ex._marker.get_ydata()[0] == pytest.approx(r["error"])
    assert "D = 40, rank 40" in ex._title_rec.get_text()
    # the other controls keep their values
    r2 = ex.update(projection="pca")
    assert (r2["dim"], r2["image"]) == (40, "astronaut")


def test_error_falls_to_zero_at_full_rank(ex: ReconstructionExplorer) -> None:
    f = 8 * 8 * 3
    for projection in ("random", "pca"):
        curve = ex.error_curve("cat", projection)
        assert curve.shape == (ex.max_dim,)
        assert np.all(np.diff(curve) <= 1e-12)  # more rows never lose more
        if projection == "random":
            assert curve[f - 2] > 1e-4  # D = F - 1 random directions miss part of the photo ...
        assert np.all(curve[f - 1 :] < 1e-6)  # ... D >= F never does (W has full rank F)
        for d in (1, 50, f - 1, f, ex.max_dim):
            r = ex.update(dim=d, image="cat", projection=projection)
            assert r["error"] == pytest.approx(curve[d - 1], abs=1e-5)
            assert r["rank"] == min(d, f)
    # principal components keep far more of the photo than random directions
    assert ex.error_curve("cat", "pca")[15] < 0.5 * ex.error_curve("cat", "random")[15]


def test_bad_values(ex: ReconstructionExplorer) -> None:
    with pytest.raises(ValueError, match=r"dim must be in 1\.\.384, got 0"):
        ex.update(dim=0)
    with pytest.raises(ValueError, match=r"dim must be in 1\.\.384, got 385"):
        ex.update(dim=385)
    with pytest.raises(TypeError, match="dim must be an int"):
        ex.update(dim=2.5)
    with pytest.raises(ValueError, match="unknown projection 'svd'"):
        ex.update(projection="svd")
    with pytest.raises(ValueError, match="unknown image 'dog'"):
        ex.update(image="dog")
    with pytest.raises(TypeError, match="unknown control"):
        ex.update(width=3)
    ex.update(dim=40, image="astronaut", projection="random")


def test_controls_and_widget(ex: ReconstructionExplorer) -> None:
    controls = ex.controls()
    assert set(controls) == {"dim", "image", "projection"}
    assert controls["dim"].max == ex.max_dim
    box = ex.widget()
    controls = box.children[0].children
    controls[0].value = 100  # the slider drives update()
    assert ex.state["dim"] == 100
    assert box.children[2].value == ""  # no error shown


def test_static_figure_and_png(ex: ReconstructionExplorer) -> None:
    fig = ex.static_figure(dim=64)
    assert fig is ex.fig and ex.state["dim"] == 64
    png = ex.render_png()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
