"""python -m vitlearn resample-checkpoint on small timm / Hugging Face / safetensors checkpoints."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from vitlearn import resample_pos_embed
from vitlearn.editions.cli import main

D = 8


def timm_state(rows=4, cols=4, registers=0, embed_class=True, patch=4):
    gen = torch.Generator().manual_seed(0)
    prefix = (1 + registers) if embed_class else 0
    sd = {
        "cls_token": torch.randn(1, 1, D, generator=gen),
        "pos_embed": torch.randn(1, prefix + rows * cols, D, generator=gen),
        "patch_embed.proj.weight": torch.randn(D, 3, patch, patch, generator=gen),
        "patch_embed.proj.bias": torch.randn(D, generator=gen),
        "blocks.0.attn.qkv.weight": torch.randn(3 * D, D, generator=gen),
        "head.weight": torch.randn(5, D, generator=gen),
    }
    if registers:
        sd["reg_token"] = torch.randn(1, registers, D, generator=gen)
    return sd


def hf_state(side=4, prefix="vit."):
    gen = torch.Generator().manual_seed(1)
    return {
        f"{prefix}embeddings.cls_token": torch.randn(1, 1, D, generator=gen),
        f"{prefix}embeddings.position_embeddings": torch.randn(
            1, 1 + side * side, D, generator=gen
        ),
        f"{prefix}embeddings.patch_embeddings.projection.weight": torch.randn(
            D, 3, 4, 4, generator=gen
        ),
        f"{prefix}embeddings.patch_embeddings.projection.bias": torch.randn(D, generator=gen),
        f"{prefix}encoder.layer.0.attention.attention.query.weight": torch.randn(
            D, D, generator=gen
        ),
        "classifier.weight": torch.randn(3, D, generator=gen),
    }


def run_cli(*args) -> int:
    return main(["resample-checkpoint", *map(str, args)])


def assert_others_untouched(before: dict, after: dict, key: str):
    assert set(before) == set(after)
    for k, v in before.items():
        if k != key:
            assert torch.equal(after[k], v), k


def test_timm_wrapped_checkpoint(tmp_path: Path, capsys):
    sd = timm_state()
    src, dst = tmp_path / "in.pth", tmp_path / "out.pth"
    torch.save({"model": sd, "epoch": 7, "args": {"lr": 0.1}}, src)
    assert run_cli(src, dst, "--new-size", 6, 3) == 0
    out = torch.load(dst, weights_only=True)
    assert out["epoch"] == 7 and out["args"] == {"lr": 0.1}
    assert out["model"]["pos_embed"].shape == (1, 1 + 18, D)
    assert torch.equal(out["model"]["pos_embed"], resample_pos_embed(sd["pos_embed"], (6, 3)))
    assert_others_untouched(sd, out["model"], "pos_embed")
    printed = capsys.readouterr().out
    assert "grid 4x4 -> 6x3" in printed and "1 prefix token(s) (cls_token)" in printed


def test_timm_registers_and_recipe(tmp_path: Path, capsys):
    sd = timm_state(registers=4)
    src, dst = tmp_path / "in.pt", tmp_path / "out.pt"
    torch.save(sd, src)
    assert run_cli(src, dst, "--new-size", 5, 5, "--recipe", "vit_jax") == 0
    out = torch.load(dst, weights_only=True)
    ref = resample_pos_embed(sd["pos_embed"], 5, num_prefix_tokens=5, recipe="vit_jax")
    assert torch.equal(out["pos_embed"], ref)
    assert torch.equal(out["pos_embed"][:, :5], sd["pos_embed"][:, :5])
    assert_others_untouched(sd, out, "pos_embed")
    assert "5 prefix token(s) (cls_token, reg_token x4)" in capsys.readouterr().out


def test_timm_table_without_class_row(tmp_path: Path):
    sd = timm_state(embed_class=False)  # timm's no_embed_class: cls_token exists, no row for it
    src, dst = tmp_path / "in.pt", tmp_path / "out.pt"
    torch.save(sd, src)
    assert run_cli(src, dst, "--new-size", 3, 3) == 0
    out = torch.load(dst, weights_only=True)
    assert torch.equal(
        out["pos_embed"], resample_pos_embed(sd["pos_embed"], 3, num_prefix_tokens=0)
    )


def test_image_size_uses_patch_kernel(tmp_path: Path, capsys):
    sd = timm_state(patch=4)
    src, dst = tmp_path / "in.pt", tmp_path / "out.pt"
    torch.save(sd, src)
    assert run_cli(src, dst, "--image-size", 24, 32) == 0  # 24/4 x 32/4 = 6 x 8
    assert torch.load(dst, weights_only=True)["pos_embed"].shape == (1, 1 + 48, D)
    assert run_cli(src, dst, "--image-size", 25, 32) == 1
    err = capsys.readouterr().err
    assert "height H=25 is not a multiple of patch height 4 (25 = 6 * 4 + 1)" in err


@pytest.mark.parametrize("prefix", ["vit.", ""])
def test_hugging_face_checkpoint(tmp_path: Path, prefix, capsys):
    sd = hf_state(prefix=prefix)
    key = f"{prefix}embeddings.position_embeddings"
    src, dst = tmp_path / "pytorch_model.bin", tmp_path / "out.bin"
    torch.save(sd, src)
    assert run_cli(src, dst, "--new-size", 7, 7, "--recipe", "hf") == 0
    out = torch.load(dst, weights_only=True)
    assert torch.equal(out[key], resample_pos_embed(sd[key], 7, recipe="hf"))
    assert_others_untouched(sd, out, key)
    assert f"({prefix}embeddings.cls_token)" in capsys.readouterr().out


def test_safetensors_round_trip(tmp_path: Path):
    from safetensors.torch import load_file, save_file

    sd = hf_state()
    key = "vit.embeddings.position_embeddings"
    src, dst = tmp_path / "model.safetensors", tmp_path / "out.safetensors"
    save_file(sd, str(src), metadata={"format": "pt"})
    assert (
        run_cli(src, dst, "--new-size", 2, 3, "--interpolation", "bilinear", "--no-antialias") == 0
    )
    out = load_file(str(dst))
    ref = resample_pos_embed(sd[key], (2, 3), interpolation="bilinear", antialias=False)
    assert torch.equal(out[key], ref)
    assert_others_untouched(sd, out, key)


def test_non_square_table_needs_old_size(tmp_path: Path, capsys):
    sd = timm_state(rows=3, cols=4)
    src, dst = tmp_path / "in.pt", tmp_path / "out.pt"
    torch.save(sd, src)
    assert run_cli(src, dst, "--new-size", 6, 8) == 1
    err = capsys.readouterr().err
    assert (
        "(prefix: cls_token) has 13 tokens; minus num_prefix_tokens=1 that is 12 grid tokens, "
        "not a square number" in err
    )
    assert "--old-size ROWS COLS" in err
    assert "--old-size" in err and len(err.strip().splitlines()) == 1
    assert not dst.exists()
    assert run_cli(src, dst, "--new-size", 6, 8, "--old-size", 3, 4) == 0
    out = torch.load(dst, weights_only=True)["pos_embed"]
    assert torch.equal(out, resample_pos_embed(sd["pos_embed"], (6, 8), old_size=(3, 4)))
    assert run_cli(src, dst, "--new-size", 6, 8, "--old-size", 2, 5) == 1
    err = capsys.readouterr().err
    assert (
        "a 2x5 grid means 10 grid tokens" in err
        and "has 13 tokens, minus num_prefix_tokens=1 = 12" in err
    )


def test_refuses_to_overwrite_input(tmp_path: Path, capsys):
    src = tmp_path / "in.pt"
    torch.save(timm_state(), src)
    before = src.read_bytes()
    assert run_cli(src, src, "--new-size", 6, 6) == 1
    assert "refusing to overwrite the input" in capsys.readouterr().err
    assert run_cli(src, tmp_path / "." / "in.pt", "--new-size", 6, 6) == 1
    assert src.read_bytes() == before


def test_conflicting_recipe_is_one_line(tmp_path: Path, capsys):
    src = tmp_path / "in.pt"
    torch.save(timm_state(), src)
    assert (
        run_cli(src, tmp_path / "o.pt", "--new-size", 6, 6, "--recipe", "timm", "--no-antialias")
        == 1
    )
    err = capsys.readouterr().err.strip()
    assert err.endswith(
        "recipe='timm' uses antialias=True, but antialias=False was also passed: drop one of them"
    )
    assert len(err.splitlines()) == 1


class NotAllowed:
    pass


@pytest.mark.parametrize(
    "name,content,message",
    [
        ("missing.pt", None, "no such file"),
        ("garbage.pt", b"this is not a checkpoint", "not a readable torch checkpoint"),
        (
            "garbage.safetensors",
            b"\x08\x00\x00\x00\x00\x00\x00\x00{bad json",
            "not a readable safetensors file",
        ),
        ("list.pt", "list", "expected a state dict"),
        ("pickle.pt", "object", "weights_only=True"),
        ("no_table.pt", "no_table", "no position table found"),
    ],
)
def test_bad_inputs_are_one_line_errors(tmp_path: Path, capsys, name, content, message):
    src = tmp_path / name
    if content == "list":
        torch.save([torch.zeros(2)], src)
    elif content == "object":
        torch.save({"pos_embed": torch.zeros(1, 17, 4), "extra": NotAllowed()}, src)
    elif content == "no_table":
        torch.save({"weight": torch.zeros(3)}, src)
    elif content is not None:
        src.write_bytes(content)
    dst = tmp_path / ("out" + src.suffix)
    assert run_cli(src, dst, "--new-size", 5, 5) == 1
    err = capsys.readouterr().err
    assert message in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert err.startswith("python -m vitlearn resample-checkpoint: error:")


def test_subprocess_python_m_vitlearn(tmp_path: Path):
    src, dst = tmp_path / "in.pt", tmp_path / "out.pt"
    torch.save(timm_state(), src)
    root = Path(__file__).resolve().parents[1]
    ok = subprocess.run(
        [
            sys.executable,
            "-m",
            "vitlearn",
            "resample-checkpoint",
            str(src),
            str(dst),
            "--new-size",
            "6",
            "6",
        ],
        capture_output=True,
        text=True,
        cwd=root,
    )
    assert ok.returncode == 0, ok.stderr
    assert "grid 4x4 -> 6x6" in ok.stdout
    assert torch.load(dst, weights_only=True)["pos_embed"].shape == (1, 37, D)


def test_tiny_vit_checkpoint_loads_at_the_new_resolution(tmp_path: Path):
    from vitlearn import TinyViT, save_timm_state_dict

    model = TinyViT(img_size=32, patch_size=8)
    src, dst = tmp_path / "tiny.pt", tmp_path / "tiny48.pt"
    save_timm_state_dict(model, src)
    assert run_cli(src, dst, "--image-size", 48, 48) == 0  # 4x4 -> 6x6 patches of 8 px
    bigger = TinyViT(img_size=48, patch_size=8)
    bigger.load_state_dict(torch.load(dst, weights_only=True))
    assert torch.equal(bigger.pos_embed.detach(), resample_pos_embed(model.pos_embed.detach(), 6))
    assert bigger(torch.zeros(1, 3, 48, 48)).shape == (1, 4)
