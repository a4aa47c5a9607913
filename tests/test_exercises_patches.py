"""check_patchify accepts a correct patchify, names each typical mistake, and recognises the bug
of notebook 01's patchify_fast (shown in the notebook exactly as PATCHIFY_FAST)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
import torch
import torch.nn.functional as F

from vitlearn import exercises, patchify
from vitlearn.exercises.patches import PATCHIFY_FAST

NOTEBOOK_01 = Path(__file__).resolve().parents[1] / "notebooks" / "01_patches.ipynb"


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


def _patchify_fast():
    namespace: dict = {}
    exec(PATCHIFY_FAST, namespace)
    return namespace["patchify_fast"]


def test_the_notebook_shows_patchify_fast_as_the_checker_knows_it() -> None:
    nb = nbformat.read(NOTEBOOK_01, as_version=4)
    shown = [c.source for c in nb.cells if c.cell_type == "code" and PATCHIFY_FAST in c.source]
    assert len(shown) == 1, "notebook 01 must show PATCHIFY_FAST verbatim, in one cell"


def test_patchify_fast_passes_on_square_images_and_fails_on_others() -> None:
    fast = _patchify_fast()
    g = torch.Generator().manual_seed(0)
    square = torch.rand(2, 3, 12, 12, generator=g)
    assert torch.equal(fast(square, 4), patchify(square, 4))  # the test it passed
    wide = torch.rand(2, 3, 8, 12, generator=g)
    got = fast(wide, 4)
    assert got.shape == patchify(wide, 4).shape  # the right shape ...
    assert not torch.equal(got, patchify(wide, 4))  # ... and the wrong tokens


def test_names_the_bug_of_patchify_fast(capsys) -> None:
    ok, out = check(_patchify_fast(), capsys)
    assert not ok
    assert "patchify_fast's bug, still there" in out and "(height, width)" in out, out
    assert "(2, 3, 8, 12)" in out


def test_a_fix_that_only_renames_is_accepted(capsys) -> None:
    def renamed(images, p):  # swaps the names back in the reshape instead: the same tokens
        B, C = images.shape[:2]
        width, height = images.shape[-2:]  # noqa: F841 (width holds H: the bug, renamed away)
        rows, cols = width // p, images.shape[-1] // p
        x = images.reshape(B, C, rows, p, cols, p)
        return x.permute(0, 2, 4, 3, 5, 1).reshape(B, rows * cols, p * p * C)

    ok, out = check(renamed, capsys)
    assert ok, out


def test_a_fix_in_the_wrong_place_is_named(capsys) -> None:
    def permuted_instead(images, p):  # keeps the bug, swaps the grid axes of the permute
        B, C = images.shape[:2]
        width, height = images.shape[-2:]
        rows, cols = height // p, width // p
        x = images.reshape(B, C, rows, p, cols, p)
        return x.permute(0, 4, 2, 3, 5, 1).reshape(B, rows * cols, p * p * C)

    ok, out = check(permuted_instead, capsys)
    assert not ok and "grouped into the wrong patches" in out, out
