"""How the interactive parts of the course look on a static page (the course's website).

A web page built from the executed notebooks (``python -m vitlearn build-site``) has no kernel
behind it, so a live ipywidget there is at best an empty box. The site build starts every kernel
with the environment variable :data:`STATIC_ENV` set; in that mode an explorer shows its first
figure as a PNG and one line saying where the live version runs, and the quiz shows its questions
as text. Live frontends (JupyterLab, Colab, the classic Notebook) never see this mode: the
variable is unset there.

The build also sets :data:`NOTEBOOK_ENV` to the notebook's path in the repository, so that line
can link to this very notebook in Colab and on Binder.
"""

from __future__ import annotations

import html
import os
from typing import Any

from .course import binder_url, colab_url

STATIC_ENV = "VITLEARN_STATIC_WIDGETS"
"""Set (to anything but ``""`` or ``"0"``) by the site build: widgets show a static form."""

NOTEBOOK_ENV = "VITLEARN_NOTEBOOK"
"""The executed notebook's path in the repository, e.g. ``notebooks/01_patches.ipynb``."""

NOTE_CLASS = "vitlearn-static-note"
"""CSS class of the "live version runs in ..." line (the site's browser test looks for it)."""


def static_widgets() -> bool:
    """True while a notebook is executed for the static site (``$VITLEARN_STATIC_WIDGETS`` set)."""
    return os.environ.get(STATIC_ENV, "") not in ("", "0")


def live_note(lead: str = "A picture of the explorer: the live version") -> dict[str, str]:
    """The one line under a static widget, as a display bundle (``text/html`` and ``text/plain``).

    The line is ``lead`` + " runs in Colab, on Binder or in JupyterLab.". With :data:`NOTEBOOK_ENV`
    set, "Colab" and "Binder" link to this notebook there (the same links as the notebook's badge
    and the README's Binder badge).
    """
    notebook = os.environ.get(NOTEBOOK_ENV, "").strip("/")
    if notebook:
        colab = f'<a href="{html.escape(colab_url(notebook))}">Colab</a>'
        binder = f'<a href="{html.escape(binder_url(notebook))}">Binder</a>'
    else:
        colab, binder = "Colab", "Binder"
    rest = "runs in {}, on {} or in JupyterLab."
    return {
        "text/html": (
            f'<p class="{NOTE_CLASS}">{html.escape(lead)} {rest.format(colab, binder)}</p>'
        ),
        "text/plain": f"{lead} {rest.format('Colab', 'Binder')}",
    }


def display_static(*bundles: dict[str, Any]) -> None:
    """Display each bundle (mime type -> data) as one output, exactly as given."""
    from IPython.display import display

    for bundle in bundles:
        display(bundle, raw=True)
