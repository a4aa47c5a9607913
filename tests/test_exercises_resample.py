"""check_resample_pos_embed accepts right answers and names each typical mistake."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from vitlearn.exercises import check_resample_pos_embed


def _split(pos_embed, num_prefix_tokens):
    n = pos_embed.shape[1] - num_prefix_tokens
    side = int(n**0.5)
    return pos_embed[:, :num_prefix_tokens], pos_embed[:, num_prefix_tokens:], side


def solution(pos_embed, new_size, num_prefix_tokens=1):
    prefix, grid, side = _split(pos_embed, num_prefix_tokens)
    dim = grid.shape[-1]
    image = grid.reshape(1, side, side, dim).permute(0, 3, 1, 2)
    image = F.interpolate(image, size=tuple(new_size), mode="bicubic", align_corners=False)
    grid = image.permute(0, 2, 3, 1).reshape(1, -1, dim)
    return torch.cat([prefix, grid], dim=1)


def bilinear_aa(pos_embed, new_size, num_prefix_tokens=1):
    prefix, grid, side = _split(pos_embed, num_prefix_tokens)
    dim = grid.shape[-1]
    image = grid.reshape(1, side, side, dim).permute(0, 3, 1, 2)
    image = F.interpolate(image, size=tuple(new_size), mode="bilinear", antialias=True)
    return torch.cat([prefix, image.permute(0, 2, 3, 1).reshape(1, -1, dim)], dim=1)


def stub(pos_embed, new_size, num_prefix_tokens=1):
    raise NotImplementedError


def flattened(pos_embed, new_size, num_prefix_tokens=1):
    prefix, grid, _ = _split(pos_embed, num_prefix_tokens)
    seq = F.interpolate(grid.transpose(1, 2), size=new_size[0] * new_size[1], mode="linear")
    return torch.cat([prefix, seq.transpose(1, 2)], dim=1)


def flattened_with_class(pos_embed, new_size, num_prefix_tokens=1):
    n = num_prefix_tokens + new_size[0] * new_size[1]
    return F.interpolate(pos_embed.transpose(1, 2), size=n, mode="nearest").transpose(1, 2)


def interpolates_class(pos_embed, new_size, num_prefix_tokens=1):
    out = solution(pos_embed, new_size, num_prefix_tokens)
    if num_prefix_tokens:
        out = out.clone()
        out[:, :num_prefix_tokens] = out[:, num_prefix_tokens : 2 * num_prefix_tokens] * 0.5 + 0.1
    return out


def drops_class(pos_embed, new_size, num_prefix_tokens=1):
    return solution(pos_embed, new_size, num_prefix_tokens)[:, num_prefix_tokens:]


def class_at_end(pos_embed, new_size, num_prefix_tokens=1):
    out = solution(pos_embed, new_size, num_prefix_tokens)
    return torch.cat([out[:, num_prefix_tokens:], out[:, :num_prefix_tokens]], 1)


def swapped(pos_embed, new_size, num_prefix_tokens=1):
    return solution(pos_embed, (new_size[1], new_size[0]), num_prefix_tokens)


def transposed_flatten(pos_embed, new_size, num_prefix_tokens=1):
    prefix, grid, side = _split(pos_embed, num_prefix_tokens)
    dim = grid.shape[-1]
    image = grid.reshape(1, side, side, dim).permute(0, 3, 1, 2)
    image = F.interpolate(image, size=tuple(new_size), mode="bicubic")
    return torch.cat([prefix, image.permute(0, 3, 2, 1).reshape(1, -1, dim)], dim=1)


def scrambled(pos_embed, new_size, num_prefix_tokens=1):
    prefix, grid, side = _split(pos_embed, num_prefix_tokens)
    dim = grid.shape[-1]
    image = F.interpolate(grid.reshape(1, dim, side, side), size=tuple(new_size), mode="bicubic")
    return torch.cat([prefix, image.reshape(1, -1, dim)], dim=1)


def not_flattened(pos_embed, new_size, num_prefix_tokens=1):
    prefix, grid, side = _split(pos_embed, num_prefix_tokens)
    dim = grid.shape[-1]
    image = grid.reshape(1, side, side, dim).permute(0, 3, 1, 2)
    return F.interpolate(image, size=tuple(new_size), mode="bicubic")


def no_batch(pos_embed, new_size, num_prefix_tokens=1):
    return solution(pos_embed, new_size, num_prefix_tokens)[0]


def in_place(pos_embed, new_size, num_prefix_tokens=1):
    out = solution(pos_embed, new_size, num_prefix_tokens)
    pos_embed.mul_(1.0001)
    return out


def nearest(pos_embed, new_size, num_prefix_tokens=1):
    prefix, grid, side = _split(pos_embed, num_prefix_tokens)
    dim = grid.shape[-1]
    image = grid.reshape(1, side, side, dim).permute(0, 3, 1, 2)
    image = F.interpolate(image, size=tuple(new_size), mode="nearest")
    return torch.cat([prefix, image.permute(0, 2, 3, 1).reshape(1, -1, dim)], dim=1)


def crashes(pos_embed, new_size, num_prefix_tokens=1):
    return pos_embed.reshape(3, 3, 3)


def returns_numpy(pos_embed, new_size, num_prefix_tokens=1):
    return solution(pos_embed, new_size, num_prefix_tokens).numpy()


def test_accepts_solution(capsys):
    assert check_resample_pos_embed(solution) is True
    out = capsys.readouterr().out
    assert out.startswith("✓") and "matches bicubic." in out


def test_accepts_other_2d_methods_with_a_note(capsys):
    assert check_resample_pos_embed(bilinear_aa) is True
    out = capsys.readouterr().out
    assert "bilinear with antialiasing" in out and "use bicubic" in out


def test_stub_is_not_done_yet(capsys):
    assert check_resample_pos_embed(stub) is False
    assert "not done yet" in capsys.readouterr().out


def _rejects(fn, capsys, *phrases):
    assert check_resample_pos_embed(fn) is False
    out = capsys.readouterr().out
    assert out.startswith("✗"), out
    for phrase in phrases:
        assert phrase in out, out
    return out


def test_flattened_sequence(capsys):
    _rejects(flattened, capsys, "flattened token sequence in 1-D", "opposite edges")


def test_flattened_sequence_including_class_token(capsys):
    _rejects(flattened_with_class, capsys, "flattened token sequence in 1-D")


def test_interpolated_class_token(capsys):
    _rejects(interpolates_class, capsys, "class token) changed", "must not be interpolated")


def test_dropped_class_token(capsys):
    _rejects(
        drops_class,
        capsys,
        "returned shape (1, 36, 6), expected (1, 37, 6)",
        "prefix row(s)",
        "are missing",
    )


def test_class_token_at_the_end(capsys):
    _rejects(class_at_end, capsys, "row is at the end")


def test_swapped_height_and_width(capsys):
    _rejects(
        swapped, capsys, "height and width are swapped", "new_size=(3, 6)", "3 rows of 6 tokens"
    )


def test_transposed_flattening(capsys):
    _rejects(transposed_flatten, capsys, "height and width are swapped")


def test_scrambled_reshape(capsys):
    _rejects(scrambled, capsys, "straight into a (1, D, rows, cols) image", "permute(0, 3, 1, 2)")


def test_returns_image_instead_of_sequence(capsys):
    _rejects(not_flattened, capsys, "returned shape (1, 6, 6, 6)", "still an image")


def test_missing_batch_dimension(capsys):
    _rejects(no_batch, capsys, "returned shape (37, 6)", "batch dimension")


def test_modifies_input(capsys):
    _rejects(in_place, capsys, "changed its input table in place")


def test_other_method_gets_numbers(capsys):
    _rejects(
        nearest,
        capsys,
        "differs from a 2-D bicubic (or bilinear) interpolation by up to",
        "worst at token",
    )


def test_crash_is_reported_not_raised(capsys):
    _rejects(crashes, capsys, "raised RuntimeError", "line")


def test_wrong_type(capsys):
    _rejects(returns_numpy, capsys, "returned a ndarray, expected a torch.Tensor")


# -- which_recipe: which library resized this table? --------------------------------------------

from vitlearn.exercises import check_which_recipe  # noqa: E402
from vitlearn.resample import RECIPES, resample_pos_embed  # noqa: E402


def which_recipe_equal(pos_embed, resized, new_size):
    """The notebook's solution: the recipe whose output is exactly the table given."""
    for name in RECIPES:
        if torch.equal(resample_pos_embed(pos_embed, new_size, recipe=name), resized):
            return name
    return None


def which_recipe_allclose_mae_first(pos_embed, resized, new_size):
    """A variant: torch.allclose with its default tolerance, trying MAE before Hugging Face."""
    for name in ("mae", "timm", "vit_jax", "dinov2_legacy", "hf"):
        if torch.allclose(resample_pos_embed(pos_embed, new_size, recipe=name), resized):
            return name
    return None


def which_recipe_closest(pos_embed, resized, new_size):
    """A variant: the recipe with the smallest largest difference."""
    gaps = {
        n: (resample_pos_embed(pos_embed, new_size, recipe=n) - resized).abs().max()
        for n in RECIPES
    }
    return min(gaps, key=gaps.get)


def test_which_recipe_accepts_the_solution_and_variants(capsys):
    for fn in (which_recipe_equal, which_recipe_allclose_mae_first, which_recipe_closest):
        assert check_which_recipe(fn) is True, fn.__name__
        assert "✓" in capsys.readouterr().out


def test_which_recipe_stub_is_not_done_yet(capsys):
    def stub(pos_embed, resized, new_size):
        raise NotImplementedError

    assert check_which_recipe(stub) is False
    assert "not done yet" in capsys.readouterr().out


def test_which_recipe_names_each_mistake(capsys):
    def loose(pos_embed, resized, new_size):
        for name in RECIPES:
            if torch.allclose(
                resample_pos_embed(pos_embed, new_size, recipe=name), resized, atol=0.2
            ):
                return name
        return None

    def swapped(pos_embed, resized, new_size):
        return (
            which_recipe_equal(pos_embed, resized, tuple(new_size)[::-1])
            if new_size[0] != new_size[1]
            else which_recipe_equal(pos_embed, resized, new_size)
        )

    def changes_its_input(pos_embed, resized, new_size):
        resized[0, 0] = 0.0
        return "timm"

    mistakes = {
        "close, not equal": loose,
        "that table came from": lambda p, r, s: "vit_jax",
        "not a recipe": lambda p, r, s: "bicubic",
        "returned None": swapped,
        "return the recipe's name, a str": lambda p, r, s: 0,
        "changed a table it was given": changes_its_input,
        "raised KeyError": lambda p, r, s: {}["timm"],
    }
    for message, fn in mistakes.items():
        assert check_which_recipe(fn) is False, message
        out = capsys.readouterr().out
        assert "not quite" in out and message in out, (message, out)


def test_which_recipe_cases_tell_every_recipe_apart():
    """On every target each pair of recipes gives other numbers, Hugging Face and MAE excepted,
    and vit_jax and qwen3_vl (the same interpolation under two names)."""
    from vitlearn.exercises.resample import _RECIPE_TARGETS, _recipe_table

    table = _recipe_table()
    for target in _RECIPE_TARGETS:
        outs = {n: resample_pos_embed(table, target, recipe=n) for n in RECIPES}
        for a in outs:
            for b in outs:
                if a < b and {a, b} not in ({"hf", "mae"}, {"vit_jax", "qwen3_vl"}):
                    assert (outs[a] - outs[b]).abs().max() > 1e-3, (target, a, b)
        assert torch.equal(outs["hf"], outs["mae"])
        assert torch.equal(outs["vit_jax"], outs["qwen3_vl"])
