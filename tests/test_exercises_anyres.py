"""check_naflex_size accepts right answers (exact or by bisection) and names each typical
mistake."""

from __future__ import annotations

import math

import pytest

from vitlearn.exercises import check_naflex_size


def solution(height, width, patch_size, max_patches):
    """Try every whole number of rows r: at the scale r * P / height the width needs
    ceil(width * r / height) patches; keep the largest scale that fits (and the same by columns)."""
    best, best_scale = (patch_size, patch_size), 0.0
    for r in range(1, max_patches + 1):
        c = -(-width * r // height)
        if r * c <= max_patches and r / height > best_scale:
            best, best_scale = (r * patch_size, c * patch_size), r / height
    for c in range(1, max_patches + 1):
        r = -(-height * c // width)
        if r * c <= max_patches and c / width > best_scale:
            best, best_scale = (r * patch_size, c * patch_size), c / width
    return best


def bisection(height, width, patch_size, max_patches):
    """SigLIP 2's way: bisect on the scale."""

    def sides(s):
        return tuple(
            max(patch_size, math.ceil(v * s / patch_size) * patch_size) for v in (height, width)
        )

    lo, hi = 1e-6, 100.0
    while hi - lo >= 1e-5:
        mid = (lo + hi) / 2
        h, w = sides(mid)
        lo, hi = (mid, hi) if (h // patch_size) * (w // patch_size) <= max_patches else (lo, mid)
    return sides(lo)


def stub(height, width, patch_size, max_patches):
    raise NotImplementedError


def swapped(height, width, patch_size, max_patches):
    h, w = solution(height, width, patch_size, max_patches)
    return w, h


def grid_not_pixels(height, width, patch_size, max_patches):
    h, w = solution(height, width, patch_size, max_patches)
    return h // patch_size, w // patch_size


def not_multiple(height, width, patch_size, max_patches):
    s = math.sqrt(max_patches * patch_size**2 / (height * width))
    return round(height * s), round(width * s)


def one_shot_ceil(height, width, patch_size, max_patches):
    s = math.sqrt(max_patches * patch_size**2 / (height * width))
    return math.ceil(height * s / patch_size) * patch_size, math.ceil(
        width * s / patch_size
    ) * patch_size


def one_shot_floor(height, width, patch_size, max_patches):
    s = math.sqrt(max_patches * patch_size**2 / (height * width))
    return math.floor(height * s / patch_size) * patch_size, math.floor(
        width * s / patch_size
    ) * patch_size


def search_floor(height, width, patch_size, max_patches):
    def sides(s):
        return tuple(max(1, math.floor(v * s / patch_size)) * patch_size for v in (height, width))

    lo, hi = 1e-6, 100.0
    while hi - lo >= 1e-7:
        mid = (lo + hi) / 2
        h, w = sides(mid)
        lo, hi = (mid, hi) if (h // patch_size) * (w // patch_size) <= max_patches else (lo, mid)
    return sides(lo)


def no_minimum(height, width, patch_size, max_patches):
    h, w = solution(height, width, patch_size, max_patches)
    return (0, w) if width * 10 < height else (h, w)


def square(height, width, patch_size, max_patches):
    side = math.isqrt(max_patches) * patch_size
    return side, side


def too_small(height, width, patch_size, max_patches):
    h, w = solution(height, width, patch_size, max_patches)
    return (h - patch_size, w) if h > patch_size else (h, w)


def floats(height, width, patch_size, max_patches):
    h, w = solution(height, width, patch_size, max_patches)
    return float(h), float(w)


def three_values(height, width, patch_size, max_patches):
    return (*solution(height, width, patch_size, max_patches), 3)


def crashes(height, width, patch_size, max_patches):
    return height / 0


def test_accepts_the_solution_and_a_bisection(capsys):
    assert check_naflex_size(solution) is True
    assert check_naflex_size(bisection) is True
    out = capsys.readouterr().out
    assert out.count("✓ naflex_size: correct.") == 2 and "portrait" in out


def test_the_stub_is_not_done_yet(capsys):
    assert check_naflex_size(stub) is False
    assert "not done yet" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("fn", "message"),
    [
        (swapped, "height and width are swapped"),
        (grid_not_pixels, "which is the patch grid (rows, cols)"),
        (not_multiple, "is not a multiple of the patch size 16"),
        (
            one_shot_ceil,
            "over the budget of 64; expected (96, 144) (a 6 x 9 grid, 54 patches). "
            "That is the scale sqrt",
        ),
        (one_shot_floor, "a side of 0 pixels has no patch at all"),
        (search_floor, "it looks like each side was rounded down"),
        (no_minimum, "a side of 0 pixels"),
        (square, "the aspect ratio is lost"),
        (too_small, "within the budget, but a larger image with the same aspect ratio fits"),
        (floats, "return ints"),
        (three_values, "returned a tuple of length 3"),
        (crashes, "your function raised ZeroDivisionError"),
    ],
)
def test_names_the_mistake(fn, message, capsys):
    assert check_naflex_size(fn) is False
    out = capsys.readouterr().out
    assert "✗ naflex_size: not quite." in out
    assert message in out, out
