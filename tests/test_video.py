"""vitlearn.video: tubelets as Conv3d and as Linear (a property test), parity with VideoMAE
(fixtures made by tests/make_video_fixtures.py), the factorised code, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from vitlearn import (
    TubeletEmbed,
    sincos_1d_pos_embed,
    sincos_2d_pos_embed,
    sincos_spacetime_pos_embed,
    spacetime_pos_embed,
    tubeletify,
    videomae_pos_embed,
)
from vitlearn.video import tubelet_conv_to_linear_weight

FIXTURES = Path(__file__).parent / "fixtures" / "video_videomae.npz"
DATA = np.load(FIXTURES)
CASES = json.loads(str(DATA["cases"]))


@pytest.mark.parametrize(
    "case", [c for c in CASES if c["kind"] == "sincos"], ids=lambda c: c["name"]
)
def test_videomae_pos_embed_matches_transformers(case):
    out = videomae_pos_embed(case["num_tokens"], case["dim"])
    np.testing.assert_allclose(out.numpy(), DATA[case["name"]], rtol=0, atol=2e-6)


@pytest.mark.parametrize(
    "case", [c for c in CASES if c["kind"] == "tubelet"], ids=lambda c: c["name"]
)
def test_tubelet_embed_matches_videomae(case):
    weight = torch.from_numpy(DATA[case["name"] + "/weight"])
    d, c, t, ph, pw = weight.shape
    embed = TubeletEmbed(t, (ph, pw), c, d)
    with torch.no_grad():
        embed.proj.weight.copy_(weight)
        embed.proj.bias.copy_(torch.from_numpy(DATA[case["name"] + "/bias"]))
    videos = torch.from_numpy(DATA[case["name"] + "/videos"]).permute(
        0, 2, 1, 3, 4
    )  # VideoMAE: (B, T, C, H, W)
    expected = DATA[case["name"] + "/out"]  # sums of t*P*P*C products of order 1: float32 rounding
    np.testing.assert_allclose(embed(videos).detach().numpy(), expected, rtol=1e-6, atol=1e-5)
    linear = embed.to_linear()
    np.testing.assert_allclose(
        linear(tubeletify(videos, t, (ph, pw))).detach().numpy(), expected, rtol=1e-6, atol=1e-5
    )


@settings(max_examples=25, deadline=None)
@given(
    t=st.integers(1, 3),
    steps=st.integers(1, 3),
    p=st.integers(1, 3),
    rows=st.integers(1, 3),
    cols=st.integers(1, 3),
    c=st.integers(1, 3),
    d=st.integers(1, 5),
)
def test_conv3d_is_a_linear_layer_on_flattened_tubelets(t, steps, p, rows, cols, c, d):
    torch.manual_seed(0)
    embed = TubeletEmbed(t, p, c, d).double()
    videos = torch.randn(2, c, steps * t, rows * p, cols * p, dtype=torch.float64)
    tokens = embed(videos)
    assert tokens.shape == (2, steps * rows * cols, d)
    assert torch.allclose(embed.to_linear()(tubeletify(videos, t, p)), tokens, atol=1e-10)


def test_tubeletify_order_time_then_rows_then_columns():
    # a clip whose every pixel holds its own (frame, row, col): each token is one tubelet
    t, p, steps, rows, cols = 2, 2, 3, 2, 4
    f, y, x = torch.meshgrid(
        torch.arange(steps * t), torch.arange(rows * p), torch.arange(cols * p), indexing="ij"
    )
    clip = torch.stack([f, y, x]).float()[None]  # (1, 3, T, H, W): channels = frame, row, col
    tokens = tubeletify(clip, t, p)  # (1, 24, t*p*p*3)
    assert tokens.shape == (1, steps * rows * cols, t * p * p * 3)
    first = tokens[0].reshape(-1, t, p, p, 3)[
        :, 0, 0, 0
    ]  # each tubelet's first frame, top-left pixel
    n = torch.arange(steps * rows * cols)
    assert torch.equal(first[:, 0], (n // (rows * cols) * t).float())
    assert torch.equal(first[:, 1], ((n // cols) % rows * p).float())
    assert torch.equal(first[:, 2], (n % cols * p).float())


def test_a_plain_reshape_is_the_wrong_linear_weight():
    embed = TubeletEmbed(2, 2, 3, 4)
    videos = torch.randn(1, 3, 2, 4, 4)
    wrong = torch.nn.functional.linear(
        tubeletify(videos, 2, 2), embed.proj.weight.reshape(4, -1), embed.proj.bias
    )
    assert not torch.allclose(wrong, embed(videos), atol=1e-3)
    assert torch.allclose(
        tubelet_conv_to_linear_weight(embed.proj.weight),
        embed.proj.weight.permute(0, 2, 3, 4, 1).reshape(4, -1),
    )


def test_videomae_pos_embed_interleaves_sincos_1d():
    halves = sincos_1d_pos_embed(10, 8)
    inter = videomae_pos_embed(10, 8)
    assert torch.equal(inter[:, 0::2], halves[:, :4]) and torch.equal(inter[:, 1::2], halves[:, 4:])


def test_spacetime_code_is_a_sum_of_a_place_and_a_time():
    g = torch.Generator().manual_seed(0)
    spatial, temporal = torch.randn(6, 4, generator=g), torch.randn(3, 4, generator=g)
    code = spacetime_pos_embed(spatial, temporal)
    assert code.shape == (18, 4)
    for n in range(18):
        assert torch.equal(code[n], spatial[n % 6] + temporal[n // 6])
    fixed = sincos_spacetime_pos_embed(3, (2, 3), 8)
    assert torch.allclose(
        fixed, spacetime_pos_embed(sincos_2d_pos_embed((2, 3), 8), sincos_1d_pos_embed(3, 8))
    )


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: tubeletify(torch.zeros(1, 3, 5, 8, 8), 2, 4),
            ValueError,
            r"num_frames T must be a positive multiple of 2",
        ),
        (
            lambda: tubeletify(torch.zeros(1, 3, 4, 9, 8), 2, 4),
            ValueError,
            "height H=9 is not a multiple of patch height 4",
        ),
        (
            lambda: tubeletify(torch.zeros(3, 4, 8, 8), 2, 4),
            ValueError,
            r"5-D batch of clips \(B, C, T, H, W\)",
        ),
        (
            lambda: TubeletEmbed(2, 4, 3, 8)(torch.zeros(1, 2, 4, 8, 8)),
            ValueError,
            "in_chans = 3 channels",
        ),
        (lambda: TubeletEmbed(2.0, 4), TypeError, "tubelet_size must be an int"),
        (lambda: videomae_pos_embed(10, 7), ValueError, "dim must be a positive multiple of 2"),
        (
            lambda: spacetime_pos_embed(torch.zeros(4, 8), torch.zeros(2, 6)),
            ValueError,
            "the same width D",
        ),
        (
            lambda: tubelet_conv_to_linear_weight(torch.zeros(4, 3, 2, 2)),
            ValueError,
            "5-D Conv3d weight",
        ),
    ],
)
def test_bad_input_is_named(call, error, message):
    with pytest.raises(error, match=message):
        call()
