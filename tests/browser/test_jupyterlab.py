"""Each notebook in a real JupyterLab 4 + Chromium: Run All, no errors, every explorer responds.

For every ``notebooks/NN_*.ipynb`` (one test each, so a failure names the notebook):

1. open it, choose Run > Run All Cells from the menu bar, and poll until the kernel is idle and
   every non-empty code cell has an execution count (or an error stopped the run);
2. no cell has an ``error`` output (read from the notebook model and from the DOM, where a
   traceback shows as stderr text), and no widget shows "Error displaying widget";
3. every explorer (``.vitlearn-explorer``): each slider is moved with the keyboard (ArrowRight on
   its handle, ArrowLeft if it was at the end), each dropdown/select, toggle button, radio button
   and checkbox is changed, and after each change the explorer's image (``img`` src) must change
   and its status line must show no error.

A screenshot of the page is saved in ``test-artifacts/`` when a test fails.
Run: ``pytest -m browser tests/browser`` (kept out of plain ``pytest`` by the marker).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
Lab = Any  # the `lab` fixture of tests/browser/conftest.py

# VITLEARN_NOTEBOOKS: another folder of notebooks (to try the suite on drafts).
NB_DIR = Path(os.environ.get("VITLEARN_NOTEBOOKS") or ROOT / "notebooks")
NOTEBOOKS = sorted(NB_DIR.glob("[0-9][0-9]_*.ipynb"))
RUN_TIMEOUT_S = 300  # per notebook; the course's budget is 60 s on 2 cores, the browser adds some
CHANGE_TIMEOUT_S = 10  # for one control change to reach the picture
TRACEBACK = re.compile(r"Traceback \(most recent call last\)|^\w+(Error|Exception)\b", re.M)

# Notebook state read from JupyterLab's own model (the app is exposed by the server flag
# --LabApp.expose_app_in_browser): kernel status and, per non-empty code cell, its execution count
# and error outputs.
_STATE_JS = """
() => {
  const panel = window.jupyterapp.shell.currentWidget;
  if (!panel || !panel.content || !panel.content.model) { return null; }
  const cells = panel.content.model.cells, out = [];
  for (let i = 0; i < cells.length; i++) {
    const c = cells.get(i);
    if (c.type !== 'code' || c.sharedModel.getSource().trim() === '') { continue; }
    const outputs = c.outputs.toJSON();
    out.push({
      index: i,
      count: c.executionCount,
      errors: outputs.filter(o => o.output_type === 'error').map(o => o.ename + ': ' + o.evalue),
      widgets: outputs.filter(o => o.data && o.data['application/vnd.jupyter.widget-view+json'])
        .length,
    });
  }
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  const running = [...panel.node.querySelectorAll('.jp-InputPrompt')]
    .filter(p => p.textContent.includes('[*]')).length;
  return {status: kernel ? kernel.status : 'no kernel', cells: out, running: running};
}
"""


@contextmanager
def screenshot_on_failure(page: object, name: str) -> Iterator[None]:
    try:
        yield
    except BaseException:
        ARTIFACTS.mkdir(exist_ok=True)
        try:
            page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]
        except Exception as e:  # the page may be gone; the original failure matters more
            print(f"(screenshot failed: {e})")
        raise


def _wait_for(condition: Callable[[], object], timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.25)


def _open(page: object, lab: Lab, name: str) -> None:
    page.goto(f"{lab.url}/lab/tree/{name}?reset&token={lab.token}")  # type: ignore[attr-defined]
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell", timeout=90_000)  # type: ignore[attr-defined]
    _wait_for(
        lambda: (page.evaluate(_STATE_JS) or {}).get("status") == "idle",  # type: ignore[attr-defined]
        120,
        "the kernel to start",
    )


def _run_all(page: object) -> None:
    """Run > Run All Cells, as a student would; the command palette's command if the menu moved."""
    try:
        page.click('.lm-MenuBar-itemLabel:text-is("Run")', timeout=10_000)  # type: ignore[attr-defined]
        page.click('.lm-Menu-itemLabel:text-is("Run All Cells")', timeout=10_000)  # type: ignore[attr-defined]
    except Exception:
        page.keyboard.press("Escape")  # type: ignore[attr-defined]
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")  # type: ignore[attr-defined]


def _wait_until_run(page: object) -> dict:
    """Poll until the run is over: kernel idle, nothing queued, every cell run or an error."""
    stable = 0

    def done() -> dict | None:
        nonlocal stable
        state = page.evaluate(_STATE_JS)  # type: ignore[attr-defined]
        over = (
            state["status"] == "idle"
            and state["running"] == 0
            and (
                all(c["count"] is not None for c in state["cells"])
                or any(c["errors"] for c in state["cells"])
            )
        )
        stable = stable + 1 if over else 0
        return state if stable >= 4 else None  # idle for a whole second, not between two cells

    return _wait_for(done, RUN_TIMEOUT_S, "Run All to finish")  # type: ignore[return-value]


def _img_src(explorer: object) -> str | None:
    img = explorer.locator("img").first  # type: ignore[attr-defined]
    return img.get_attribute("src") if img.count() else None


def _changed(explorer: object, before: str | None) -> bool:
    try:
        _wait_for(lambda: _img_src(explorer) != before, CHANGE_TIMEOUT_S, "the picture to change")
        return True
    except AssertionError:
        return False


def _status_error(explorer: object) -> str:
    texts = explorer.locator(".widget-html").all_inner_texts()  # type: ignore[attr-defined]
    return " ".join(t for t in texts if re.search(r"\w+(Error|Exception)\b", t))


def _exercise_explorer(page: object, explorer: object, label: str) -> tuple[list[str], list[str]]:
    """Change every control of one explorer; return (what was done, problems)."""
    done: list[str] = []
    problems: list[str] = []
    explorer.scroll_into_view_if_needed()  # type: ignore[attr-defined]
    _wait_for(lambda: _img_src(explorer), 30, f"{label}'s image")

    def check(
        what: str,
        act: Callable[[], None],
        retry: Callable[[], None] | None = None,
        undo: Callable[[bool], None] | None = None,
    ) -> None:
        """Do ``act`` (``retry`` if nothing changed), expect a new picture, then ``undo`` it so the
        next control is tried from the explorer's initial state (one control's extreme can make
        another one moot, e.g. a patch size leaving fewer tokens than a "tokens shown" slider)."""
        before = _img_src(explorer)
        act()
        ok, retried = _changed(explorer, before), False
        if not ok and retry is not None:
            retry()
            ok, retried = _changed(explorer, before), True
        err = _status_error(explorer)
        if err:
            problems.append(f"{label}: {what}: the explorer reports {err!r}")
        elif not ok:
            problems.append(f"{label}: {what}: the image did not change within {CHANGE_TIMEOUT_S} s")
        done.append(what)
        if undo is not None:
            changed_to = _img_src(explorer)
            undo(retried)
            if ok:
                _changed(explorer, changed_to)  # let the restoring redraw land

    # Sliders: ipywidgets 8 draws them with noUiSlider (.noUi-handle), 7.x with jQuery UI.
    handles = explorer.locator(".noUi-handle, .ui-slider-handle")  # type: ignore[attr-defined]
    for i in range(handles.count()):
        handle = handles.nth(i)
        box = handle.locator("xpath=ancestor::*[contains(@class,'widget-slider')][1]")
        name = (box.locator(".widget-label").first.inner_text() or f"slider {i}").strip()

        def right(h: object = handle) -> None:
            h.focus()  # type: ignore[attr-defined]
            h.press("ArrowRight")  # type: ignore[attr-defined]

        def left(h: object = handle) -> None:
            h.focus()  # type: ignore[attr-defined]
            h.press("ArrowLeft")  # type: ignore[attr-defined]
            h.press("ArrowLeft")  # type: ignore[attr-defined]

        def back(retried: bool, h: object = handle) -> None:
            h.focus()  # type: ignore[attr-defined]
            h.press("ArrowRight" if retried else "ArrowLeft")  # type: ignore[attr-defined]

        check(f"slider {name!r} (arrow keys)", right, left, back)

    selects = explorer.locator("select")  # type: ignore[attr-defined]
    for i in range(selects.count()):
        select = selects.nth(i)
        options = select.locator("option").all()
        if len(options) < 2:
            continue
        current = select.input_value()
        values = [o.get_attribute("value") for o in options]
        target = values[(values.index(current) + 1) % len(values)] if current in values else values[1]
        check(
            f"select -> {target!r}",
            lambda s=select, t=target: s.select_option(t),
            undo=lambda _r, s=select, v=current: s.select_option(v),
        )

    toggles = explorer.locator(".widget-toggle-buttons button")  # type: ignore[attr-defined]
    for i in range(toggles.count()):
        button = toggles.nth(i)
        if "mod-active" not in (button.get_attribute("class") or ""):
            active = explorer.locator(".widget-toggle-buttons button.mod-active").first.element_handle()  # type: ignore[attr-defined]
            check(f"toggle {button.inner_text()!r}", button.click, undo=lambda _r, a=active: a.click())
    for kind in ("radio", "checkbox"):
        boxes = explorer.locator(f"input[type={kind}]")  # type: ignore[attr-defined]
        for i in range(boxes.count()):
            box = boxes.nth(i)
            if kind == "checkbox":
                check(f"checkbox {i}", box.click, undo=lambda _r, b=box: b.click())
            elif not box.is_checked():
                checked = explorer.locator("input[type=radio]:checked").first.element_handle()  # type: ignore[attr-defined]
                check(f"radio {i}", box.click, undo=lambda _r, c=checked: c.click())
    if not done:
        problems.append(f"{label}: no control found to exercise")
    return done, problems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_and_explorers_respond(path: Path, lab: Lab, browser: object) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})  # type: ignore[attr-defined]
    page = context.new_page()
    console_errors: list[str] = []
    page.on("pageerror", lambda e: console_errors.append(str(e)))
    try:
        with screenshot_on_failure(page, path.stem):
            _open(page, lab, path.name)
            t0 = time.monotonic()
            _run_all(page)
            state = _wait_until_run(page)
            print(f"{path.name}: Run All took {time.monotonic() - t0:.1f} s in the browser")

            errors = [f"cell {c['index']}: {e}" for c in state["cells"] for e in c["errors"]]
            assert not errors, f"{path.name}: error outputs after Run All:\n" + "\n".join(errors)
            not_run = [c["index"] for c in state["cells"] if c["count"] is None]
            assert not not_run, f"{path.name}: code cells never ran: {not_run}"
            stderr = page.locator(
                '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
            ).all_inner_texts()
            tracebacks = [t[:500] for t in stderr if TRACEBACK.search(t)]
            assert not tracebacks, f"{path.name}: tracebacks on stderr:\n" + "\n---\n".join(tracebacks)

            n_widgets = sum(c["widgets"] for c in state["cells"])
            if n_widgets:
                _wait_for(
                    lambda: "Loading widget" not in page.inner_text(".jp-NotebookPanel"),
                    30,
                    "the widgets to render",
                )
            body = page.inner_text(".jp-NotebookPanel")
            assert "Error displaying widget" not in body, f"{path.name}: a widget failed to render"

            explorers = page.locator(".jp-NotebookPanel .vitlearn-explorer")
            problems: list[str] = []
            for i in range(explorers.count()):
                done, found = _exercise_explorer(page, explorers.nth(i), f"explorer #{i}")
                print(f"{path.name} explorer #{i}: exercised {done}")
                problems += found
            assert not problems, f"{path.name}:\n" + "\n".join(problems)
            assert not console_errors, f"{path.name}: JavaScript errors: {console_errors}"
    finally:
        context.close()
        lab.shutdown_kernels()
