"""Tests of vitlearn.embedding: PatchEmbed, the weight conversions, ViTEmbedding (timm parity)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import vitlearn
from vitlearn.embedding import (
    PatchEmbed,
    ViTEmbedding,
    conv_to_linear_weight,
    linear_to_conv_weight,
)

FIXTURE = Path(__file__).parent / "fixtures" / "embedding_timm_vit.npz"


def reference_patchify(x: torch.Tensor, ph: int, pw: int) -> torch.Tensor:
    """(B, C, H, W) -> (B, N, ph*pw*C), features (row in patch, col in patch, channel), written
    out with loops so it does not share code with the package."""
    b, c, h, w = x.shape
    out = []
    for r in range(h // ph):
        for q in range(w // pw):
            patch = x[:, :, r * ph : (r + 1) * ph, q * pw : (q + 1) * pw]  # (B, C, ph, pw)
            out.append(patch.permute(0, 2, 3, 1).reshape(b, -1))
    return torch.stack(out, dim=1)


sizes = st.integers(min_value=1, max_value=5)


# --------------------------------------------------------------------------------------------
# conversions
# --------------------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(d=sizes, c=sizes, ph=sizes, pw=sizes)
def test_conversions_round_trip(d: int, c: int, ph: int, pw: int) -> None:
    conv = torch.randn(d, c, ph, pw)
    lin = conv_to_linear_weight(conv)
    assert lin.shape == (d, ph * pw * c)
    assert torch.equal(linear_to_conv_weight(lin, (ph, pw), c), conv)
    lin2 = torch.randn(d, ph * pw * c)
    assert torch.equal(conv_to_linear_weight(linear_to_conv_weight(lin2, (ph, pw), c)), lin2)


def test_conv_to_linear_layout_is_row_col_channel() -> None:
    d, c, ph, pw = 2, 3, 2, 4
    conv = torch.randn(d, c, ph, pw)
    lin = conv_to_linear_weight(conv)
    for i in range(ph):
        for j in range(pw):
            for k in range(c):
                assert torch.equal(lin[:, (i * pw + j) * c + k], conv[:, k, i, j])


def test_linear_to_conv_weight_errors() -> None:
    with pytest.raises(ValueError, match=r"ph\*pw\*C = 4\*4\*3 = 48"):
        linear_to_conv_weight(torch.randn(8, 47), 4, 3)
    with pytest.raises(ValueError, match="2-D linear weight"):
        linear_to_conv_weight(torch.randn(8, 3, 4, 4), 4, 3)
    with pytest.raises(ValueError, match="in_chans"):
        linear_to_conv_weight(torch.randn(8, 48), 4, 0)
    with pytest.raises(ValueError, match="4-D conv weight"):
        conv_to_linear_weight(torch.randn(8, 48))
    with pytest.raises(TypeError, match="torch.Tensor"):
        conv_to_linear_weight(np.zeros((8, 3, 4, 4)))


# --------------------------------------------------------------------------------------------
# PatchEmbed
# --------------------------------------------------------------------------------------------


@settings(max_examples=20, deadline=None)
@given(
    d=sizes,
    c=st.integers(1, 4),
    ph=st.integers(1, 4),
    pw=st.integers(1, 4),
    rows=st.integers(1, 3),
    cols=st.integers(1, 3),
    seed=st.integers(0, 2**16),
)
def test_patch_embed_equals_linear_after_patchify(
    d: int, c: int, ph: int, pw: int, rows: int, cols: int, seed: int
) -> None:
    torch.manual_seed(seed)
    embed = PatchEmbed((ph, pw), c, d)
    x = torch.randn(2, c, rows * ph, cols * pw)
    tokens = embed(x)
    assert tokens.shape == (2, rows * cols, d)
    linear = embed.to_linear()
    assert isinstance(linear, nn.Linear) and linear.weight.shape == (d, ph * pw * c)
    torch.testing.assert_close(linear(reference_patchify(x, ph, pw)), tokens)
    back = PatchEmbed.from_linear(linear, (ph, pw), c)
    assert torch.equal(back.proj.weight, embed.proj.weight)
    assert torch.equal(back.proj.bias, embed.proj.bias)


def test_patch_embed_matches_vitlearn_patchify() -> None:
    torch.manual_seed(0)
    embed = PatchEmbed(4, 3, 10)
    x = torch.randn(2, 3, 8, 12)
    torch.testing.assert_close(embed.to_linear()(vitlearn.patchify(x, 4)), embed(x))
    linear = nn.Linear(48, 10)
    torch.testing.assert_close(
        PatchEmbed.from_linear(linear, 4, 3)(x), linear(vitlearn.patchify(x, 4))
    )


def test_patch_embed_raster_order() -> None:
    # an image whose only bright pixel sits in grid row 1, grid col 2 of a (2, 3) grid
    embed = PatchEmbed(4, 1, 1, bias=False)
    with torch.no_grad():
        embed.proj.weight.fill_(1.0)
    x = torch.zeros(1, 1, 8, 12)
    x[0, 0, 5, 9] = 1.0
    tokens = embed(x)[0, :, 0]
    assert tokens.tolist() == [0, 0, 0, 0, 0, 1]  # n = row * cols + col = 1 * 3 + 2


def test_patch_embed_properties_and_timm_names() -> None:
    embed = PatchEmbed((2, 4), in_chans=3, embed_dim=5)
    assert embed.patch_size == (2, 4)
    assert embed.patch_dim == 24
    assert embed.grid_shape((6, 8)) == (3, 2)
    assert embed.num_patches(8) == 8
    assert set(embed.state_dict()) == {"proj.weight", "proj.bias"}
    assert embed.proj.weight.shape == (5, 3, 2, 4)
    assert "proj.bias" not in PatchEmbed(4, bias=False).state_dict()


def test_patch_embed_parameter_count_vit_b() -> None:
    # ViT-B/16: 768 filters of 16*16*3 = 768 weights each, plus 768 biases
    n = sum(p.numel() for p in PatchEmbed(16, 3, 768).parameters())
    assert n == 768 * 768 + 768 == 590_592


def test_patch_embed_errors() -> None:
    embed = PatchEmbed(4, 3, 8)
    with pytest.raises(ValueError, match=r"in_chans = 3 channels.*\(2, 1, 8, 8\)"):
        embed(torch.zeros(2, 1, 8, 8))
    with pytest.raises(ValueError, match=r"height H=9 is not a multiple of patch height 4"):
        embed(torch.zeros(2, 3, 9, 8))
    with pytest.raises(ValueError, match=r"4-D batch \(B, C, H, W\).*\(3, 8, 8\)"):
        embed(torch.zeros(3, 8, 8))
    with pytest.raises(TypeError, match="torch.Tensor"):
        embed(np.zeros((1, 3, 8, 8)))
    with pytest.raises(ValueError, match="not a multiple"):
        embed.grid_shape((8, 10))
    with pytest.raises(ValueError, match="embed_dim"):
        PatchEmbed(4, 3, 0)
    with pytest.raises(TypeError, match="patch_size"):
        PatchEmbed("4")
    with pytest.raises(TypeError, match="nn.Linear"):
        PatchEmbed.from_linear(nn.Conv2d(3, 8, 4), 4, 3)


# --------------------------------------------------------------------------------------------
# ViTEmbedding: parity with timm's VisionTransformer (fixture made by make_embedding_fixtures.py)
# --------------------------------------------------------------------------------------------


def _load_fixture() -> tuple[dict, dict[str, np.ndarray]]:
    with np.load(FIXTURE) as z:
        arrays = {k: z[k] for k in z.files}
    return json.loads(str(arrays.pop("meta"))), arrays


META, ARRAYS = _load_fixture()


def _from_timm_kwargs(kw: dict) -> ViTEmbedding:
    return ViTEmbedding(
        img_size=kw["img_size"],
        patch_size=kw["patch_size"],
        in_chans=kw.get("in_chans", 3),
        embed_dim=kw["embed_dim"],
        class_token=kw.get("class_token", True),
        reg_tokens=kw.get("reg_tokens", 0),
        pos_embed="none" if kw.get("pos_embed") == "none" else "learned",
        no_embed_class=kw.get("no_embed_class", False),
    )


@pytest.mark.parametrize("case", sorted(META["cases"]))
def test_vit_embedding_matches_timm(case: str) -> None:
    info = META["cases"][case]
    state = {k: torch.from_numpy(ARRAYS[f"{case}/state/{k}"]) for k in info["state_keys"]}
    emb = _from_timm_kwargs(info["timm_kwargs"]).eval()
    # same parameter names and shapes as timm, nothing missing or extra
    ours = emb.state_dict()
    assert list(ours) == info["state_keys"]
    assert {k: tuple(v.shape) for k, v in ours.items()} == {
        k: tuple(v.shape) for k, v in state.items()
    }
    emb.load_state_dict(state, strict=True)
    assert emb.num_prefix_tokens == info["num_prefix_tokens"]
    x = torch.from_numpy(ARRAYS[f"{case}/input"])
    want = torch.from_numpy(ARRAYS[f"{case}/tokens"])
    got = emb(x)
    assert got.shape == want.shape
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


def test_vit_embedding_token_layout() -> None:
    torch.manual_seed(0)
    emb = ViTEmbedding(8, 4, 3, 6, reg_tokens=2, pos_embed="none").eval()
    x = torch.randn(3, 3, 8, 8)
    out = emb(x)
    assert out.shape == (3, 1 + 2 + 4, 6)
    assert torch.equal(out[:, 0], emb.cls_token[0, 0].expand(3, -1))
    assert torch.equal(out[:, 1:3], emb.reg_token[0].expand(3, -1, -1))
    assert torch.equal(out[:, 3:], emb.patch_embed(x))


def test_vit_embedding_pos_embed_options() -> None:
    learned = ViTEmbedding(8, 4, 3, 8)
    assert learned.pos_embed.shape == (1, 5, 8) and learned.pos_embed.requires_grad
    assert learned.cls_token.shape == (1, 1, 8)
    # sincos: computed for the grid that comes in, nothing stored, the class token gets no code
    sincos = ViTEmbedding(8, 4, 3, 8, pos_embed="sincos").eval()
    assert sincos.pos_embed is None and "pos_embed" not in sincos.state_dict()
    for h, w in ((8, 8), (12, 16)):
        x = torch.rand(2, 3, h, w)
        tokens = sincos(x)
        table = vitlearn.sincos_2d_pos_embed((h // 4, w // 4), 8, convention="mae")
        assert torch.equal(tokens[:, 0], sincos.cls_token[0].expand(2, -1))
        torch.testing.assert_close(tokens[:, 1:], sincos.patch_embed(x) + table)
    # factorized: a row code plus a column code, for the grid it was built for
    fact = ViTEmbedding((8, 12), 4, 3, 8, pos_embed="factorized").eval()
    x = torch.rand(1, 3, 8, 12)
    torch.testing.assert_close(
        fact(x)[:, 1:], fact.patch_embed(x) + fact.pos_embed_factorized.table()
    )
    assert set(fact.state_dict()) >= {
        "pos_embed_factorized.row_embed",
        "pos_embed_factorized.col_embed",
    }
    none = ViTEmbedding(8, 4, 3, 8, pos_embed="none", class_token=False)
    assert set(none.state_dict()) == {"patch_embed.proj.weight", "patch_embed.proj.bias"}
    assert none(torch.zeros(1, 3, 8, 8)).shape == (1, 4, 8)
    # without a position table any image size that fits the patches works
    assert none(torch.zeros(1, 3, 12, 16)).shape == (1, 12, 8)


def test_vit_embedding_starts_like_timm() -> None:
    torch.manual_seed(0)
    emb = ViTEmbedding(224, 16, 3, 64, reg_tokens=4)
    assert emb.pos_embed.std().item() == pytest.approx(0.02, rel=0.05)
    assert emb.cls_token.abs().max() < 1e-4 and emb.reg_token.abs().max() < 1e-4
    wide = ViTEmbedding(224, 16, 3, 64, pos_embed_std=1.0)
    assert wide.pos_embed.std().item() == pytest.approx(0.88, abs=0.05)  # N(0, 1) cut at +-2
    assert wide.pos_embed.abs().max() <= 2.0


def test_vit_embedding_new_grid_and_patch_size() -> None:
    emb = ViTEmbedding(16, 4, 3, 8).eval()
    with pytest.raises(ValueError, match=r"must have shape \(1, 37, 8\)"):
        emb.set_pos_embed(torch.zeros(1, 17, 8), (6, 6))
    emb.set_pos_embed(vitlearn.resample_pos_embed(emb.pos_embed.detach(), (6, 6)), (6, 6))
    assert emb.grid_size == (6, 6) and emb.img_size == (24, 24)
    assert emb(torch.rand(1, 3, 24, 24)).shape == (1, 37, 8)
    emb.set_patch_embed(torch.randn(8, 3, 2, 2))  # 2 px patches: the 6x6 grid is a 12 px image
    assert emb.patch_size == (2, 2) and emb.img_size == (12, 12)
    assert emb(torch.rand(1, 3, 12, 12)).shape == (1, 37, 8)


def test_vit_embedding_errors() -> None:
    emb = ViTEmbedding(8, 4, 3, 8)
    with pytest.raises(
        ValueError,
        match=r"made for a 2x2 grid .*\(H, W\) = \(8, 8\).*\(1, 3, 12, 12\).*resample_pos_embed",
    ):
        emb(torch.zeros(1, 3, 12, 12))
    with pytest.raises(ValueError, match="unknown pos_embed 'rotary'"):
        ViTEmbedding(8, 4, 3, 8, pos_embed="rotary")
    with pytest.raises(ValueError, match="not a multiple"):
        ViTEmbedding(10, 4, 3, 8)
    with pytest.raises(ValueError, match="reg_tokens must be an int >= 0"):
        ViTEmbedding(8, 4, 3, 8, reg_tokens=-1)
    with pytest.raises(TypeError, match="reg_tokens must be an int"):
        ViTEmbedding(8, 4, 3, 8, reg_tokens=1.5)
    with pytest.raises(ValueError, match="multiple of 4"):
        ViTEmbedding(8, 4, 3, 6, pos_embed="sincos")


def test_rope_embedding_adds_nothing_and_takes_any_grid() -> None:
    # "rope": positions enter attention (vitlearn.TinyViT rotates queries and keys), so the
    # embedding layer itself is the one of "none"
    rope = ViTEmbedding(8, 4, 3, 8, pos_embed="rope")
    none = ViTEmbedding(8, 4, 3, 8, pos_embed="none")
    none.load_state_dict(rope.state_dict())
    x = torch.rand(2, 3, 12, 16)
    assert rope.pos_embed is None and torch.equal(rope(x), none(x))
    assert rope(x).shape == (2, 1 + 3 * 4, 8)


def test_vit_embedding_exported() -> None:
    assert vitlearn.ViTEmbedding is ViTEmbedding
    assert "ViTEmbedding" in vitlearn.__all__
