"""The pattern every explorer follows, and the one place that talks to ipywidgets.

An explorer draws once into its own matplotlib ``Figure`` (not pyplot, so nothing is shown twice)
with one Agg canvas that it keeps. The base class owns the state, the values of the controls:

- :meth:`Explorer.update` rejects unknown controls, asks the subclass to check the new values
  (:meth:`Explorer._validate`) and commits them only once they are known to be good, then has the
  subclass change the existing artists (:meth:`Explorer._draw`: ``set_data``, ``set_array``,
  ``set_text``) and returns what was drawn as plain values, so a test can call it without a kernel;
- :meth:`Explorer.render_png` draws the figure on the kept canvas and encodes it. Artists the
  subclass registers with :meth:`Explorer._animate` are the only ones redrawn on a control change:
  the rest of the figure (axes, ticks, labels) is drawn once into a cached background and blitted;
- :meth:`Explorer.widget` wires the controls to ``update`` and shows the figure as a PNG in a core
  ``ipywidgets.Image``, the same on ipywidgets 7.7 (Colab) and 8.x with the inline backend.
  Changes that pile up while a slider is dragged are coalesced: the picture is drawn once for the
  latest values, not once per intermediate value;
- :meth:`Explorer.static_figure` returns the figure for a printed copy of the course.
"""

from __future__ import annotations

import asyncio
import base64
import io
import threading
from collections.abc import Callable
from typing import Any

from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .._state import one_thread
from ..editions.static import display_static, live_note, static_widgets

__all__ = ["Explorer"]


class Explorer:
    """Base class. A subclass sets ``self.fig`` and ``self.state`` (the controls' starting values),
    implements :meth:`controls`, :meth:`_draw` and, if some values can be wrong, :meth:`_validate`,
    and calls ``self.update()`` once at the end of its ``__init__``."""

    fig: Figure
    state: dict[str, Any]
    dpi: int = 80

    # -- what a subclass provides ------------------------------------------------------------

    def controls(self) -> dict[str, Any]:
        """The ipywidgets controls, keyed by the state entry each one sets."""
        raise NotImplementedError

    def _validate(self, state: dict[str, Any]) -> dict[str, Any]:
        """Check a complete candidate state; return it (normalised) or raise. Changes nothing."""
        return state

    def _control_bounds(self) -> dict[str, dict[str, Any]]:
        """Control attributes that depend on the state, e.g. ``{"k": {"max": 12}}`` when only 12
        tokens exist: a control never offers values that would change nothing."""
        return {}

    def _draw(self, state: dict[str, Any]) -> dict[str, Any]:
        """Change the existing artists to show ``state`` (already validated); return what was
        drawn."""
        raise NotImplementedError

    # -- state -------------------------------------------------------------------------------

    def update(self, **values: Any) -> dict[str, Any]:
        """Redraw for ``values`` (controls not named keep their values); return what was drawn.

        Raises ``TypeError`` for a control the explorer does not have and whatever
        :meth:`_validate` raises for a bad value; either way the state is left as it was.
        """
        unknown = set(values) - set(self.state)
        if unknown:
            raise TypeError(f"unknown control(s) {sorted(unknown)}; known: {sorted(self.state)}")
        # small tensors: a second thread only adds overhead, more so under load
        with self._lock(), one_thread():
            state = self._validate({**self.state, **values})
            drawn = self._draw(state)
            self.state = state
        return drawn

    def _lock(self) -> threading.RLock:
        """One lock per explorer around changing and drawing its figure. With ipykernel 7,
        JupyterLab sends widget messages to a kernel subshell, a thread of its own, so a slider's
        redraw can run while a cell calls :meth:`update` or :meth:`static_figure`."""
        return self.__dict__.setdefault("_mutex", threading.RLock())

    # -- drawing -----------------------------------------------------------------------------

    def _animate(self, *artists: Artist) -> None:
        """Register the artists that change on a control change; the rest is drawn once, cached.

        A subclass that also changes something not registered here (axis limits, ticks) must
        call :meth:`_invalidate` so that the cached background is drawn again.
        """
        animated = self.__dict__.setdefault("_animated", [])
        for artist in artists:
            artist.set_animated(True)
            animated.append(artist)
        self._invalidate()

    def _invalidate(self) -> None:
        """Drop the cached background: the next render draws the whole figure."""
        self.__dict__["_background"] = None

    def _canvas(self) -> FigureCanvasAgg:
        canvas = self.__dict__.get("_agg")
        if canvas is None or canvas.figure is not self.fig:
            canvas = self.__dict__["_agg"] = FigureCanvasAgg(self.fig)
            self.fig.set_dpi(self.dpi)
            self._invalidate()
        return canvas

    def render_rgba(self) -> Any:
        """Draw the figure on the explorer's canvas; its pixels as an ``(H, W, 4)`` uint8 array."""
        import numpy as np

        with self._lock():
            canvas = self._canvas()
            animated: list[Artist] = self.__dict__.get("_animated", [])
            if self.__dict__.get("_background") is None or not animated:
                canvas.draw()  # everything but the animated artists
                self.__dict__["_background"] = (
                    canvas.copy_from_bbox(self.fig.bbox) if animated else None
                )
            else:
                canvas.restore_region(self.__dict__["_background"])
            for artist in animated:
                if artist.get_visible():
                    self.fig.draw_artist(artist)
            return np.array(canvas.buffer_rgba())  # a copy: the canvas is drawn on again later

    def render_png(self) -> bytes:
        """The figure as PNG bytes (zlib level 1: it is encoded again on every control change)."""
        from PIL import Image

        rgba = self.render_rgba()
        buf = io.BytesIO()
        Image.fromarray(rgba[..., :3]).save(buf, format="png", compress_level=1)
        return buf.getvalue()

    def static_figure(self, **values: Any) -> Figure:
        """The figure drawn for ``values`` (current values where omitted), for printed copies.

        Animated artists are drawn too (they are made ordinary again for ``savefig``).
        """
        with self._lock():
            if values:
                self.update(**values)
            for artist in self.__dict__.get("_animated", []):
                artist.set_animated(False)
            self.__dict__["_animated"] = []
            self._invalidate()
            return self.fig

    # -- the live widget ---------------------------------------------------------------------

    def widget(self) -> Any:
        """A live widget: the controls above the figure, redrawn on every change."""
        import ipywidgets as W

        controls = self.controls()
        self.update(**{k: c.value for k, c in controls.items()})
        # Shown at its own size: a column box stretches its children to its width, which would
        # blow the PNG up (a 400-pixel figure drawn 960 wide, blurred) on ipywidgets 7 and 8 alike;
        # on a narrower screen it still shrinks to fit.
        image = W.Image(
            value=self.render_png(),
            format="png",
            layout=W.Layout(align_self="flex-start", max_width="100%"),
        )
        status = W.HTML(value="")

        greyed: set[str] = set()  # sliders disabled here because their range is one value

        def bound() -> None:
            for name, attrs in self._control_bounds().items():
                for attr, value in attrs.items():
                    if getattr(controls[name], attr) != value:
                        setattr(controls[name], attr, value)  # may clamp the value: one more change
            # A slider whose bounds leave it one value (one token, nothing to choose) would move
            # and change nothing: grey it out until it has values to offer again.
            for name, c in controls.items():
                if not (hasattr(c, "min") and hasattr(c, "max")):
                    continue
                single = c.max <= c.min
                if single and not c.disabled:
                    c.disabled = True
                    greyed.add(name)
                elif not single and name in greyed:
                    c.disabled = False
                    greyed.discard(name)

        def redraw() -> None:
            try:
                with self._lock():  # the picture of these values, not of a cell's in between
                    self.update(**{k: c.value for k, c in controls.items()})
                    png = self.render_png()
                image.value = png
                status.value = ""
                bound()
            except Exception as e:  # keep the widget alive and say what went wrong
                status.value = f"<span style='color:#b00'>{type(e).__name__}: {e}</span>"

        bound()
        on_change = _coalesced(redraw)
        for c in controls.values():
            c.observe(lambda _change: on_change(), names="value")
        box = W.VBox([W.HBox(list(controls.values())), image, status])
        box.add_class("vitlearn-explorer")
        return box

    def _static_bundles(self) -> list[dict[str, Any]]:
        """What a static page shows instead of the widget (see ``widgets/_static.py``).

        The figure the widget starts with, as a PNG, then one line saying where the live version
        runs. Each item is a display bundle (mime type -> data).
        """
        controls = self.controls()
        try:
            self.update(**{k: c.value for k, c in controls.items()})  # widget()'s first figure
        finally:
            for c in controls.values():
                c.close()  # a static page has no frontend for them: leave no widget behind
        png = base64.b64encode(self.render_png()).decode("ascii")
        return [{"image/png": png, "text/plain": f"<{type(self).__name__} figure>"}, live_note()]

    def _ipython_display_(self) -> None:
        from IPython.display import display

        if static_widgets():  # run by `python -m vitlearn build-site`: no kernel behind the page
            display_static(*self._static_bundles())
            return
        display(self.widget())


def _coalesced(fn: Callable[[], None]) -> Callable[[], None]:
    """``fn`` run once after a burst of calls, on the running event loop's next turn.

    In a kernel, slider moves arrive as messages; those already waiting are handled before the
    event loop turns again, so a burst of moves draws one picture, of the latest values. Without
    a running loop (a plain script, a test) ``fn`` runs at once, every time.
    """
    pending = False

    def flush() -> None:
        nonlocal pending
        pending = False
        fn()

    def call() -> None:
        nonlocal pending
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            fn()
            return
        if not pending:
            pending = True
            loop.call_soon(flush)

    return call
