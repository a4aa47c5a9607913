"""Package-wide promises: one error per kind of mistake, cheap imports, the student's state
untouched."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import vitlearn
from vitlearn import (
    PatchEmbed,
    TinyViT,
    ViTEmbedding,
    grid_shape,
    patchify,
    position_similarity,
    resample_pos_embed,
    sincos_2d_pos_embed,
)
from vitlearn.flexi import resize_patchwise

ROOT = Path(__file__).resolve().parents[1]


# -- one exception type, and one message, per kind of mistake ------------------------------------

DIVIDES = [
    ("grid_shape", lambda: grid_shape((30, 32), 8)),
    ("patchify", lambda: patchify(torch.zeros(3, 30, 32), 8)),
    ("PatchEmbed", lambda: PatchEmbed(8, 3, 4)(torch.zeros(1, 3, 30, 32))),
    ("ViTEmbedding", lambda: ViTEmbedding((30, 32), 8, 3, 4)),
    ("TinyViT", lambda: TinyViT(img_size=(30, 32), patch_size=8)),
    ("TinyViT forward", lambda: TinyViT(pos_embed="none")(torch.zeros(1, 3, 30, 32))),
    ("resize_patchwise", lambda: resize_patchwise(torch.zeros(1, 3, 30, 32), 8, 4)),
    ("tubeletify", lambda: vitlearn.tubeletify(torch.zeros(1, 3, 2, 30, 32), 2, 8)),
    ("TubeletEmbed", lambda: vitlearn.TubeletEmbed(2, 8)(torch.zeros(1, 3, 2, 30, 32))),
]


@pytest.mark.parametrize("name", [n for n, _ in DIVIDES])
def test_an_image_that_does_not_split_into_patches_is_one_error_everywhere(name: str) -> None:
    call = dict(DIVIDES)[name]
    with pytest.raises(ValueError) as e:
        call()
    assert "height H=30 is not a multiple of patch height 8 (30 = 3 * 8 + 6)" in str(e.value)
    assert "crop_to_multiple" in str(e.value) and "pad_to_multiple" in str(e.value)


NOT_SQUARE = [
    ("resample_pos_embed", lambda t: resample_pos_embed(t, 4)),
    ("position_similarity", lambda t: position_similarity(t, None, 1)),
    (
        "ResampleExplorer",
        lambda t: __import__("vitlearn.widgets", fromlist=["x"]).ResampleExplorer(t),
    ),
    (
        "resample_checkpoint",
        lambda t: vitlearn.resample_checkpoint({"cls_token": t[:, :1], "pos_embed": t}, 4),
    ),
]


@pytest.mark.parametrize("name", [n for n, _ in NOT_SQUARE])
def test_a_grid_that_is_not_square_is_never_guessed(name: str) -> None:
    table = torch.zeros(1, 1 + 12, 8)  # a class token and 3 x 4 patches
    with pytest.raises(ValueError, match="12 grid tokens, not a square number"):
        dict(NOT_SQUARE)[name](table)


@pytest.mark.parametrize(
    "call",
    [
        lambda: PatchEmbed(4, in_chans=2.0),
        lambda: PatchEmbed(4, embed_dim=True),
        lambda: patchify(torch.zeros(3, 8, 8), 4.0),
        lambda: TinyViT(num_heads="4"),
        lambda: vitlearn.make_scenes(10.0),
        lambda: vitlearn.sincos_1d_pos_embed(4.5, 8),
        lambda: ViTEmbedding(8, 4, 3, 8, reg_tokens=None),
        lambda: vitlearn.get_rel_pos(3.0, 3, torch.zeros(5, 2)),
        lambda: vitlearn.smart_resize(100.0, 100),
        lambda: vitlearn.TubeletEmbed(2.0),
        lambda: vitlearn.merge_order(4, 4, spatial_merge_size=2.0),
    ],
)
def test_a_number_of_the_wrong_type_is_a_type_error(call) -> None:
    with pytest.raises(TypeError, match="must be an int"):
        call()


@pytest.mark.parametrize(
    "call",
    [
        lambda: PatchEmbed(4, in_chans=0),
        lambda: PatchEmbed(4, embed_dim=-2),
        lambda: patchify(torch.zeros(3, 8, 8), 0),
        lambda: vitlearn.make_scenes(0),
        lambda: vitlearn.sincos_1d_pos_embed(0, 8),
        lambda: vitlearn.LearnedPosEmbed(0, 8),
        lambda: ViTEmbedding(8, 4, 3, 8, reg_tokens=-1),
        lambda: vitlearn.get_rel_pos(0, 3, torch.zeros(5, 2)),
        lambda: vitlearn.smart_resize(0, 100),
        lambda: vitlearn.TubeletEmbed(0),
        lambda: vitlearn.mrope_position_ids([("text", 0)]),
    ],
)
def test_a_number_out_of_range_is_a_value_error(call) -> None:
    with pytest.raises(ValueError, match=r"must be (a positive int|an int >= 0|at least 1)"):
        call()


# -- importing is cheap ----------------------------------------------------------------------------

_PROBE = """
import json, sys
{code}
heavy = [m for m in ("matplotlib", "ipywidgets", "IPython", "nbconvert", "PIL") if m in sys.modules]
print(json.dumps(heavy))
"""


@pytest.mark.parametrize(
    "code",
    [
        "import vitlearn",
        "from vitlearn import TinyViT, patchify, resample_pos_embed",
        "from vitlearn.editions.cli import build_parser; build_parser()",
    ],
)
def test_importing_vitlearn_imports_no_plotting_or_widget_library(code: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE.format(code=code)], capture_output=True, text=True, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_the_heavy_submodules_arrive_on_first_use() -> None:
    assert vitlearn.widgets.Explorer.__name__ == "Explorer"
    assert callable(vitlearn.plot.show_image) and callable(vitlearn.exercises.check_patchify)
    with pytest.raises(AttributeError, match="has no attribute 'widget'"):
        vitlearn.widget  # noqa: B018
    assert set(vitlearn.__all__) <= set(dir(vitlearn))


# -- library calls leave the student's random state and thread count alone ------------------------


def _checker_calls():
    from vitlearn import exercises

    def stub(*args, **kwargs):
        raise NotImplementedError

    names = [n for n in exercises.__all__ if n.startswith("check_") and n != "check_quiz"]
    return [(n, lambda n=n: lambda: getattr(exercises, n)(stub)) for n in names]


def _prepare_training():
    """A model and data made before the test seeds the generator; the call only trains."""
    gen = torch.Generator().manual_seed(0)
    model = TinyViT(img_size=16, patch_size=8, embed_dim=8, depth=1, num_heads=2)
    x, y = torch.rand(8, 3, 16, 16, generator=gen), torch.zeros(8, dtype=torch.long)
    return lambda: vitlearn.train_tiny_vit(model, x, y, steps=2, batch_size=4, progress=False)


def _library_calls():
    """(name, prepare): ``prepare()`` sets up and returns the call whose side effects are tested."""
    from vitlearn import widgets

    return [
        *_checker_calls(),
        ("check_quiz", lambda: lambda: vitlearn.exercises.check_quiz({1: "a"})),
        ("SimilarityExplorer", lambda: lambda: widgets.SimilarityExplorer().update(row=1)),
        ("JigsawExplorer", lambda: lambda: widgets.JigsawExplorer().update(seed=2)),
        ("ResampleExplorer", lambda: lambda: widgets.ResampleExplorer().update(size=9)),
        ("PatchSizeExplorer", lambda: lambda: widgets.PatchSizeExplorer().update(patch_size=6)),
        (
            "shuffle_patches",
            lambda: lambda: vitlearn.shuffle_patches(torch.zeros(3, 8, 8), 4, seed=3),
        ),
        ("train_tiny_vit", _prepare_training),
        (
            "make_trained_tiny_vit",
            lambda: (
                lambda: vitlearn.make_trained_tiny_vit(
                    "rope", n_train=16, n_test=8, steps=1, batch_size=4, progress=False
                )
            ),
        ),
    ]


@pytest.mark.parametrize("name", [n for n, _ in _library_calls()])
def test_library_calls_leave_the_students_state_alone(name: str) -> None:
    call = dict(_library_calls())[name]()
    threads = torch.get_num_threads()
    torch.manual_seed(11)
    expected = torch.randn(4)
    torch.manual_seed(11)
    call()
    assert torch.equal(torch.randn(4), expected), (
        f"{name} changed what the next torch.randn returns"
    )
    assert torch.get_num_threads() == threads, f"{name} changed the thread count"


def test_sincos_table_is_the_same_object_for_the_same_grid() -> None:
    """ViTEmbedding caches the sin-cos code per grid: no recomputation per forward pass."""
    emb = ViTEmbedding(8, 4, 3, 8, pos_embed="sincos")
    emb(torch.zeros(1, 3, 8, 8))
    first = emb._sincos((2, 2))
    emb(torch.zeros(1, 3, 8, 8))
    assert emb._sincos((2, 2)) is first
    assert torch.equal(first, sincos_2d_pos_embed((2, 2), 8))
