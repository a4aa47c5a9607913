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
        await client.async_execute_cell(probe, len(nb.cells))
    text = "".join(o.get("text", "") for o in probe.outputs if o.output_type == "stream")
    report = json.loads(text.split("PROBE", 1)[1])
    report["seconds"] = round(seconds, 1)
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1], sys.argv[2])))
