"""Package-wide promises: one error per kind of mistake, cheap imports, the student's state
untouched."""

from __future__ import annotations

import json
import re
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
from vitlearn.posenc import describe_sincos_channel
from vitlearn.resample import interpolation_matrix

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
    (
        "resample_checkpoint image_size",
        lambda: vitlearn.resample_checkpoint(_checkpoint(patch=8), image_size=(30, 32)),
    ),
]


def _checkpoint(patch: int) -> dict[str, torch.Tensor]:
    """A timm-named state dict: class token, a 4 x 4 table of width 8, a ``patch`` px kernel."""
    return {
        "cls_token": torch.zeros(1, 1, 8),
        "pos_embed": torch.zeros(1, 1 + 16, 8),
        "patch_embed.proj.weight": torch.zeros(8, 3, patch, patch),
    }


@pytest.mark.parametrize("name", [n for n, _ in DIVIDES])
def test_an_image_that_does_not_split_into_patches_is_one_error_everywhere(name: str) -> None:
    call = dict(DIVIDES)[name]
    with pytest.raises(ValueError) as e:
        call()
    _assert_raised_by_the_checks(e, name)
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
    with pytest.raises(ValueError, match="12 grid tokens, not a square number") as e:
        dict(NOT_SQUARE)[name](table)
    _assert_raised_by_the_checks(e, name)


def _rope(num_prefix_tokens: object) -> torch.Tensor:
    """RoPE on 4 patches (head_dim 8) after ``num_prefix_tokens`` prefix tokens."""
    return vitlearn.RotaryEmbedding2D(8)(torch.zeros(1, 5, 8), 2, num_prefix_tokens)


WRONG_TYPE = [
    ("PatchEmbed in_chans", lambda: PatchEmbed(4, in_chans=2.0)),
    ("PatchEmbed embed_dim", lambda: PatchEmbed(4, embed_dim=True)),
    ("patchify", lambda: patchify(torch.zeros(3, 8, 8), 4.0)),
    ("TinyViT num_heads", lambda: TinyViT(num_heads="4")),
    ("make_scenes n", lambda: vitlearn.make_scenes(10.0)),
    ("make_scenes cells", lambda: vitlearn.make_scenes(4, cells=2.0)),
    ("make_scenes seed", lambda: vitlearn.make_scenes(4, seed=2.5)),
    ("sincos_1d_pos_embed", lambda: vitlearn.sincos_1d_pos_embed(4.5, 8)),
    ("ViTEmbedding reg_tokens", lambda: ViTEmbedding(8, 4, 3, 8, reg_tokens=None)),
    ("get_rel_pos", lambda: vitlearn.get_rel_pos(3.0, 3, torch.zeros(5, 2))),
    ("smart_resize", lambda: vitlearn.smart_resize(100.0, 100)),
    ("TubeletEmbed", lambda: vitlearn.TubeletEmbed(2.0)),
    ("merge_order", lambda: vitlearn.merge_order(4, 4, spatial_merge_size=2.0)),
    ("describe_sincos_channel channel", lambda: describe_sincos_channel(0.0, 16)),
    ("describe_sincos_channel dim", lambda: describe_sincos_channel(0, 16.0)),
    ("interpolation_matrix float", lambda: interpolation_matrix(2.0, 3)),
    ("interpolation_matrix bool", lambda: interpolation_matrix(True, 3)),
    ("Attention dim", lambda: vitlearn.Attention(8.0, 2)),
    ("Attention num_heads", lambda: vitlearn.Attention(8, 2.0)),
    (
        "FactorizedPosEmbed prefix",
        lambda: vitlearn.FactorizedPosEmbed(2, 4)(torch.zeros(1, 5, 4), 1.0),
    ),
    ("RotaryEmbedding2D prefix", lambda: _rope(1.0)),
    ("RelativePositionBias prefix", lambda: vitlearn.RelativePositionBias(2, 2)(1.5)),
    (
        "plot_resample_steps channel",
        lambda: vitlearn.plot.plot_resample_steps(torch.zeros(1, 17, 8), 3, channel=1.5),
    ),
    (
        "PatchSizeExplorer sizes",
        lambda: vitlearn.widgets.PatchSizeExplorer(
            torch.zeros(2, 3, 4, 4), torch.zeros(1, 3, 8, 8), sizes=[2.5]
        ),
    ),
    (
        "ReconstructionExplorer max_dim",
        lambda: vitlearn.widgets.ReconstructionExplorer(max_dim=2.5),
    ),
]


@pytest.mark.parametrize("name", [n for n, _ in WRONG_TYPE])
def test_a_number_of_the_wrong_type_is_a_type_error(name: str) -> None:
    with pytest.raises(TypeError, match="must be an int") as e:
        dict(WRONG_TYPE)[name]()
    _assert_raised_by_the_checks(e, name)


OUT_OF_RANGE = [
    ("PatchEmbed in_chans", lambda: PatchEmbed(4, in_chans=0)),
    ("PatchEmbed embed_dim", lambda: PatchEmbed(4, embed_dim=-2)),
    ("patchify", lambda: patchify(torch.zeros(3, 8, 8), 0)),
    ("make_scenes n", lambda: vitlearn.make_scenes(0)),
    ("make_scenes cells", lambda: vitlearn.make_scenes(4, cells=1)),
    ("make_scenes seed", lambda: vitlearn.make_scenes(4, seed=-1)),
    ("sincos_1d_pos_embed", lambda: vitlearn.sincos_1d_pos_embed(0, 8)),
    ("LearnedPosEmbed", lambda: vitlearn.LearnedPosEmbed(0, 8)),
    ("ViTEmbedding reg_tokens", lambda: ViTEmbedding(8, 4, 3, 8, reg_tokens=-1)),
    ("get_rel_pos", lambda: vitlearn.get_rel_pos(0, 3, torch.zeros(5, 2))),
    ("smart_resize", lambda: vitlearn.smart_resize(0, 100)),
    ("TubeletEmbed", lambda: vitlearn.TubeletEmbed(0)),
    ("mrope_position_ids", lambda: vitlearn.mrope_position_ids([("text", 0)])),
    ("interpolation_matrix", lambda: interpolation_matrix(0, 3)),
    ("Attention num_heads", lambda: vitlearn.Attention(8, 0)),
    ("RotaryEmbedding2D prefix", lambda: _rope(-1)),
    (
        "default_codes patch_size",
        lambda: vitlearn.widgets.anyres.default_codes(patch_size=0),
    ),
]


@pytest.mark.parametrize("name", [n for n, _ in OUT_OF_RANGE])
def test_a_number_out_of_range_is_a_value_error(name: str) -> None:
    with pytest.raises(ValueError, match=r"must be (a positive int|an int >= \d+|at least 1)") as e:
        dict(OUT_OF_RANGE)[name]()
    _assert_raised_by_the_checks(e, name)


IN_RANGE = [
    (
        "describe_sincos_channel",
        lambda: describe_sincos_channel(16, 16),
        "channel",
        "0..15, got 16",
    ),
    (
        "plot_resample_steps",
        lambda: vitlearn.plot.plot_resample_steps(torch.zeros(1, 17, 8), 3, channel=8),
        "channel",
        "0..7, got 8",
    ),
]


@pytest.mark.parametrize("name", [n for n, *_ in IN_RANGE])
def test_an_index_out_of_its_range_names_the_range(name: str) -> None:
    _, call, what, where = next(row for row in IN_RANGE if row[0] == name)
    with pytest.raises(ValueError, match=re.escape(f"{what} must be in {where}")) as e:
        call()
    _assert_raised_by_the_checks(e, name)


# Every other mistake a _checks function reports: (name, call, exception, a fragment of the
# message). Each row is a check that was once written by hand (or missing: a deep torch error,
# a ZeroDivisionError) and now goes through vitlearn/_checks.py.
MISTAKES = [
    (
        "TrainRecipe decay_pos_embed=1",
        lambda: vitlearn.TrainRecipe(decay_pos_embed=1),
        TypeError,
        "decay_pos_embed must be a bool, got int 1",
    ),
    (
        "TrainRecipe input_mean without input_std",
        lambda: vitlearn.TrainRecipe(input_std=None),
        ValueError,
        "give both input_mean and input_std, or neither",
    ),
    (
        "TinyViT input_std without input_mean",
        lambda: vitlearn.TinyViT(input_mean=None),
        ValueError,
        "give both input_mean and input_std, or neither",
    ),
    (
        "train_tiny_vit eval_images without eval_labels",
        lambda: vitlearn.train_tiny_vit(
            vitlearn.TinyViT(),
            torch.zeros(4, 3, 32, 32),
            torch.zeros(4, dtype=torch.long),
            eval_images=torch.zeros(2, 3, 32, 32),
        ),
        ValueError,
        "give both eval_images and eval_labels, or neither",
    ),
    (
        "get_abs_pos has_cls_token=1",
        lambda: vitlearn.segmentation.get_abs_pos(torch.zeros(1, 17, 8), 1, (4, 4)),
        TypeError,
        "has_cls_token must be a bool, got int 1",
    ),
    (
        "describe_sincos_channel dim=2",
        lambda: describe_sincos_channel(0, 2),
        ValueError,
        "dim must be a positive multiple of 4 (sin and cos for each of the two axes), got dim=2; "
        "nearest valid: 4",
    ),
    (
        "describe_sincos_channel big_vision dim=4",
        lambda: describe_sincos_channel(0, 4, "big_vision"),
        ValueError,
        "convention 'big_vision' needs dim >= 8",
    ),
    (
        "interpolation_matrix scale_factor",
        lambda: interpolation_matrix(2, 3, "bilinear", scale_factor=0),
        ValueError,
        "scale_factor must be greater than 0, got 0",
    ),
    (
        "sincos_2d_pos_embed temperature",
        lambda: vitlearn.sincos_2d_pos_embed(4, 8, temperature=0),
        ValueError,
        "temperature must be greater than 0, got 0",
    ),
    (
        "sincos_1d_pos_embed temperature",
        lambda: vitlearn.sincos_1d_pos_embed(4, 8, temperature="a"),
        TypeError,
        "temperature must be a number, got str 'a'",
    ),
    (
        "Attention heads",
        lambda: vitlearn.Attention(8, 3),
        ValueError,
        "embed_dim must be a positive multiple of 3 (each of the num_heads=3 heads gets an equal "
        "share), got embed_dim=8; nearest valid: 6 or 9",
    ),
    (
        "TinyViT heads",
        lambda: TinyViT(embed_dim=30, num_heads=4),
        ValueError,
        "got embed_dim=30; nearest valid: 28 or 32",
    ),
    (
        "Block mlp_ratio",
        lambda: vitlearn.Block(8, 2, mlp_ratio="a"),
        TypeError,
        "mlp_ratio must be a number, got str 'a'",
    ),
    (
        "ViTEmbedding pos_embed_std",
        lambda: ViTEmbedding(8, 4, 3, 8, pos_embed_std="a"),
        TypeError,
        "pos_embed_std must be a number, got str 'a'",
    ),
    (
        "set_pos_embed",
        lambda: ViTEmbedding(8, 4, 3, 8).set_pos_embed([[0.0]], 2),
        TypeError,
        "pos_embed must be a torch.Tensor, got list",
    ),
    (
        "task_info",
        lambda: vitlearn.task_info(3),
        TypeError,
        "task must be a str, one of 'relation', 'shape', 'quadrant', 'stripes'; got int 3",
    ),
    (
        "resample_pos_embed dtype",
        lambda: resample_pos_embed(torch.zeros(1, 17, 8, dtype=torch.long), 3),
        TypeError,
        "pos_embed must be a floating-point tensor, got dtype torch.int64",
    ),
    (
        "resample_patch_embed dtype",
        lambda: vitlearn.resample_patch_embed(torch.zeros(4, 3, 4, 4, dtype=torch.long), 2),
        TypeError,
        "weight must be a floating-point tensor, got dtype torch.int64",
    ),
    (
        "naflex_resize dtype",
        lambda: vitlearn.naflex_resize(torch.zeros(3, 8, 8, dtype=torch.uint8), 4, 4),
        TypeError,
        "image must be a floating-point tensor, got dtype torch.uint8",
    ),
    (
        "get_rel_pos dtype",
        lambda: vitlearn.get_rel_pos(3, 3, torch.zeros(5, 2, dtype=torch.long)),
        TypeError,
        "rel_pos must be a floating-point tensor, got dtype torch.int64",
    ),
    (
        "get_abs_pos dtype",
        lambda: vitlearn.get_abs_pos(torch.zeros(1, 17, 2, dtype=torch.long), True, 4),
        TypeError,
        "abs_pos must be a floating-point tensor, got dtype torch.int64",
    ),
    (
        "load_pos_embed timeout",
        lambda: vitlearn.load_pos_embed("http://127.0.0.1:9/x.pth", timeout="5"),
        TypeError,
        "timeout (in seconds) must be a number, got str '5'",
    ),
    (
        "resample_checkpoint patch larger than image",
        lambda: vitlearn.resample_checkpoint(_checkpoint(patch=8), image_size=(4, 32)),
        ValueError,
        "patch size (ph, pw) = (8, 8) is larger than the image (H, W) = (4, 32)",
    ),
    (
        "to_numpy_image",
        lambda: vitlearn.plot.to_numpy_image(torch.zeros(1, 3, 4, 4)),
        ValueError,
        "image must be (C, H, W) or (H, W), got a 4-D tensor of shape (1, 3, 4, 4)",
    ),
    (
        "token_strip",
        lambda: vitlearn.plot.token_strip([[0.0] * 12], 2),
        TypeError,
        "tokens must be a torch.Tensor, got list",
    ),
    (
        "filter_mosaic",
        lambda: vitlearn.plot.filter_mosaic([[0.0] * 12]),
        TypeError,
        "weight must be a torch.Tensor, got list",
    ),
    (
        "plot_attention_shuffle perm",
        lambda: vitlearn.plot.plot_attention_shuffle(torch.eye(3), torch.eye(3), [0, 1, 2]),
        TypeError,
        "perm must be a torch.Tensor, got list",
    ),
]


@pytest.mark.parametrize("name", [row[0] for row in MISTAKES])
def test_every_mistake_is_reported_by_the_checks(name: str) -> None:
    _, call, error, fragment = next(row for row in MISTAKES if row[0] == name)
    with pytest.raises(error) as e:
        call()
    assert type(e.value) is error, f"{name}: {type(e.value).__name__}: {e.value}"
    assert fragment in str(e.value), f"{name}: {e.value}"
    if name not in _OWN_CHECK:
        _assert_raised_by_the_checks(e, name)


_OWN_CHECK = {"describe_sincos_channel big_vision dim=4"}
"""Rows whose check is a module's own (no other module needs it): the big_vision dimension rule
lives beside the table it protects, in posenc."""


def _assert_raised_by_the_checks(e: pytest.ExceptionInfo, name: str) -> None:
    """The error comes from vitlearn/_checks.py, not from a check written by hand elsewhere."""
    where = Path(e.traceback[-1].path)
    assert where.name == "_checks.py" and where.parent.name == "vitlearn", (
        f"{name}: {type(e.value).__name__} raised in {where}, not by vitlearn/_checks.py"
    )


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
