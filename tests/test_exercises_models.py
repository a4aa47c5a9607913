"""The checkers of notebook 05 accept right answers and name each typical mistake."""

import numpy as np
import torch
import torch.nn.functional as F

from vitlearn.exercises import check_most_similar_patch, check_parameter_count


def right_count(img_size, patch_size, in_chans, embed_dim, depth, mlp_ratio, num_classes):
    d, n, h = embed_dim, (img_size // patch_size) ** 2, int(embed_dim * mlp_ratio)
    block = 4 * d + (3 * d * d + 3 * d) + (d * d + d) + (d * h + h) + (h * d + d)
    return (
        d * in_chans * patch_size**2
        + d
        + d
        + (1 + n) * d
        + depth * block
        + 2 * d
        + d * num_classes
        + num_classes
    )


def test_parameter_count_accepts_the_solution(capsys):
    assert check_parameter_count(right_count) is True
    assert "✓" in capsys.readouterr().out


def test_parameter_count_names_each_mistake(capsys):
    def minus(amount):
        return lambda **k: right_count(**k) - amount(**k)

    d = lambda k: k["embed_dim"]  # noqa: E731
    mistakes = {
        "the class token's row": minus(lambda **k: d(k)),
        "the learned position table": minus(
            lambda **k: (1 + (k["img_size"] // k["patch_size"]) ** 2) * d(k)
        ),
        "the final LayerNorm": minus(lambda **k: 2 * d(k)),
        "the classification head": minus(lambda **k: d(k) * k["num_classes"] + k["num_classes"]),
        "multiply by depth": lambda **k: (
            right_count(**{**k, "depth": 1}) if k["depth"] > 1 else right_count(**k)
        ),
        "over by": lambda **k: right_count(**k) + 1,
        "should return an int": lambda **k: "many",
    }
    for message, fn in mistakes.items():
        assert check_parameter_count(fn) is False
        out = capsys.readouterr().out
        assert "not quite" in out and message in out, (message, out)


# -- most_similar_patch: the structure of a learned table --------------------------------------


def _pairs(best, cols, rows=None):
    rows = len(best) // cols if rows is None else rows
    return torch.stack([best // cols, best % cols], -1).reshape(rows, cols, 2)


def right_most_similar(pos_embed, grid_size, num_prefix_tokens):
    """The notebook's solution: cosine similarity of the grid codes, the patch itself left out."""
    rows, cols = grid_size
    codes = F.normalize(pos_embed[0, num_prefix_tokens:], dim=-1)
    sim = codes @ codes.T
    sim.fill_diagonal_(-float("inf"))
    return _pairs(sim.argmax(-1), cols)


def numpy_most_similar(pos_embed, grid_size, num_prefix_tokens):
    """A variant: numpy throughout, masking the diagonal with a large negative number."""
    codes = pos_embed[0, num_prefix_tokens:].numpy().astype(np.float64)
    unit = codes / np.linalg.norm(codes, axis=1, keepdims=True)
    sim = unit @ unit.T - 10 * np.eye(len(unit))
    best = sim.argmax(1)
    return np.stack(np.divmod(best, grid_size[1]), -1).reshape(*grid_size, 2)


def float_most_similar(pos_embed, grid_size, num_prefix_tokens):
    """A variant: float (row, col) values, from torch.cosine_similarity and a sort."""
    codes = pos_embed[0, num_prefix_tokens:]
    sim = F.cosine_similarity(codes[:, None], codes[None], dim=-1)
    best = sim.argsort(dim=-1, descending=True)[:, 1]  # [:, 0] is the patch itself
    return _pairs(best, grid_size[1]).float()


def test_most_similar_accepts_the_solution_and_variants(capsys):
    for fn in (right_most_similar, numpy_most_similar, float_most_similar):
        assert check_most_similar_patch(fn) is True, fn.__name__
        assert "✓" in capsys.readouterr().out


def test_most_similar_stub_is_not_done_yet(capsys):
    def stub(pos_embed, grid_size, num_prefix_tokens):
        raise NotImplementedError

    assert check_most_similar_patch(stub) is False
    assert "not done yet" in capsys.readouterr().out


def _scores_answer(score, *, largest=True, divide_by_rows=False, keep_self=False):
    """A wrong answer built like the solution, with one slip."""

    def fn(pos_embed, grid_size, num_prefix_tokens):
        rows, cols = grid_size
        codes = pos_embed[0, num_prefix_tokens:].double()
        s = score(codes)
        if not keep_self:
            s.fill_diagonal_(-float("inf") if largest else float("inf"))
        best = s.argmax(-1) if largest else s.argmin(-1)
        by = rows if divide_by_rows else cols
        return torch.stack([best // by, best % by], -1).reshape(rows, cols, 2)

    return fn


def _cos(codes):
    unit = F.normalize(codes, dim=-1)
    return unit @ unit.T


def test_most_similar_names_each_mistake(capsys):
    def prefix_kept_first_rows(pos_embed, grid_size, num_prefix_tokens):
        n = grid_size[0] * grid_size[1]
        return right_most_similar(pos_embed[:, :n], grid_size, 0)  # prefix rows in, last rows out

    def prefix_kept_reshaped(pos_embed, grid_size, num_prefix_tokens):
        return right_most_similar(pos_embed, grid_size, 0)  # (1 + N) answers: cannot reshape

    def prefix_kept_shifted(pos_embed, grid_size, num_prefix_tokens):
        rows, cols = grid_size
        unit = F.normalize(pos_embed[0], dim=-1)
        sim = unit @ unit.T
        sim.fill_diagonal_(-float("inf"))
        best = sim.argmax(-1)[num_prefix_tokens:].clamp(max=rows * cols - 1)  # index into all rows
        return _pairs(best, cols)

    def changes_its_input(pos_embed, grid_size, num_prefix_tokens):
        pos_embed /= pos_embed.norm(dim=-1, keepdim=True)  # normalised in place
        return right_most_similar(pos_embed, grid_size, num_prefix_tokens)

    def off_the_grid(pos_embed, grid_size, num_prefix_tokens):
        return right_most_similar(pos_embed, grid_size, num_prefix_tokens) + grid_size[0]

    def one_patch_wrong(pos_embed, grid_size, num_prefix_tokens):
        out = right_most_similar(pos_embed, grid_size, num_prefix_tokens).clone()
        out[0, 0] = out[-1, -1]
        return out

    def first_case_flat(pos_embed, grid_size, num_prefix_tokens):
        rows, cols = grid_size
        return right_most_similar(pos_embed, grid_size, num_prefix_tokens).reshape(rows * cols, 2)

    mistakes = {
        "its own most similar patch": _scores_answer(_cos, keep_self=True),
        "(col, row) pairs": lambda p, g, k: right_most_similar(p, g, k).flip(-1),
        "with the number of rows": _scores_answer(_cos, divide_by_rows=True),
        "LEAST similar": _scores_answer(_cos, largest=False),
        "raw dot products": _scores_answer(lambda c: c @ c.T),
        "Euclidean distance": _scores_answer(lambda c: torch.cdist(c, c), largest=False),
        "belong to the class token": prefix_kept_first_rows,
        "It worked on the table without prefix rows": prefix_kept_reshaped,
        "Set them aside": prefix_kept_shifted,
        "changed the table it was given": changes_its_input,
        "not on the": off_the_grid,
        "1 of the 15 patches differ": one_patch_wrong,
        "flat token index": lambda p, g, k: torch.zeros(g[0] * g[1], dtype=torch.long),
        "in a flat list": first_case_flat,
        "whole similarity matrix": lambda p, g, k: torch.zeros(g[0] * g[1], g[0] * g[1]),
        "returned a list": lambda p, g, k: right_most_similar(p, g, k).tolist(),
        "not whole": lambda p, g, k: right_most_similar(p, g, k) + 0.5,
        "raised ZeroDivisionError": lambda p, g, k: 1 // 0,
    }
    for message, fn in mistakes.items():
        assert check_most_similar_patch(fn) is False, message
        out = capsys.readouterr().out
        assert "not quite" in out and message in out, (message, out)


def test_most_similar_the_slips_are_told_apart():
    """Each slip gives another answer on some case, so no message can shadow another."""
    from vitlearn.exercises.models import _STRUCTURE_CASES, _structure_table

    slips = {
        "self": _scores_answer(_cos, keep_self=True),
        "rows": _scores_answer(_cos, divide_by_rows=True),
        "argmin": _scores_answer(_cos, largest=False),
        "dot": _scores_answer(lambda c: c @ c.T),
        "euclid": _scores_answer(lambda c: torch.cdist(c, c), largest=False),
        "flip": lambda p, g, k: right_most_similar(p, g, k).flip(-1),
    }
    for rows, cols, prefix in _STRUCTURE_CASES:
        table = _structure_table(rows, cols, prefix)
        answers = {"right": right_most_similar(table, (rows, cols), prefix)}
        answers |= {name: fn(table, (rows, cols), prefix) for name, fn in slips.items()}
        names = list(answers)
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                assert not torch.equal(answers[a], answers[b]), (rows, cols, prefix, a, b)
