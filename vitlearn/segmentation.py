"""Position codes in a dense-prediction ViT: SAM's image encoder and ViTDet.

Segmentation and detection read the image at a high resolution: SAM's encoder takes 1024 x 1024
pixels in 16 px patches, a 64 x 64 grid of 4096 tokens, where the ViT it starts from was
pre-trained on a 14 x 14 grid. Its position information comes in two parts:

- an **absolute table** kept as a grid ``(1, rows, cols, C)``, with no class row (a dense task has
  no class token). ViTDet makes it from a pre-trained ``(1, 1 + 14*14, C)`` table with
  :func:`get_abs_pos`: drop the class row, resize the grid with bicubic interpolation (corners not
  aligned, no antialiasing);
- **decomposed relative positions** inside attention: one table per axis, ``rel_pos_h`` and
  ``rel_pos_w``, of ``2 * size - 1`` rows (one per offset from ``-(size-1)`` to ``size-1``).
  :func:`get_rel_pos` looks up the row of every (query, key) offset, resizing the table linearly
  when the sizes changed; :func:`add_decomposed_rel_pos` adds ``q . R_h[dy] + q . R_w[dx]`` to
  every attention logit (MViTv2's decomposition: two small tables instead of one 2-D table).

Most of SAM's blocks attend inside 14 x 14 windows (:func:`window_partition`, padding the 64 x 64
grid to 70 x 70), a few attend globally. The function names and argument orders are SAM's and
ViTDet's (``segment_anything/modeling/image_encoder.py``,
``detectron2/modeling/backbone/utils.py``),
so code read on GitHub maps onto these one to one; the tests check them against fixtures made
with those files.

Shapes: ``(B, H, W, C)`` for token grids (channels last, as SAM keeps them), ``(L, C)`` for a
relative table.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from ._checks import as_pair, check_bool, check_int, check_tensor, shape_str
from .resample import resample_pos_embed

__all__ = [
    "add_decomposed_rel_pos",
    "get_abs_pos",
    "get_rel_pos",
    "window_partition",
    "window_unpartition",
]


def get_abs_pos(
    abs_pos: torch.Tensor, has_cls_token: bool, hw: int | Sequence[int]
) -> torch.Tensor:
    """ViTDet's absolute table for a grid of ``hw = (rows, cols)``: ``-> (1, rows, cols, C)``.

    ``abs_pos`` is a pre-trained ViT's table ``(1, [1 +] n*n, C)``, its grid square and stored
    row-major; ``has_cls_token`` says whether its first row is the class token's, which is dropped.
    The ``n x n`` grid is resized to ``rows x cols`` with bicubic interpolation, corners not
    aligned and no antialiasing (``F.interpolate``'s defaults, the same call as Hugging Face's
    ``interpolate_pos_encoding``); at the same size it is only reshaped. The argument order is
    ViTDet's ``get_abs_pos(abs_pos, has_cls_token, hw)``.

    >>> get_abs_pos(torch.zeros(1, 1 + 14 * 14, 8), True, (64, 64)).shape
    torch.Size([1, 64, 64, 8])
    """
    check_tensor(abs_pos, "abs_pos", (3,), "(1, [1 +] n*n, C)", floating=True)
    if abs_pos.shape[0] != 1:
        raise ValueError(
            "abs_pos must have a leading dimension of 1, (1, [1 +] n*n, C), got "
            f"{shape_str(abs_pos.shape)}"
        )
    check_bool(has_cls_token, "has_cls_token")
    rows, cols = as_pair(hw, "hw")
    prefix = int(has_cls_token)
    table = resample_pos_embed(
        abs_pos,
        (rows, cols),
        num_prefix_tokens=prefix,
        interpolation="bicubic",
        antialias=False,
        align_corners=False,
    )  # (1, prefix + rows*cols, C); the old grid must be square, as ViTDet asserts
    return table[:, prefix:].reshape(1, rows, cols, abs_pos.shape[-1])


def get_rel_pos(q_size: int, k_size: int, rel_pos: torch.Tensor) -> torch.Tensor:
    """The relative code of every (query, key) pair on one axis: ``(L, C) -> (q_size, k_size, C)``.

    ``rel_pos`` has one row per offset; ``2 * max(q_size, k_size) - 1`` rows are needed, and a
    table of another length is first resized to that many rows with ``F.interpolate(...,
    mode="linear")`` (corners not aligned), as SAM does when the grid differs from training.
    Entry ``[i, j]`` is the row for query ``i`` and key ``j``: with equal sizes, row
    ``i - j + (k_size - 1)``, so the diagonal ``i == j`` reads the middle row. With unequal sizes
    both coordinates are first scaled to the longer axis (``i * max(k/q, 1)`` and
    ``j * max(q/k, 1)``) and the offset is truncated towards zero, as SAM's ``.long()`` does.

    Argument order and result are SAM's ``get_rel_pos(q_size, k_size, rel_pos)``.

    >>> get_rel_pos(14, 14, torch.zeros(27, 8)).shape
    torch.Size([14, 14, 8])
    """
    q = check_int(q_size, "q_size")
    k = check_int(k_size, "k_size")
    check_tensor(rel_pos, "rel_pos", (2,), "a 2-D table (L, C), one row per offset", floating=True)
    span = 2 * max(q, k) - 1  # offsets -(n-1) .. n-1 on the longer axis
    table = rel_pos
    if rel_pos.shape[0] != span:
        # (L, C) -> (1, C, L): a 1-D signal of C channels, resized to span samples -> (span, C)
        table = F.interpolate(rel_pos.T[None], size=span, mode="linear")[0].T
    q_step = max(k / q, 1.0)  # the shorter axis is stretched onto the longer one
    k_step = max(q / k, 1.0)
    last = (k - 1) * k_step  # the offset of query 0 from the last key, which reads row 0
    offsets = (torch.arange(q)[:, None] * q_step - torch.arange(k)[None, :] * k_step) + last
    return table[offsets.long()]  # (q, k, C): float offsets truncated to table rows


def add_decomposed_rel_pos(
    attn: torch.Tensor,
    q: torch.Tensor,
    rel_pos_h: torch.Tensor,
    rel_pos_w: torch.Tensor,
    q_size: int | Sequence[int],
    k_size: int | Sequence[int],
) -> torch.Tensor:
    """Add SAM's decomposed relative positions to attention logits.

    ``attn`` ``(B, qh*qw, kh*kw)`` (logits, before the softmax), ``q`` ``(B, qh*qw, C)`` (the
    queries, row-major on their ``(qh, qw)`` grid), ``rel_pos_h`` ``(Lh, C)`` and ``rel_pos_w``
    ``(Lw, C)``; ``q_size = (qh, qw)``, ``k_size = (kh, kw)``. Returns a new ``(B, qh*qw, kh*kw)``:
    the logit of query ``(y, x)`` and key ``(y', x')`` gets ``q . Rh[y, y'] + q . Rw[x, x']``, with
    ``Rh = get_rel_pos(qh, kh, rel_pos_h)`` and ``Rw = get_rel_pos(qw, kw, rel_pos_w)``. Two
    tables of ``2n - 1`` rows stand in for one of ``(2n - 1)**2``.
    """
    qh, qw = as_pair(q_size, "q_size")
    kh, kw = as_pair(k_size, "k_size")
    check_tensor(attn, "attn", (3,), "(B, qh*qw, kh*kw)")
    check_tensor(q, "q", (3,), "(B, qh*qw, C)")
    b, nq, dim = q.shape
    if nq != qh * qw:
        raise ValueError(
            f"q of shape {shape_str(q.shape)} has {nq} queries, but q_size {(qh, qw)} means "
            f"qh*qw = {qh * qw}"
        )
    if tuple(attn.shape) != (b, qh * qw, kh * kw):
        raise ValueError(
            f"attn must be (B, qh*qw, kh*kw) = {shape_str((b, qh * qw, kh * kw))} for q "
            f"{shape_str(q.shape)}, q_size {(qh, qw)} and k_size {(kh, kw)}; got "
            f"{shape_str(attn.shape)}"
        )
    for name, table in (("rel_pos_h", rel_pos_h), ("rel_pos_w", rel_pos_w)):
        check_tensor(table, name, (2,), "(L, C)")
        if table.shape[1] != dim:
            raise ValueError(
                f"{name} of shape {shape_str(table.shape)} has {table.shape[1]} channels; the "
                f"queries q {shape_str(q.shape)} have C = {dim}"
            )
    r_h = get_rel_pos(qh, kh, rel_pos_h)  # (qh, kh, C)
    r_w = get_rel_pos(qw, kw, rel_pos_w)  # (qw, kw, C)
    grid_q = q.reshape(b, qh, qw, dim)  # (B, qh, qw, C)
    bias_h = torch.einsum("byxc,ykc->byxk", grid_q, r_h)  # (B, qh, qw, kh): query . Rh[y, y']
    bias_w = torch.einsum("byxc,xkc->byxk", grid_q, r_w)  # (B, qh, qw, kw): query . Rw[x, x']
    # (B, qh, qw, kh, kw): the row bias is the same for every key column, the column bias for
    # every key row
    logits = attn.view(b, qh, qw, kh, kw) + bias_h[..., :, None] + bias_w[..., None, :]
    return logits.view(b, qh * qw, kh * kw)


def window_partition(x: torch.Tensor, window_size: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Cut a token grid into square windows, padding it with zeros at the bottom and right.

    ``(B, H, W, C) -> (B * nh * nw, ws, ws, C)`` and the padded size ``(Hp, Wp)``, where ``Hp``
    and ``Wp`` are ``H`` and ``W`` rounded up to multiples of ``ws = window_size`` and
    ``nh = Hp // ws``, ``nw = Wp // ws``. Windows are listed image by image, row of windows by row
    of windows. SAM's 64 x 64 grid in 14 x 14 windows is padded to 70 x 70: 25 windows.
    """
    check_tensor(x, "x", (4,), "a token grid (B, H, W, C)")
    ws = check_int(window_size, "window_size")
    b, h, w, c = x.shape
    hp, wp = -(-h // ws) * ws, -(-w // ws) * ws
    if (hp, wp) != (h, w):
        x = F.pad(x, (0, 0, 0, wp - w, 0, hp - h))  # pads C by nothing, then W and H at the end
    # (B, nh, ws, nw, ws, C) -> (B, nh, nw, ws, ws, C): each window's rows and columns together
    windows = x.view(b, hp // ws, ws, wp // ws, ws, c).permute(0, 1, 3, 2, 4, 5)
    return windows.reshape(-1, ws, ws, c), (hp, wp)


def window_unpartition(
    windows: torch.Tensor,
    window_size: int,
    pad_hw: Sequence[int],
    hw: Sequence[int],
) -> torch.Tensor:
    """The inverse of :func:`window_partition`: ``(B * nh * nw, ws, ws, C) -> (B, H, W, C)``.

    ``pad_hw = (Hp, Wp)`` is the padded size :func:`window_partition` returned, ``hw = (H, W)``
    the size before padding; the padding is cut off.
    """
    check_tensor(windows, "windows", (4,), "(B * nh * nw, ws, ws, C)")
    ws = check_int(window_size, "window_size")
    hp, wp = as_pair(tuple(pad_hw), "pad_hw")
    h, w = as_pair(tuple(hw), "hw")
    if hp % ws or wp % ws or h > hp or w > wp:
        raise ValueError(
            f"pad_hw {(hp, wp)} must be multiples of window_size {ws} and at least hw {(h, w)}"
        )
    per_image = (hp // ws) * (wp // ws)
    if windows.shape[0] % per_image or tuple(windows.shape[1:3]) != (ws, ws):
        raise ValueError(
            f"windows of shape {shape_str(windows.shape)} do not tile a {hp} x {wp} grid in "
            f"{ws} x {ws} windows ({per_image} windows per image)"
        )
    b = windows.shape[0] // per_image
    x = windows.view(b, hp // ws, wp // ws, ws, ws, -1).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(b, hp, wp, -1)[:, :h, :w].contiguous()
