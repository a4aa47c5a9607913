"""The embedding checkers (conv-to-linear, the layer's forward pass) accept solutions and name mistakes."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from vitlearn import exercises
from vitlearn.exercises import check_conv_to_linear


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
