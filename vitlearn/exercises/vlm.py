"""Checkers for notebook 10's exercises, both taken from mistakes made in the field.

- ``check_image_tokens(fn)``: ``fn(height, width, patch_size, merge_size, min_pixels, max_pixels)
  -> int``, the number of tokens a Qwen-VL processor gives an image (:func:`vitlearn.smart_resize`).
  Named mistakes: patches counted instead of tokens, 28 px per token hard-coded for a 16 px patch
  (and 32 for a 14 px one), the patch size alone as the rounding step, no rounding at all, sides
  rounded down or up instead of to the nearest multiple, ``max_pixels`` or ``min_pixels``
  forgotten, a size returned instead of a count.
- ``check_mrope_ids(fn)``: ``fn(segments) -> (3, L)`` position ids of a text-and-image sequence
  (:func:`vitlearn.mrope_position_ids`). Named mistakes: image tokens given plain 1-D ids, the
  grid not merged, rows and columns swapped, tokens numbered column by column, the text after an
  image resuming at ``s`` plus the number of image tokens (or not one past the largest id), image
  ids not offset by the running position, a t axis left at zero.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch

from ..vlm import mrope_position_ids, smart_resize
from ._feedback import Mistake, call_student, run_checks

__all__ = ["check_image_tokens", "check_mrope_ids"]

# ---- the token count ----------------------------------------------------------------------------

_QWEN2 = (14, 2, 56 * 56, 28 * 28 * 1280)  # transformers' Qwen2-VL processor defaults
_TOKEN_CASES = [
    (768, 1024, 14, 2, 56 * 56, 28 * 28 * 1280),  # a 4:3 photo, Qwen2-VL: 999 tokens
    (768, 1024, 16, 2, 56 * 56, 28 * 28 * 1280),  # the same photo, Qwen3-VL's 16 px patches: 768
    (1080, 1920, 14, 2, 56 * 56, 28 * 28 * 1280),  # over max_pixels: scaled down, rounded down
    (1080, 1920, 16, 2, 56 * 56, 32 * 32 * 1280),
    (30, 40, 14, 2, 56 * 56, 28 * 28 * 1280),  # under min_pixels: scaled up, rounded up
    (500, 375, 16, 2, 64 * 32 * 32, 16384 * 32 * 32),
    (70, 98, 14, 2, 56 * 56, 28 * 28 * 1280),  # 70 / 28 = 2.5 and 98 / 28 = 3.5: halves to even
]


def _tokens_with(
    h: int, w: int, factor: int, rounding: Callable[[float], int], low: int | None, high: int | None
) -> int:
    """smart_resize's rule with another rounding step, rounding, or a limit left out (None)."""
    nh, nw = rounding(h / factor) * factor, rounding(w / factor) * factor
    if high is not None and nh * nw > high:
        s = math.sqrt(h * w / high)
        nh, nw = (
            max(factor, math.floor(h / s / factor) * factor),
            max(factor, math.floor(w / s / factor) * factor),
        )
    elif low is not None and nh * nw < low:
        s = math.sqrt(low / (h * w))
        nh, nw = math.ceil(h * s / factor) * factor, math.ceil(w * s / factor) * factor
    return (nh // factor) * (nw // factor)


def _as_count(got: Any, call: str) -> int:
    if hasattr(got, "item") and getattr(got, "ndim", 1) == 0:
        got = got.item()
    if isinstance(got, tuple | list):
        raise Mistake(
            f"{call} returned {got!r}, a size; return the number of tokens, one int "
            "((height / factor) * (width / factor) after resizing)."
        )
    if isinstance(got, float) and got.is_integer():
        got = int(got)
    if isinstance(got, bool) or not isinstance(got, int):
        raise Mistake(
            f"{call} returned {got!r} ({type(got).__name__}); return the number of tokens as an "
            "int."
        )
    return got


def _variants(h: int, w: int, p: int, m: int, low: int, high: int) -> dict[str, int]:
    """The count each typical mistake gives on one image, by name."""
    factor = p * m
    by_patch = _tokens_with(h, w, p, round, low, high)
    return {
        "patches": smart_resize(
            h, w, patch_size=p, merge_size=m, min_pixels=low, max_pixels=high
        ).num_patches,
        "fixed_28": _tokens_with(h, w, 28, round, low, high),
        "fixed_32": _tokens_with(h, w, 32, round, low, high),
        "patch_step": by_patch // (m * m),
        "patch_step_patches": by_patch,
        "no_resize": round(h * w / factor**2),
        "no_resize_floor": math.floor(h * w / factor**2),
        "floor": _tokens_with(h, w, factor, math.floor, low, high),
        "ceil": _tokens_with(h, w, factor, math.ceil, low, high),
        "no_max": _tokens_with(h, w, factor, round, low, None),
        "no_min": _tokens_with(h, w, factor, round, None, high),
    }


def _token_message(kind: str, call: str, got: int, p: int, m: int, high: int, expected: str) -> str:
    factor = p * m
    other = 28 if kind == "fixed_28" else 32
    return {
        "patches": f"{call} returned {got}: that is the number of {p} px patches the vision tower "
        f"sees. The merger turns each {m} x {m} block of patches into one token, so divide by "
        f"{m * m}; {expected}.",
        "fixed": f"{call} returned {got}, the count for {other} px per token. With {p} px "
        f"patches and a {m} x {m} merge a token covers {factor} x {factor} px (patch_size * "
        f"merge_size); {expected}. (Counting Qwen3-VL's tokens with Qwen2-VL's 28 px, or the "
        "other way round, is a mistake found in the field.)",
        "patch_step": f"{call} returned {got}: it looks like the sides were rounded to multiples "
        "of "
        f"the patch size {p}. They are rounded to multiples of patch_size * merge_size = {factor}, "
        f"so that the patches split into whole {m} x {m} blocks; {expected}.",
        "no_resize": f"{call} returned {got}, about height * width / {factor}**2: the image is not "
        f"resized first. Each side is rounded to a multiple of {factor} (and the pixel limits "
        f"applied) before counting; {expected}.",
        "floor": f"{call} returned {got}: each side was rounded down. The processor rounds each "
        "side "
        f"to the nearest multiple of {factor} (Python's round); {expected}.",
        "ceil": f"{call} returned {got}: each side was rounded up. The processor rounds each side "
        "to "
        f"the nearest multiple of {factor} (Python's round); {expected}.",
        "no_max": f"{call} returned {got}, more than max_pixels allows ({high} px, "
        f"{high // factor**2} tokens of {factor} px). When the rounded size is over max_pixels, "
        "scale both sides by sqrt(max_pixels / (height * width)) and round each down; "
        f"{expected}.",
        "no_min": f"{call} returned {got}, fewer than min_pixels allows. When the rounded size is "
        "under min_pixels, scale both sides by sqrt(min_pixels / (height * width)) and round each "
        f"up; {expected}.",
    }["fixed" if kind.startswith("fixed") else kind]


def _token_checks(fn: Callable[..., Any]) -> None:
    """Every case first; then the one typical mistake that explains every answer, if any."""
    answers = []
    for h, w, p, m, low, high in _TOKEN_CASES:
        call = (
            f"fn(height={h}, width={w}, patch_size={p}, merge_size={m}, min_pixels={low}, "
            f"max_pixels={high})"
        )
        answers.append((call, _as_count(call_student(fn, h, w, p, m, low, high, call=call), call)))
    wrong = [
        (case, call, got)
        for case, (call, got) in zip(_TOKEN_CASES, answers, strict=True)
        if got
        != smart_resize(
            case[0],
            case[1],
            patch_size=case[2],
            merge_size=case[3],
            min_pixels=case[4],
            max_pixels=case[5],
        ).num_tokens
    ]
    if not wrong:
        return
    (h, w, p, m, low, high), call, got = wrong[0]
    want = smart_resize(h, w, patch_size=p, merge_size=m, min_pixels=low, max_pixels=high)
    factor = p * m
    expected = (
        f"expected {want.num_tokens} tokens (resized to {want.height} x {want.width} px, "
        f"{want.height // factor} x {want.width // factor} blocks of {factor} px)"
    )
    tables = [_variants(*case) for case in _TOKEN_CASES]
    explains = {
        kind: all(table[kind] == ans for table, (_, ans) in zip(tables, answers, strict=True))
        for kind in tables[0]
    }
    for kind, also in (
        ("patches", None),
        ("fixed_28", None),
        ("fixed_32", None),
        ("patch_step", "patch_step_patches"),
        ("no_max", None),
        ("no_min", None),
        ("no_resize", "no_resize_floor"),
        ("floor", None),
        ("ceil", None),
    ):
        if explains[kind] or (also and explains[also]):
            raise Mistake(_token_message(kind, call, got, p, m, high, expected))
    raise Mistake(f"{call} returned {got}; {expected}.")


def check_image_tokens(fn: Callable[..., Any]) -> bool:
    """Check ``fn(height, width, patch_size, merge_size, min_pixels, max_pixels) -> int`` against
    :func:`vitlearn.smart_resize`. Prints friendly feedback, returns whether it is right; never
    raises."""

    def checks() -> str:
        _token_checks(fn)
        return "28 px and 32 px per token, over and under the pixel limits: every count right."

    return run_checks("image_tokens", checks)


# ---- the position ids ---------------------------------------------------------------------------

_ID_CASES: list[list[tuple[str, Any]]] = [
    [("text", 3), ("image", (1, 4, 6)), ("text", 2)],
    [("image", (1, 6, 4)), ("text", 4)],
    [("text", 2), ("image", (1, 2, 8)), ("text", 1), ("image", (1, 4, 4)), ("text", 3)],
    [("text", 5)],
]


def _describe(segments: Sequence[tuple[str, Any]]) -> str:
    return "[" + ", ".join(f"({k!r}, {s!r})" for k, s in segments) + "]"


def _variant(
    segments: Sequence[tuple[str, Any]],
    *,
    merge: int = 2,
    swap: bool = False,
    column_major: bool = False,
    resume: str = "max",
    offset: bool = True,
    t_offset: bool = True,
    one_d: bool = False,
) -> torch.Tensor:
    """Position ids built with one typical mistake switched on."""
    parts, start = [], 0
    for kind, size in segments:
        if kind == "text":
            ids = (torch.arange(size) + start).expand(3, size)
        else:
            t, h, w = size
            gh, gw = h // merge, w // merge
            if one_d:
                ids = (torch.arange(t * gh * gw) + start).expand(3, -1)
            else:
                tt, rr, cc = torch.meshgrid(
                    torch.arange(t), torch.arange(gh), torch.arange(gw), indexing="ij"
                )
                if column_major:
                    tt, rr, cc = (a.transpose(1, 2) for a in (tt, rr, cc))
                if swap:
                    rr, cc = cc, rr
                base = start if offset else 0
                ids = torch.stack([tt + (base if t_offset else 0), rr + base, cc + base]).reshape(
                    3, -1
                )
        parts.append(ids)
        counted = resume == "count" and kind != "text"
        start = start + ids.shape[1] if counted else int(ids.max()) + 1
    return torch.cat(parts, dim=1)


def _as_ids(got: Any, call: str) -> torch.Tensor:
    try:
        ids = got if isinstance(got, torch.Tensor) else torch.as_tensor(got)
    except (TypeError, ValueError, RuntimeError):
        raise Mistake(
            f"{call} returned a {type(got).__name__}; return a (3, L) tensor of ints."
        ) from None
    if ids.is_floating_point() or ids.is_complex():
        if not torch.equal(ids, ids.round()):
            raise Mistake(f"{call} returned fractional ids; position ids are whole numbers.")
        ids = ids.long()
    return ids.long()


def _check_ids(fn: Callable[..., Any], segments: list[tuple[str, Any]]) -> None:
    call = f"fn({_describe(segments)})"
    got = _as_ids(call_student(fn, [tuple(s) for s in segments], call=call), call)
    want = mrope_position_ids(segments)
    if got.shape == want.shape and torch.equal(got, want):
        return
    expected = f"expected\n{want.tolist()}"
    if got.dim() != 2 or got.shape[0] != 3:
        if tuple(got.shape) == (want.shape[1], 3):
            raise Mistake(
                f"{call} returned shape {tuple(got.shape)}: transpose it, (3, L) = t, h, w rows."
            )
        raise Mistake(
            f"{call} returned shape {tuple(got.shape)}; expected (3, {want.shape[1]}): one row "
            f"each for t, h and w, one column per token."
        )
    unmerged = _variant(segments, merge=1)
    if got.shape[1] != want.shape[1]:
        if got.shape == unmerged.shape:
            raise Mistake(
                f"{call} returned {got.shape[1]} tokens: one per patch. The merger makes one token "
                "of each 2 x 2 block, so an image of t x h x w patches gives t * (h/2) * (w/2) "
                "tokens; "
                f"{want.shape[1]} in all here."
            )
        raise Mistake(f"{call} returned {got.shape[1]} tokens, expected {want.shape[1]}.")
    named = [
        (
            dict(one_d=True),
            "the image tokens got plain 1-D ids (the same number on t, h and w, "
            "counting up). The sequence then runs, but the language model no longer sees the image "
            "as a grid: the token below is as far away as the token w/2 places later in the text. "
            "No "
            "error is raised, the model just reads positions it was never trained on. Give image "
            "token (k, r, c) the ids (s + k, s + r, s + c).",
        ),
        (
            dict(swap=True),
            "the h row holds the column offsets and the w row the row offsets: "
            "swapped. Row r of the merged grid goes on the h axis, column c on the w axis.",
        ),
        (
            dict(column_major=True),
            "the image tokens are numbered column by column. The vision "
            "tower's tokens come row by row (row-major), so walk the merged grid the same way.",
        ),
        (
            dict(resume="count"),
            "the text after an image resumes at s plus the number of image "
            "tokens, as 1-D positions would. M-RoPE resumes at one past the largest id so far: "
            "s + max(t, h/2, w/2).",
        ),
        (
            dict(offset=False),
            "the image's ids start from 0 instead of the running position s, so "
            "they collide with the text before it. Add s to all three axes.",
        ),
        (
            dict(t_offset=False),
            "the image's t ids are left at 0; like h and w, t starts at the "
            "running position s (a still image has one time step, s).",
        ),
    ]
    for kwargs, message in named:
        if torch.equal(got, _variant(segments, **kwargs)):
            raise Mistake(f"{call}: {message}\n  {expected}")
    bad = (got != want).any(dim=0).nonzero()
    first = int(bad[0]) if bad.numel() else 0
    raise Mistake(
        f"{call}: token {first} has ids {got[:, first].tolist()}, expected "
        f"{want[:, first].tolist()}; "
        f"{expected}"
    )


def check_mrope_ids(fn: Callable[..., Any]) -> bool:
    """Check ``fn(segments) -> (3, L)`` against :func:`vitlearn.mrope_position_ids`. Prints
    friendly feedback, returns whether it is right; never raises."""

    def checks() -> str:
        for segments in _ID_CASES:
            _check_ids(fn, segments)
        return (
            "Text shares one id on all three axes; every image keeps its grid, and the text "
            "after it resumes one past the largest id."
        )

    return run_checks("mrope_ids", checks)
