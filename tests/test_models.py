"""TinyViT: timm's names and function, every position code, grid changes, seeded training."""

from pathlib import Path

import pytest
import torch
from torch import nn

from vitlearn import (
    TinyViT,
    evaluate,
    make_position_task,
    save_timm_state_dict,
    train_tiny_vit,
)
from vitlearn.embedding import POS_EMBED_KINDS
from vitlearn.models import Attention, Block

FIXTURE = Path(__file__).parent / "fixtures" / "tiny_vit_timm.pt"
TIMM_KEYS_TOKEN = {
    "cls_token",
    "pos_embed",
    "patch_embed.proj.weight",
    "patch_embed.proj.bias",
    "norm.weight",
    "norm.bias",
    "head.weight",
    "head.bias",
} | {
    f"blocks.{i}.{name}.{wb}"
    for i in range(2)
    for name in ("norm1", "attn.qkv", "attn.proj", "norm2", "mlp.fc1", "mlp.fc2")
    for wb in ("weight", "bias")
}


def small(**kw) -> TinyViT:
    args = dict(img_size=16, patch_size=4, embed_dim=16, depth=2, num_heads=2, num_classes=3)
    return TinyViT(**{**args, **kw})


def shuffle_patches(x: torch.Tensor, p: int, perm: torch.Tensor) -> torch.Tensor:
    """Move the P x P patches of ``x`` (B, C, H, W) to the raster positions ``perm``."""
    b, c, h, w = x.shape
    rows, cols = h // p, w // p
    tiles = (
        x.reshape(b, c, rows, p, cols, p).permute(0, 1, 2, 4, 3, 5).reshape(b, c, rows * cols, p, p)
    )
    tiles = tiles[:, :, perm]
    return tiles.reshape(b, c, rows, cols, p, p).permute(0, 1, 2, 4, 3, 5).reshape(b, c, h, w)


def test_state_dict_has_timm_names():
    assert set(small().state_dict()) == TIMM_KEYS_TOKEN
    mean_keys = set(small(global_pool="avg").state_dict())
    assert mean_keys == (TIMM_KEYS_TOKEN - {"norm.weight", "norm.bias"}) | {
        "fc_norm.weight",
        "fc_norm.bias",
    }
    for kind in ("none", "sincos", "rope"):
        assert set(small(pos_embed=kind).state_dict()) == TIMM_KEYS_TOKEN - {"pos_embed"}
    m = small()
    assert m.pos_embed.shape == (1, 1 + 16, 16) and m.cls_token.shape == (1, 1, 16)
    assert m.blocks[0].attn.qkv.weight.shape == (48, 16)
    assert isinstance(m.blocks[1], Block) and isinstance(m.blocks[1].attn, Attention)


@pytest.mark.parametrize("timm_pool", ["token", "avg"])
def test_loads_timm_weights_and_computes_what_timm_computes(timm_pool):
    fixture = torch.load(FIXTURE, weights_only=True)
    ref = fixture[timm_pool]
    model = small(global_pool=timm_pool, input_mean=None, input_std=None).eval()
    assert set(model.state_dict()) == set(ref["state_dict"])
    model.load_state_dict(ref["state_dict"], strict=True)
    with torch.no_grad():
        torch.testing.assert_close(
            model.forward_features(fixture["input"]), ref["features"], atol=1e-5, rtol=1e-5
        )
        torch.testing.assert_close(model(fixture["input"]), ref["logits"], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("kind", POS_EMBED_KINDS)
def test_every_position_code_runs_at_its_size(kind):
    m = small(pos_embed=kind)
    x = torch.rand(2, 3, 16, 16)
    assert m(x).shape == (2, 3)
    assert m.forward_features(x).shape == (2, 1 + 16, 16)


@pytest.mark.parametrize("kind", ["none", "sincos", "rope"])
def test_grid_free_codes_accept_other_sizes(kind):
    m = small(pos_embed=kind)
    x = torch.rand(2, 3, 24, 32)  # 6 x 8 patches
    assert m.forward_features(x).shape == (2, 1 + 48, 16)
    assert m(x).shape == (2, 3)


@pytest.mark.parametrize("kind", ["learned", "factorized"])
def test_table_codes_refuse_another_grid_and_say_how_to_fix_it(kind):
    m = small(pos_embed=kind)
    with pytest.raises(
        ValueError, match=r"made for a 4x4 grid .* \(1, 3, 24, 24\) give a 6x6 grid"
    ) as e:
        m(torch.rand(1, 3, 24, 24))
    if kind == "learned":
        assert "vitlearn.resample_pos_embed" in str(
            e.value
        ) and ".set_pos_embed(new_table, (6, 6))" in str(e.value)
    else:
        assert "build the model for that size" in str(e.value)


def test_input_that_does_not_split_into_patches():
    with pytest.raises(ValueError, match="height H=18 is not a multiple of patch height 4"):
        small(pos_embed="none")(torch.rand(1, 3, 18, 16))


def test_set_pos_embed_and_set_patch_embed():
    m = small()
    with pytest.raises(ValueError, match=r"must have shape \(1, 37, 16\)"):
        m.set_pos_embed(torch.zeros(1, 17, 16), (6, 6))
    m.set_pos_embed(torch.zeros(1, 37, 16), (6, 6))
    assert m.grid_size == (6, 6) and isinstance(m.pos_embed, nn.Parameter)
    assert m(torch.rand(1, 3, 24, 24)).shape == (1, 3)
    # a 2x2 kernel on 12 px images: a 6x6 grid again
    w = torch.randn(16, 3, 2, 2)
    m.set_patch_embed(w)
    assert m.patch_size == (2, 2) and torch.equal(m.patch_embed.proj.weight, w)
    assert m(torch.rand(1, 3, 12, 12)).shape == (1, 3)
    with pytest.raises(ValueError, match=r"weight must have shape \(D=16, C=3, ph, pw\)"):
        m.set_patch_embed(torch.randn(8, 3, 2, 2))
    with pytest.raises(ValueError, match="has no learned table"):
        small(pos_embed="rope").set_pos_embed(torch.zeros(1, 17, 16), 4)


def test_without_position_codes_the_model_sees_a_set_of_patches():
    torch.manual_seed(0)
    x = torch.rand(3, 3, 16, 16)
    perm = torch.randperm(16)
    moved = shuffle_patches(x, 4, perm)  # patch i of `moved` is patch perm[i] of `x`
    assert not torch.equal(moved, x)
    with torch.no_grad():
        for pool in ("token", "avg"):
            m = small(pos_embed="none", global_pool=pool).eval()
            torch.testing.assert_close(m(moved), m(x), atol=1e-5, rtol=1e-5)
            # the patch tokens are shuffled along, the class token is unchanged
            f, g = m.forward_features(moved), m.forward_features(x)
            torch.testing.assert_close(f[:, 1:], g[:, 1:][:, perm], atol=1e-5, rtol=1e-5)
        for kind in ("learned", "sincos", "rope"):
            m = small(pos_embed=kind).eval()
            for block in m.blocks:  # sharpen attention, so that rope's rotations show
                block.attn.qkv.weight.mul_(20)
            f, g = m.forward_features(moved)[:, 1:], m.forward_features(x)[:, 1:][:, perm]
            # without codes the difference is float noise (~1e-6); with them it is a thousand
            # times more at least
            assert (f - g).abs().max() > 1e-3, kind


def test_save_in_timm_naming(tmp_path):
    m = small()
    keys = save_timm_state_dict(m, tmp_path / "w.pt")
    assert set(keys) == TIMM_KEYS_TOKEN
    loaded = torch.load(tmp_path / "w.pt", weights_only=True)
    other = small()
    other.load_state_dict(loaded, strict=True)
    x = torch.rand(2, 3, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(other.eval()(x), m.eval()(x))


def _tiny_run(seed: int, progress: bool = False):
    x, y = make_position_task(64, 16, seed=0)
    torch.manual_seed(123)  # the model's own start; train_tiny_vit draws the batches itself
    m = small(num_classes=4)
    h = train_tiny_vit(
        m,
        x,
        y,
        steps=6,
        batch_size=16,
        seed=seed,
        progress=progress,
        eval_images=x[:20],
        eval_labels=y[:20],
        eval_every=3,
    )
    return m, h


def test_training_is_deterministic_for_a_seed():
    threads = torch.get_num_threads()
    m1, h1 = _tiny_run(0)
    m2, h2 = _tiny_run(0)
    _, h3 = _tiny_run(1)
    assert h1["loss"] == h2["loss"] and h1["eval_acc"] == h2["eval_acc"]
    assert h1["loss"] != h3["loss"]
    assert len(h1["loss"]) == 6 and h1["eval_step"] == [3, 6]
    for a, b in zip(m1.parameters(), m2.parameters(), strict=True):
        assert torch.equal(a, b)
    assert torch.get_num_threads() == threads and not m1.training  # trained on 1 thread, put back


def test_progress_is_shown_or_silent(capsys):
    _tiny_run(0, progress=True)
    out = capsys.readouterr().out
    assert "6/6" in out and "loss" in out and "\r" in out and out.endswith("\n")
    _tiny_run(0, progress=False)
    assert capsys.readouterr().out == ""


def test_evaluate_counts_correct_answers():
    class Fixed(nn.Module):
        def forward(self, x):
            return torch.nn.functional.one_hot(x[:, 0, 0, 0].long(), 4).float()

    x = torch.zeros(4, 3, 2, 2)
    x[1, 0, 0, 0] = 1
    labels = torch.tensor([0, 1, 2, 0])
    assert evaluate(Fixed(), x, labels, batch_size=3) == 0.75
    with pytest.raises(ValueError, match=r"labels must have shape \(4,\)"):
        evaluate(Fixed(), x, labels[:3])


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match="unknown pos_embed 'alibi'"):
        TinyViT(pos_embed="alibi")
    with pytest.raises(ValueError, match="width W=30 is not a multiple of patch width 8"):
        TinyViT(img_size=(32, 30), patch_size=8)
    with pytest.raises(ValueError, match="unknown global_pool 'cls'"):
        TinyViT(global_pool="cls")
    with pytest.raises(TypeError, match="num_heads must be an int"):
        TinyViT(num_heads=2.0)
    with pytest.raises(
        ValueError, match=r"embed_dim must be a positive multiple of 4 .*nearest valid: 28 or 32"
    ):
        TinyViT(embed_dim=30, num_heads=4)


def test_training_leaves_the_global_random_state_alone():
    from vitlearn import make_trained_tiny_vit

    torch.manual_seed(7)
    expected = torch.randn(5)
    torch.manual_seed(7)
    run = make_trained_tiny_vit(
        "learned", n_train=32, n_test=16, steps=2, batch_size=8, progress=False
    )
    assert torch.equal(torch.randn(5), expected)
    again = make_trained_tiny_vit(
        "learned", n_train=32, n_test=16, steps=2, batch_size=8, progress=False
    )
    for a, b in zip(run.model.parameters(), again.model.parameters(), strict=True):
        assert torch.equal(a, b)  # and the model is the same whatever the global state was


def test_recipe_is_a_frozen_dataclass_and_unknown_changes_are_named():
    import dataclasses

    from vitlearn import DEFAULT_RECIPE, make_trained_tiny_vit

    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT_RECIPE.steps = 3
    with pytest.raises(TypeError, match="stepz"):
        make_trained_tiny_vit("none", stepz=3, progress=False)


# -- rope_kwargs: the rotary embedding's coordinates and augmentation, from TinyViT ----------------


def test_rope_kwargs_reach_the_rotary_embedding():
    m = small(
        pos_embed="rope",
        rope_kwargs={
            "temperature": 100.0,
            "normalize_coords": "separate",
            "rescale_coords": 2.0,
            "seed": 5,
        },
    )
    assert m.rope.head_dim == 8 and m.rope.temperature == 100.0
    assert (m.rope.normalize_coords, m.rope.rescale_coords, m.rope.seed) == ("separate", 2.0, 5)
    assert small(pos_embed="rope").rope.normalize_coords is None  # default: patch indices
    assert "rescale_coords=2.0" in repr(m)


def test_rope_kwargs_errors():
    with pytest.raises(
        ValueError,
        match="rope_kwargs configure the rotary embedding of pos_embed='rope', "
        "but pos_embed='learned'",
    ):
        small(rope_kwargs={"temperature": 100.0})
    with pytest.raises(
        ValueError,
        match=r"rope_kwargs may not set head_dim: it is embed_dim // num_heads = 16 // 2",
    ):
        small(pos_embed="rope", rope_kwargs={"head_dim": 4})
    with pytest.raises(TypeError, match="rope_kwargs must be a mapping"):
        small(pos_embed="rope", rope_kwargs=[("temperature", 100.0)])
    with pytest.raises(ValueError, match="rescale_coords must be at least 1"):
        small(pos_embed="rope", rope_kwargs={"rescale_coords": 0.5})


def test_each_block_draws_its_own_rescaling_as_dinov3():
    """In training mode every block calls the rotary embedding, so each block gets its own draw
    (DINOv3's forward_features calls rope_embed once per block); queries and keys of one block
    share theirs. Reproducible from the seed; nothing random in eval mode."""
    m = small(pos_embed="rope", rope_kwargs={"normalize_coords": "separate", "rescale_coords": 2.0})
    seen = []
    original = m.rope.angles

    def spy(grid_size):
        seen.append(original(grid_size))
        return seen[-1]

    m.rope.angles = spy
    x = torch.rand(2, 3, 16, 16)
    m.train()
    train_out = m(x)
    assert len(seen) == 2 and not torch.equal(seen[0], seen[1])  # one draw per block
    assert not torch.equal(m(x), train_out)  # the next pass draws again
    m.rope.manual_seed()
    assert torch.equal(m(x), train_out)  # reproducible from the seed
    m.eval()
    assert torch.equal(m(x), m(x))  # no augmentation in eval mode
    plain = small(pos_embed="rope", rope_kwargs={"normalize_coords": "separate"})
    plain.load_state_dict(m.state_dict())
    assert torch.equal(plain.eval()(x), m(x))  # eval mode = the same codes without augmentation


def test_train_on_non_square_images_with_rope_kwargs():
    from vitlearn import make_trained_tiny_vit

    run = make_trained_tiny_vit(
        "rope",
        img_size=(16, 24),
        patch_size=8,
        n_train=32,
        n_test=16,
        steps=2,
        batch_size=8,
        progress=False,
        rope_kwargs={"normalize_coords": "separate", "rescale_coords": 2.0},
    )
    assert run.model.grid_size == (2, 3) and run.test_images.shape == (16, 3, 16, 24)
    assert run.model.rope.rescale_coords == 2.0 and not run.model.training
    learned = make_trained_tiny_vit(
        "learned",
        img_size=[16, 24],
        patch_size=8,
        n_train=32,
        n_test=16,
        steps=1,
        batch_size=8,
        progress=False,
    )
    assert learned.model.pos_embed.shape == (1, 1 + 6, 32)
