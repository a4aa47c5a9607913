"""The machinery every exercise checker shares.

A checker is written as a plain function that raises :class:`Mistake` with a friendly message when
the student's answer is wrong. :func:`run_checks` turns it into a ``check_*`` function that prints
feedback and returns ``True`` or ``False``; it never raises, so "Run All" always completes.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

import torch

from .._checks import shape_str


class Mistake(Exception):
    """Raised inside a checker: the message is shown to the student as is."""


class NotDoneYet(Exception):
    """The student's function is still the stub."""


def call_student(fn: Callable[..., Any], *args: Any, call: str = "", **kwargs: Any) -> Any:
    """Call the student's ``fn``; turn whatever it raises into a readable :class:`Mistake`.

    ``call`` describes the call for the message, e.g. ``"fn(image of shape (3, 8, 12), 4)"``.
    """
    try:
        return fn(*args, **kwargs)
    except NotImplementedError as e:
        raise NotDoneYet() from e
    except Exception as e:  # the student's code can raise anything: report it, never propagate
        where = _student_line(e)
        raise Mistake(
            f"your function raised {type(e).__name__}: {e}"
            + (f"\n  when called as {call}" if call else "")
            + (f"\n  at {where}" if where else "")
        ) from None


def _student_line(e: BaseException) -> str:
    """The last frame of the traceback that is not inside vitlearn or torch."""
    frames = [f for f in traceback.extract_tb(e.__traceback__) if "vitlearn" not in f.filename]
    frames = [f for f in frames if "site-packages" not in f.filename] or frames
    if not frames:
        return ""
    f = frames[-1]
    return f"line {f.lineno}: {(f.line or '').strip()}"


def expect_tensor(result: Any, shape: tuple[int, ...], what: str) -> torch.Tensor:
    """Check that ``result`` is a tensor of ``shape``; otherwise explain what came."""
    if not isinstance(result, torch.Tensor):
        raise Mistake(f"{what} should be a torch.Tensor, but it is a {type(result).__name__}.")
    if tuple(result.shape) != tuple(shape):
        raise Mistake(f"{what} has shape {shape_str(result.shape)}, expected {shape_str(shape)}.")
    return result


def run_checks(title: str, checks: Callable[[], str | None]) -> bool:
    """Run ``checks``; print one friendly verdict; return whether everything passed.

    ``checks`` raises :class:`Mistake` or :class:`NotDoneYet`, or returns an optional line of
    praise to print after the tick.
    """
    try:
        praise = checks()
    except NotDoneYet:
        print(
            f"… {title}: not done yet. Replace `raise NotImplementedError` with your code, then "
            "run this cell again."
        )
        return False
    except Mistake as m:
        print(f"✗ {title}: not quite.\n  {m}")
        return False
    except Exception as e:  # a bug in the checker itself must not stop the notebook either
        print(f"✗ {title}: the checker could not finish ({type(e).__name__}: {e}).")
        return False
    print(f"✓ {title}: correct." + (f" {praise}" if praise else ""))
    return True
