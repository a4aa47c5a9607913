"""vitlearn.patches: patchify / unpatchify, grid shapes, crop and pad, and their error messages."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from vitlearn import crop_to_multiple, grid_shape, pad_to_multiple, patchify, unpatchify


def loops(images: torch.Tensor, ph: int, pw: int) -> torch.Tensor:
    """Reference: Python loops, raster order, features (row in patch, col in patch, channel)."""
    b, c, h, w = images.shape
    out = []
    for img in images:
        toks = []
        for r in range(h // ph):
            for col in range(w // pw):
                patch = img[:, r * ph : (r + 1) * ph, col * pw : (col + 1) * pw]  # (C, ph, pw)
                toks.append(patch.permute(1, 2, 0).flatten())  # (ph*pw*C,)
        out.append(torch.stack(toks))
    return torch.stack(out)


def by_unfold(images: torch.Tensor, ph: int, pw: int) -> torch.Tensor:
    b, c, _, _ = images.shape
    cols = F.unfold(images, (ph, pw), stride=(ph, pw))  # (B, C*ph*pw, N), features (C, ph, pw)
    n = cols.shape[-1]
    return cols.reshape(b, c, ph, pw, n).permute(0, 4, 2, 3, 1).reshape(b, n, ph * pw * c)


def by_conv(images: torch.Tensor, ph: int, pw: int) -> torch.Tensor:
    """A strided convolution whose kernels are one-hot: output channel k copies feature k."""
    b, c, _, _ = images.shape
    f = ph * pw * c
    weight = torch.eye(f, dtype=images.dtype).reshape(f, ph, pw, c).permute(0, 3, 1, 2)
    out = F.conv2d(images, weight, stride=(ph, pw))  # (B, F, rows, cols)
    return out.flatten(2).transpose(1, 2)


def test_shapes_and_first_token():
    x = torch.arange(2 * 3 * 4 * 6, dtype=torch.float32).reshape(2, 3, 4, 6)
    t = patchify(x, 2)
    assert t.shape == (2, 6, 12)
    # token 0 = top-left 2x2 patch, pixel (0,0) channels first, then pixel (0,1)
    assert t[0, 0, :6].tolist() == [
        x[0, 0, 0, 0],
        x[0, 1, 0, 0],
        x[0, 2, 0, 0],
        x[0, 0, 0, 1],
        x[0, 1, 0, 1],
        x[0, 2, 0, 1],
    ]
    # token 1 is to the right of token 0 (raster order), token 3 is below token 0
    assert torch.equal(t[0, 1], x[0, :, 0:2, 2:4].permute(1, 2, 0).flatten())
    assert torch.equal(t[0, 3], x[0, :, 2:4, 0:2].permute(1, 2, 0).flatten())


def test_unbatched_matches_batched():
    x = torch.rand(3, 8, 12)
    assert torch.equal(patchify(x, 4), patchify(x[None], 4)[0])
    assert patchify(x, (2, 4)).shape == (12, 24)
    assert torch.equal(unpatchify(patchify(x, 4), 4, (2, 3)), x)


@pytest.mark.parametrize("ph,pw", [(1, 1), (2, 2), (4, 4), (2, 3), (4, 1)])
def test_four_methods_agree(ph, pw):
    x = torch.rand(2, 3, 12, 12)
    ref = patchify(x, (ph, pw))
    assert torch.equal(loops(x, ph, pw), ref)
    assert torch.equal(by_unfold(x, ph, pw), ref)
    assert torch.allclose(by_conv(x, ph, pw), ref, atol=0, rtol=0)


def test_differentiable_and_dtypes():
    x = torch.rand(1, 3, 8, 8, requires_grad=True)
    (patchify(x, 4) * torch.arange(48.0)).sum().backward()
    assert torch.equal(patchify(x.grad, 4)[0, 0], torch.arange(48.0))
    xi = torch.randint(0, 255, (3, 8, 8), dtype=torch.uint8)
    assert patchify(xi, 4).dtype == torch.uint8
    # a non-contiguous input (a crop) works
    assert torch.equal(
        patchify(x.detach()[..., 1:5, 2:6], 2), loops(x.detach()[..., 1:5, 2:6], 2, 2)
    )


@settings(max_examples=60, deadline=None)
@given(
    b=st.integers(1, 3),
    c=st.integers(1, 4),
    rows=st.integers(1, 4),
    cols=st.integers(1, 4),
    ph=st.integers(1, 5),
    pw=st.integers(1, 5),
    batched=st.booleans(),
)
def test_round_trip(b, c, rows, cols, ph, pw, batched):
    x = torch.randn(b, c, rows * ph, cols * pw)
    x = x if batched else x[0]
    p = ph if ph == pw else (ph, pw)
    t = patchify(x, p)
    lead = (b,) if batched else ()
    assert t.shape == (*lead, rows * cols, ph * pw * c)
    assert torch.equal(unpatchify(t, p, (rows, cols)), x)
    # and the other way round: unpatchify then patchify gives the tokens back
    assert torch.equal(patchify(unpatchify(t, p, (rows, cols)), p), t)
    if batched:
        assert torch.equal(t, loops(x, ph, pw))


def test_grid_shape():
    assert grid_shape(224, 16) == (14, 14)
    assert grid_shape((32, 48), (8, 16)) == (4, 3)
    with pytest.raises(
        ValueError,
        match=r"width W=230 is not a multiple of patch width 16.*crop_to_multiple.*pad_to_multiple",
    ):
        grid_shape((224, 230), 16)
    with pytest.raises(ValueError, match=r"larger than the image"):
        grid_shape(8, 16)


def test_error_not_multiple_names_numbers_and_fix():
    with pytest.raises(ValueError) as e:
        patchify(torch.rand(3, 225, 224), 16)
    msg = str(e.value)
    assert "H=225" in msg and "225 = 14 * 16 + 1" in msg
    assert "crop_to_multiple(images, 16) (-> 224 x 224)" in msg
    assert "pad_to_multiple(images, 16) (-> 240 x 224)" in msg


def test_error_channels_last():
    with pytest.raises(
        ValueError, match=r"\(224, 224, 3\) looks channels-last \(H, W, C\).*permute\(2, 0, 1\)"
    ):
        patchify(torch.rand(224, 224, 3), 16)
    with pytest.raises(
        ValueError, match=r"looks channels-last \(B, H, W, C\).*permute\(0, 3, 1, 2\)"
    ):
        patchify(torch.rand(2, 32, 32, 3), 16)
    # genuine channels-first images with few channels are fine, whatever the width
    assert patchify(torch.rand(3, 8, 4), 4).shape == (2, 48)


def test_error_dims_type_patch_size():
    with pytest.raises(ValueError, match=r"got a 5-D tensor of shape \(5, 3, 4, 4, 4\)"):
        patchify(torch.rand(5, 3, 4, 4, 4), 2)
    with pytest.raises(ValueError, match=r"got a 2-D tensor of shape \(4, 4\)"):
        patchify(torch.rand(4, 4), 2)
    with pytest.raises(TypeError, match="torch.Tensor"):
        patchify([[1.0]], 2)
    with pytest.raises(ValueError, match="patch_size must be at least 1.*got 0"):
        patchify(torch.rand(3, 4, 4), 0)
    with pytest.raises(ValueError, match=r"at least 1.*\(2, -1\)"):
        patchify(torch.rand(3, 4, 4), (2, -1))
    with pytest.raises(TypeError, match="patch_size"):
        patchify(torch.rand(3, 4, 4), 2.0)


def test_unpatchify_errors():
    t = torch.rand(2, 12, 48)
    with pytest.raises(ValueError, match=r"N=12 tokens.*\(3, 3\).*rows \* cols = 9"):
        unpatchify(t, 4, (3, 3))
    with pytest.raises(ValueError, match=r"48 features.*not a multiple of ph \* pw = 5 \* 5 = 25"):
        unpatchify(t, 5, (3, 4))
    assert unpatchify(t, 4, (3, 4)).shape == (2, 3, 12, 16)
    assert unpatchify(t, 2, (3, 4)).shape == (2, 12, 6, 8)  # channels inferred: 48 / 4
    with pytest.raises(ValueError, match="got a 4-D tensor"):
        unpatchify(torch.rand(1, 2, 3, 4), 2, (1, 2))


def test_crop_to_multiple():
    x = torch.arange(7 * 10, dtype=torch.float32).reshape(1, 7, 10)
    y = crop_to_multiple(x, 4)
    assert y.shape == (1, 4, 8)
    # centred: 3 rows to drop -> 1 off the top, 2 off the bottom; 2 columns -> 1 each side
    assert torch.equal(y, x[:, 1:5, 1:9])
    assert crop_to_multiple(torch.rand(2, 3, 225, 230), (16, 32)).shape == (2, 3, 224, 224)
    assert crop_to_multiple(x, 1) is not None and crop_to_multiple(x, 1).shape == x.shape
    with pytest.raises(ValueError, match="smaller than one patch"):
        crop_to_multiple(x, 8)


def test_pad_to_multiple():
    x = torch.ones(1, 7, 10)
    y = pad_to_multiple(x, 4, value=-1.0)
    assert y.shape == (1, 8, 12)
    assert torch.equal(y[:, :7, :10], x)  # original pixels stay where they were
    assert (y[:, 7:, :] == -1).all() and (y[:, :, 10:] == -1).all()
    assert pad_to_multiple(x, (7, 5)) is x  # already a multiple: unchanged
    assert patchify(pad_to_multiple(torch.rand(2, 3, 225, 230), 16), 16).shape == (2, 15 * 15, 768)
