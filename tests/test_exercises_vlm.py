"""check_image_tokens and check_mrope_ids accept right answers and name each typical mistake."""

from __future__ import annotations

import math

import pytest
import torch

from vitlearn.exercises import check_image_tokens, check_mrope_ids

# ---- the token count ----------------------------------------------------------------------------


def tokens(height, width, patch_size, merge_size, min_pixels, max_pixels):
    """The notebook's solution, written out."""
    factor = patch_size * merge_size
    h, w = round(height / factor) * factor, round(width / factor) * factor
    if h * w > max_pixels:
        s = math.sqrt(height * width / max_pixels)
        h = max(factor, math.floor(height / s / factor) * factor)
        w = max(factor, math.floor(width / s / factor) * factor)
    elif h * w < min_pixels:
        s = math.sqrt(min_pixels / (height * width))
        h, w = math.ceil(height * s / factor) * factor, math.ceil(width * s / factor) * factor
    return (h // factor) * (w // factor)


def tokens_stub(height, width, patch_size, merge_size, min_pixels, max_pixels):
    raise NotImplementedError


def _with(**change):
    def fn(height, width, patch_size, merge_size, min_pixels, max_pixels):
        factor = change.get("factor", lambda p, m: p * m)(patch_size, merge_size)
        rounding = change.get("rounding", round)
        h, w = rounding(height / factor) * factor, rounding(width / factor) * factor
        if change.get("max", True) and h * w > max_pixels:
            s = math.sqrt(height * width / max_pixels)
            h = max(factor, math.floor(height / s / factor) * factor)
            w = max(factor, math.floor(width / s / factor) * factor)
        elif change.get("min", True) and h * w < min_pixels:
            s = math.sqrt(min_pixels / (height * width))
            h, w = math.ceil(height * s / factor) * factor, math.ceil(width * s / factor) * factor
        n = (h // factor) * (w // factor)
        return n * merge_size**2 if change.get("patches") else n

    return fn


def test_accepts_the_solution(capsys):
    assert check_image_tokens(tokens) is True
    assert "✓ image_tokens: correct." in capsys.readouterr().out


def test_the_stub_is_not_done_yet(capsys):
    assert check_image_tokens(tokens_stub) is False
    assert "not done yet" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("fn", "message"),
    [
        (_with(patches=True), "that is the number of 14 px patches"),
        (_with(factor=lambda p, m: 28), "the count for 28 px per token"),
        (_with(factor=lambda p, m: p), "rounded to multiples of the patch size 14"),
        (_with(rounding=math.floor), "each side was rounded down"),
        (_with(rounding=math.ceil), "each side was rounded up"),
        (_with(max=False), "more than max_pixels allows"),
        (_with(min=False), "fewer than min_pixels allows"),
        (lambda h, w, p, m, lo, hi: round(h * w / (p * m) ** 2), "the image is not resized first"),
        (lambda h, w, p, m, lo, hi: (h, w), "a size; return the number of tokens"),
        (lambda h, w, p, m, lo, hi: "999", "return the number of tokens as an int"),
        (lambda h, w, p, m, lo, hi: h // 0, "your function raised ZeroDivisionError"),
    ],
)
def test_names_the_token_mistake(fn, message, capsys):
    assert check_image_tokens(fn) is False
    out = capsys.readouterr().out
    assert "✗ image_tokens: not quite." in out and message in out, out


def test_28_for_a_32_px_model_is_named_too(capsys):
    """The mistake from the field the other way round: 32 px per token for a 14 px patch."""
    assert check_image_tokens(_with(factor=lambda p, m: 32)) is False
    assert "the count for 32 px per token" in capsys.readouterr().out


# ---- the position ids ---------------------------------------------------------------------------


def mrope(segments):
    """The notebook's solution, written out."""
    parts, start = [], 0
    for kind, size in segments:
        if kind == "text":
            ids = (torch.arange(size) + start).expand(3, size)
        else:
            t, h, w = size
            grid = torch.meshgrid(
                torch.arange(t), torch.arange(h // 2), torch.arange(w // 2), indexing="ij"
            )
            ids = torch.stack(grid).reshape(3, -1) + start
        parts.append(ids)
        start = int(ids.max()) + 1
    return torch.cat(parts, dim=1)


def mrope_as_lists(segments):
    return mrope(segments).tolist()


def mrope_stub(segments):
    raise NotImplementedError


def _ids_with(**change):
    def fn(segments):
        parts, start = [], 0
        for kind, size in segments:
            if kind == "text":
                ids = (torch.arange(size) + start).expand(3, size)
            else:
                t, h, w = size
                m = change.get("merge", 2)
                n = t * (h // m) * (w // m)
                if change.get("one_d"):
                    ids = (torch.arange(n) + start).expand(3, n)
                else:
                    tt, rr, cc = torch.meshgrid(
                        torch.arange(t), torch.arange(h // m), torch.arange(w // m), indexing="ij"
                    )
                    if change.get("swap"):
                        rr, cc = cc, rr
                    base = 0 if change.get("no_offset") else start
                    t_base = 0 if change.get("t_zero") else base
                    ids = torch.stack([tt + t_base, rr + base, cc + base]).reshape(3, -1)
            parts.append(ids)
            if change.get("count") and kind == "image":
                start += ids.shape[1]
            else:
                start = int(ids.max()) + 1
        return torch.cat(parts, dim=1)

    return fn


def test_accepts_the_solution_as_a_tensor_or_lists(capsys):
    assert check_mrope_ids(mrope) is True
    assert check_mrope_ids(mrope_as_lists) is True
    assert capsys.readouterr().out.count("✓ mrope_ids: correct.") == 2


def test_the_ids_stub_is_not_done_yet(capsys):
    assert check_mrope_ids(mrope_stub) is False
    assert "not done yet" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("fn", "message"),
    [
        (_ids_with(one_d=True), "the image tokens got plain 1-D ids"),
        (_ids_with(merge=1), "one per patch. The merger makes one token of each 2 x 2 block"),
        (_ids_with(swap=True), "swapped. Row r of the merged grid goes on the h axis"),
        (_ids_with(count=True), "resumes at s plus the number of image tokens"),
        (_ids_with(no_offset=True), "start from 0 instead of the running position s"),
        (_ids_with(t_zero=True), "t ids are left at 0"),
        (lambda segments: mrope(segments).T, "transpose it"),
        (lambda segments: mrope(segments).float() + 0.5, "fractional ids"),
        (lambda segments: mrope(segments) + 1, "token 0 has ids [1, 1, 1], expected [0, 0, 0]"),
        (lambda segments: {}["x"], "your function raised KeyError"),
    ],
)
def test_names_the_ids_mistake(fn, message, capsys):
    assert check_mrope_ids(fn) is False
    out = capsys.readouterr().out
    assert "✗ mrope_ids: not quite." in out and message in out, out


def test_column_major_image_tokens_are_named(capsys):
    def column_major(segments):
        ids = mrope(segments)
        (kind, (t, h, w)) = segments[1]
        n = t * (h // 2) * (w // 2)
        start = 3
        block = ids[:, start : start + n].reshape(3, h // 2, w // 2).transpose(1, 2).reshape(3, n)
        return torch.cat([ids[:, :start], block, ids[:, start + n :]], dim=1)

    assert check_mrope_ids(column_major) is False
    assert "numbered column by column" in capsys.readouterr().out
