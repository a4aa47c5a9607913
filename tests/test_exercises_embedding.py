"""The embedding checkers (notebook 02's predicted conversions, 08's predicted layer at other sizes)
accept solutions and name mistakes."""

from __future__ import annotations

from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch

from vitlearn import ViTEmbedding, exercises, grid_shape, resample_patch_embed, resample_pos_embed
from vitlearn.exercises.embedding import LAYER_BASE, LAYER_CASES, _conversion_truth, layer_shapes


def _any_stub(*args):
    raise NotImplementedError


# ---- predicted conversions (notebook 02) ---------------------------------------------------------

NOTEBOOK_02 = Path(__file__).resolve().parents[1] / "notebooks" / "02_patch_embedding.ipynb"
RIGHT = {"a": False, "b": True, "c": False, "d": True, "e": False}


def test_conversions_truth_is_b_and_d() -> None:
    # the messages are written for this truth: b and d right, a, c and e wrong
    assert _conversion_truth() == RIGHT


def test_conversion_sources_are_the_code_that_runs() -> None:
    w = torch.randn(7, 3, 4, 4)
    for letter, conv in exercises.CONVERSIONS.items():
        shown = eval(conv.source, {}, {"w": w, "D": 7})  # the one-liner as the student reads it
        assert torch.equal(shown, conv.convert(w, 7)), letter
        assert shown.shape == (7, 48), letter  # every one has the right shape: it cannot tell


def test_conversions_accepts_the_answer(capsys: pytest.CaptureFixture[str]) -> None:
    assert exercises.check_conversions(lambda: dict(RIGHT)) is True
    assert capsys.readouterr().out.startswith("✓ predict_conversions: correct. b and d")


def test_conversions_accepts_upper_case_keys(capsys: pytest.CaptureFixture[str]) -> None:
    assert exercises.check_conversions(lambda: {k.upper(): v for k, v in RIGHT.items()}) is True
    capsys.readouterr()


def test_conversions_reexported() -> None:
    assert "check_conversions" in exercises.__all__ and "CONVERSIONS" in exercises.__all__
    assert "check_conv_to_linear" not in exercises.__all__  # replaced: one exercise, one checker


@pytest.mark.parametrize("letter", sorted(RIGHT))
def test_conversions_explains_each_wrong_prediction(letter: str, capsys) -> None:
    answer = {**RIGHT, letter: not RIGHT[letter]}
    assert exercises.check_conversions(lambda: answer) is False
    out = capsys.readouterr().out
    assert out.startswith("✗ predict_conversions: not quite.")
    assert "4 of 5 predictions right" in out
    verdict = "right" if RIGHT[letter] else "wrong"
    assert f"- {letter} ({exercises.CONVERSIONS[letter].source}) is {verdict}." in out
    assert exercises.CONVERSIONS[letter].why in out
    others = [k for k in RIGHT if k != letter]
    assert not any(exercises.CONVERSIONS[k].why in out for k in others)  # only what was wrong


def _raises():
    raise NotImplementedError


def _broken():
    return {}["a"]


CONVERSION_MISTAKES = {
    "stub": (_raises, "not done yet"),
    "all_true": (lambda: dict.fromkeys(RIGHT, True), "the shape cannot tell a right conversion"),
    "all_false": (lambda: dict.fromkeys(RIGHT, False), "None right?"),
    "a_set": (lambda: {"b", "d"}, "returned a set; return a dict"),
    "missing": (lambda: {"a": False, "b": True}, "missing: c, d, e"),
    "unknown_key": (lambda: {**RIGHT, "f": True}, "unknown: f"),
    "not_bool": (lambda: {**RIGHT, "b": "yes"}, "got 'yes' for b"),
    "raises": (_broken, "your function raised KeyError"),
}


@pytest.mark.parametrize("name", sorted(CONVERSION_MISTAKES))
def test_conversions_names_mistake(name: str, capsys) -> None:
    fn, message = CONVERSION_MISTAKES[name]
    assert exercises.check_conversions(fn) is False
    out = capsys.readouterr().out
    assert message in out, out
    if name != "stub":
        assert out.startswith("✗ predict_conversions: not quite.")


def test_notebook_02_shows_the_checkers_conversions() -> None:
    """The one-liners the student reads (exercise text) and runs (the reveal cell) are the
    checker's."""
    nb = nbformat.read(NOTEBOOK_02, as_version=4)
    i = next(
        i
        for i, c in enumerate(nb.cells)
        if "exercise" in c.metadata.get("tags", []) and "def predict_conversions(" in c.source
    )
    text, reveal = nb.cells[i - 1].source, nb.cells[i + 3].source
    assert nb.cells[i + 2].source.strip() == "exercises.check_conversions(predict_conversions)"
    for letter, conv in exercises.CONVERSIONS.items():
        assert f"{letter}: {conv.source}" in text, letter
        assert f'"{letter}": {conv.source},' in reveal, letter


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
    "table without its class row": (
        {"a": (577, (1, 576, 768), (768, 3, 16, 16))},
        "no row for the class token",
    ),
    "old patch size": ({"b": (785, (1, 785, 768), (768, 3, 32, 32))}, "OLD patch size 16"),
    "old image size": ({"a": (197, (1, 197, 768), (768, 3, 16, 16))}, "OLD image size 224 x 224"),
    "square grid": ({"c": (1601, (1, 1601, 768), (768, 3, 8, 8))}, "treats the image as square"),
    "one side": ({"a": (25, (1, 577, 768), (768, 3, 16, 16))}, "counts one side of the grid"),
    "pixels": ({"a": (384 * 384, (1, 577, 768), (768, 3, 16, 16))}, "counts pixels"),
    "table as a grid": ({"c": (1121, (1, 28, 40, 768), (768, 3, 8, 8))}, "is the grid shape"),
    "table not resampled": (
        {"c": (1121, (1, 197, 768), (768, 3, 8, 8))},
        "must be resampled to 28 x 40",
    ),
    "D follows P": ({"b": (197, (1, 197, 768), (3072, 3, 32, 32))}, "changes the width D"),
    "D in the table": (
        {"c": (1121, (1, 1121, 192), (768, 3, 8, 8))},
        "the width of a token, D = 768",
    ),
    "kernel not resized": ({"b": (197, (1, 197, 768), (768, 3, 16, 16))}, "PI-resize"),
    "kernel grows with the image": (
        {"a": (577, (1, 577, 768), (768, 3, 24, 24))},
        "not of the image",
    ),
    "channels last": (
        {"c": (1121, (1, 1121, 768), (768, 8, 8, 3))},
        "not the convolution's layout",
    ),
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
    wrong = _predict(
        a=(576, (1, 576, 768), (768, 3, 16, 16)), c=(785, (1, 785, 768), (768, 3, 8, 8))
    )
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
