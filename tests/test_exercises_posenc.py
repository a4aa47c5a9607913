"""check_sincos_2d accepts MAE's codes and names each typical mistake; check_shuffle_prediction
accepts the right predictions (in several wordings) and explains each wrong one."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vitlearn import exercises, sincos_2d_pos_embed


def _pair(grid):
    return (grid, grid) if isinstance(grid, int) else tuple(grid)


def make(*, denom="F", layout="mae", order="row", shape="flat", one_axis=False, numpy=False):
    """A student-like implementation with optional mistakes."""

    def fn(grid_size, dim):
        rows, cols = _pair(grid_size)
        if one_axis:
            cols = rows
        f = dim // 4
        d = {"F": f, "F-1": f - 1, "D/2": dim / 2, "D": dim, "-F": -f}[denom]
        omega = 1.0 / 10000 ** (np.arange(f) / d)  # "-F": 10000 ** (k / F), the sign lost
        y, x = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
        if order == "col":
            y, x = y.T, x.T
        ax, ay = np.outer(x.ravel(), omega), np.outer(y.ravel(), omega)
        blocks = {
            "mae": [np.sin(ax), np.cos(ax), np.sin(ay), np.cos(ay)],
            "sincos": [np.cos(ax), np.sin(ax), np.cos(ay), np.sin(ay)],
            "xy": [np.sin(ay), np.cos(ay), np.sin(ax), np.cos(ax)],
            "timm": [np.sin(ay), np.sin(ax), np.cos(ay), np.cos(ax)],
            "sines_first": [np.sin(ax), np.sin(ay), np.cos(ax), np.cos(ay)],
        }[layout]
        out = np.concatenate(blocks, axis=1).astype(np.float32)
        if shape == "grid":
            out = out.reshape(rows, cols, dim)
        elif shape == "transposed":
            out = out.T
        return out if numpy else torch.from_numpy(out)

    return fn


def test_accepts_solution(capsys):
    assert exercises.check_sincos_2d(make()) is True
    assert "✓" in capsys.readouterr().out


def test_accepts_numpy_and_the_package_function(capsys):
    assert exercises.check_sincos_2d(make(numpy=True))
    assert exercises.check_sincos_2d(lambda g, d: sincos_2d_pos_embed(g, d, convention="mae"))


def test_stub_is_not_done_yet(capsys):
    def stub(grid_size, dim):
        raise NotImplementedError

    assert exercises.check_sincos_2d(stub) is False
    assert "not done yet" in capsys.readouterr().out


@pytest.mark.parametrize(
    "kwargs, phrase",
    [
        ({"layout": "sincos"}, "sin and cos are swapped"),
        ({"layout": "xy"}, "x and y are swapped"),
        ({"layout": "timm"}, "timm's layout"),
        ({"layout": "sines_first"}, "All the sines come before the cosines"),
        ({"denom": "F-1"}, "big_vision's"),
        ({"denom": "D/2"}, "divide k by dim/2"),
        ({"denom": "D"}, "divide k by dim;"),
        ({"denom": "-F"}, "lost its minus sign"),
        ({"order": "col"}, "column-major order"),
        ({"shape": "grid"}, "(rows, cols, dim) grid"),
        ({"shape": "transposed"}, "It is transposed"),
        ({"one_axis": True}, "only one of rows/cols"),
    ],
)
def test_rejects_typical_mistakes(kwargs, phrase, capsys):
    assert exercises.check_sincos_2d(make(**kwargs)) is False
    out = capsys.readouterr().out
    assert "✗" in out and phrase in out, out


def test_rejects_other_errors_without_raising(capsys):
    assert exercises.check_sincos_2d(lambda g, d: [[0.0]]) is False
    assert "should be a torch.Tensor" in capsys.readouterr().out
    assert exercises.check_sincos_2d(lambda g, d: 1 / 0) is False
    assert "ZeroDivisionError" in capsys.readouterr().out

    def off_by_a_bit(g, d):
        out = sincos_2d_pos_embed(g, d).clone()
        out[3, 2] += 0.5
        return out

    assert exercises.check_sincos_2d(off_by_a_bit) is False
    assert "token 3 (row 0, column 3), channel 2" in capsys.readouterr().out


# --- check_shuffle_prediction ---------------------------------------------------------------------

RIGHT = {
    "none": {"attention": "permuted", "patch_outputs": "permuted", "class_output": "same"},
    "learned": {"attention": "changed", "patch_outputs": "changed", "class_output": "changed"},
}


def answers(**changes):
    """The right answers, with ``changes`` such as ``none__attention="same"``."""
    out = {model: dict(part) for model, part in RIGHT.items()}
    for key, value in changes.items():
        model, quantity = key.split("__")
        out[model][quantity] = value
    return lambda: out


def test_the_answer_key_is_the_notebooks():
    assert exercises.SHUFFLE_ANSWERS == RIGHT


def test_shuffle_accepts_the_answers_in_several_wordings(capsys):
    assert exercises.check_shuffle_prediction(answers()) is True
    assert (
        exercises.check_shuffle_prediction(
            answers(
                none__attention="Shuffled",
                none__patch_outputs=" reordered ",
                none__class_output="UNCHANGED",
                learned__attention="different",
                learned__class_output="Changed",
            )
        )
        is True
    )
    out = capsys.readouterr().out
    assert out.count("✓") == 2 and "equivariance" in out and "invariance" in out


def test_shuffle_stub_is_not_done_yet(capsys):
    def stub():
        raise NotImplementedError

    assert exercises.check_shuffle_prediction(stub) is False
    assert "not done yet" in capsys.readouterr().out


@pytest.mark.parametrize(
    "change, phrase",
    [
        ({"none__attention": "same"}, "rows AND its columns"),
        ({"none__attention": "changed"}, "No new numbers appear"),
        ({"none__patch_outputs": "same"}, "each output follows its token"),
        ({"none__patch_outputs": "changed"}, "SET of all tokens"),
        ({"none__class_output": "permuted"}, "nothing in it to reorder"),
        ({"none__class_output": "changed"}, "It does not change at all"),
        ({"learned__attention": "same"}, "New tokens give new scores"),
        ({"learned__attention": "permuted"}, "would only be reordered"),
        ({"learned__patch_outputs": "same"}, "The blocks read new tokens"),
        ({"learned__patch_outputs": "permuted"}, "not the old ones reordered"),
        ({"learned__class_output": "same"}, "tell a scene from its jigsaw"),
        ({"learned__class_output": "permuted"}, "it reads those new tokens"),
    ],
)
def test_shuffle_explains_each_wrong_answer(change, phrase, capsys):
    assert exercises.check_shuffle_prediction(answers(**change)) is False
    out = capsys.readouterr().out
    assert "✗" in out and "1 of 6 answers" in out and phrase in out, out
    if next(iter(change)).startswith("learned"):  # the shared reason comes with it
        assert "the code of place i stays at place i" in out


def test_shuffle_gives_the_shared_reason_once(capsys):
    fn = answers(
        learned__attention="permuted",
        learned__patch_outputs="permuted",
        learned__class_output="same",
    )
    assert exercises.check_shuffle_prediction(fn) is False
    out = capsys.readouterr().out
    assert "3 of 6 answers" in out and out.count("the code of place i stays at place i") == 1, out


@pytest.mark.parametrize(
    "fn, phrase",
    [
        (lambda: ["permuted", "permuted", "same"], "should return a dict"),
        (lambda: {"none": RIGHT["none"]}, "['learned'] should be a dict"),
        (lambda: {"none": "permuted", "learned": RIGHT["learned"]}, "it is a str"),
        (
            lambda: {"none": {"attention": "permuted"}, "learned": RIGHT["learned"]},
            "no answer for ['patch_outputs', 'class_output']",
        ),
        (answers(none__attention="maybe"), "'maybe' is not one of"),
        (answers(learned__class_output=None), "None is not one of"),
        (lambda: 1 / 0, "ZeroDivisionError"),
    ],
)
def test_shuffle_names_malformed_answers_without_raising(fn, phrase, capsys):
    assert exercises.check_shuffle_prediction(fn) is False
    out = capsys.readouterr().out
    assert "✗" in out and phrase in out, out
