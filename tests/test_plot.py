"""vitlearn.plot: the diagrams draw the real tensors and refuse what they cannot draw."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
import torch  # noqa: E402

import vitlearn  # noqa: E402
from vitlearn import ViTEmbedding, plot  # noqa: E402


def _titles(fig) -> list[str]:
    return [ax.get_title() for ax in fig.axes]


def test_embedding_pipeline_titles_are_the_tensors_shapes() -> None:
    torch.manual_seed(0)
    emb = ViTEmbedding((32, 48), 16, 3, 8).eval()
    fig = plot.plot_embedding_pipeline(emb, torch.rand(3, 32, 48))
    assert _titles(fig) == [
        "image (3, 32, 48)",
        "patches (6, 768)",
        "tokens (6, 8)",
        "[CLS] + tokens (7, 8)",
        "pos_embed (7, 8)",
        "sum (7, 8)",
    ]
    with pytest.raises(ValueError, match="needs a class token and a learned table"):
        plot.plot_embedding_pipeline(
            ViTEmbedding(32, 16, 3, 8, pos_embed="sincos"), torch.rand(3, 32, 32)
        )


def test_resample_steps_draw_resample_pos_embed() -> None:
    table = torch.randn(1, 1 + 16, 8)
    fig = plot.plot_resample_steps(table, (5, 6), channel=2, recipe="hf")
    assert _titles(fig) == [
        "table (1, 17, 8)",
        "channel 2 on the 4x4 grid",
        "interpolated to 5x6",
        "new table (1, 31, 8)",
    ]
    want = vitlearn.resample_pos_embed(table, (5, 6), recipe="hf")[0, 1:, 2].reshape(5, 6)
    torch.testing.assert_close(torch.as_tensor(fig.axes[2].images[0].get_array()), want)
    with pytest.raises(ValueError, match="12 grid tokens, not a square number"):
        plot.plot_resample_steps(torch.randn(1, 13, 8), 4)


def test_rope_rotation_depends_on_the_offset_only() -> None:
    fig = plot.plot_rope_rotation(
        torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0]), [(0, 2), (5, 7), (0, 3)]
    )
    a, b, c = _titles(fig)
    assert a.split(":", 1)[1] == b.split(":", 1)[1]  # same offset, same angle and dot product
    assert a.split(":", 1)[1] != c.split(":", 1)[1]
    assert a.startswith("offset 2:") and c.startswith("offset 3:")


def test_attention_shuffle_puts_rows_and_columns_back() -> None:
    a = torch.rand(5, 5).softmax(-1)
    perm = torch.tensor([0, 3, 1, 4, 2])
    shuffled = a[perm][:, perm]  # what an order-blind attention gives for the shuffled tokens
    fig = plot.plot_attention_shuffle(a, shuffled, perm)
    assert "max |difference| = 0.0e+00" in _titles(fig)[2]
    fig = plot.plot_attention_shuffle(a, a, perm)  # an attention that did not follow the shuffle
    assert "0.0e+00" not in _titles(fig)[2]
    with pytest.raises(ValueError, match="must be the same"):
        plot.plot_attention_shuffle(a, a[:4, :4], perm)


def test_similarity_at_compares_the_same_place_of_the_image() -> None:
    table = torch.randn(1, 1 + 4 * 4, 8)
    big = vitlearn.resample_pos_embed(table, (8, 6))
    fig = plot.plot_similarity_at({"old": (table, 4), "new": (big, (8, 6))}, place=(0.5, 0.75))
    assert _titles(fig) == ["old\npatch (2, 3) vs all", "new\npatch (4, 4) vs all"]
    want = vitlearn.position_similarity(big, (8, 6), num_prefix_tokens=1)[4, 4]
    torch.testing.assert_close(torch.as_tensor(fig.axes[1].images[0].get_array()), want)
    with pytest.raises(ValueError, match=r"fractions of the image in \[0, 1\)"):
        plot.plot_similarity_at({"old": (table, 4)}, place=(1.0, 0.5))
    with pytest.raises(ValueError, match="a 3x5 grid means 15 grid tokens"):
        plot.plot_similarity_at({"old": (table, (3, 5))})
    with pytest.raises(ValueError, match="non-empty dict"):
        plot.plot_similarity_at({})


def test_jigsaw_answers_draw_both_answers_of_each_model() -> None:
    image, jigsaw = torch.rand(3, 16, 16), torch.rand(3, 16, 16)
    answers = {
        "no codes": (torch.tensor([0.1, 0.9]), torch.tensor([0.1, 0.9])),
        "learned": (torch.tensor([0.8, 0.2]), torch.tensor([0.3, 0.7])),
    }
    fig = plot.plot_jigsaw_answers(image, jigsaw, answers, ["left", "right"])
    assert _titles(fig) == ["a test scene", "its jigsaw", "no codes", "learned"]
    heights = [[round(bar.get_height(), 3) for bar in ax.patches] for ax in fig.axes[2:]]
    assert heights == [[0.1, 0.9, 0.1, 0.9], [0.8, 0.2, 0.3, 0.7]]  # scene bars, then jigsaw's
    with pytest.raises(ValueError, match="K = 3 \\(one per class name\\), got \\(2\\) and \\(2\\)"):
        plot.plot_jigsaw_answers(image, jigsaw, answers, ["a", "b", "c"])
    with pytest.raises(ValueError, match="the same \\(C, H, W\\)"):
        plot.plot_jigsaw_answers(image, jigsaw[:, :8], answers, ["left", "right"])
    with pytest.raises(ValueError, match="at least one model"):
        plot.plot_jigsaw_answers(image, jigsaw, {}, ["left", "right"])
