"""The embedding checkers (notebook 02's predicted conversions, 08's forward pass) accept solutions and name mistakes."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
import torch
import torch.nn.functional as F

from vitlearn import exercises
from vitlearn.exercises.embedding import _conversion_truth


def _any_stub(*args):
    raise NotImplementedError


# ---- embedding forward (notebook 08) -----------------------------------------------------------


def embed(images, weight, bias, cls_token, pos_embed):
    t = F.conv2d(images, weight, bias, stride=weight.shape[-1]).flatten(2).transpose(1, 2)
    return torch.cat([cls_token.expand(len(images), -1, -1), t], 1) + pos_embed


def _conv(images, weight, bias):
    return F.conv2d(images, weight, bias, stride=weight.shape[-1])


def _cls(images, cls_token):
    return cls_token.expand(len(images), -1, -1)


def _plain(images, weight, bias, cls_token, pos_embed):
    from vitlearn import patchify

    t = patchify(images, weight.shape[-1]) @ weight.reshape(len(weight), -1).T + bias
    return torch.cat([_cls(images, cls_token), t], 1) + pos_embed


EMBED_MISTAKES = {
    "stub": (_any_stub, "not done yet"),
    "cls_last": (
        lambda x, w, b, c, p: (
            torch.cat([_conv(x, w, b).flatten(2).transpose(1, 2), _cls(x, c)], 1) + p
        ),
        "class token is at the END",
    ),
    "no_bias": (lambda x, w, b, c, p: embed(x, w, None, c, p), "bias is missing"),
    "no_pos": (lambda x, w, b, c, p: embed(x, w, b, c, 0 * p), "position table was not added"),
    "cls_no_pos": (
        lambda x, w, b, c, p: torch.cat(
            [_cls(x, c), _conv(x, w, b).flatten(2).transpose(1, 2) + p[:, 1:]], 1
        ),
        "pos_embed[:, 1:] to the patch tokens only",
    ),
    "col_major": (
        lambda x, w, b, c, p: (
            torch.cat([_cls(x, c), _conv(x, w, b).transpose(2, 3).flatten(2).transpose(1, 2)], 1)
            + p
        ),
        "column-major order",
    ),
    "plain_reshape": (_plain, "reshaped the conv kernel (D, C, P, P) plainly"),
    "no_cls": (
        lambda x, w, b, c, p: _conv(x, w, b).flatten(2).transpose(1, 2),
        "class token is missing",
    ),
    "channels_first": (
        lambda x, w, b, c, p: embed(x, w, b, c, p).transpose(1, 2),
        "tokens go along axis 1",
    ),
    "inplace": (
        lambda x, w, b, c, p: embed(x, w, b, c, p.mul_(1.0).add_(0.0).add_(1.0) - 1.0),
        "changed one of its inputs",
    ),
}


def test_embedding_forward_accepts_solution(capsys):
    assert exercises.check_embedding_forward(embed) is True
    assert capsys.readouterr().out.startswith("✓ embedding_forward: correct.")


@pytest.mark.parametrize("name", sorted(EMBED_MISTAKES))
def test_embedding_forward_names_mistake(name, capsys):
    fn, message = EMBED_MISTAKES[name]
    assert exercises.check_embedding_forward(fn) is False
    out = capsys.readouterr().out
    assert message in out, out


# ---- predicted conversions (notebook 02) ----------------------------------------------------------

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
    """The one-liners the student reads (exercise text) and runs (the reveal cell) are the checker's."""
    nb = nbformat.read(NOTEBOOK_02, as_version=4)
    i = next(
        i for i, c in enumerate(nb.cells)
        if "exercise" in c.metadata.get("tags", []) and "def predict_conversions(" in c.source
    )
    text, reveal = nb.cells[i - 1].source, nb.cells[i + 3].source
    assert nb.cells[i + 2].source.strip() == "exercises.check_conversions(predict_conversions)"
    for letter, conv in exercises.CONVERSIONS.items():
        assert f"{letter}: {conv.source}" in text, letter
        assert f'"{letter}": {conv.source},' in reveal, letter
