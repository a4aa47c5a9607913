"""The embedding checkers (conv-to-linear; predicting the layer at other sizes) accept solutions and
name mistakes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vitlearn import ViTEmbedding, exercises, grid_shape, resample_patch_embed, resample_pos_embed
from vitlearn.exercises import check_conv_to_linear
from vitlearn.exercises.embedding import LAYER_BASE, LAYER_CASES, layer_shapes


def solution(weight: torch.Tensor) -> torch.Tensor:
    return weight.permute(0, 2, 3, 1).reshape(weight.shape[0], -1)


def test_accepts_solution(capsys: pytest.CaptureFixture[str]) -> None:
    assert check_conv_to_linear(solution) is True
    out = capsys.readouterr().out
    assert out.startswith("✓ conv_to_linear: correct.")


def test_accepts_other_correct_spellings(capsys: pytest.CaptureFixture[str]) -> None:
    assert check_conv_to_linear(lambda w: w.permute(0, 2, 3, 1).flatten(1)) is True
    assert check_conv_to_linear(lambda w: torch.einsum("dcij->dijc", w).reshape(len(w), -1))
    capsys.readouterr()


def test_reexported() -> None:
    assert exercises.check_conv_to_linear is check_conv_to_linear
    assert "check_conv_to_linear" in exercises.__all__


def _stub(weight: torch.Tensor) -> torch.Tensor:
    raise NotImplementedError


MISTAKES = {
    "stub": (_stub, "not done yet"),
    "plain_reshape": (lambda w: w.reshape(w.shape[0], -1), "plain weight.reshape(D, -1)"),
    "transposed": (lambda w: solution(w).T, "(48, 6) = (P*P*C, D): that is transposed"),
    "rows_cols_swapped": (
        lambda w: w.permute(0, 3, 2, 1).reshape(w.shape[0], -1),
        "rows and columns inside the patch are swapped",
    ),
    "not_flattened": (lambda w: w.permute(0, 2, 3, 1), "not flattened"),
    "reshaped_not_transposed": (
        lambda w: w.permute(2, 3, 1, 0).reshape(w.shape[0], -1),
        "reshaped (not transposed)",
    ),
    "scrambled_order": (lambda w: solution(w).flip(1), "right numbers, but in the wrong order"),
    "arithmetic": (lambda w: 2 * solution(w), "values differ from the convolution's weights"),
    "wrong_shape": (lambda w: solution(w)[:, :10], "returned shape (6, 10), expected (D, P*P*C) = (6, 48)"),
    "not_a_tensor": (lambda w: solution(w).numpy(), "returned a ndarray"),
    "raises": (lambda w: w.nonexistent, "your function raised AttributeError"),
}


@pytest.mark.parametrize("name", sorted(MISTAKES))
def test_rejects_typical_mistakes(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    fn, message = MISTAKES[name]
    assert check_conv_to_linear(fn) is False
    out = capsys.readouterr().out
    assert message in out, out
    if name != "stub":
        assert out.startswith("✗ conv_to_linear: not quite.")


def test_hardcoded_answer_fails_second_case(capsys: pytest.CaptureFixture[str]) -> None:
    # right for (D, C, P) = (6, 3, 4) only: the second test weight catches it
    def hardcoded(w: torch.Tensor) -> torch.Tensor:
        return w.reshape(6, 3, 4, 4).permute(0, 2, 3, 1).reshape(6, 48)

    assert check_conv_to_linear(hardcoded) is False
    assert "raised RuntimeError" in capsys.readouterr().out


# ---- predict the layer at other sizes (notebook 08) ------------------------------------------

TRUTH = {
    "a": (577, (1, 577, 768), (768, 3, 16, 16)),
    "b": (197, (1, 197, 768), (768, 3, 32, 32)),
    "c": (1121, (1, 1121, 768), (768, 3, 8, 8)),
}


def _predict(**changes):
    """The right answer with some cases replaced: a student's prediction."""
    answer = dict(TRUTH)
    answer.update(changes)
    return lambda: answer


def test_layer_shapes_truth_is_what_real_layers_have() -> None:
    """The checker's answers are those of a ViTEmbedding rebuilt for each case, fed an image."""
    base = ViTEmbedding(**{k: v for k, v in LAYER_BASE.items()}).eval()
    for key, (img_size, p) in LAYER_CASES.items():
        grid = grid_shape(img_size, p)
        layer = ViTEmbedding(img_size, p, LAYER_BASE["in_chans"], LAYER_BASE["embed_dim"]).eval()
        state = dict(base.state_dict())
        if grid != grid_shape(LAYER_BASE["img_size"], LAYER_BASE["patch_size"]):
            state["pos_embed"] = resample_pos_embed(base.pos_embed.detach(), grid)
        if p != LAYER_BASE["patch_size"]:
            state["patch_embed.proj.weight"] = resample_patch_embed(base.patch_embed.proj.weight, p)
        layer.load_state_dict(state, strict=True)
        with torch.no_grad():
            tokens = layer(torch.rand(1, 3, *img_size)).shape[1]
        got = (tokens, tuple(layer.pos_embed.shape), tuple(layer.patch_embed.proj.weight.shape))
        assert got == layer_shapes(img_size, p) == TRUTH[key], key


def test_layer_shapes_accepts_the_answer_in_any_reasonable_spelling(capsys) -> None:
    assert exercises.check_layer_shapes(lambda: TRUTH) is True
    out = capsys.readouterr().out
    assert out.startswith("✓ layer_shapes: correct.")
    assert "a) pos_embed; b) the kernel; c) pos_embed and the kernel" in out
    spelled = {
        "A)": [577, [1, 577, 768], torch.Size([768, 3, 16, 16])],
        " b ": (np.int64(197), torch.zeros(1, 197, 768).shape, (768.0, 3, 32, 32)),
        "c": (torch.tensor(1121), (1, 1121, 768), (768, 3, 8, 8)),
    }
    assert exercises.check_layer_shapes(lambda: spelled) is True
    capsys.readouterr()


LAYER_MISTAKES = {
    # (changed cases, a phrase of the message)
    "no class token": ({"a": (576, (1, 576, 768), (768, 3, 16, 16))}, "not the class token"),
    "table without its class row": ({"a": (577, (1, 576, 768), (768, 3, 16, 16))}, "no row for the class token"),
    "old patch size": ({"b": (785, (1, 785, 768), (768, 3, 32, 32))}, "OLD patch size 16"),
    "old image size": ({"a": (197, (1, 197, 768), (768, 3, 16, 16))}, "OLD image size 224 x 224"),
    "square grid": ({"c": (1601, (1, 1601, 768), (768, 3, 8, 8))}, "treats the image as square"),
    "one side": ({"a": (25, (1, 577, 768), (768, 3, 16, 16))}, "counts one side of the grid"),
    "pixels": ({"a": (384 * 384, (1, 577, 768), (768, 3, 16, 16))}, "counts pixels"),
    "table as a grid": ({"c": (1121, (1, 28, 40, 768), (768, 3, 8, 8))}, "is the grid shape"),
    "table not resampled": ({"c": (1121, (1, 197, 768), (768, 3, 8, 8))}, "must be resampled to 28 x 40"),
    "D follows P": ({"b": (197, (1, 197, 768), (3072, 3, 32, 32))}, "changes the width D"),
    "D in the table": ({"c": (1121, (1, 1121, 192), (768, 3, 8, 8))}, "the width of a token, D = 768"),
    "kernel not resized": ({"b": (197, (1, 197, 768), (768, 3, 16, 16))}, "PI-resize"),
    "kernel grows with the image": ({"a": (577, (1, 577, 768), (768, 3, 24, 24))}, "not of the image"),
    "channels last": ({"c": (1121, (1, 1121, 768), (768, 8, 8, 3))}, "not the convolution's layout"),
    "linear form": ({"b": (197, (1, 197, 768), (768, 3072))}, "its Linear form"),
}


@pytest.mark.parametrize("name", sorted(LAYER_MISTAKES))
def test_layer_shapes_names_each_mistake(name, capsys) -> None:
    changes, message = LAYER_MISTAKES[name]
    assert exercises.check_layer_shapes(_predict(**changes)) is False
    out = capsys.readouterr().out
    assert out.startswith("✗ layer_shapes: not quite.") and message in out, out
    assert f"{len(LAYER_CASES) - 1} of {len(LAYER_CASES)} cases right" in out, out


def test_layer_shapes_lists_every_wrong_case(capsys) -> None:
    wrong = _predict(a=(576, (1, 576, 768), (768, 3, 16, 16)), c=(785, (1, 785, 768), (768, 3, 8, 8)))
    assert exercises.check_layer_shapes(wrong) is False
    out = capsys.readouterr().out
    assert "1 of 3 cases right" in out and "a) 384 x 384" in out and "c) 224 x 320" in out
    assert "b) 448" not in out


def _layer_stub():
    raise NotImplementedError


@pytest.mark.parametrize(
    "fn, message",
    [
        (_layer_stub, "not done yet"),
        (lambda: None, "return a dict"),
        (lambda: [TRUTH], "return a dict"),
        (lambda: {"a": TRUTH["a"]}, "no prediction for case(s) 'b', 'c'"),
        (_predict(b=577), "give three things"),
        (_predict(b=("197", (1, 197, 768), (768, 3, 32, 32))), "should be a whole number"),
        (_predict(b=(197, "1, 197, 768", (768, 3, 32, 32))), "pos_embed shape should be a tuple"),
        (_predict(b=(197, (1, 197, 768), (768, 3, 32.5, 32))), "kernel shape should be a tuple"),
        (lambda: 1 / 0, "raised ZeroDivisionError"),
    ],
)
def test_layer_shapes_never_raises(fn, message, capsys) -> None:
    assert exercises.check_layer_shapes(fn) is False
    assert message in capsys.readouterr().out
