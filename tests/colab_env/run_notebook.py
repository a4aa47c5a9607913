"""Execute one notebook with nbclient, then report what the kernel ran on (as JSON, last line).

Run by ``test_colab_notebooks.py`` with the Colab-shaped venv's python, so the kernel is that venv's
ipykernel. After the notebook's own cells it runs one probe cell in the same kernel that prints the
versions of the libraries Colab pins and where ``vitlearn`` was imported from.

usage: python run_notebook.py NOTEBOOK WORKDIR
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

PROBE = """\
import json as _json, sys as _sys
import ipywidgets as _w, matplotlib as _m, numpy as _np, torch as _t, vitlearn as _v
print("PROBE" + _json.dumps({
    "python": _sys.executable, "ipywidgets": _w.__version__, "matplotlib": _m.__version__,
    "numpy": _np.__version__, "torch": _t.__version__, "vitlearn": _v.__file__,
    "backend": _m.get_backend(), "google.colab": "google.colab" in _sys.modules,
}))
"""

# Every explorer the notebook displayed, driven from Python on Colab's ipywidgets: each control
# is moved one step (then put back), and the explorer's Image must change with an empty status.
# Explorers draw once the kernel's event loop turns (a burst of slider moves is drawn once), so
# the probe awaits a turn of the loop after each move, as the kernel does between two messages.
WIDGETS_PROBE = """\
import asyncio as _asyncio
import json as _json
import ipywidgets as _w
def _explorer_boxes():
    registry = getattr(_w.Widget, "widgets", None) or getattr(_w.widgets.widget, "_instances", {})
    return [b for b in list(registry.values())
            if isinstance(b, _w.VBox) and "vitlearn-explorer" in b._dom_classes]
def _nudge(c):
    if hasattr(c, "index") and getattr(c, "options", None):
        c.index = (c.index + 1) % len(c.options)
    elif isinstance(c.value, bool):
        c.value = not c.value
    elif hasattr(c, "step") and hasattr(c, "max") and not isinstance(c.value, tuple):
        c.value = c.value + c.step if c.value + c.step <= c.max else c.value - c.step
    else:
        return False
    return True
async def _turn():
    for _ in range(3):
        await _asyncio.sleep(0)
async def _probe():
    report = []
    for box in _explorer_boxes():
        controls, image, status = box.children[0].children, box.children[1], box.children[2]
        problems, moved = [], 0
        for c in controls:
            name = getattr(c, "description", "") or type(c).__name__
            before, old = image.value, c.value
            if not _nudge(c):
                problems.append(f"{name}: don't know how to change a {type(c).__name__}")
                continue
            moved += 1
            await _turn()
            if status.value:
                problems.append(f"{name}: status {status.value!r}")
            elif image.value == before:
                problems.append(f"{name} -> {c.value!r}: the image did not change")
            c.value = old
            await _turn()
        report.append({"controls": moved, "problems": problems})
    return report
print("WIDGETS" + _json.dumps(await _probe()))
"""


def _stream(cell: nbformat.NotebookNode, marker: str) -> object:
    text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
    if marker not in text:
        raise RuntimeError(f"probe printed no {marker} line: {cell.outputs}")
    return json.loads(text.split(marker, 1)[1])


async def main(path: str, workdir: str) -> int:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": workdir}}
    )
    client.reset_execution_trackers()
    t0 = time.monotonic()
    async with client.async_setup_kernel():
        msg_id = client.kc.kernel_info()
        await client.async_wait_for_reply(msg_id)
        try:
            for index, cell in enumerate(nb.cells):
                await client.async_execute_cell(cell, index)
        except CellExecutionError as e:
            print(f"cell {index} failed:\n{e}", file=sys.stderr)
            return 1
        seconds = time.monotonic() - t0
        probe = nbformat.v4.new_code_cell(PROBE)
        widgets = nbformat.v4.new_code_cell(WIDGETS_PROBE)
        nb.cells += [probe, widgets]  # nbclient executes cells by their index in the notebook
        await client.async_execute_cell(probe, len(nb.cells) - 2)
        await client.async_execute_cell(widgets, len(nb.cells) - 1)
    report = _stream(probe, "PROBE")
    report["explorers"] = _stream(widgets, "WIDGETS")
    report["seconds"] = round(seconds, 1)
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1], sys.argv[2])))
