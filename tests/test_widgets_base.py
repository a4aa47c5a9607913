"""The Explorer base class: validated state, one canvas, blitting that draws what a full draw draws,
coalesced slider events, and controls that never offer a value that changes nothing."""

from __future__ import annotations

import asyncio
import inspect

import numpy as np
import pytest
from explorer_contract import assert_every_control_changes_the_picture

from vitlearn import widgets
from vitlearn.widgets import Explorer, PatchExplorer
from vitlearn.widgets._base import _coalesced

EXPLORERS = sorted(
    (
        cls
        for _, cls in inspect.getmembers(widgets, inspect.isclass)
        if issubclass(cls, Explorer) and cls is not Explorer
    ),
    key=lambda c: c.__name__,
)

# for each explorer: (a value that is wrong, the error it must raise, a fragment of its message),
# and a good change
BAD = {
    "AnyResolutionExplorer": ({"size": (50, 50)}, ValueError, "size (50, 50) was not measured"),
    "FrequencyExplorer": ({"channel": 64}, ValueError, "channel must be in 0..63, got 64"),
    "JigsawExplorer": ({"seed": -1}, ValueError, "seed must be in 0..30, got -1"),
    "PatchExplorer": ({"patch_size": 5}, ValueError, "patch_size 5 does not divide the image"),
    "PatchSizeExplorer": ({"patch_size": 99}, ValueError, "patch_size 99 is not one of"),
    "ReconstructionExplorer": ({"dim": 0}, ValueError, "dim must be in 1..384, got 0"),
    "ResampleExplorer": ({"method": "cubic"}, ValueError, "unknown method 'cubic'"),
    "SimilarityExplorer": ({"row": 99}, ValueError, "(row, col) = (99, 3) is outside the 8x8"),
}
GOOD = {
    "AnyResolutionExplorer": {"scheme": "RoPE, DINOv3 box", "size": (48, 64)},
    "FrequencyExplorer": {"channel": 5, "convention": "timm"},
    "JigsawExplorer": {"seed": 4},
    "PatchExplorer": {"patch_size": 16, "k": 5},
    "PatchSizeExplorer": {"patch_size": 12, "filter": 3},
    "ReconstructionExplorer": {"dim": 20, "image": "cat"},
    "ResampleExplorer": {"size": 9, "channel": 3, "method": "nearest"},
    "SimilarityExplorer": {"kind": "factorized (random init)", "row": 1, "col": 6},
}


@pytest.fixture(scope="module", params=EXPLORERS, ids=lambda c: c.__name__)
def explorer(request) -> Explorer:
    return request.param()


def test_every_explorer_is_listed() -> None:
    assert {c.__name__ for c in EXPLORERS} == set(BAD) == set(GOOD)


def test_bad_values_and_unknown_controls_leave_the_state_as_it_was(explorer: Explorer) -> None:
    name = type(explorer).__name__
    before = dict(explorer.state)
    values, error, fragment = BAD[name]
    with pytest.raises(error) as e:
        explorer.update(**values)
    assert fragment in str(e.value), str(e.value)
    assert explorer.state == before
    with pytest.raises(TypeError, match="unknown control"):
        explorer.update(colour="red")
    assert explorer.state == before
    explorer.update(**GOOD[name])
    assert all(explorer.state[k] == v for k, v in GOOD[name].items())


def test_blitting_draws_what_a_full_draw_draws(explorer: Explorer) -> None:
    """After a change, the fast path (cached background + changed artists) gives the same pixels
    as drawing the whole figure again."""
    name = type(explorer).__name__
    explorer.render_png()
    explorer.update(**GOOD[name])
    fast = explorer.render_rgba().copy()
    explorer._invalidate()
    full = explorer.render_rgba().copy()
    assert fast.shape == full.shape
    assert np.array_equal(fast, full)


def test_one_canvas_per_explorer(explorer: Explorer) -> None:
    explorer.render_png()
    canvas = explorer._canvas()
    explorer.update(**GOOD[type(explorer).__name__])
    png = explorer.render_png()
    assert explorer._canvas() is canvas
    assert png.startswith(b"\x89PNG")


def test_static_figure_draws_everything(explorer: Explorer) -> None:
    import io

    fig = explorer.static_figure()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    assert buf.getvalue().startswith(b"\x89PNG")
    assert not any(a.get_animated() for a in fig.findobj())


def test_controls_match_the_state(explorer: Explorer) -> None:
    explorer.update()
    controls = explorer.controls()
    assert set(controls) <= set(explorer.state)
    for key, control in controls.items():
        assert control.value == explorer.state[key], key


def test_bursts_of_changes_draw_once_with_the_latest_values() -> None:
    drawn: list[int] = []
    value = {"v": 0}
    on_change = _coalesced(lambda: drawn.append(value["v"]))

    async def drag() -> None:
        for v in range(1, 11):  # ten slider positions arrive before the loop turns
            value["v"] = v
            on_change()
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        value["v"] = 42
        on_change()
        await asyncio.sleep(0)

    asyncio.run(drag())
    assert drawn == [10, 42]
    on_change()  # no running loop: at once
    assert drawn == [10, 42, 42]


def test_the_widget_redraws_after_a_burst_and_bounds_its_controls() -> None:
    ex = PatchExplorer(size=(96, 128), patch_size=8, k=20)
    box = ex.widget()
    controls = dict(zip(("image", "patch_size", "k"), box.children[0].children, strict=True))
    image = box.children[1]

    async def drag() -> None:
        before = image.value
        for p in (16, 32):  # two moves of the patch-size slider, then the loop turns once
            controls["patch_size"].value = p
        assert image.value == before  # not drawn yet
        await asyncio.sleep(0)
        await asyncio.sleep(0)

    asyncio.run(drag())
    assert ex.state["patch_size"] == 32
    assert controls["k"].max == 12  # 3 x 4 tokens: the slider offers no value beyond them
    assert controls["k"].value == 12 and ex.state["k"] == 12
    assert box.children[2].value == ""  # no error in the status line


def test_every_control_changes_the_picture_from_every_corner(explorer: Explorer) -> None:
    """From the start and with every other control at its first or last value, moving a control
    one step changes the picture (the contract, in tests/explorer_contract.py, that the widget
    tests also check on the explorers as the notebooks build them)."""
    assert_every_control_changes_the_picture(explorer)


class _Counting(Explorer):
    """A minimal explorer: ``n`` things, of which a slider shows the first ``k`` (``k <= n``)."""

    def __init__(self) -> None:
        from matplotlib.figure import Figure

        self.fig = Figure(figsize=(2, 1))
        self._text = self.fig.text(0.5, 0.5, "")
        self.state = {"n": 4, "k": 2}
        self.update()

    def controls(self):
        import ipywidgets as W

        return {
            "n": W.IntSlider(value=self.state["n"], min=1, max=8),
            "k": W.IntSlider(value=self.state["k"], min=1, max=self.state["n"]),
        }

    def _validate(self, state):
        return {"n": state["n"], "k": min(state["k"], state["n"])}

    def _control_bounds(self):
        return {"k": {"max": self.state["n"]}}

    def _draw(self, state):
        self._text.set_text(f"{state['k']} of {state['n']}")
        return dict(state)


def test_a_slider_left_with_one_value_is_greyed_out_until_it_has_more() -> None:
    box = _Counting().widget()
    n, k = box.children[0].children
    assert not k.disabled
    n.value = 1  # one thing: "k" has nothing to choose
    assert (k.min, k.max, k.value) == (1, 1, 1) and k.disabled
    n.value = 5
    assert k.max == 5 and not k.disabled and not n.disabled


def test_every_title_is_inside_the_figure(explorer: Explorer) -> None:
    """No title is cut off at the figure's edge, as the explorer opens and after a change (a
    layout computed while a title was still empty leaves it no room)."""
    name = type(explorer).__name__
    for values in ({}, GOOD[name]):
        explorer.update(**values)
        explorer.render_rgba()
        renderer = explorer._canvas().get_renderer()
        fig = explorer.fig.bbox
        for text in [ax.title for ax in explorer.fig.axes] + list(explorer.fig.texts):
            if not (text.get_visible() and text.get_text().strip()):
                continue
            box = text.get_window_extent(renderer)
            inside = (
                box.x0 >= fig.x0 - 1
                and box.x1 <= fig.x1 + 1
                and box.y0 >= fig.y0 - 1
                and box.y1 <= fig.y1 + 1
            )
            assert inside, (
                f"{name} {values}: title {text.get_text()!r} at {box} leaves the figure {fig}"
            )
