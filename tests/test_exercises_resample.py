"""check_resize_if_needed accepts right answers and names each typical mistake."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from vitlearn import resample_pos_embed
from vitlearn.exercises import check_resize_if_needed


def solution(pos_embed, old_size, new_size, num_prefix_tokens=1):
    """The notebook's solution: skip only when the grid itself is unchanged."""
    if tuple(old_size) == tuple(new_size):
        return pos_embed
    return resample_pos_embed(
        pos_embed, new_size, old_size=old_size, num_prefix_tokens=num_prefix_tokens
    )


def always_resize(pos_embed, old_size, new_size, num_prefix_tokens=1):
    """Right too: resample_pos_embed returns the table itself when the grids are equal."""
    return resample_pos_embed(
        pos_embed, new_size, old_size=old_size, num_prefix_tokens=num_prefix_tokens
    )


def by_hand_bilinear(pos_embed, old_size, new_size, num_prefix_tokens=1):
    """Right, without vitlearn: plain F.interpolate, bilinear, and a copy when nothing changes."""
    if tuple(old_size) == tuple(new_size):
        return pos_embed.clone()
    prefix, grid = pos_embed[:, :num_prefix_tokens], pos_embed[:, num_prefix_tokens:]
    dim = grid.shape[-1]
    image = grid.reshape(1, *old_size, dim).permute(0, 3, 1, 2)
    image = F.interpolate(image, size=tuple(new_size), mode="bilinear", align_corners=False)
    return torch.cat([prefix, image.permute(0, 2, 3, 1).reshape(1, -1, dim)], dim=1)


def stub(pos_embed, old_size, new_size, num_prefix_tokens=1):
    raise NotImplementedError


def count_only(pos_embed, old_size, new_size, num_prefix_tokens=1):
    """The notebook's lazy helper: "already fits" judged by the token count."""
    if pos_embed.shape[1] == num_prefix_tokens + new_size[0] * new_size[1]:
        return pos_embed
    return always_resize(pos_embed, old_size, new_size, num_prefix_tokens)


def timm_before_the_fix(pos_embed, old_size, new_size, num_prefix_tokens=1):
    """timm's old shortcut: the token count and a square new grid."""
    same_count = pos_embed.shape[1] == num_prefix_tokens + new_size[0] * new_size[1]
    if same_count and new_size[0] == new_size[1]:
        return pos_embed
    return always_resize(pos_embed, old_size, new_size, num_prefix_tokens)


def flipped_old_size(pos_embed, old_size, new_size, num_prefix_tokens=1):
    return always_resize(pos_embed, (old_size[1], old_size[0]), new_size, num_prefix_tokens)


def resizes_the_class_token(pos_embed, old_size, new_size, num_prefix_tokens=1):
    out = solution(pos_embed, old_size, new_size, num_prefix_tokens)
    if num_prefix_tokens and tuple(old_size) != tuple(new_size):
        out = out.clone()
        out[:, :num_prefix_tokens] *= 0.5
    return out


def drops_the_class_token(pos_embed, old_size, new_size, num_prefix_tokens=1):
    return solution(pos_embed, old_size, new_size, num_prefix_tokens)[:, num_prefix_tokens:]


def in_place(pos_embed, old_size, new_size, num_prefix_tokens=1):
    out = solution(pos_embed, old_size, new_size, num_prefix_tokens).clone()
    pos_embed.mul_(1.0001)
    return out


def nearest(pos_embed, old_size, new_size, num_prefix_tokens=1):
    """Another interpolation: nearest copies blocks of codes."""
    if tuple(old_size) == tuple(new_size):
        return pos_embed
    return resample_pos_embed(
        pos_embed,
        new_size,
        old_size=old_size,
        num_prefix_tokens=num_prefix_tokens,
        interpolation="nearest",
    )


def changes_an_unchanged_grid(pos_embed, old_size, new_size, num_prefix_tokens=1):
    out = always_resize(pos_embed, old_size, new_size, num_prefix_tokens)
    return out + 0.01 if tuple(old_size) == tuple(new_size) else out


def crashes(pos_embed, old_size, new_size, num_prefix_tokens=1):
    return pos_embed.reshape(3, 3, 3)


def returns_numpy(pos_embed, old_size, new_size, num_prefix_tokens=1):
    return solution(pos_embed, old_size, new_size, num_prefix_tokens).numpy()


def test_accepts_the_solution_and_other_right_answers(capsys):
    for fn, method in (
        (solution, "bicubic with antialiasing"),
        (always_resize, "bicubic with antialiasing"),
        (by_hand_bilinear, "matches bilinear."),
    ):
        assert check_resize_if_needed(fn) is True, fn.__name__
        out = capsys.readouterr().out
        assert out.startswith("✓") and method in out, (fn.__name__, out)


def test_stub_is_not_done_yet(capsys):
    assert check_resize_if_needed(stub) is False
    assert "not done yet" in capsys.readouterr().out


def _rejects(fn, capsys, *phrases):
    assert check_resize_if_needed(fn) is False
    out = capsys.readouterr().out
    assert out.startswith("✗"), out
    for phrase in phrases:
        assert phrase in out, out
    return out


def test_the_shortcut_on_the_token_count(capsys):
    _rejects(
        count_only,
        capsys,
        "returned the 16 x 8 table unchanged for an 8 x 16 grid",
        "Both have 128 tokens",
        "new patch (0, 8) would get the code of old patch (1, 0)",
        "only when old_size equals new_size",
    )


def test_timms_old_shortcut(capsys):
    _rejects(
        timm_before_the_fix,
        capsys,
        "returned the 8 x 18 table unchanged for a 12 x 12 grid",
        "144 tokens and the new grid is square",
        "timm's helper",
    )


def test_old_size_read_as_cols_rows(capsys):
    _rejects(flipped_old_size, capsys, "you read the table as a 4 x 3 grid", "(rows, cols)")


def test_the_class_token_changed_or_dropped(capsys):
    _rejects(resizes_the_class_token, capsys, "the first 1 row(s) changed", "copy them unchanged")
    _rejects(drops_the_class_token, capsys, "expected (1, 37, 6)", "prefix row(s) are missing")


def test_changes_its_input(capsys):
    _rejects(in_place, capsys, "changed its input table in place")


def test_an_unchanged_grid_must_keep_its_table(capsys):
    _rejects(changes_an_unchanged_grid, capsys, "the grid does not change", "differs by up to")


def test_other_numbers(capsys):
    _rejects(nearest, capsys, "differs from the 3 x 4 grid resized to 6 x 6 in 2-D by up to")


def test_a_crash_is_reported_not_raised(capsys):
    _rejects(crashes, capsys, "raised RuntimeError", "line")


def test_wrong_type(capsys):
    _rejects(returns_numpy, capsys, "returned a ndarray, expected a torch.Tensor")


def test_the_traps_really_have_the_same_token_count():
    """The two traps of the checker: another grid, the same number of tokens."""
    from vitlearn.exercises.resample import _CASES

    traps = [
        (old, new) for _, old, new in _CASES if old != new and old[0] * old[1] == new[0] * new[1]
    ]
    assert ((16, 8), (8, 16)) in traps and ((8, 18), (12, 12)) in traps
