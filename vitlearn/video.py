"""Video tokens: tubelets, and the position codes of a ``t x h x w`` grid.

A video ViT cuts a clip into **tubelets**: ``t`` consecutive frames of the same ``P x P`` patch,
so a clip of ``T`` frames of ``H x W`` pixels becomes ``(T/t) * (H/P) * (W/P)`` tokens. As for
images (notebook 02), a ``Conv3d`` whose kernel and stride are both ``(t, P, P)`` is a linear
layer applied to each flattened tubelet: :class:`TubeletEmbed` is the convolution,
:func:`tubeletify` flattens the tubelets, :func:`tubelet_conv_to_linear_weight` moves the weight
from one form to the other. VideoMAE and ViViT embed this way, and so do Qwen2-VL's and Qwen3-VL's
vision towers (``t = 2``: a still image is repeated to make one tubelet).

Position codes for the ``(T/t, rows, cols)`` grid:

- :func:`videomae_pos_embed`: VideoMAE's fixed 1-D sinusoid over the flattened sequence, token
  ``n`` getting the code of the number ``n`` (transformers' ``get_sinusoid_encoding_table``);
- :func:`spacetime_pos_embed`: a factorised code, one table for the place in the frame and one for
  the time step, added (MAE-ST's ``sep_pos_embed``: ``spatial.repeat`` plus
  ``temporal.repeat_interleave``); :func:`sincos_spacetime_pos_embed` fills both with fixed
  sin-cos codes.

Tokens are ordered time step first, then rows, then columns: token ``n`` is at time step
``n // (rows*cols)``, row ``(n // cols) % rows``, column ``n % cols``, the order
``Conv3d(...).flatten(2)`` gives. Videos are ``(B, C, T, H, W)``, as ``nn.Conv3d`` takes them.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ._checks import as_pair, check_int, check_multiple, check_tensor, patch_grid, shape_str
from .posenc import sincos_1d_pos_embed, sincos_2d_pos_embed

__all__ = [
    "TubeletEmbed",
    "sincos_spacetime_pos_embed",
    "spacetime_pos_embed",
    "tubelet_conv_to_linear_weight",
    "tubeletify",
    "videomae_pos_embed",
]


def _check_video(videos: object, name: str = "videos") -> torch.Tensor:
    return check_tensor(videos, name, (5,), "a 5-D batch of clips (B, C, T, H, W)")


def tubelet_grid(
    video_size: Sequence[int], tubelet_size: int, patch_size: int | Sequence[int]
) -> tuple[int, int, int]:
    """``(T, H, W)`` of a clip -> its tubelet grid ``(T/t, H/ph, W/pw)``, or a ValueError."""
    frames, h, w = (int(s) for s in video_size)
    t = check_int(tubelet_size, "tubelet_size")
    if frames % t:
        check_multiple(frames, "num_frames T", t, f"whole tubelets of tubelet_size={t} frames")
    # the crop and pad helpers take images: the hint says how to use them on a clip
    rows, cols = patch_grid(
        (h, w),
        patch_size,
        hint="A clip is (B, C, T, H, W): pass videos.flatten(1, 2) to them, then "
        ".unflatten(1, (C, T))",
    )
    return frames // t, rows, cols


def tubeletify(
    videos: torch.Tensor, tubelet_size: int, patch_size: int | Sequence[int]
) -> torch.Tensor:
    """Cut clips into tubelets and flatten each one: ``(B, C, T, H, W) -> (B, N, t*ph*pw*C)``.

    ``N = (T/t) * (H/ph) * (W/pw)`` tokens, time step first, then rows, then columns. The
    features of a token run frame in tubelet (slowest), row in patch, column in patch, channel
    (fastest): notebook 01's ``patchify`` order with the frame in front.
    """
    x = _check_video(videos)
    b, c, frames, h, w = x.shape
    ph, pw = as_pair(patch_size, "patch_size")
    t = check_int(tubelet_size, "tubelet_size")
    steps, rows, cols = tubelet_grid((frames, h, w), t, (ph, pw))
    x = x.reshape(b, c, steps, t, rows, ph, cols, pw)
    # (B, steps, rows, cols, t, ph, pw, C): the grid first, then one tubelet, channel last
    x = x.permute(0, 2, 4, 6, 3, 5, 7, 1)
    return x.reshape(b, steps * rows * cols, t * ph * pw * c)


def tubelet_conv_to_linear_weight(weight: torch.Tensor) -> torch.Tensor:
    """Reorder a ``Conv3d`` tubelet weight for a Linear layer after :func:`tubeletify`.

    ``(D, C, t, ph, pw) -> (D, t*ph*pw*C)``: channel moves from first to fastest, as
    :func:`vitlearn.conv_to_linear_weight` does for patches. (Qwen2-VL's processor flattens its
    tubelets channel first, ``(C, t, ph, pw)``, so there the plain ``weight.reshape(D, -1)`` is
    the matching Linear weight: what counts is that both sides use the same order.)
    """
    weight = check_tensor(weight, "weight", (5,), "a 5-D Conv3d weight (D, C, t, ph, pw)")
    return weight.permute(0, 2, 3, 4, 1).reshape(weight.shape[0], -1)


class TubeletEmbed(nn.Module):
    """Project every tubelet of a clip to D numbers with one ``Conv3d``.

    ``(B, C, T, H, W) -> (B, N, D)``, ``N = (T/t) * (H/ph) * (W/pw)``, time step first, then
    rows, then columns. ``self.proj`` is ``nn.Conv3d(C, D, kernel_size=(t, ph, pw),
    stride=(t, ph, pw))``, the layer VideoMAE calls ``projection`` and Qwen's vision towers
    ``patch_embed.proj``.
    """

    def __init__(
        self,
        tubelet_size: int = 2,
        patch_size: int | Sequence[int] = 16,
        in_chans: int = 3,
        embed_dim: int = 768,
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.tubelet_size = check_int(tubelet_size, "tubelet_size")
        self.patch_size = as_pair(patch_size, "patch_size")
        self.in_chans = check_int(in_chans, "in_chans")
        self.embed_dim = check_int(embed_dim, "embed_dim")
        kernel = (self.tubelet_size, *self.patch_size)
        self.proj = nn.Conv3d(in_chans, embed_dim, kernel_size=kernel, stride=kernel, bias=bias)

    @property
    def tubelet_dim(self) -> int:
        """``t*ph*pw*C``: the numbers in one flattened tubelet."""
        return self.tubelet_size * self.patch_size[0] * self.patch_size[1] * self.in_chans

    def grid_shape(self, video_size: Sequence[int]) -> tuple[int, int, int]:
        """``(T, H, W)`` -> ``(T/t, H/ph, W/pw)``; a ``ValueError`` naming the numbers otherwise."""
        return tubelet_grid(video_size, self.tubelet_size, self.patch_size)

    def forward(self, videos: torch.Tensor) -> torch.Tensor:
        """``(B, C, T, H, W) -> (B, N, D)``."""
        x = _check_video(videos)
        if x.shape[1] != self.in_chans:
            raise ValueError(
                f"videos must have in_chans = {self.in_chans} channels (B, C, T, H, W), got shape "
                f"{shape_str(x.shape)}"
            )
        self.grid_shape(tuple(x.shape[2:]))
        return self.proj(x).flatten(2).transpose(1, 2)  # (B, D, T', h, w) -> (B, T'*h*w, D)

    def to_linear(self) -> nn.Linear:
        """``nn.Linear(t*ph*pw*C, D)`` with the same weights:
        ``embed.to_linear()(tubeletify(x, t, P))`` equals ``embed(x)``."""
        w = self.proj.weight
        linear = nn.Linear(
            self.tubelet_dim,
            self.embed_dim,
            bias=self.proj.bias is not None,
            device=w.device,
            dtype=w.dtype,
        )
        with torch.no_grad():
            linear.weight.copy_(tubelet_conv_to_linear_weight(w))
            if self.proj.bias is not None:
                linear.bias.copy_(self.proj.bias)
        return linear

    def extra_repr(self) -> str:
        return (
            f"tubelet_size={self.tubelet_size}, patch_size={self.patch_size}, "
            f"in_chans={self.in_chans}, embed_dim={self.embed_dim}"
        )


def videomae_pos_embed(num_tokens: int, dim: int) -> torch.Tensor:
    """VideoMAE's fixed code: a 1-D sinusoid of the token's place in the flattened sequence.

    ``-> (num_tokens, dim)`` float32. Token ``n`` (time step first, then rows, then columns) gets
    ``sin(n w_k)`` on channel ``2k`` and ``cos(n w_k)`` on channel ``2k + 1``, with
    ``w_k = 10000 ** (-2k / dim)``: the 2017 Transformer's interleaved layout, equal to
    transformers' ``get_sinusoid_encoding_table(num_tokens, dim)`` (VideoMAE). The numbers are
    those of :func:`vitlearn.sincos_1d_pos_embed`, whose channels come in [sin | cos] halves.
    """
    halves = sincos_1d_pos_embed(num_tokens, dim)  # (N, dim): [sin | cos]
    half = dim // 2
    # [sin_0 .. sin_{h-1} | cos_0 .. cos_{h-1}] -> [sin_0, cos_0, sin_1, cos_1, ...]
    return torch.stack([halves[:, :half], halves[:, half:]], dim=-1).reshape(num_tokens, dim)


def spacetime_pos_embed(spatial: torch.Tensor, temporal: torch.Tensor) -> torch.Tensor:
    """A factorised code: ``spatial (rows*cols, D)``, ``temporal (T', D)`` -> ``(T'*rows*cols, D)``.

    Token ``n`` gets ``spatial[n % (rows*cols)] + temporal[n // (rows*cols)]``: every frame
    reuses the same table of places, and every place of a frame shares one time code. This is
    MAE-ST's separable position embedding (``sep_pos_embed=True``), there with two learned tables.
    """
    check_tensor(spatial, "spatial", (2,), "(rows*cols, D)")
    check_tensor(temporal, "temporal", (2,), "(T', D)")
    if spatial.shape[1] != temporal.shape[1]:
        raise ValueError(
            f"spatial {shape_str(spatial.shape)} and temporal {shape_str(temporal.shape)} must "
            "have the same width D"
        )
    places, steps = spatial.shape[0], temporal.shape[0]
    # (T', 1, D) + (1, rows*cols, D) -> (T', rows*cols, D) -> (T'*rows*cols, D)
    return (temporal[:, None] + spatial[None]).reshape(steps * places, -1)


def sincos_spacetime_pos_embed(
    num_steps: int, grid_size: int | Sequence[int], dim: int
) -> torch.Tensor:
    """:func:`spacetime_pos_embed` with fixed codes: MAE's 2-D sin-cos table for the place in
    the frame and the 1-D sin-cos code for the time step. ``-> (num_steps*rows*cols, dim)``."""
    steps = check_int(num_steps, "num_steps")
    spatial = sincos_2d_pos_embed(grid_size, dim)  # (rows*cols, dim)
    return spacetime_pos_embed(spatial, sincos_1d_pos_embed(steps, dim))
