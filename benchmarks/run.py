"""How fast the course runs: notebooks, explorer callbacks, and vitlearn against bare torch.

    python benchmarks/run.py                  # everything (a few minutes on 2 cores)
    python benchmarks/run.py --skip-notebooks # only the callbacks and the function timings
    python benchmarks/run.py --markdown       # the same tables in Markdown, for the README

1. Notebooks: each ``notebooks/NN_*.ipynb`` executed by nbclient in a fresh kernel (working folder
   ``notebooks/``), wall-clock seconds, and the total. Budgets: < 60 s each, < 5 min in all.
2. Explorers: every subclass of ``vitlearn.widgets.Explorer`` built with its defaults
   (``Cls()``); each control is swept over its range (slider positions, dropdown options, both
   states of a checkbox). Per change, ``update(**values)`` and ``render_png()`` are timed
   separately: median and 95th percentile of each and of their sum (the whole callback), and the
   median PNG size. Budget: the whole callback's median < 30 ms.
3. Functions: vitlearn's functions against the bare torch calls they wrap. The two are timed
   interleaved, A B B A A B B A ..., after a warm-up, in blocks of repeated calls, so that neither
   the order nor a change of machine load in the middle favours one of them; the ratio is the
   median time of vitlearn's call over the median time of the bare call.

PASS/OVER beside a figure compares it with its budget; this is a report, not a test: the script
exits 0 unless something could not run at all (a notebook or an explorer raised).
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import os
import pkgutil
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_BUDGET_S = 60.0
COURSE_BUDGET_S = 300.0
CALLBACK_BUDGET_MS = 30.0


# --- output ----------------------------------------------------------------------------------


def table(title: str, header: Sequence[str], rows: Iterable[Sequence[Any]], markdown: bool) -> str:
    rows = [[str(c) for c in r] for r in rows]
    if markdown:
        lines = [f"**{title}**", "", "| " + " | ".join(header) + " |"]
        lines.append("|" + "|".join("---" for _ in header) + "|")
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines) + "\n"
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)
    ]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [title, fmt.format(*header), fmt.format(*("-" * w for w in widths))]
    lines += [fmt.format(*r) for r in rows]
    return "\n".join(lines) + "\n"


def verdict(value: float, budget: float) -> str:
    return "PASS" if value < budget else "OVER"


# --- 1. notebooks ----------------------------------------------------------------------------


def time_notebooks(markdown: bool) -> tuple[str, bool]:
    import nbformat
    from nbclient import NotebookClient

    rows, total, ok = [], 0.0, True
    notebooks = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        client = NotebookClient(
            nb,
            timeout=600,
            kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}},
        )
        t0 = time.perf_counter()
        status = ""
        try:
            client.execute()
        except Exception as e:  # report and go on: the table is the point
            ok = False
            status = f"ERROR {type(e).__name__}: {str(e).strip().splitlines()[-1][:80]}"
        seconds = time.perf_counter() - t0
        total += seconds
        rows.append([path.name, f"{seconds:.1f}", status or verdict(seconds, NOTEBOOK_BUDGET_S)])
        print(f"  {path.name}: {seconds:.1f} s {status}", file=sys.stderr)
    rows.append(
        ["**total**" if markdown else "TOTAL", f"{total:.1f}", verdict(total, COURSE_BUDGET_S)]
    )
    title = (
        f"Notebooks: fresh kernel each, nbclient (budget < {NOTEBOOK_BUDGET_S:.0f} s each, "
        f"< {COURSE_BUDGET_S:.0f} s in all)"
    )
    return table(title, ["notebook", "seconds", "budget"], rows, markdown), ok


# --- 2. explorers ----------------------------------------------------------------------------


def explorer_classes() -> list[type]:
    """Every Explorer subclass in vitlearn.widgets, including ones not re-exported."""
    import vitlearn.widgets as widgets
    from vitlearn.widgets import Explorer

    for info in pkgutil.iter_modules(widgets.__path__):
        importlib.import_module(f"vitlearn.widgets.{info.name}")
    found: list[type] = []
    todo = list(Explorer.__subclasses__())
    while todo:
        cls = todo.pop()
        if cls not in found and not inspect.isabstract(cls):
            found.append(cls)
        todo += cls.__subclasses__()
    return sorted(found, key=lambda c: (c.__module__, c.__name__))


def sweep(control: Any, steps: int) -> list[Any]:
    """The values a student would move a control through: its whole range, in order."""
    values = getattr(control, "_options_values", None)
    if values is None and hasattr(control, "options"):
        values = [o[1] if isinstance(o, tuple) else o for o in control.options]
    if values is not None:
        values = list(values)
        stride = max(1, len(values) // steps)
        return values[::stride]
    if isinstance(control.value, bool):
        return [not control.value, control.value]
    if isinstance(control.value, tuple):  # range slider: move the upper end
        lo, hi = control.value
        return [(lo, v) for v in _linspace(control, lo, control.max, steps)]
    if hasattr(control, "min") and hasattr(control, "max"):
        return _linspace(control, control.min, control.max, steps)
    return []


def _linspace(control: Any, lo: float, hi: float, steps: int) -> list[Any]:
    n = max(2, steps)
    values = [lo + (hi - lo) * i / (n - 1) for i in range(n)]
    if isinstance(control.value, int):
        return sorted({int(round(v)) for v in values})
    step = getattr(control, "step", None) or 0
    return [round(v / step) * step if step else v for v in values]


def _stats(ms: list[float]) -> tuple[float, float]:
    """(median, 95th percentile) of a list of milliseconds."""
    p95 = statistics.quantiles(ms, n=20)[-1] if len(ms) >= 2 else ms[0]
    return statistics.median(ms), p95


def time_explorers(markdown: bool, changes: int) -> tuple[str, bool]:
    import matplotlib

    matplotlib.use("Agg")
    rows, ok = [], True
    for cls in explorer_classes():
        name = f"{cls.__name__} ({cls.__module__.rsplit('.', 1)[-1]})"
        try:
            explorer = cls()
        except TypeError as e:
            ok = False
            rows.append([name, "-", "-", "-", "-", "-", "-", f"NO DEFAULTS: {e}"])
            continue
        try:
            controls = explorer.controls()
            base = {k: c.value for k, c in controls.items()}
            per = max(2, changes // max(1, len(controls)))
            plan = [(k, v) for k, c in controls.items() for v in sweep(c, per)]
            explorer.update(**base)
            explorer.render_png()  # warm-up: the first draw caches fonts and the background
            update_ms, render_ms, total_ms, sizes = [], [], [], []
            for i in range(max(changes, len(plan))):
                key, value = plan[i % len(plan)]
                t0 = time.perf_counter()
                explorer.update(**dict(base, **{key: value}))
                t1 = time.perf_counter()
                png = explorer.render_png()
                t2 = time.perf_counter()
                update_ms.append((t1 - t0) * 1000)
                render_ms.append((t2 - t1) * 1000)
                total_ms.append((t2 - t0) * 1000)
                sizes.append(len(png))
        except Exception as e:
            ok = False
            rows.append(
                [name, "-", "-", "-", "-", "-", "-", f"ERROR {type(e).__name__}: {e}"[:100]]
            )
            continue
        (um, up), (rm, rp), (tm, tp) = _stats(update_ms), _stats(render_ms), _stats(total_ms)
        rows.append(
            [
                name,
                len(total_ms),
                f"{um:.1f} / {up:.1f}",
                f"{rm:.1f} / {rp:.1f}",
                f"{tm:.1f} / {tp:.1f}",
                f"{statistics.median(sizes) / 1024:.0f} KiB",
                verdict(tm, CALLBACK_BUDGET_MS),
            ]
        )
    title = (
        "Explorers, ms per control change, median / 95th percentile: update(**values), "
        f"render_png(), both (budget: median of both < {CALLBACK_BUDGET_MS:.0f} ms)"
    )
    header = ["explorer", "changes", "update", "render", "callback", "PNG", "budget"]
    return table(title, header, rows, markdown), ok


# --- 3. functions against bare torch -----------------------------------------------------------


def _block_seconds(fn: Callable[[], Any], number: int) -> float:
    """Seconds per call of ``fn`` over a block of ``number`` back-to-back calls."""
    t0 = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - t0) / number


def interleaved(
    a: Callable[[], Any], b: Callable[[], Any], rounds: int = 15
) -> tuple[float, float]:
    """Median seconds per call of ``a`` and of ``b``, timed A B B A ... in blocks of calls.

    A warm-up runs both first; a block repeats a call until it lasts about 20 ms, so the timer's
    resolution does not matter. Interleaving makes the order (A always first would warm the caches
    for B) and a change of machine load during the run fall on both alike.
    """
    for fn in (a, b, a, b):
        fn()
    one = max(_block_seconds(a, 1), _block_seconds(b, 1), 1e-6)
    number = max(1, int(0.02 / one))
    ta: list[float] = []
    tb: list[float] = []
    for _ in range(rounds):
        ta.append(_block_seconds(a, number))
        tb.append(_block_seconds(b, number))
        tb.append(_block_seconds(b, number))
        ta.append(_block_seconds(a, number))
    return statistics.median(ta), statistics.median(tb)


def time_functions(markdown: bool) -> str:
    import torch
    import torch.nn.functional as F

    import vitlearn

    torch.manual_seed(0)
    rows: list[list[str]] = []

    def compare(
        what: str, ours: Callable[[], Any], bare: Callable[[], Any] | None, bare_what: str
    ) -> None:
        if bare is None:
            t_ours, _ = interleaved(ours, ours, rounds=5)
            rows.append([what, f"{t_ours * 1e6:.0f}", "-", "-", "-"])
            return
        t_ours, t_bare = interleaved(ours, bare)
        rows.append(
            [
                what,
                f"{t_ours * 1e6:.0f}",
                bare_what,
                f"{t_bare * 1e6:.0f}",
                f"{t_ours / t_bare:.2f}x",
            ]
        )

    # patchify: (8, 3, 224, 224) -> (8, 196, 768)
    x, p = torch.rand(8, 3, 224, 224), 16
    b, c, h, w = x.shape

    def bare_reshape() -> torch.Tensor:
        t = x.reshape(b, c, h // p, p, w // p, p).permute(0, 2, 4, 3, 5, 1)
        return t.contiguous().reshape(b, (h // p) * (w // p), p * p * c)

    def bare_unfold() -> torch.Tensor:  # features in (c, p1, p2) order, same cost class
        return F.unfold(x, p, stride=p).transpose(1, 2).contiguous()

    assert torch.equal(vitlearn.patchify(x, p), bare_reshape())
    compare(
        "patchify (8,3,224,224) P=16",
        lambda: vitlearn.patchify(x, p),
        bare_reshape,
        "reshape/permute/contiguous",
    )
    compare(
        "patchify (8,3,224,224) P=16",
        lambda: vitlearn.patchify(x, p),
        bare_unfold,
        "F.unfold + transpose",
    )

    # resample_pos_embed: (1, 1+14*14, 768) -> (1, 1+24*24, 768), bicubic + antialias (timm's)
    table_ = torch.randn(1, 1 + 14 * 14, 768)

    def bare_interp() -> torch.Tensor:
        cls, grid = table_[:, :1], table_[:, 1:]
        img = grid.reshape(1, 14, 14, 768).permute(0, 3, 1, 2)
        img = F.interpolate(img, size=(24, 24), mode="bicubic", antialias=True, align_corners=False)
        return torch.cat([cls, img.permute(0, 2, 3, 1).reshape(1, 24 * 24, 768)], dim=1)

    compare(
        "resample_pos_embed 14x14 -> 24x24, D=768",
        lambda: vitlearn.resample_pos_embed(table_, 24),
        bare_interp,
        "F.interpolate bicubic",
    )

    # resample_patch_embed: (768, 3, 16, 16) -> (768, 3, 8, 8) and -> 32x32 (PI-resize)
    kernel = torch.randn(768, 3, 16, 16)
    for new in (8, 32):
        compare(
            f"resample_patch_embed 16 -> {new}, D=768",
            lambda n=new: vitlearn.resample_patch_embed(kernel, n),
            lambda n=new: F.interpolate(kernel, size=(n, n), mode="bicubic", antialias=True),
            "naive F.interpolate of kernel",
        )

    for grid, dim in ((14, 768), (32, 768)):
        compare(
            f"sincos_2d_pos_embed {grid}x{grid}, D={dim}",
            lambda g=grid, d=dim: vitlearn.sincos_2d_pos_embed(g, d),
            None,
            "",
        )

    title = (
        f"Functions (median microseconds per call, timed interleaved, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads)"
    )
    header = ["vitlearn", "us", "bare torch", "us", "ratio"]
    return table(title, header, rows, markdown)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--skip-notebooks", action="store_true", help="skip executing the notebooks"
    )
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables (README)")
    parser.add_argument("--changes", type=int, default=40, help="control changes per explorer")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch threads for the function timings (default: torch's own)",
    )
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", category=UserWarning)
    sys.path.insert(0, str(ROOT))

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    print(
        f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, "
        f"Python {platform.python_version()}, torch {torch.__version__}, "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs "
        "(wall times stretch when other processes share the CPUs; 'cpu' columns much less)\n"
    )
    ok = True
    if not args.skip_notebooks:
        text, fine = time_notebooks(args.markdown)
        print(text)
        ok &= fine
    text, fine = time_explorers(args.markdown, args.changes)
    print(text)
    ok &= fine
    print(time_functions(args.markdown))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
