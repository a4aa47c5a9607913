"""Checkers for notebook 07 (changing the patch size).

* :func:`check_resize_matrix`: the student writes ``fn(old_size, new_size)`` that returns the
  matrix ``B`` of resizing one patch (bicubic, antialiased, like :func:`vitlearn.resize_matrix`).
* :func:`check_pi_resize`: the student writes ``fn(weight, resize_mat, new_size)`` that PI-resizes a
  kernel given ``B`` (like :func:`vitlearn.resample_patch_embed`).

Every checker prints friendly feedback, returns a bool and never raises.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from .._checks import shape_str
from ..flexi import resize_matrix
from ._feedback import Mistake, call_student, expect_tensor, run_checks

__all__ = ["check_pi_resize", "check_resize_matrix"]

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
    """``m`` with its input and/or output patches flattened column by column instead of
    row-major."""
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
                f"fn(weight of shape {shape_str(w.shape)}, resize_mat of shape "
                f"{shape_str(b.shape)}, new_size={new})"
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
                    f"{call} returned shape {shape_str(got.shape)}, expected "
                    f"{shape_str(want.shape)}: rows and cols are swapped; new_size is (rows, cols)."
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
