"""The pattern every explorer follows.

An explorer draws once into its own matplotlib ``Figure`` (not pyplot, so nothing is shown twice),
then each control change calls :meth:`Explorer.update`, which changes the existing artists
(``set_data``, ``set_array``) and returns what it drew as plain values: a test can call it without
a kernel. :meth:`Explorer.widget` wires the controls to ``update`` and shows the figure as a PNG in a
core ``ipywidgets.Image``, which works the same on ipywidgets 7.7 (Colab) and 8.x with the inline
backend. :meth:`Explorer.static_figure` returns the figure for a printed copy of the course.
"""

from __future__ import annotations

import base64
import io
from typing import Any

from matplotlib.figure import Figure

from ._static import display_static, live_note, static_widgets


class Explorer:
    """Base class: subclasses set ``self.fig`` and implement ``controls`` and ``update``."""

    fig: Figure
    dpi: int = 80

    def controls(self) -> dict[str, Any]:
        """The ipywidgets controls, keyed by the ``update`` argument each one sets."""
        raise NotImplementedError

    def update(self, **values: Any) -> dict[str, Any]:
        """Redraw for ``values`` by changing existing artists; return what was drawn."""
        raise NotImplementedError

    def render_png(self) -> bytes:
        """The figure as PNG bytes (fast zlib level 1: it is redrawn on every control change)."""
        buf = io.BytesIO()
        self.fig.savefig(buf, format="png", dpi=self.dpi, pil_kwargs={"compress_level": 1})
        return buf.getvalue()

    def static_figure(self, **values: Any) -> Figure:
        """The figure drawn for ``values`` (defaults where omitted), for printed copies."""
        if values:
            self.update(**values)
        return self.fig

    def widget(self) -> Any:
        """A live widget: the controls above the figure, redrawn on every change."""
        import ipywidgets as W

        controls = self.controls()
        self.update(**{k: c.value for k, c in controls.items()})
        image = W.Image(value=self.render_png(), format="png")
        status = W.HTML(value="")

        def on_change(_change: Any) -> None:
            try:
                self.update(**{k: c.value for k, c in controls.items()})
                image.value = self.render_png()
                status.value = ""
            except Exception as e:  # keep the widget alive and say what went wrong
                status.value = f"<span style='color:#b00'>{type(e).__name__}: {e}</span>"

        for c in controls.values():
            c.observe(on_change, names="value")
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
