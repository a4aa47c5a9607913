"""check_patchify accepts a correct patchify and names each typical mistake."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from vitlearn import exercises


def good(x, p):
    b, c, h, w = x.shape
    return x.reshape(b, c, h // p, p, w // p, p).permute(0, 2, 4, 3, 5, 1).reshape(b, -1, p * p * c)


def column_major(x, p):
    b, c, h, w = x.shape
    return x.reshape(b, c, h // p, p, w // p, p).permute(0, 4, 2, 3, 5, 1).reshape(b, -1, p * p * c)


def cpp_features(x, p):
    return F.unfold(x, p, stride=p).transpose(1, 2)


def unfold_untransposed(x, p):
    return F.unfold(x, p, stride=p)


def unflattened(x, p):
    b, c, h, w = x.shape
    return x.reshape(b, c, h // p, p, w // p, p).permute(0, 2, 4, 1, 3, 5).reshape(b, -1, c, p, p)


def grid_kept(x, p):
    b, c, h, w = x.shape
    return (
        x.reshape(b, c, h // p, p, w // p, p)
        .permute(0, 2, 4, 3, 5, 1)
        .reshape(b, h // p, w // p, -1)
    )


def no_batch(x, p):
    return good(x, p)[0]


def batch_merged(x, p):
    t = good(x, p)
    return t.reshape(-1, t.shape[-1])


def wrong_split(x, p):
    b, c, h, w = x.shape
    return x.reshape(b, c, p, h // p, p, w // p).permute(0, 3, 5, 2, 4, 1).reshape(b, -1, p * p * c)


def stub(x, p):
    """Cut images into patches."""
    raise NotImplementedError


def raises(x, p):
    return x[100]


def check(fn, capsys):
    ok = exercises.check_patchify(fn)
    return ok, capsys.readouterr().out


def test_accepts_solution(capsys):
    ok, out = check(good, capsys)
    assert ok and "✓" in out


def test_accepts_double_and_reshape_variants(capsys):
    def via_unfold(x, p):
        b, c, _, _ = x.shape
        u = F.unfold(x, p, stride=p)
        n = u.shape[-1]
        return u.reshape(b, c, p, p, n).permute(0, 4, 2, 3, 1).reshape(b, n, -1)

    ok, out = check(via_unfold, capsys)
    assert ok, out


@pytest.mark.parametrize(
    "fn,words",
    [
        (column_major, "column-major order"),
        (cpp_features, "(channel, row in patch, column in patch)"),
        (unfold_untransposed, "last two axes are swapped"),
        (unflattened, "not flattened"),
        (grid_kept, "two axes (rows, cols)"),
        (no_batch, "batch dimension is dropped"),
        (batch_merged, "batch dimension is merged"),
        (wrong_split, "grouped into the wrong patches"),
    ],
)
def test_names_mistake(fn, words, capsys):
    ok, out = check(fn, capsys)
    assert not ok
    assert "✗" in out and words in out, out
    assert "(2, 3, 8, 12)" in out  # says which call went wrong


def test_stub_not_done(capsys):
    ok, out = check(stub, capsys)
    assert not ok and "not done yet" in out


def test_raising_function_is_reported(capsys):
    ok, out = check(raises, capsys)
    assert not ok and "IndexError" in out and "x[100]" in out


def test_wrong_type_and_values(capsys):
    ok, out = check(lambda x, p: good(x, p).numpy(), capsys)
    assert not ok and "ndarray" in out
    ok, out = check(lambda x, p: good(x, p) * 2, capsys)
    assert not ok and "not pixels of the input" in out


def test_modifying_input_is_reported(capsys):
    def inplace(x, p):
        t = good(x, p).clone()
        x.mul_(0)
        return t

    ok, out = check(inplace, capsys)
    assert not ok and "changed the input" in out


def one_side_for_both(x, p):
    """Uses H for both axes of the grid: right on square images, wrong on every other."""
    b, c, h, _ = x.shape
    n = h // p
    return x.reshape(b, c, n, p, n, p).permute(0, 2, 4, 3, 5, 1).reshape(b, -1, p * p * c)


def test_a_mistake_only_a_non_square_image_shows_is_caught(capsys):
    """The checker tries non-square images: an answer that mixes up H and W is right on every
    square image, so only those cases can reject it."""
    square = torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(0))  # all distinct
    assert torch.equal(one_side_for_both(square, 4), good(square, 4))
    ok, out = check(one_side_for_both, capsys)
    assert not ok and "(2, 3, 8, 12)" in out, out  # rejected on the first, non-square, case
