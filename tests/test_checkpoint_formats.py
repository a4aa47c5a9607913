"""find_pos_embed's ``format``: whose naming a checkpoint uses, on a small state dict of each
naming.

Each state dict holds the entries the rule in ``vitlearn.checkpoints._naming`` looks at, with the
shapes the libraries give them (timm, Hugging Face transformers, MAE, DINOv2), scaled down.
"""

from __future__ import annotations

import pytest
import torch

from vitlearn import sincos_2d_pos_embed
from vitlearn.checkpoints import FORMATS, find_pos_embed

D = 8
GEN = torch.Generator().manual_seed(0)


def randn(*shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=GEN)


def timm_sd(prefix: int = 1, side: int = 4) -> dict[str, torch.Tensor]:
    return {
        "cls_token": randn(1, 1, D),
        "pos_embed": randn(1, prefix + side * side, D),
        "patch_embed.proj.weight": randn(D, 3, 4, 4),
        "blocks.0.ls1.gamma": torch.ones(D),  # timm's LayerScale has DINOv2's name
    }


def mae_table(side: int = 4) -> torch.Tensor:
    """MAE's fixed code: a zero class row, then 2-D sin-cos (get_2d_sincos_pos_embed,
    cls_token=True)."""
    return torch.cat([torch.zeros(1, D), sincos_2d_pos_embed(side, D)])[None]


def dinov2_sd(registers: int = 0, side: int = 4) -> dict[str, torch.Tensor]:
    sd = {
        "cls_token": randn(1, 1, D),
        "pos_embed": randn(1, 1 + side * side, D),
        "mask_token": torch.zeros(1, D),  # nn.Parameter(torch.zeros(1, embed_dim))
        "patch_embed.proj.weight": randn(D, 3, 14, 14),
        "blocks.0.ls1.gamma": torch.ones(D),
    }
    if registers:
        sd["register_tokens"] = randn(1, registers, D)
    return sd


def hf_sd(prefix: str, *extra: str) -> dict[str, torch.Tensor]:
    sd = {
        f"{prefix}embeddings.cls_token": randn(1, 1, D),
        f"{prefix}embeddings.position_embeddings": randn(1, 1 + len(extra) + 16, D),
        f"{prefix}embeddings.patch_embeddings.projection.weight": randn(D, 3, 4, 4),
    }
    for name in extra:
        sd[f"{prefix}embeddings.{name}"] = randn(1, 1, D)
    return sd


def test_timm_naming() -> None:
    info = find_pos_embed(timm_sd())
    assert (info.format, info.key, info.num_prefix_tokens, info.grid_size) == (
        "timm",
        "pos_embed",
        1,
        (4, 4),
    )
    assert info.patch_size == (4, 4)


def test_timm_registers_and_tables_without_class_row_stay_timm() -> None:
    sd = timm_sd(prefix=5)
    sd["reg_token"] = randn(1, 4, D)
    assert find_pos_embed(sd).format == "timm"
    no_rows = timm_sd(prefix=0)  # no_embed_class: nothing to check for a zero class row
    no_rows["pos_embed"][0, 0] = 0.0
    info = find_pos_embed(no_rows)
    assert (info.format, info.num_prefix_tokens) == ("timm", 0)


@pytest.mark.parametrize(
    "prefix,extra",
    [("vit.", ()), ("", ()), ("deit.", ("distillation_token",)), ("vit_mae.", ())],
)
def test_hugging_face_naming(prefix: str, extra: tuple[str, ...]) -> None:
    sd = hf_sd(prefix, *extra)
    info = find_pos_embed(sd)
    assert info.format == "hf" and info.key == f"{prefix}embeddings.position_embeddings"
    assert info.num_prefix_tokens == 1 + len(extra) and info.grid_size == (4, 4)


def test_hugging_face_dinov2_is_hf_naming_despite_its_dinov2_mask_token() -> None:
    sd = hf_sd("")
    sd["embeddings.mask_token"] = torch.zeros(1, D)  # Dinov2Embeddings: (1, hidden_size)
    sd["embeddings.register_tokens"] = randn(1, 4, D)  # Dinov2WithRegistersEmbeddings
    info = find_pos_embed(sd)
    assert (info.format, info.num_prefix_tokens, info.grid_size) == ("hf", 1, (4, 4))


def test_hugging_face_mae_table_with_zero_row_is_hf_naming() -> None:
    sd = hf_sd("vit.")
    sd["vit.embeddings.position_embeddings"] = mae_table()
    assert find_pos_embed(sd).format == "hf"


def test_mae_pretraining_checkpoint() -> None:
    sd = timm_sd()
    sd["pos_embed"] = mae_table()
    sd["mask_token"] = torch.zeros(1, 1, 4)  # the decoder's width
    sd["decoder_pos_embed"] = torch.cat([torch.zeros(1, 4), sincos_2d_pos_embed(4, 4)])[None]
    info = find_pos_embed(sd)
    assert (info.format, info.key, info.num_prefix_tokens) == ("mae", "pos_embed", 1)
    assert find_pos_embed(sd, key="decoder_pos_embed").format == "mae"


def test_mae_encoder_only_checkpoint_is_known_by_its_zero_class_row() -> None:
    sd = timm_sd()
    sd["pos_embed"] = mae_table()
    assert find_pos_embed(sd).format == "mae"
    sd["pos_embed"][0, 0, 3] = 1e-7  # a learned class row: timm
    assert find_pos_embed(sd).format == "timm"


def test_dinov2_checkpoint() -> None:
    info = find_pos_embed(dinov2_sd())
    assert (info.format, info.num_prefix_tokens, info.grid_size, info.patch_size) == (
        "dinov2",
        1,
        (4, 4),
        (14, 14),
    )


def test_dinov2_registers_have_no_rows() -> None:
    info = find_pos_embed(dinov2_sd(registers=4))
    assert (info.format, info.num_prefix_tokens, info.prefix_names) == ("dinov2", 1, ("cls_token",))
    assert info.grid_size == (4, 4)


def test_dinov2_without_mask_token_still_known_by_its_registers() -> None:
    sd = dinov2_sd(registers=4)
    del sd["mask_token"]
    assert find_pos_embed(sd).format == "dinov2"


def test_a_table_found_only_through_key_is_unknown_naming() -> None:
    sd = {
        "class_token": randn(1, 1, D),
        "encoder.pos_embedding": randn(1, 17, D),
    }  # torchvision's names
    info = find_pos_embed(sd, key="encoder.pos_embedding", num_prefix_tokens=1)
    assert (info.format, info.grid_size) == ("unknown", (4, 4))


def test_formats_lists_every_answer() -> None:
    assert FORMATS == ("timm", "hf", "mae", "dinov2", "unknown")
