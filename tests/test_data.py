"""The synthetic scenes: deterministic, balanced, resolution-free, and position-only for
"relation"."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from vitlearn import make_position_task, make_scenes, render_scenes, task_info
from vitlearn.data import (
    BACKGROUND,
    BLUE,
    RED,
    RELATION_CELLS,
    STRIPE_PAIRS,
    TASKS,
    Scenes,
    _dark_fraction,
    stripe_contrast,
    without_stripes,
)


@pytest.mark.parametrize("task", sorted(TASKS))
def test_same_seed_same_scenes_other_seed_other_scenes(task):
    a = make_scenes(40, seed=3, task=task)
    b = make_scenes(40, seed=3, task=task)
    c = make_scenes(40, seed=4, task=task)
    assert np.array_equal(a.centers, b.centers) and np.array_equal(a.labels, b.labels)
    assert not np.array_equal(a.centers, c.centers)
    assert torch.equal(render_scenes(a, 16), render_scenes(b, 16))


@pytest.mark.parametrize("task", sorted(TASKS))
@pytest.mark.parametrize("n", [12, 37])
def test_labels_are_balanced(task, n):
    k = task_info(task).num_classes
    counts = np.bincount(make_scenes(n, seed=1, task=task).labels, minlength=k)
    assert counts.max() - counts.min() <= 1 and counts.sum() == n


def test_task_info():
    info = task_info("relation")
    assert info.num_classes == 4 and info.chance == 0.25
    assert info.class_names[0] == "red left of blue"
    assert task_info("shape").num_classes == 3
    with pytest.raises(ValueError, match="unknown task 'colour'; known: 'relation', 'shape'"):
        task_info("colour")


def test_render_shape_range_dtype():
    scenes = make_scenes(5, seed=0)
    for size, hw in ((32, (32, 32)), (48, (48, 48)), ((16, 24), (16, 24))):
        img = render_scenes(scenes, size)
        assert img.shape == (5, 3, *hw) and img.dtype == torch.float32
        assert img.min() >= 0.0 and img.max() <= 1.0


@pytest.mark.parametrize("task", sorted(TASKS))
def test_the_same_scene_at_every_resolution(task):
    scenes = make_scenes(30, seed=2, task=task)
    x32 = render_scenes(scenes, 32)
    x64 = render_scenes(scenes, 64)
    down = F.avg_pool2d(x64, 2)  # each 32 px pixel is the mean of the 2x2 pixels it covers
    assert (down - x32).abs().mean() < 0.005
    # a mismatched scene is far away: the comparison can fail
    other = render_scenes(make_scenes(30, seed=9, task=task), 32)
    assert (other - x32).abs().mean() > 0.02


def test_relation_labels_match_the_geometry():
    scenes = make_scenes(200, seed=5)
    d = scenes.centers[:, 0] - scenes.centers[:, 1]  # red minus blue: (dy, dx)
    dy, dx = d[:, 0], d[:, 1]
    horizontal = np.abs(dx) > np.abs(dy)
    expected = np.where(horizontal, np.where(dx < 0, 0, 1), np.where(dy < 0, 2, 3))
    assert np.array_equal(expected, scenes.labels)
    # both shapes drawn where they should be: red pixels around the red centre
    img = render_scenes(scenes.subset(slice(0, 1)), 32)[0]
    cy, cx = (scenes.centers[0, 0] * 32).astype(int)
    assert img[0, cy, cx] > 0.8 and img[2, cy, cx] < 0.2


def test_each_relation_shape_stays_inside_its_cell():
    scenes = make_scenes(300, seed=6)
    g = RELATION_CELLS
    cell = np.floor(scenes.centers * g)
    lo = cell / g
    hi = (cell + 1) / g
    r = scenes.radii[:, :, None]
    assert np.all(scenes.centers - r > lo) and np.all(scenes.centers + r < hi)
    assert not np.any(np.all(cell[:, 0] == cell[:, 1], axis=-1))  # never the same cell


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_relation_patches_of_one_cell_never_show_both_colours(seed):
    # with P = 8 at 32 px each patch is one cell: no patch holds red and blue together
    img = render_scenes(make_scenes(8, seed=seed), 32)
    patches = img.unfold(2, 8, 8).unfold(3, 8, 8)  # (n, 3, 4, 4, 8, 8)
    red = (patches[:, 0] > 0.6) & (patches[:, 2] < 0.5)
    blue = (patches[:, 2] > 0.6) & (patches[:, 0] < 0.5)
    both = red.flatten(-2).any(-1) & blue.flatten(-2).any(-1)  # (n, 4, 4)
    assert not both.any()
    assert red.flatten(1).any(1).all() and blue.flatten(1).any(1).all()


def test_make_position_task():
    x, y = make_position_task(20, 48, seed=1)
    assert x.shape == (20, 3, 48, 48) and y.shape == (20,) and y.dtype == torch.int64
    x2, y2 = make_position_task(20, 48, seed=1)
    assert torch.equal(x, x2) and torch.equal(y, y2)


def test_bad_input_names_what_was_expected():
    with pytest.raises(ValueError, match="n must be a positive int, got 0"):
        make_scenes(0)
    with pytest.raises(TypeError, match="scenes must be a Scenes"):
        render_scenes(torch.zeros(2, 3, 8, 8), 8)
    with pytest.raises(ValueError, match="image_size must be at least 2"):
        render_scenes(make_scenes(2), 1)


def test_subset():
    s = make_scenes(10, seed=0)
    sub = s.subset([1, 3])
    assert isinstance(sub, Scenes) and len(sub) == 2
    assert np.array_equal(sub.labels, s.labels[[1, 3]])


# -- the relation task on a finer grid of cells (cells=g) ------------------------------------


@pytest.mark.parametrize("task", ["relation", "quadrant"])
@pytest.mark.parametrize("g", [2, 7, 14])
def test_cells_keep_each_shape_inside_its_cell_and_the_labels_right(task, g):
    scenes = make_scenes(400, seed=11, task=task, cells=g)
    assert scenes.task == task
    cell = np.floor(scenes.centers * g)
    r = scenes.radii[:, :, None]
    assert np.all(scenes.centers - r > cell / g) and np.all(scenes.centers + r < (cell + 1) / g)
    assert not np.any(np.all(cell[:, 0] == cell[:, 1], axis=-1))
    dy, dx = (cell[:, 0] - cell[:, 1]).T  # red minus blue, in cells; never a tie
    if task == "relation":
        assert np.all(np.abs(dy) != np.abs(dx))
        expected = np.where(np.abs(dx) > np.abs(dy), np.where(dx < 0, 0, 1), np.where(dy < 0, 2, 3))
    else:
        assert np.all(dy != 0) and np.all(dx != 0)
        expected = np.select(
            [(dy < 0) & (dx < 0), (dy < 0) & (dx > 0), (dy > 0) & (dx < 0)], [0, 1, 2], 3
        )
        names = task_info("quadrant").class_names
        assert names[0] == "red above-left of blue" and names[3] == "red below-right of blue"
    assert np.array_equal(expected, scenes.labels)
    # shapes keep their size relative to a cell: radius 0.34 to 0.42 of a cell side
    assert (
        scenes.radii.min() >= 0.085 * 4 / g - 1e-12 and scenes.radii.max() <= 0.105 * 4 / g + 1e-12
    )
    assert set(np.unique(cell)) == set(range(g))  # every row and column of cells is used


def test_relation_cells_default_is_the_4x4_task():
    a, b = make_scenes(50, seed=3), make_scenes(50, seed=3, cells=RELATION_CELLS)
    assert np.array_equal(a.centers, b.centers) and np.array_equal(a.radii, b.radii)
    x, y = make_position_task(10, 56, seed=2, cells=7)
    s = make_scenes(10, seed=2, cells=7)
    assert torch.equal(x, render_scenes(s, 56)) and torch.equal(y, torch.from_numpy(s.labels))


def test_relation_cells_patches_of_one_cell_never_show_both_colours():
    # 7 x 7 cells at 56 px with P = 4: 14 x 14 patches, each inside one cell
    img = render_scenes(make_scenes(50, seed=4, cells=7), 56)
    patches = img.unfold(2, 4, 4).unfold(3, 4, 4)  # (n, 3, 14, 14, 4, 4)
    red = (patches[:, 0] > 0.6) & (patches[:, 2] < 0.5)
    blue = (patches[:, 2] > 0.6) & (patches[:, 0] < 0.5)
    assert not (red.flatten(-2).any(-1) & blue.flatten(-2).any(-1)).any()
    assert red.flatten(1).any(1).all() and blue.flatten(1).any(1).all()


def test_relation_cells_errors():
    with pytest.raises(ValueError, match="cells must be an int >= 2"):
        make_scenes(4, cells=1)
    with pytest.raises(TypeError, match="cells must be an int, got float 7.0"):
        make_scenes(4, cells=7.0)
    with pytest.raises(
        ValueError, match="cells=7 applies to the tasks with cells; 'shape' has none"
    ):
        make_scenes(4, task="shape", cells=7)


# -- the striped scenes: a detail that 24 px averages away and 48 px shows -------------------


def test_stripes_labels_are_the_relation_and_the_fill():
    scenes = make_scenes(400, seed=12, task="stripes", cells=3)
    assert scenes.task == "stripes" and task_info("stripes").num_classes == 8
    names = task_info("stripes").class_names
    assert names[0] == "red left of blue, plain" and names[7] == "red below blue, striped"
    cell = np.floor(scenes.centers * 3)
    dy, dx = (cell[:, 0] - cell[:, 1]).T  # red minus blue, in cells
    relation = np.where(np.abs(dx) > np.abs(dy), np.where(dx < 0, 0, 1), np.where(dy < 0, 2, 3))
    assert np.array_equal(scenes.labels % 4, relation)
    # both shapes plain, or both striped, as the label says
    assert np.array_equal(scenes.striped, np.repeat((scenes.labels >= 4)[:, None], 2, axis=1))
    # a plain shape has the average colour of the stripes a striped one is made of
    plain, striped = scenes.colors[scenes.labels < 4], scenes.colors[scenes.labels >= 4]
    assert np.allclose(striped, [RED, BLUE])
    assert np.allclose(plain, [np.add(RED, BACKGROUND) / 2, np.add(BLUE, BACKGROUND) / 2])
    assert make_scenes(5, seed=0).striped is None  # the other tasks have no stripes


def test_stripes_cover_half_of_each_row_at_24_px_and_alternate_at_48():
    assert _dark_fraction(STRIPE_PAIRS).tolist() == [0.5] * STRIPE_PAIRS
    assert _dark_fraction(2 * STRIPE_PAIRS).tolist() == [1.0, 0.0] * STRIPE_PAIRS
    # any size: the shares of all rows add up to half the image (a box filter loses nothing)
    for h in (16, 32, 37, 56, 100):
        f = _dark_fraction(h)
        assert f.min() >= 0 and f.max() <= 1 and abs(f.mean() - 0.5) < 1e-12


def test_the_stripes_are_invisible_at_24_px_and_visible_at_48():
    # the measure of "visible": the largest change of a pixel when the stripes are replaced by
    # their average colour (stripe_contrast)
    scenes = make_scenes(200, seed=13, task="stripes", cells=3)
    striped = scenes.labels >= 4
    plain_twin = without_stripes(scenes)
    # at 24 px a striped scene is drawn exactly as its plain twin: no model can tell them apart
    assert torch.equal(render_scenes(scenes, 24), render_scenes(plain_twin, 24))
    assert stripe_contrast(scenes, 24).max() == 0
    contrast = stripe_contrast(scenes, 48)
    assert contrast[striped].min() > 0.4  # full contrast at 48 px, in every striped scene
    assert contrast[~striped].max() == 0  # plain scenes have nothing to show
    assert 0.1 < stripe_contrast(scenes, 32)[striped].min() < 0.4  # in between, half visible


def test_a_simple_oracle_reads_the_stripes_at_48_px_and_cannot_at_24():
    # the oracle: how much more the pixels change from row to row than from column to column
    # (mean |difference| over the whole image, mostly background: plain scenes stay below 0.001,
    # striped ones reach 0.038 and more at 48 px)
    scenes = make_scenes(300, seed=14, task="stripes", cells=3)
    striped = torch.from_numpy(scenes.labels >= 4)

    def oracle(size):
        img = render_scenes(scenes, size)
        rows = (img[:, :, 1:] - img[:, :, :-1]).abs().mean(dim=(1, 2, 3))
        cols = (img[:, :, :, 1:] - img[:, :, :, :-1]).abs().mean(dim=(1, 2, 3))
        return rows - cols > 0.01

    assert torch.equal(oracle(48), striped)  # every scene right at 48 px
    # at 24 px it says the same for a scene and its twin with the other fill: a coin at best
    twin = Scenes(
        scenes.centers,
        scenes.radii,
        scenes.kinds,
        without_stripes(scenes).colors,
        scenes.labels,
        scenes.task,
        np.zeros_like(scenes.striped),
    )
    assert torch.equal(render_scenes(twin, 24), render_scenes(scenes, 24))
    assert not oracle(24).any()


def test_without_stripes_and_subset_keep_the_rest():
    scenes = make_scenes(20, seed=15, task="stripes", cells=3)
    twin = without_stripes(scenes)
    assert not twin.striped.any() and np.array_equal(twin.labels, scenes.labels)
    assert np.array_equal(twin.centers, scenes.centers) and np.array_equal(twin.kinds, scenes.kinds)
    sub = scenes.subset([2, 5])
    assert np.array_equal(sub.striped, scenes.striped[[2, 5]])
    relation = make_scenes(5, seed=1)
    assert without_stripes(relation) is relation
    assert stripe_contrast(relation, 48).max() == 0
    with pytest.raises(TypeError, match="scenes must be a Scenes"):
        without_stripes(torch.zeros(2))
