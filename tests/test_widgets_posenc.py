"""The chapter-2 explorers: update() returns what it drew, without a kernel, quickly."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vitlearn import position_similarity, sincos_2d_pos_embed
from vitlearn.widgets import FrequencyExplorer, JigsawExplorer, SimilarityExplorer
from vitlearn.widgets.posenc import shuffle_patches


def test_similarity_explorer_returns_the_map_it_draws():
    table = sincos_2d_pos_embed((4, 6), 32)
    ex = SimilarityExplorer({"2d": table, "zeros+1": torch.eye(24, 32)}, (4, 6), row=0, col=0)
    out = ex.update(row=2, col=5)
    assert out["patch"] == (2, 5) and out["sim"].shape == (4, 6)
    np.testing.assert_allclose(out["sim"], position_similarity(table, (4, 6))[2, 5].numpy())
    assert out["sim"][2, 5] == pytest.approx(1.0)
    np.testing.assert_array_equal(out["code"], table[2 * 6 + 5].numpy())
    np.testing.assert_array_equal(ex._map.get_array(), out["sim"])
    # one-hot codes: similar only to themselves
    out = ex.update(kind="zeros+1")
    assert out["sim"].sum() == pytest.approx(1.0)
    with pytest.raises(ValueError, match=r"outside the 4x6 grid"):
        ex.update(row=4)
    with pytest.raises(TypeError, match="unknown control"):
        ex.update(colour=1)


def test_similarity_explorer_defaults_and_prefix():
    ex = SimilarityExplorer()
    assert len(ex.kinds) == 4 and set(ex.controls()) == {"kind", "row", "col"}
    for kind in ex.kinds:
        out = ex.update(kind=kind, row=1, col=1)
        assert out["sim"][1, 1] == pytest.approx(1.0, abs=1e-5)
    with_cls = torch.cat([torch.ones(1, 16), sincos_2d_pos_embed(3, 16)])
    ex = SimilarityExplorer({"a": with_cls}, 3, num_prefix_tokens=1, row=0, col=0)
    assert ex.update()["code"].shape == (16,)


def test_frequency_explorer_values_match_their_description():
    ex = FrequencyExplorer((3, 5), 16)
    rows, cols = np.meshgrid(np.arange(3), np.arange(5), indexing="ij")
    for convention in ("mae", "big_vision", "timm"):
        for channel in range(16):
            out = ex.update(convention=convention, channel=channel)
            pos = cols if out["axis"] == "x" else rows
            want = getattr(np, out["func"])(pos * out["omega"])
            np.testing.assert_allclose(out["values"], want, atol=1e-6)
    with pytest.raises(ValueError, match="known"):
        ex.update(convention="moco")


def test_shuffle_patches_is_a_patch_permutation():
    img = torch.arange(3 * 8 * 12, dtype=torch.float32).reshape(3, 8, 12)
    same, perm0 = shuffle_patches(img, 4, 0)
    assert torch.equal(same, img) and torch.equal(perm0, torch.arange(6))
    jig, perm = shuffle_patches(img, 4, 5)
    assert sorted(perm.tolist()) == list(range(6)) and not torch.equal(perm, perm0)
    r, c = divmod(int(perm[0]), 3)
    assert torch.equal(jig[:, :4, :4], img[:, 4 * r : 4 * r + 4, 4 * c : 4 * c + 4])


def test_jigsaw_explorer_compares_models():
    torch.manual_seed(0)
    img = torch.rand(3, 16, 24)

    def mean_model(x):  # no position: the mean of the patches' pixels
        return x.mean(dim=(2, 3))

    def corner_model(x):  # looks at one place: changes when patches move
        return x[:, :, :8, :8].mean(dim=(2, 3))

    ex = JigsawExplorer(img, 8, {"none": mean_model, "corner": corner_model}, seed=0)
    out = ex.update(seed=0)
    assert out["max_diff"]["none"] == 0 and out["max_diff"]["corner"] == 0
    out = ex.update(seed=3)
    assert out["perm"][0] != 0  # the corner patch moved for this seed
    assert out["max_diff"]["none"] < 1e-6 < out["max_diff"]["corner"]
    base, shuffled = out["outputs"]["corner"]
    assert base.shape == shuffled.shape == (3,)
    assert out["jigsaw"].shape == (3, 16, 24)
    heights = [b.get_height() for b in ex._bars["corner"]]
    np.testing.assert_allclose(heights, shuffled)


def test_explorers_build_their_widgets():
    img = torch.rand(3, 32, 32)
    for ex in [
        SimilarityExplorer(),
        FrequencyExplorer(),
        JigsawExplorer(img, 8, {"m": lambda x: x.mean(dim=(2, 3))}),
    ]:
        box = ex.widget()  # the controls build and wire up without a kernel
        controls, image, status = box.children
        assert len(controls.children) == len(ex.controls()), type(ex).__name__
        assert bytes(image.value).startswith(b"\x89PNG") and status.value == "", type(ex).__name__


def test_jigsaw_explorer_defaults():
    ex = JigsawExplorer()
    out = ex.update(seed=3)
    diffs = list(out["max_diff"].values())
    assert diffs[0] < 1e-6 < diffs[1]  # no position code: blind to the shuffle; learned: not


def test_notebook_04s_explorers_have_no_dead_control():
    """The explorer contract (tests/explorer_contract.py), on the explorers as notebook 04 builds
    them: the similarity explorer on the course ViT's 14 x 14 grid (its table trained and at step
    0, and the formula-made kinds), and the frequency explorer."""
    from explorer_contract import assert_every_control_changes_the_picture as check

    from vitlearn import (
        FactorizedPosEmbed,
        RotaryEmbedding2D,
        load_course_vit_record,
        sincos_1d_pos_embed,
    )

    record = load_course_vit_record()
    grid = tuple(record["grid_size"])
    n = grid[0] * grid[1]
    kinds = {
        "course ViT, trained": record["tables"][-1][1:],
        "course ViT, step 0": record["tables"][0][1:],
        "2-D sin-cos": sincos_2d_pos_embed(grid, 64),
        "1-D sin-cos (raster)": sincos_1d_pos_embed(n, 64),
        "factorized (at init)": FactorizedPosEmbed(grid, 64).table().detach(),
        "2-D RoPE (a rotated vector)": RotaryEmbedding2D(16)(torch.ones(n, 16), grid),
    }
    check(SimilarityExplorer(kinds, grid, kind="course ViT, trained", row=2, col=11))
    check(FrequencyExplorer((14, 14), 64, convention="mae", channel=2))
