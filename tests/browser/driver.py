"""Drive one notebook in a real browser, the same way on every frontend.

:func:`check_notebook` is the whole browser test of one notebook, shared by the JupyterLab suite
(``test_jupyterlab.py``, ipywidgets 8) and the Colab-shaped suite (``test_colab_browser.py``, the
classic Notebook 6.5 with the ipywidgets 7 JavaScript that pip pairs with ipywidgets 7.7.1):

1. open the notebook, choose Run All from the menu bar as a student would, and poll the frontend's
   own notebook model until the kernel is idle and every non-empty code cell has run (or an
   error stopped the run);
2. collect what went wrong: ``error`` outputs, tracebacks on stderr, widget outputs that never drew
   a widget, "Error displaying widget" / "Widget Javascript not detected" on the page, JavaScript
   errors (uncaught, or logged to the console by the page's own code);
3. every explorer (``.vitlearn-explorer``) must draw its image, at its own size (not blown up and
   blurred by the page's layout), and every slider and menu must change that image and leave the
   explorer's status line free of errors. Each control is moved one step (sliders with the arrow
   keys on their handle) and put back: first from the explorer's initial state, then with every
   *other* control at its maximum (sliders pressed to End, menus on their last option), then at
   its minimum; so a control that does nothing in some state is caught. A control may be greyed
   out only where the others leave it a single value (one token: nothing to choose), never as the
   explorer opens. A move that clamps another control (fewer tokens to show) stays clamped.
   Last, a burst of key presses on the first slider (a drag, as the kernel sees it) must end on
   the very picture that the same value gets one step at a time: the explorer coalesces a burst
   into fewer redraws, and must not lose its last change;
4. the quiz (``.vitlearn-quiz``): Check with nothing chosen says "not done yet", the right answers
   give full marks, one wrong answer is pointed out.

Everything a frontend does its own way (selectors, how Run All is chosen, how the notebook model and
the kernel status are read, how a slider tells where its handle is) lives in one class per
frontend: :class:`JupyterLab` and :class:`ClassicNotebook`.

Figures (Run All time per notebook, key press to new image per slider move) are collected in
:data:`FIGURES` and printed by ``conftest.py`` at the end of the run; they are never asserted.
"""

from __future__ import annotations

import re
import shutil
import statistics
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"

RUN_TIMEOUT_S = 300  # per notebook; the course's budget is 60 s on 2 cores, the browser adds some
CHANGE_TIMEOUT_S = 10  # for one control change to reach the picture
RENDER_TIMEOUT_S = 30  # for the widgets of a finished run to appear
SETTLE_TIMEOUT_S = 60  # for the kernel to be done with every move made so far
BURST_PRESSES = 4  # key presses in a row, the kernel sees them as a drag
TRACEBACK = re.compile(r"Traceback \(most recent call last\)|^\w+(Error|Exception)\b", re.M)
WIDGET_FAILURES = ("Error displaying widget", "Widget Javascript not detected")

Page = Any  # playwright.sync_api.Page
Locator = Any  # playwright.sync_api.Locator
Server = Any  # servers.Server


# -- figures printed at the end of the run ---------------------------------------------------


@dataclass
class Figures:
    """What the suites measured, per frontend: printed by ``conftest.py``, never asserted."""

    run_all_s: dict[str, dict[str, float]] = field(default_factory=dict)
    key_to_image_ms: dict[str, list[float]] = field(default_factory=dict)

    def lines(self) -> list[str]:
        out = []
        for frontend, times in self.run_all_s.items():
            cells = ", ".join(f"{name[:2]} {s:.1f} s" for name, s in sorted(times.items()))
            out.append(
                f"{frontend}: Run All per notebook: {cells}; total {sum(times.values()):.0f} s"
            )
        for frontend, ms in self.key_to_image_ms.items():
            if ms:
                q = (
                    statistics.quantiles(ms, n=10, method="inclusive")
                    if len(ms) > 1
                    else [ms[0]] * 9
                )
                out.append(
                    f"{frontend}: key press on a slider handle to the new image: median "
                    f"{statistics.median(ms):.0f} ms, 90th percentile {q[8]:.0f} ms, "
                    f"max {max(ms):.0f} ms ({len(ms)} key presses)"
                )
        return out


FIGURES = Figures()


# -- the frontends ----------------------------------------------------------------------------


class Frontend:
    """What one notebook UI does its own way. Subclasses fill in every attribute and method."""

    name: str  # for messages and figures
    notebook: str  # selector of the open notebook
    stderr: str  # selector of a stderr output
    widget_output: str  # selector of the outputs among which every widget view must be found
    slider_handle: str  # selector of a slider's handle (the element that takes arrow keys)
    # The notebook as the frontend's own model has it: {"status": kernel status, "running":
    # cells shown as running, "cells": [{"index", "count", "errors", "widgets"}]} (non-empty code
    # cells only; "count" is None until the cell has run), or null while there is no notebook.
    state_js: str
    barrier_js: str  # see kernel_barrier

    def url(self, server: Server, notebook: str) -> str:
        raise NotImplementedError

    def wait_ready(self, page: Page) -> None:
        """Wait until the notebook is shown, its kernel is idle and widgets can be displayed."""
        raise NotImplementedError

    def run_all(self, page: Page) -> None:
        """Run every cell, from the menu bar."""
        raise NotImplementedError

    def slider_fraction(self, handle: Locator) -> float:
        """Where the handle sits: 0 at the slider's minimum, 1 at its maximum."""
        raise NotImplementedError

    def slider_disabled(self, handle: Locator) -> bool:
        """Whether the slider is greyed out (it then takes no key)."""
        raise NotImplementedError

    def state(self, page: Page) -> dict | None:
        return page.evaluate(self.state_js)

    def kernel_barrier(self, page: Page) -> None:
        """One round trip to the notebook's kernel: an empty, silent execution on every shell that
        handles this page's messages, waited for until its reply and its closing "idle" status
        (sent after every output before it) are in."""
        page.evaluate(self.barrier_js)


class JupyterLab(Frontend):
    """JupyterLab 4 with ipywidgets 8 (noUiSlider sliders). The app is read from
    ``window.jupyterapp`` (the server runs with ``--LabApp.expose_app_in_browser``)."""

    name = "JupyterLab 4, ipywidgets 8"
    notebook = ".jp-NotebookPanel"
    stderr = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
    widget_output = ".jp-OutputArea-output"  # a widget's output has no data-mime-type
    slider_handle = ".noUi-handle"
    state_js = """
    () => {
      const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
      if (!panel || !panel.content || !panel.content.model) { return null; }
      const cells = panel.content.model.cells, out = [];
      for (let i = 0; i < cells.length; i++) {
        const c = cells.get(i);
        if (c.type !== 'code' || c.sharedModel.getSource().trim() === '') { continue; }
        const outputs = c.outputs.toJSON();
        out.push({
          index: i,
          count: c.executionCount,
          errors: outputs.filter(o => o.output_type === 'error')
            .map(o => o.ename + ': ' + o.evalue),
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

    # With ipykernel 7, JupyterLab sends comm messages to a subshell of the kernel (its setting
    # "commsOverSubshells"), whose thread handles them apart from the main shell: so the round
    # trip goes to the main shell and to every subshell, each after what was sent to it before.
    barrier_js = """
    async () => {
      const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
      const shells = [null];
      if (kernel.supportsSubshells) {
        shells.push(...(await kernel.requestListSubshell({}).done).content.subshell_id);
      }
      await Promise.all(shells.map(subshell => {
        const header = {msg_id: crypto.randomUUID(), msg_type: 'execute_request', version: '5.3',
                        username: kernel.username, session: kernel.clientId,
                        date: new Date().toISOString()};
        if (subshell) { header.subshell_id = subshell; }
        const content = {code: '', silent: true, store_history: false, user_expressions: {},
                         allow_stdin: false, stop_on_error: false};
        const msg = {header, parent_header: {}, metadata: {}, content, channel: 'shell',
                     buffers: []};
        return kernel.sendShellMessage(msg, true, true).done;
      }));
    }
    """

    def url(self, server: Server, notebook: str) -> str:
        return f"{server.url}/lab/tree/{notebook}?reset&token={server.token}"

    def wait_ready(self, page: Page) -> None:
        page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell", timeout=90_000)
        wait_for(
            lambda: (self.state(page) or {}).get("status") == "idle", 120, "the kernel to start"
        )

    def run_all(self, page: Page) -> None:
        try:
            page.click('.lm-MenuBar-itemLabel:text-is("Run")', timeout=10_000)
            page.click('.lm-Menu-itemLabel:text-is("Run All Cells")', timeout=10_000)
        except Exception as e:  # the menu moved in another JupyterLab: its command, and say so
            print(f"(Run > Run All Cells not found in the menu bar: {e}; using the command)")
            page.keyboard.press("Escape")
            page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")

    def slider_fraction(self, handle: Locator) -> float:
        # noUiSlider keeps the handle's position in its ARIA attributes.
        return handle.evaluate(
            """h => { const v = +h.getAttribute('aria-valuenow'),
                            lo = +h.getAttribute('aria-valuemin'),
                            hi = +h.getAttribute('aria-valuemax');
                      return hi > lo ? (v - lo) / (hi - lo) : 1; }"""
        )

    def slider_disabled(self, handle: Locator) -> bool:
        return handle.evaluate("h => h.closest('.noUi-target').hasAttribute('disabled')")


class ClassicNotebook(Frontend):
    """The classic Notebook 6.5 with widgetsnbextension 3.6: ipywidgets 7's JavaScript, the one
    Colab's widget manager loads for ipywidgets 7.7.1 (jQuery UI sliders). The notebook model is
    ``Jupyter.notebook`` in the page."""

    name = "classic Notebook 6.5, ipywidgets 7"
    notebook = "#notebook-container"
    stderr = ".output_stderr"
    widget_output = ".output_subarea.jupyter-widgets-view"
    slider_handle = ".ui-slider-handle"
    state_js = """
    () => {
      const nb = window.Jupyter && Jupyter.notebook;
      if (!nb || !nb.kernel || typeof nb.get_cells !== 'function') { return null; }
      const out = [];
      let running = 0;
      nb.get_cells().forEach((c, i) => {
        if (c.cell_type !== 'code' || c.get_text().trim() === '') { return; }
        const n = c.input_prompt_number, outputs = c.output_area.outputs;
        if (n === '*') { running++; }
        out.push({
          index: i,
          count: (typeof n === 'number') ? n : null,
          errors: outputs.filter(o => o.output_type === 'error')
            .map(o => o.ename + ': ' + o.evalue),
          widgets: outputs.filter(o => o.data && o.data['application/vnd.jupyter.widget-view+json'])
            .length,
        });
      });
      const status = !nb.kernel.is_connected() ? 'disconnected'
        : nb.kernel_busy ? 'busy' : 'idle';
      return {status: status, cells: out, running: running,
              widgets_ready: nb.kernel.widget_manager !== undefined};
    }
    """

    barrier_js = """
    () => new Promise(resolve => {
      let replied = false, idle = false;
      const done = () => { if (replied && idle) { resolve(); } };
      Jupyter.notebook.kernel.execute('', {
        shell: {reply: () => { replied = true; done(); }},
        iopub: {status: m => {
          if (m.content.execution_state === 'idle') { idle = true; done(); }
        }},
      }, {silent: true, store_history: false});
    })
    """

    def url(self, server: Server, notebook: str) -> str:
        return f"{server.url}/notebooks/{notebook}?token={server.token}"

    def wait_ready(self, page: Page) -> None:
        page.wait_for_selector("#notebook-container .cell", timeout=90_000)

        def ready() -> bool:
            state = self.state(page) or {}
            return state.get("status") == "idle" and bool(state.get("widgets_ready"))

        wait_for(ready, 120, "the kernel to start and the widget manager to load")

    def run_all(self, page: Page) -> None:
        page.click('#menus a.dropdown-toggle:text-is("Cell")', timeout=10_000)
        page.click("#run_all_cells > a", timeout=10_000)

    def slider_fraction(self, handle: Locator) -> float:
        # jQuery UI places the handle at `left: X%` of the track (its instance is not reachable:
        # ipywidgets 7 bundles its own jQuery UI).
        return handle.evaluate("h => parseFloat(h.style.left) / 100")

    def slider_disabled(self, handle: Locator) -> bool:
        return handle.evaluate(
            "h => h.closest('.ui-slider').classList.contains('ui-slider-disabled')"
        )


# -- small tools --------------------------------------------------------------------------------


def wait_for(
    condition: Callable[[], object], timeout: float, what: str, every: float = 0.25
) -> Any:
    """Poll ``condition`` until it returns something true; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


@contextmanager
def artifacts_on_failure(page: Page, name: str, server: Server | None = None) -> Iterator[None]:
    """On failure: a screenshot of the page (and the server's log) in ``test-artifacts/``."""
    try:
        yield
    except BaseException:
        ARTIFACTS.mkdir(exist_ok=True)
        try:
            page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        except Exception as e:  # the page may be gone; the original failure matters more
            print(f"(screenshot failed: {e})")
        if server is not None and server.log.exists():
            shutil.copy(server.log, ARTIFACTS / f"{name}.server.log")
        raise


class PageErrors:
    """JavaScript errors of one page: uncaught ones, and those its code logs to the console.

    A resource that could not load from another host (the Colab badge: there is no network) is
    not the notebook's problem and is left out.
    """

    def __init__(self, page: Page, server: Server):
        self.errors: list[str] = []
        self._origin = server.url
        page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        page.on("console", self._console)

    def _console(self, message: Any) -> None:
        if message.type != "error":
            return
        where = (message.location or {}).get("url", "")
        if message.text.startswith("Failed to load resource") and not where.startswith(
            self._origin
        ):
            return
        self.errors.append(f"console: {message.text[:500]}")


# -- 1 and 2: Run All, then what went wrong -------------------------------------------------------


def run_all(page: Page, frontend: Frontend) -> tuple[dict, float]:
    """Run All from the menu; wait until the run is over. Returns (notebook state, seconds)."""
    t0 = time.monotonic()
    frontend.run_all(page)
    stable, first_over = 0, 0.0

    def done() -> dict | None:
        nonlocal stable, first_over
        state = frontend.state(page)
        over = (
            state is not None
            and state["status"] == "idle"
            and state["running"] == 0
            and (
                all(c["count"] is not None for c in state["cells"])
                or any(c["errors"] for c in state["cells"])
            )
        )
        if over and stable == 0:
            first_over = time.monotonic()
        stable = stable + 1 if over else 0
        return state if stable >= 4 else None  # idle for a whole second, not between two cells

    state = wait_for(done, RUN_TIMEOUT_S, "Run All to finish")
    return state, first_over - t0


def run_problems(page: Page, frontend: Frontend, state: dict) -> list[str]:
    """Error outputs, cells that never ran, tracebacks on stderr, widgets that did not draw."""
    problems = [f"cell {c['index']}: error output {e}" for c in state["cells"] for e in c["errors"]]
    not_run = [c["index"] for c in state["cells"] if c["count"] is None]
    if not_run:
        problems.append(f"code cells never ran: {not_run}")
    stderr = page.locator(f"{frontend.notebook} {frontend.stderr}").all_inner_texts()
    problems += [f"traceback on stderr: {t[:500]}" for t in stderr if TRACEBACK.search(t)]

    expected = sum(c["widgets"] for c in state["cells"])
    outputs = page.locator(f"{frontend.notebook} {frontend.widget_output}")

    def drawn() -> int:
        # a widget output has drawn when its view is in it, with no "Loading widget..." left
        return outputs.evaluate_all(
            "els => els.filter(e => e.querySelector('.widget-container, .widget-inline-hbox, "
            ".widget-image, .widget-html, .widget-button') "
            "&& !/Loading widget/.test(e.textContent)).length"
        )

    try:
        wait_for(lambda: drawn() >= expected, RENDER_TIMEOUT_S, f"{expected} widgets to draw")
    except AssertionError:
        problems.append(f"{expected} widget outputs, but only {drawn()} drew a widget")
    body = page.inner_text(frontend.notebook)
    problems += [f"the page says {s!r}" for s in WIDGET_FAILURES if s in body]
    return problems


# -- 3: every control of every explorer, from several starting states ---------------------------


class Control:
    """One control of an explorer, moved the way a student moves it."""

    kind: str
    label: str
    key_press = False  # True when a move is a key press (its latency is measured)

    def to_end(self, high: bool) -> None:
        """Put it at its maximum (``high``) or its minimum."""
        raise NotImplementedError

    def at_end(self, high: bool) -> bool:
        """Whether it is at its maximum (``high``) or its minimum."""
        raise NotImplementedError

    def disabled(self) -> bool:
        """Whether it is greyed out, so that a student cannot move it."""
        raise NotImplementedError

    def nudge(self) -> str:
        """Move it one step (down when it is at its maximum); say what was done."""
        raise NotImplementedError

    def undo(self) -> None:
        """Put back the last :meth:`nudge`."""
        raise NotImplementedError


class Slider(Control):
    """An IntSlider or SelectionSlider: arrow keys, Home and End on its handle."""

    kind = "slider"
    key_press = True

    def __init__(self, frontend: Frontend, handle: Locator, index: int):
        self.frontend, self.handle = frontend, handle
        box = handle.locator("xpath=ancestor::*[contains(@class,'widget-slider')][1]")
        self.readout = box.locator(".widget-readout").first
        self.label = (box.locator(".widget-label").first.inner_text() or f"slider {index}").strip()
        self._back = "ArrowLeft"

    def press(self, key: str) -> None:
        self.handle.focus()
        self.handle.press(key)

    def to_end(self, high: bool) -> None:
        self.press("End" if high else "Home")  # at the end already: no new value, no message

    def at_end(self, high: bool) -> bool:
        if self.disabled():  # one value left: it is at both ends
            return True
        fraction = self.frontend.slider_fraction(self.handle)
        return fraction >= 1 if high else fraction <= 0

    def disabled(self) -> bool:
        return self.frontend.slider_disabled(self.handle)

    def nudge(self) -> str:
        before = self.readout.inner_text().strip()
        at_max = self.frontend.slider_fraction(self.handle) >= 1
        key, self._back = ("ArrowLeft", "ArrowRight") if at_max else ("ArrowRight", "ArrowLeft")
        self.press(key)
        return f"slider {self.label!r} {before} -> {self.readout.inner_text().strip()} ({key})"

    def undo(self) -> None:
        self.press(self._back)


class Choice(Control):
    """A control that shows one of a few options: subclasses say how to read and choose one."""

    def __init__(self, locator: Locator, label: str):
        self.locator, self.label = locator, label
        self._previous = 0

    def index(self) -> int:
        raise NotImplementedError

    def count(self) -> int:
        raise NotImplementedError

    def choose(self, i: int) -> None:
        raise NotImplementedError

    def describe(self, i: int) -> str:
        return str(i)

    def disabled(self) -> bool:
        return self.locator.evaluate(
            "e => [e, ...e.querySelectorAll('input, button, select')].some(x => x.disabled)"
        )

    def to_end(self, high: bool) -> None:
        if not self.at_end(high):
            self.choose(self.count() - 1 if high else 0)

    def at_end(self, high: bool) -> bool:
        return self.index() == (self.count() - 1 if high else 0)

    def nudge(self) -> str:
        i, n = self.index(), self.count()
        self._previous = i
        target = i + 1 if i + 1 < n else i - 1
        self.choose(target)
        return f"{self.kind} {self.label!r} {self.describe(i)} -> {self.describe(target)}"

    def undo(self) -> None:
        self.choose(self._previous)


class Menu(Choice):
    """A Dropdown (a ``<select>``), changed as with the mouse: ``select_option``."""

    kind = "menu"

    def index(self) -> int:
        return self.locator.evaluate("s => s.selectedIndex")

    def count(self) -> int:
        return self.locator.evaluate("s => s.options.length")

    def choose(self, i: int) -> None:
        self.locator.select_option(index=i)

    def describe(self, i: int) -> str:
        return repr(self.locator.evaluate("(s, i) => s.options[i] ? s.options[i].text : i", i))


class Buttons(Choice):
    """ToggleButtons (the active one has ``mod-active``) or RadioButtons (a checked input)."""

    def __init__(self, locator: Locator, label: str, kind: str):
        super().__init__(locator, label)
        self.kind = kind
        self._items = locator.locator("button" if kind == "toggle buttons" else "input[type=radio]")

    def index(self) -> int:
        flags = self._items.evaluate_all(
            "els => els.map(e => e.classList.contains('mod-active') || e.checked === true)"
        )
        return flags.index(True) if True in flags else -1

    def count(self) -> int:
        return self._items.count()

    def choose(self, i: int) -> None:
        self._items.nth(i).click()


class Checkbox(Choice):
    kind = "checkbox"

    def index(self) -> int:
        return int(self.locator.is_checked())

    def count(self) -> int:
        return 2

    def choose(self, i: int) -> None:
        if self.index() != i:
            self.locator.click()


def _label_of(locator: Locator, fallback: str) -> str:
    label = locator.locator("xpath=ancestor-or-self::*[contains(@class,'widget-inline-hbox')][1]")
    text = label.locator(".widget-label").first
    return ((text.inner_text() if text.count() else "") or fallback).strip()


def controls_of(frontend: Frontend, explorer: Locator) -> list[Control]:
    """Every control of an explorer, in the order they are shown."""
    found: list[Control] = []
    handles = explorer.locator(frontend.slider_handle)
    found += [Slider(frontend, handles.nth(i), i) for i in range(handles.count())]
    selects = explorer.locator("select")
    found += [Menu(s, _label_of(s, f"menu {i}")) for i, s in enumerate(selects.all())]
    for css, kind in ((".widget-toggle-buttons", "toggle buttons"), (".widget-radio", "radio")):
        for i, group in enumerate(explorer.locator(css).all()):
            found.append(Buttons(group, _label_of(group, f"{kind} {i}"), kind))
    boxes = explorer.locator(".widget-checkbox input[type=checkbox]")
    found += [Checkbox(b, _label_of(b, f"checkbox {i}")) for i, b in enumerate(boxes.all())]
    return found


# Records, in the page, when the next key goes down and when the image's src next changes.
_LATENCY_PROBE_JS = """
img => {
  const rec = {key: null, change: null};
  img.__vitlearnLatency = rec;
  document.addEventListener('keydown', () => {
    if (rec.key === null) { rec.key = performance.now(); }
  }, {capture: true, once: true});
  const seen = new MutationObserver(() => { rec.change = performance.now(); seen.disconnect(); });
  seen.observe(img, {attributes: true, attributeFilter: ['src']});
}
"""


class ExplorerDriver:
    """Moves every control of one explorer from several starting states; collects problems."""

    def __init__(self, page: Page, frontend: Frontend, explorer: Locator, label: str):
        self.page, self.frontend, self.explorer, self.label = page, frontend, explorer, label
        self.image = explorer.locator("img").first
        self.done: list[str] = []
        self.problems: list[str] = []
        self.latencies_ms: list[float] = []

    def src(self) -> str | None:
        return self.image.get_attribute("src") if self.image.count() else None

    def drawn(self) -> bool:
        """The image is there and decoded (a picture, not a broken icon)."""
        return bool(self.image.count()) and self.image.evaluate(
            "img => img.complete && img.naturalWidth > 0 && img.naturalHeight > 0"
        )

    def status_error(self) -> str:
        texts = self.explorer.locator(".widget-html").all_inner_texts()
        return " ".join(t for t in texts if re.search(r"\w+(Error|Exception)\b", t))

    def settle(self) -> None:
        """Wait until the kernel is done with every move made so far, and its picture is shown.

        A kernel round trip (an empty execution, see :meth:`Frontend.kernel_barrier`) is handled
        after the control changes sent before it; the redraw it schedules for them runs on the
        kernel's next loop turn, before a second round trip is handled. So two round trips in a
        row that leave the picture as it was mean nothing is on its way (a change that the
        frontend held back while the kernel was busy goes out before the second one).
        """
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        unchanged = 0
        while unchanged < 2:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{self.label}: the picture kept changing for {SETTLE_TIMEOUT_S} s"
                )
            before = self.src()
            self.frontend.kernel_barrier(self.page)
            unchanged = unchanged + 1 if self.src() == before else 0

    def changed_from(self, before: str | None) -> float | None:
        """Seconds until the picture differs from ``before``; None if it did not in time."""
        t0 = time.monotonic()
        deadline = t0 + CHANGE_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.src() != before:
                return time.monotonic() - t0
            time.sleep(0.02)
        return None

    def check(self, control: Control, start: str) -> None:
        """Move ``control`` one step: the picture must change, with no error; then put it back."""
        self.settle()
        if control.disabled():
            # Greyed out: a student cannot move it. Fine where the other controls leave it a
            # single value (one token: nothing to choose); never as the explorer opens.
            if start == "initial state":
                self.problems.append(
                    f"{self.label}: {control.kind} {control.label!r} is greyed "
                    "out as the explorer opens"
                )
            self.done.append(f"{start}: {control.kind} {control.label!r} greyed out")
            return
        before = self.src()
        if control.key_press:
            self.image.evaluate(_LATENCY_PROBE_JS)
        what = control.nudge()
        took = self.changed_from(before)
        where = f"{self.label}, {start}: {what}"
        error = self.status_error()
        if error:
            self.problems.append(f"{where}: the explorer reports {error!r}")
        elif took is None:
            self.problems.append(f"{where}: the image did not change within {CHANGE_TIMEOUT_S} s")
        elif not self.drawn():
            self.problems.append(f"{where}: the new image does not show")
        else:
            if control.key_press:
                rec = self.image.evaluate("img => img.__vitlearnLatency")
                if rec and rec["key"] is not None and rec["change"] is not None:
                    self.latencies_ms.append(rec["change"] - rec["key"])
        self.done.append(f"{start}: {what}")
        moved_to = self.src()
        control.undo()
        if took is not None:  # let the redraw of the undo land before anything else moves
            self.changed_from(moved_to)

    def run(self) -> None:
        self.explorer.scroll_into_view_if_needed()
        try:
            wait_for(self.drawn, RENDER_TIMEOUT_S, f"{self.label}'s image")
        except AssertionError as e:
            self.problems.append(str(e))
            return
        shown, natural = self.image.evaluate("img => [img.clientWidth, img.naturalWidth]")
        if shown > natural + 1:
            self.problems.append(
                f"{self.label}: its {natural}-pixel picture is blown up to {shown} pixels (blurred)"
            )
        controls = controls_of(self.frontend, self.explorer)
        if not controls:
            self.problems.append(f"{self.label}: no control found to exercise")
            return
        starts: list[tuple[str, bool | None]] = [("initial state", None)]
        if len(controls) > 1:
            starts += [("others at their maximum", True), ("others at their minimum", False)]
        for start, high in starts:
            for control in controls:
                if high is not None:
                    others = [c for c in controls if c is not control]
                    for other in others:
                        other.to_end(high)
                    self.settle()  # bounds that depend on the others have arrived too
                    missed = [c.label for c in others if not c.at_end(high)]
                    if missed:
                        self.problems.append(
                            f"{self.label}, {start}: could not move {missed} there"
                        )
                self.check(control, start)
        sliders = [c for c in controls if isinstance(c, Slider) and not c.disabled()]
        if sliders:
            self.burst(sliders[0])

    def image_hash(self) -> str:
        return self.image.evaluate(_IMAGE_HASH_JS)

    def burst(self, slider: Slider, presses: int = BURST_PRESSES) -> None:
        """Key presses in a row (a drag, for the kernel) must end on the picture of the last value.

        The explorer draws once for a burst of changes (its base class coalesces them on the
        kernel's event loop); this checks that the picture it ends on is the one a slow student,
        one step at a time, gets for the same value.
        """
        slider.to_end(False)
        self.settle()
        for _ in range(presses):  # the reference: one step at a time, each one drawn
            slider.press("ArrowRight")
            self.settle()
        reference = (slider.readout.inner_text().strip(), self.image_hash())
        slider.to_end(False)
        self.settle()
        self.image.evaluate(_COUNT_DRAWS_JS)
        for _ in range(presses):
            slider.press("ArrowRight")
        self.settle()
        value, digest = slider.readout.inner_text().strip(), self.image_hash()
        draws = self.image.evaluate("img => img.__vitlearnDraws.count")
        what = f"burst of {presses} key presses on slider {slider.label!r} -> {value}"
        self.done.append(f"{what}: {draws} redraws")
        if (value, digest) != reference:
            self.problems.append(
                f"{self.label}: {what}: the picture is not the one drawn for {reference[0]} one "
                "step at a time (a change of the burst was lost)"
            )


# Hash of the picture's PNG bytes, read back from its blob URL.
_IMAGE_HASH_JS = """
async img => {
  const bytes = await (await fetch(img.src)).arrayBuffer();
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return [...digest].map(b => b.toString(16).padStart(2, '0')).join('');
}
"""
# Counts the picture's redraws (changes of its src) from now on.
_COUNT_DRAWS_JS = """
img => {
  if (img.__vitlearnDraws) { img.__vitlearnDraws.observer.disconnect(); }
  const draws = {count: 0};
  draws.observer = new MutationObserver(() => { draws.count++; });
  draws.observer.observe(img, {attributes: true, attributeFilter: ['src']});
  img.__vitlearnDraws = draws;
}
"""


# -- 4: the quiz --------------------------------------------------------------------------------


def quiz_problems(quiz: Locator, answers: Mapping[int, str]) -> list[str]:
    """Check with nothing chosen, with the right answers, then with one wrong answer."""
    problems: list[str] = []
    quiz.scroll_into_view_if_needed()
    groups = quiz.locator(".widget-radio-box")
    feedback = quiz.locator(".widget-html").last
    button = quiz.locator("button", has_text="Check")
    if groups.count() != len(answers):
        return [
            f"quiz: {groups.count()} questions with options on the page, expected {len(answers)}"
        ]

    def check_says(*needles: str) -> str | None:
        before = feedback.inner_text()
        button.click()
        try:
            return wait_for(
                lambda: (
                    (t := feedback.inner_text()) != before and all(n in t for n in needles) and t
                ),
                CHANGE_TIMEOUT_S,
                f"the quiz feedback to say {needles}",
            )
        except AssertionError:
            problems.append(
                f"quiz: after Check the feedback is {feedback.inner_text()!r}, "
                f"expected it to contain {needles}"
            )
            return None

    def pick(question: int, letter: str) -> None:
        group = groups.nth(question - 1)
        group.locator("label", has_text=re.compile(rf"^\s*{letter}\)")).locator("input").check()

    if feedback.inner_text().strip():
        problems.append(f"quiz: feedback before any Check: {feedback.inner_text()!r}")
    check_says("not done yet")
    for question, letter in answers.items():
        pick(question, letter)
    check_says(f"{len(answers)} / {len(answers)} right")
    first = min(answers)
    wrong = next(x for x in "abcd" if x != answers[first])
    pick(first, wrong)
    check_says(f"✗ {first}: not {wrong})", f"{len(answers) - 1} / {len(answers)} right")
    return problems


# -- the whole test of one notebook -------------------------------------------------------------


def check_notebook(
    browser: Any, server: Server, frontend: Frontend, path: Path, quiz_answers: Mapping[int, str]
) -> None:
    """Open ``path`` (already in the server's root), Run All, and check everything above."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    errors = PageErrors(page, server)
    try:
        with artifacts_on_failure(page, f"{type(frontend).__name__}-{path.stem}", server):
            page.goto(frontend.url(server, path.name))
            frontend.wait_ready(page)
            state, seconds = run_all(page, frontend)
            FIGURES.run_all_s.setdefault(frontend.name, {})[path.name] = seconds
            print(f"{path.name}: Run All took {seconds:.1f} s ({frontend.name})")

            problems = run_problems(page, frontend, state)
            assert not problems, f"{path.name} after Run All:\n" + "\n".join(problems)

            explorers = page.locator(f"{frontend.notebook} .vitlearn-explorer")
            for i in range(explorers.count()):
                driver = ExplorerDriver(page, frontend, explorers.nth(i), f"explorer #{i}")
                driver.run()
                FIGURES.key_to_image_ms.setdefault(frontend.name, []).extend(driver.latencies_ms)
                print(f"{path.name} explorer #{i}: {len(driver.done)} moves: {driver.done}")
                problems += driver.problems
            for quiz in page.locator(f"{frontend.notebook} .vitlearn-quiz").all():
                found = quiz_problems(quiz, quiz_answers)
                print(
                    f"{path.name} quiz: Check with nothing chosen, all right, one wrong: "
                    f"{len(found)} problems"
                )
                problems += found
            problems += errors.errors
            assert not problems, f"{path.name} ({frontend.name}):\n" + "\n".join(problems)
    finally:
        context.close()
        server.shutdown_kernels()
