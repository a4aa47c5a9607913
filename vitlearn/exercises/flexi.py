"""Checkers for notebook 07 (changing the patch size) and the quiz of notebook 08.

* :func:`check_resize_matrix`: the student writes ``fn(old_size, new_size)`` that returns the
  matrix ``B`` of resizing one patch (bicubic, antialiased, like :func:`vitlearn.resize_matrix`).
* :func:`check_pi_resize`: the student writes ``fn(weight, resize_mat, new_size)`` that PI-resizes a kernel
  given ``B`` (like :func:`vitlearn.resample_patch_embed`).
* :func:`check_embedding_forward`: notebook 08's exercise, the embedding layer's forward pass.
* :func:`check_quiz`: the multiple-choice quiz at the end of the course (:data:`QUIZ`,
  :func:`show_quiz`, :func:`quiz_widget`).

Every checker prints friendly feedback, returns a bool and never raises.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from .._checks import shape_str
from ..flexi import resize_matrix
from ._feedback import Mistake, call_student, expect_tensor, run_checks

__all__ = [
    "QUIZ",
    "QuizQuestion",
    "check_embedding_forward",
    "check_pi_resize",
    "check_quiz",
    "check_resize_matrix",
    "quiz_widget",
    "show_quiz",
]

# ---------------------------------------------------------------------------------------------
# Exercise 1: the resize matrix
# ---------------------------------------------------------------------------------------------

# (old (rows, cols), new (rows, cols)): non-square and shrinking cases show the typical mistakes
_MATRIX_CASES = [((2, 3), (4, 5)), ((4, 6), (2, 3)), ((3, 3), (5, 5)), ((5, 4), (3, 2))]


def _bmat(
    old: tuple[int, int],
    new: tuple[int, int],
    mode: str = "bicubic",
    aa: bool = True,
    align_corners: bool = False,
) -> torch.Tensor:
    """The resize matrix made with any settings (including the wrong ones students pick)."""
    n_old = old[0] * old[1]
    basis = torch.eye(n_old).reshape(n_old, 1, *old)
    out = F.interpolate(basis, size=new, mode=mode, antialias=aa, align_corners=align_corners)
    return out.reshape(n_old, -1).T


def _col_major(
    m: torch.Tensor, old: tuple[int, int], new: tuple[int, int], inp: bool, out: bool
) -> torch.Tensor:
    """``m`` with its input and/or output patches flattened column by column instead of row-major."""
    m = m.reshape(*new, *old)
    if out:
        m = m.transpose(0, 1)
    if inp:
        m = m.transpose(2, 3)
    return m.reshape(new[0] * new[1], old[0] * old[1])


def _matrix_look_alikes(old: tuple[int, int], new: tuple[int, int]) -> dict[str, torch.Tensor]:
    ref = _bmat(old, new)
    return {
        "no antialias": _bmat(old, new, aa=False),
        "bilinear": _bmat(old, new, mode="bilinear"),
        "bilinear, no antialias": _bmat(old, new, mode="bilinear", aa=False),
        "align_corners": _bmat(old, new, aa=False, align_corners=True),
        "column-major basis": _col_major(ref, old, new, inp=True, out=False),
        "column-major output": _col_major(ref, old, new, inp=False, out=True),
        "column-major both": _col_major(ref, old, new, inp=True, out=True),
    }


_MATRIX_MESSAGES = {
    "no antialias": (
        "it matches F.interpolate WITHOUT antialias. When the patch shrinks, antialias=True "
        "averages all the pixels a new pixel covers; pass antialias=True."
    ),
    "bilinear": "it matches mode='bilinear'; this exercise uses mode='bicubic' (timm's default).",
    "bilinear, no antialias": (
        "it matches mode='bilinear' without antialias (big_vision's choice); this exercise uses "
        "mode='bicubic', antialias=True (timm's default)."
    ),
    "align_corners": (
        "it matches align_corners=True. Pixels are little squares whose centres sit at half-pixel "
        "offsets; resize with align_corners=False, as image pipelines and timm do."
    ),
    "column-major basis": (
        "the basis patches are numbered column by column. Basis patch i must have its 1 at "
        "row i // old_cols, column i % old_cols (row-major, as torch.eye(n).reshape(n, 1, rows, "
        "cols) gives), so that B @ x.flatten() uses Tensor.flatten's order."
    ),
    "column-major output": (
        "each resized basis patch is flattened column by column. Flatten it row by row "
        "(.reshape(n_old, -1) of the (n_old, 1, new_rows, new_cols) result) so that "
        "B @ x.flatten() equals resize(x).flatten()."
    ),
    "column-major both": (
        "both the basis patches and their resized versions are flattened column by column; "
        "use row-major order (rows first) for both, like Tensor.flatten."
    ),
}


def check_resize_matrix(fn: Callable[[tuple[int, int], tuple[int, int]], torch.Tensor]) -> bool:
    """Check ``fn(old_size, new_size) -> B`` against :func:`vitlearn.resize_matrix`.

    Sizes are ``(rows, cols)``; ``B`` is ``(new_rows*new_cols, old_rows*old_cols)`` with
    ``B @ x.flatten() == resize(x).flatten()`` for bicubic, antialiased, align_corners=False
    resizing. Prints feedback; returns ``True`` when every case passes. Never raises.
    """

    def checks() -> str:
        results = []  # (call, old, new, got) for every case whose shape is right
        for old, new in _MATRIX_CASES:
            call = f"fn(old_size={old}, new_size={new})"
            got = call_student(fn, old, new, call=call)
            want = resize_matrix(old, new, interpolation="bicubic", antialias=True)
            if not isinstance(got, torch.Tensor):
                raise Mistake(f"{call} returned a {type(got).__name__}; return a torch.Tensor.")
            n_new, n_old = want.shape
            if tuple(got.shape) == (n_old, n_new) and n_old != n_new:
                raise Mistake(
                    f"{call} returned shape {shape_str(got.shape)}, expected (new_rows*new_cols, "
                    f"old_rows*old_cols) = {shape_str(want.shape)}. That is B transposed: each "
                    "resized basis patch must be a COLUMN of B, so that B @ x.flatten() resizes x."
                )
            if tuple(got.shape) == (*new, *old) or tuple(got.shape) == (n_old, 1, *new):
                raise Mistake(
                    f"{call} returned shape {shape_str(got.shape)}, expected "
                    f"{shape_str(want.shape)}: flatten each resized basis patch into a column "
                    "(row-major) and put them side by side."
                )
            expect_tensor(got, tuple(want.shape), f"{call}'s result")
            results.append((call, old, new, got.detach().to(torch.float32)))

        def close(a: torch.Tensor, b: torch.Tensor) -> bool:
            return a.shape == b.shape and torch.allclose(a, b, atol=1e-5)

        wrong = [r for r in results if not close(r[3], resize_matrix(r[1], r[2]))]
        if not wrong:
            return "Column i of B is what resizing does to pixel i: B @ x.flatten() is the resize."
        call, old, new, got = wrong[0]
        if new[0] != new[1] and close(got, resize_matrix(old, (new[1], new[0]))):
            raise Mistake(
                f"{call} resizes to {new[1]} rows x {new[0]} cols: rows and cols of new_size "
                "are swapped. Sizes are (rows, cols), as F.interpolate's size=(H, W)."
            )
        # a look-alike that explains every case beats one that only explains the first wrong one
        looks = [_matrix_look_alikes(o, n) for _, o, n, _ in results]
        names = list(looks[0])
        everywhere = [
            k
            for k in names
            if all(close(r[3], lk[k]) for r, lk in zip(results, looks, strict=True))
        ]
        here = [k for k in names if close(got, _matrix_look_alikes(old, new)[k])]
        for name in everywhere + here:
            raise Mistake(f"{call} has the right shape, but {_MATRIX_MESSAGES[name]}")
        err = (got - resize_matrix(old, new)).abs().max().item()
        raise Mistake(
            f"{call} has the right shape, but the values differ (largest difference {err:.3g}). "
            "Column i should be F.interpolate(basis patch i, size=new_size, mode='bicubic', "
            "antialias=True, align_corners=False), flattened row by row."
        )

    return run_checks("resize_matrix", checks)


# ---------------------------------------------------------------------------------------------
# Exercise 2: the PI-resize given the matrix
# ---------------------------------------------------------------------------------------------

# (D, C, old (rows, cols), new (rows, cols)): growing, shrinking, non-square
_PI_CASES = [(4, 3, (2, 3), (4, 5)), (2, 1, (4, 4), (2, 2)), (3, 2, (3, 2), (6, 3))]


def _kernel(d: int, c: int, old: tuple[int, int]) -> torch.Tensor:
    g = torch.Generator().manual_seed(d * 100 + c * 10 + old[0] + old[1])
    return torch.randn(d, c, *old, generator=g)


def _pi(weight: torch.Tensor, b: torch.Tensor, new: tuple[int, int]) -> torch.Tensor:
    d, c = weight.shape[:2]
    pinv = torch.linalg.pinv(b.double().T)  # (new, old)
    return (weight.double().reshape(d * c, -1) @ pinv.T).reshape(d, c, *new).float()


def _pi_look_alikes(
    weight: torch.Tensor, b: torch.Tensor, new: tuple[int, int]
) -> dict[str, torch.Tensor]:
    d, c, ph, pw = weight.shape
    flat = weight.reshape(d * c, -1)
    naive = (flat @ b.T).reshape(d, c, *new)
    area = (ph * pw) / (new[0] * new[1])
    return {"naive": naive, "naive, area-scaled": naive * area}


_PI_MESSAGES = {
    "naive": (
        "it equals B @ w: you RESIZED the kernel like an image (naive resize). That keeps the "
        "filter's look but not the tokens. The PI-resize asks for <B x, w_new> = <x, w> for every "
        "patch x, i.e. B^T w_new = w, solved by w_new = pinv(B^T) w = torch.linalg.pinv(B.T) @ w."
    ),
    "naive, area-scaled": (
        "it equals (B @ w) scaled by the area ratio: the naive resize with a brightness fix. It "
        "gets the mean of a flat patch right but not the detail. Use w_new = pinv(B^T) w."
    ),
}


def check_pi_resize(
    fn: Callable[[torch.Tensor, torch.Tensor, tuple[int, int]], torch.Tensor],
) -> bool:
    """Check ``fn(weight, resize_mat, new_size) -> new_weight`` against the PI-resize.

    ``weight`` is ``(D, C, ph, pw)``; ``resize_mat`` is ``B``, ``(nh*nw, ph*pw)`` from
    :func:`vitlearn.resize_matrix`; ``new_size`` is ``(nh, nw)`` = (rows, cols). The answer must be
    ``(D, C, nh, nw)`` with ``w_new = pinv(B^T) w`` for each flattened filter slice ``w``.
    Prints feedback; returns ``True`` when every case passes. Never raises.
    """

    def checks() -> str:
        for d, c, old, new in _PI_CASES:
            w = _kernel(d, c, old)
            b = resize_matrix(old, new)
            before = w.clone()
            call = (
                f"fn(weight of shape {shape_str(w.shape)}, resize_mat of shape {shape_str(b.shape)}, "
                f"new_size={new})"
            )
            got = call_student(fn, w, b, new, call=call)
            if not torch.equal(w, before):
                raise Mistake(f"{call} changed the input kernel; leave it as it is.")
            want = _pi(w, b, new)
            if isinstance(got, torch.Tensor) and tuple(got.shape) in [
                (d, c, new[0] * new[1]),
                (d * c, new[0] * new[1]),
            ]:
                raise Mistake(
                    f"{call} returned shape {shape_str(got.shape)}, expected (D, C, nh, nw) = "
                    f"{shape_str(want.shape)}: reshape the flat kernels back to the new patch size."
                )
            if (
                isinstance(got, torch.Tensor)
                and tuple(got.shape) == (d, c, new[1], new[0])
                and new[0] != new[1]
            ):
                raise Mistake(
                    f"{call} returned shape {shape_str(got.shape)}, expected {shape_str(want.shape)}: "
                    "rows and cols are swapped; new_size is (rows, cols)."
                )
            got = expect_tensor(got, tuple(want.shape), f"{call}'s result")
            if got.dtype != w.dtype:
                raise Mistake(
                    f"{call} returned dtype {got.dtype}, expected {w.dtype} (the kernel's dtype): "
                    "compute in float64 if you like, then convert back with .to(weight.dtype)."
                )
            if torch.allclose(got.detach(), want, rtol=1e-4, atol=1e-4):
                continue
            for name, look in _pi_look_alikes(w, b, new).items():
                if torch.allclose(got.detach(), look, rtol=1e-4, atol=1e-4):
                    raise Mistake(f"{call} has the right shape, but {_PI_MESSAGES[name]}")
            err = (got.detach() - want).abs().max().item()
            raise Mistake(
                f"{call} has the right shape {shape_str(want.shape)}, but the values differ "
                f"(largest difference {err:.3g}). For each filter slice w (flattened row-major), "
                "w_new = pinv(B^T) @ w; then reshape to (D, C, nh, nw)."
            )
        return "Tokens now survive a bigger patch: <resize(x), w_new> = <x, w>."

    return run_checks("pi_resize", checks)


# ---------------------------------------------------------------------------------------------
# Exercise of notebook 08: the embedding layer's forward pass by hand
# ---------------------------------------------------------------------------------------------

# (B, C, H, W, P, D): a non-square image, so row/column mix-ups show
_EMBED_CASES = [(2, 3, 8, 12, 4, 5), (1, 2, 6, 6, 3, 4)]


def _embed_inputs(b: int, c: int, h: int, w: int, p: int, d: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(b + 10 * c + 100 * h + 1000 * w)
    n = (h // p) * (w // p)
    return {
        "images": torch.rand(b, c, h, w, generator=g),
        "weight": torch.randn(d, c, p, p, generator=g),
        "bias": torch.randn(d, generator=g),
        "cls_token": torch.randn(1, 1, d, generator=g),
        "pos_embed": torch.randn(1, 1 + n, d, generator=g),
    }


def _embed_look_alikes(a: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    x, w, bias, cls, pos = a["images"], a["weight"], a["bias"], a["cls_token"], a["pos_embed"]
    p = w.shape[-1]
    conv = F.conv2d(x, w, bias, stride=p)  # (B, D, rows, cols)
    tokens = conv.flatten(2).transpose(1, 2)  # (B, N, D)
    cls_b = cls.expand(x.shape[0], -1, -1)
    col_major = conv.transpose(2, 3).flatten(2).transpose(1, 2)
    # the kernel reshaped plainly (C, P, P order) but applied to (P, P, C)-ordered patches
    rows, cols = x.shape[2] // p, x.shape[3] // p
    patches = x.reshape(x.shape[0], x.shape[1], rows, p, cols, p).permute(0, 2, 4, 3, 5, 1)
    patches = patches.reshape(x.shape[0], rows * cols, -1)  # (B, N, P*P*C)
    plain = patches @ w.reshape(w.shape[0], -1).T + bias
    return {
        "cls last": torch.cat([tokens, cls_b], 1) + pos,
        "no bias": torch.cat([cls_b, tokens - bias], 1) + pos,
        "no positions": torch.cat([cls_b, tokens], 1),
        "cls without position": torch.cat([cls_b, tokens + pos[:, 1:]], 1),
        "column-major": torch.cat([cls_b, col_major], 1) + pos,
        "plain kernel reshape": torch.cat([cls_b, plain], 1) + pos,
    }


_EMBED_MESSAGES = {
    "cls last": (
        "the class token is at the END of the sequence. It goes in front: torch.cat([cls, "
        "tokens], dim=1), so that it is token 0 and pos_embed[:, 0] is its code."
    ),
    "no bias": "the projection's bias is missing: each token is W @ patch + bias.",
    "no positions": "the position table was not added: tokens + pos_embed, after the class token is in.",
    "cls without position": (
        "you added pos_embed[:, 1:] to the patch tokens only. In ViT's layout (timm's default) "
        "the table has 1 + N rows and the class token gets row 0: concatenate first, then add "
        "the whole table."
    ),
    "column-major": (
        "your tokens are in column-major order. Token n is the patch at grid row n // cols, "
        "column n % cols: the conv output (B, D, rows, cols) flattens with .flatten(2), rows first."
    ),
    "plain kernel reshape": (
        "you reshaped the conv kernel (D, C, P, P) plainly to (D, C*P*P), but patchify's features "
        "are ordered (row, column, channel). Permute the kernel to (D, P, P, C) first "
        "(vitlearn.conv_to_linear_weight), or use F.conv2d with stride P."
    ),
}


def check_embedding_forward(fn: Callable[..., torch.Tensor]) -> bool:
    """Check ``fn(images, weight, bias, cls_token, pos_embed) -> tokens`` (ViT's embedding layer).

    ``images`` ``(B, C, H, W)``, ``weight`` ``(D, C, P, P)``, ``bias`` ``(D,)``, ``cls_token``
    ``(1, 1, D)``, ``pos_embed`` ``(1, 1 + N, D)``; the answer is ``(B, 1 + N, D)``: projected
    patches in raster order, class token in front, the whole table added (no dropout). Prints
    feedback; returns ``True`` when every case passes. Never raises.
    """

    def checks() -> str:
        for b, c, h, w, p, d in _EMBED_CASES:
            a = _embed_inputs(b, c, h, w, p, d)
            before = {k: v.clone() for k, v in a.items()}
            call = (
                f"fn(images {shape_str(a['images'].shape)}, weight {shape_str(a['weight'].shape)}, "
                f"bias, cls_token, pos_embed {shape_str(a['pos_embed'].shape)})"
            )
            got = call_student(
                fn, a["images"], a["weight"], a["bias"], a["cls_token"], a["pos_embed"], call=call
            )
            if any(not torch.equal(a[k], before[k]) for k in a):
                raise Mistake(f"{call} changed one of its inputs; leave them as they are.")
            n = (h // p) * (w // p)
            if isinstance(got, torch.Tensor) and tuple(got.shape) == (b, n, d):
                raise Mistake(
                    f"{call} returned shape {shape_str(got.shape)}, expected (B, 1 + N, D) = "
                    f"{shape_str((b, 1 + n, d))}: the class token is missing in front."
                )
            if isinstance(got, torch.Tensor) and tuple(got.shape) == (b, d, 1 + n):
                raise Mistake(
                    f"{call} returned shape {shape_str(got.shape)}, expected {shape_str((b, 1 + n, d))}: "
                    "tokens go along axis 1 and features along axis 2 (transpose the conv output)."
                )
            got = expect_tensor(got, (b, 1 + n, d), f"{call}'s result").detach()
            looks = _embed_look_alikes(a)
            want = torch.cat([a["cls_token"].expand(b, -1, -1), looks["no positions"][:, 1:]], 1)
            want = want + a["pos_embed"]
            if torch.allclose(got, want, atol=1e-5):
                continue
            for name, look in looks.items():
                if torch.allclose(got, look, atol=1e-5):
                    raise Mistake(f"{call} has the right shape, but {_EMBED_MESSAGES[name]}")
            err = (got - want).abs().max().item()
            raise Mistake(
                f"{call} has the right shape, but the values differ (largest difference {err:.3g}). "
                "Steps: F.conv2d(images, weight, bias, stride=P) -> (B, D, rows, cols) -> "
                "(B, N, D); class token in front; + pos_embed."
            )
        return "That is all of a ViT's first layer (with dropout off)."

    return run_checks("embedding_forward", checks)


# ---------------------------------------------------------------------------------------------
# The quiz of notebook 08
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuizQuestion:
    """One multiple-choice question: ``options`` maps a letter to a text; ``answer`` is a letter."""

    question: str
    options: dict[str, str]
    answer: str
    why: str
    where: str


QUIZ: dict[int, QuizQuestion] = {
    1: QuizQuestion(
        "A ViT-B/16 reads a 224 x 224 RGB image. How many tokens enter the first block, and how "
        "long is each flattened patch before the projection?",
        {
            "a": "196 tokens, 768 numbers",
            "b": "197 tokens, 768 numbers",
            "c": "197 tokens, 256 numbers",
            "d": "224 tokens, 672 numbers",
        },
        "b",
        "(224/16)^2 = 196 patches plus the class token = 197; a patch holds 16*16*3 = 768 numbers.",
        "notebook 01, section 7 (patch size sets the sequence length), and notebook 08, section 2",
    ),
    2: QuizQuestion(
        "Without position codes, what happens to a ViT's class-token output when you shuffle the "
        "patches of the image?",
        {
            "a": "It changes a lot",
            "b": "It changes a little",
            "c": "It stays the same: attention treats the tokens as a set",
            "d": "The model refuses the input",
        },
        "c",
        "Attention and the MLP are permutation-equivariant, the class token reads a weighted sum: "
        "without position codes the output is invariant to the order of the patches.",
        "notebook 03, section 2 (an image and its jigsaw look the same to a ViT without position codes)",
    ),
    3: QuizQuestion(
        "A ViT trained at 224 x 224 with patch 16 and a learned position table must run at "
        "384 x 384 with the same patch size. What do you do with pos_embed?",
        {
            "a": "Nothing, it works for any size",
            "b": "Interpolate the 14 x 14 grid of codes to 24 x 24 and keep the class token's code",
            "c": "Interpolate all 197 codes as one 1-D sequence to 577",
            "d": "Retrain the model from scratch",
        },
        "b",
        "The table is a 2-D grid of codes (plus the class token's): resample the grid in 2-D "
        "(vitlearn.resample_pos_embed) and leave the prefix token alone.",
        "notebook 06, section 4 (2-D interpolation, prefix tokens set aside)",
    ),
    4: QuizQuestion(
        "You change the patch size from 8 to 16 and feed a 2x upsampled image. Which kernel keeps "
        "every token exactly the same?",
        {
            "a": "The old kernel interpolated like an image",
            "b": "The interpolated kernel divided by 4",
            "c": "pinv(B^T) w, with B the resize matrix (the PI-resize)",
            "d": "No kernel can",
        },
        "c",
        "The PI-resize solves B^T w_new = w, i.e. <B x, w_new> = <x, w> for every patch x; when "
        "the kernel grows the solution is exact.",
        "notebook 07, section 4 (the PI-resize)",
    ),
    5: QuizQuestion(
        "Why does ViT cut the image into patches instead of using every pixel as a token?",
        {
            "a": "Attention cost grows with the square of the number of tokens",
            "b": "Pixels carry no information",
            "c": "Transformers cannot read numbers below 1",
            "d": "Patches make the model translation-invariant",
        },
        "a",
        "224 x 224 pixels would be 50,176 tokens and 2.5e9 attention pairs per head; 16 x 16 "
        "patches give 196 tokens.",
        "notebook 01, section 7 (attention pays for the sequence length squared)",
    ),
}
"""The quiz at the end of the course: question number -> :class:`QuizQuestion`."""


def show_quiz() -> None:
    """Print the quiz questions and their options."""
    for n, q in QUIZ.items():
        print(f"{n}. {q.question}")
        for letter, text in q.options.items():
            print(f"   {letter}) {text}")
        print()


def check_quiz(answers: Any) -> bool:
    """Check ``answers`` (``{question number: letter}``); print a verdict per question.

    Unanswered questions are listed; returns ``True`` when all questions are answered right.
    Never raises.
    """
    try:
        return _check_quiz(answers)
    except Exception as e:  # never stop "Run All"
        print(f"✗ quiz: the checker could not read your answers ({type(e).__name__}: {e}).")
        return False


def _check_quiz(answers: Any) -> bool:
    if not isinstance(answers, Mapping):
        print(
            f"✗ quiz: pass a dict {{question number: letter}}, e.g. {{1: 'a', 2: 'c'}}; "
            f"got a {type(answers).__name__}."
        )
        return False
    given: dict[int, str] = {}
    for key, value in answers.items():
        try:
            n = int(key)
        except (TypeError, ValueError):
            print(f"? quiz: {key!r} is not a question number (the questions are {sorted(QUIZ)}).")
            continue
        if n not in QUIZ:
            print(f"? quiz: there is no question {n} (the questions are {sorted(QUIZ)}).")
            continue
        given[n] = str(value).strip().lower().rstrip(")") if value is not None else ""
    if not any(given.values()):
        print("… quiz: not done yet. Fill in the dict with your letters, then run this cell again.")
        return False
    right = 0
    for n, q in QUIZ.items():
        choice = given.get(n, "")
        if not choice:
            print(f"… {n}: not answered yet.")
        elif choice not in q.options:
            print(f"? {n}: {choice!r} is not an option; choose one of {', '.join(q.options)}.")
        elif choice == q.answer:
            right += 1
            print(f"✓ {n}: right. {q.why}")
        else:
            print(f"✗ {n}: not {choice}) — have another look at {q.where}.")
    print(f"{right} / {len(QUIZ)} right.")
    return right == len(QUIZ)


def quiz_widget() -> Any:
    """The quiz as core ipywidgets: one RadioButtons per question and a Check button.

    On the course's website (the notebooks executed by ``python -m vitlearn build-site``) there is
    no kernel to click through: the quiz is shown as text instead, without its answers.
    """
    from ..widgets._static import static_widgets

    if static_widgets():
        return StaticQuiz()  # a page has no kernel to click through
    import ipywidgets as W

    radios: dict[int, Any] = {}
    rows = []
    for n, q in QUIZ.items():
        radios[n] = W.RadioButtons(
            options=[(f"{k}) {t}", k) for k, t in q.options.items()],
            value=None,
            layout=W.Layout(width="auto"),
        )
        rows += [W.HTML(f"<b>{n}.</b> {q.question}"), radios[n]]
    out = W.Output()
    button = W.Button(description="Check")

    def on_click(_b: Any) -> None:
        out.clear_output()
        with out:
            check_quiz({n: r.value or "" for n, r in radios.items()})

    button.on_click(on_click)
    return W.VBox([*rows, button, out])


class StaticQuiz:
    """:func:`quiz_widget` on a static page: the questions and choices as text, no answers."""

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        import html

        from ..widgets._static import live_note

        items = []
        for n, q in QUIZ.items():
            options = "".join(
                f"<li>{letter}) {html.escape(text)}</li>" for letter, text in q.options.items()
            )
            items.append(f'<li value="{n}">{html.escape(q.question)}<ul>{options}</ul></li>')
        note = live_note("The quiz as text: the clickable version")
        rich = f'<ol class="vitlearn-static-quiz">{"".join(items)}</ol>{note["text/html"]}'
        plain = "\n".join(
            f"{n}. {q.question}\n" + "\n".join(f"   {k}) {t}" for k, t in q.options.items())
            for n, q in QUIZ.items()
        )
        return {"text/html": rich, "text/plain": f"{plain}\n\n{note['text/plain']}"}
