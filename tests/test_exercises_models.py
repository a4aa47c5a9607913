"""The checkers of notebook 05 accept right answers and name each typical mistake."""

import torch

from vitlearn.exercises import check_parameter_count, check_vit_tokens


def right_tokens(images, patch_embed, cls_token, pos_embed):
    x = patch_embed(images)
    return torch.cat([cls_token.expand(x.shape[0], -1, -1), x], dim=1) + pos_embed


def test_vit_tokens_accepts_the_solution(capsys):
    assert check_vit_tokens(right_tokens) is True
    assert "✓" in capsys.readouterr().out


def test_vit_tokens_stub_is_not_done_yet(capsys):
    def stub(images, patch_embed, cls_token, pos_embed):
        raise NotImplementedError

    assert check_vit_tokens(stub) is False
    assert "not done yet" in capsys.readouterr().out


def test_vit_tokens_names_each_mistake(capsys):
    mistakes = {
        "class token is missing": lambda i, e, c, p: e(i) + p[:, 1:],
        "only one image's worth": lambda i, e, c, p: torch.cat([c, e(i)[:1]], dim=1) + p,
        "position table is not added": lambda i, e, c, p: torch.cat([c.expand(i.shape[0], -1, -1), e(i)], 1),
        "class token is at the end": lambda i, e, c, p: torch.cat([e(i), c.expand(i.shape[0], -1, -1)], 1) + p,
        "the class token did not": lambda i, e, c, p: torch.cat([c.expand(i.shape[0], -1, -1), e(i) + p[:, 1:]], 1),
        "values differ": lambda i, e, c, p: right_tokens(i, e, c, p) * 2,
        "returned a list": lambda i, e, c, p: [1, 2],
        "raised RuntimeError": lambda i, e, c, p: torch.cat([c, e(i)], dim=1),
    }
    for message, fn in mistakes.items():
        assert check_vit_tokens(fn) is False
        out = capsys.readouterr().out
        assert "not quite" in out and message in out, (message, out)


def right_count(img_size, patch_size, in_chans, embed_dim, depth, mlp_ratio, num_classes):
    d, n, h = embed_dim, (img_size // patch_size) ** 2, int(embed_dim * mlp_ratio)
    block = 4 * d + (3 * d * d + 3 * d) + (d * d + d) + (d * h + h) + (h * d + d)
    return d * in_chans * patch_size**2 + d + d + (1 + n) * d + depth * block + 2 * d + d * num_classes + num_classes


def test_parameter_count_accepts_the_solution(capsys):
    assert check_parameter_count(right_count) is True
    assert "✓" in capsys.readouterr().out


def test_parameter_count_names_each_mistake(capsys):
    def minus(amount):
        return lambda **k: right_count(**k) - amount(**k)

    d = lambda k: k["embed_dim"]  # noqa: E731
    mistakes = {
        "the class token's row": minus(lambda **k: d(k)),
        "the learned position table": minus(lambda **k: (1 + (k["img_size"] // k["patch_size"]) ** 2) * d(k)),
        "the final LayerNorm": minus(lambda **k: 2 * d(k)),
        "the classification head": minus(lambda **k: d(k) * k["num_classes"] + k["num_classes"]),
        "multiply by depth": lambda **k: right_count(**{**k, "depth": 1}) if k["depth"] > 1 else right_count(**k),
        "over by": lambda **k: right_count(**k) + 1,
        "should return an int": lambda **k: "many",
    }
    for message, fn in mistakes.items():
        assert check_parameter_count(fn) is False
        out = capsys.readouterr().out
        assert "not quite" in out and message in out, (message, out)
