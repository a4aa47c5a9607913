"""The explorers' shared contract, for the widget tests to check (not a test module itself).

:func:`assert_every_control_changes_the_picture` is run by ``test_widgets_base.py`` on every
explorer as it opens, and by the widget tests of chapters 1, 2 and 4 on the explorers as the
notebooks build them.
"""

from __future__ import annotations

import numpy as np

from vitlearn.widgets import Explorer


def _values(control) -> list:
    """Every value a control offers (slider positions, menu options), in order."""
    options = getattr(control, "options", None)
    if options:
        return [o[1] if isinstance(o, tuple) else o for o in options]
    if isinstance(control.value, bool):
        return [False, True]
    return list(range(control.min, control.max + 1, getattr(control, "step", 1) or 1))


def assert_every_control_changes_the_picture(explorer: Explorer) -> None:
    """From the start and with every other control at its first or last value, moving a control
    one step changes the picture: no control is dead in some state (a slider past the last token,
    a method menu that makes no difference at some size)."""
    explorer.update(**{k: c.value for k, c in explorer.controls().items()})
    start = dict(explorer.state)
    controls = explorer.controls()
    assert controls, f"{type(explorer).__name__} has no controls: nothing to check"
    corners = [{}]
    for other, c in controls.items():
        values = _values(c)
        corners += [{other: values[0]}, {other: values[-1]}]
    dead = []
    for corner in corners:
        explorer.update(**{**{k: start[k] for k in controls}, **corner})
        for name in controls:
            if name in corner:
                continue
            bounds = explorer._control_bounds().get(name, {})
            values = [
                v
                for v in _values(controls[name])
                if bounds.get("max") is None or v <= bounds["max"]
            ]
            here = explorer.state[name]
            i = values.index(here) if here in values else 0
            other = values[i + 1] if i + 1 < len(values) else values[i - 1]
            before = explorer.render_rgba().copy()
            explorer.update(**{name: other})
            if np.array_equal(explorer.render_rgba(), before):
                dead.append(f"{name}: {here!r} -> {other!r} with {corner or 'the start'}")
            explorer.update(**{name: here})
    explorer.update(**{k: start[k] for k in controls})
    assert not dead, f"{type(explorer).__name__}: controls that change nothing:\n" + "\n".join(dead)
