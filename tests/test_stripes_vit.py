"""The stripes ViT shipped in vitlearn/trained/weights: it loads offline, reads the relation but
not the stripes at 24 px, its record holds what notebook 06 says of every seed, and its
experiment script runs and repeats itself."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
import torch

import vitlearn
from vitlearn import evaluate, load_stripes_vit, load_stripes_vit_record, make_scenes, render_scenes
from vitlearn.editions.cli import build_parser, main
from vitlearn.trained.stripes_vit import (
    FINE_TUNE_STEPS,
    RECORD_FILE,
    STRIPES_VIT_RECIPE,
    WEIGHTS_FILE,
    fine_tune_recipe,
    resized_copy,
    train_stripes_vit,
)

WEIGHTS_DIR = Path(vitlearn.__file__).parent / "trained" / "weights"
FRESH_SEED = 7  # none of the record's seeds: validation s*10**6 + 1, test + 2, batches + 100_000...


@pytest.fixture(scope="module")
def model():
    return load_stripes_vit()


@pytest.fixture(scope="module")
def record():
    return load_stripes_vit_record()


def _scenes(n, seed, size):
    scenes = make_scenes(n, seed=seed, task="stripes", cells=STRIPES_VIT_RECIPE.cells)
    return render_scenes(scenes, size), torch.from_numpy(scenes.labels)


def test_loads_without_the_network(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("load_stripes_vit tried to open a socket")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    m = load_stripes_vit()
    assert isinstance(m, vitlearn.TinyViT) and not m.training


def test_the_shipped_model_is_the_recipe_at_24_px(model, record):
    assert model.recipe == STRIPES_VIT_RECIPE
    assert model.fine_tune == fine_tune_recipe(STRIPES_VIT_RECIPE)
    assert model.grid_size == (6, 6) and model.patch_size == (4, 4)
    assert record["image_sizes"] == [24, 48] and record["tokens"] == [37, 145]
    assert record["command"].startswith("python -m vitlearn train-stripes-vit")
    assert record["shipped_seed"] == 0 and len(record["runs"]) >= 3
    state = torch.load(WEIGHTS_DIR / WEIGHTS_FILE, map_location="cpu", weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    assert {"pos_embed", "cls_token", "patch_embed.proj.weight", "head.weight"} <= set(state)
    assert (WEIGHTS_DIR / WEIGHTS_FILE).stat().st_size < 200 * 1024


def test_reads_the_relation_but_not_the_stripes_at_24_px(model):
    x, y = _scenes(600, FRESH_SEED, 24)
    with torch.no_grad():
        pred = model(x).argmax(-1)
    assert (pred % 4 == y % 4).float().mean() > 0.95  # the relation, nearly always
    assert 0.4 < float((pred == y).float().mean()) < 0.6  # the fill: a coin toss


def test_record_accuracy_is_what_its_test_split_gives(model, record):
    x, y = _scenes(STRIPES_VIT_RECIPE.n_test, record["seeds"][0]["test"], 24)
    assert evaluate(model, x, y) == pytest.approx(record["test_accuracy"], abs=1e-9)


def test_the_record_holds_what_notebook_06_asserts_for_every_seed(record):
    # what the notebook asserts on the shipped model holds for every seed the record ran
    for run in record["runs"]:
        a = run["accuracy"]
        assert 0.44 < a["low"] < 0.56, run["seed"]  # the relation, not the stripes
        assert a["flattened"] < a["resized"] < a["low"], run["seed"]  # before the fine-tune
        relation, fill = run["relation"], run["fill"]
        assert relation["resized"] < relation["low"] - 0.1, run["seed"]  # the relation suffers
        assert fill["scratch_short"] > 0.9 and relation["scratch_short"] < 0.5, run["seed"]
        assert a["fine_tuned"] > a["low"] + 0.3, run["seed"]  # the extra pixels pay
        assert a["fine_tuned"] > a["scratch_short"] + 0.3, run["seed"]  # the warm start pays
        tuned, scratch = run["curves"]["fine_tune"], run["curves"]["scratch"]
        assert [s for s, _ in tuned] == [s for s, _ in scratch]
        assert tuned[-1][0] == FINE_TUNE_STEPS
        # from the first measurement on (25 steps), the fine-tune is well ahead
        assert tuned[0][1] > scratch[0][1], run["seed"]
        assert min(t - s for (_, t), (_, s) in zip(tuned[1:], scratch[1:], strict=True)) > 0.15
        assert run["seconds_per_step_high"] > run["seconds_per_step_low"]


def test_resized_copy_leaves_the_model_alone(model):
    before = model.pos_embed.detach().clone()
    big = resized_copy(model, 48)
    flat = resized_copy(model, 48, recipe="flattened")
    assert big.grid_size == (12, 12) and big.pos_embed.shape == (1, 1 + 144, 32)
    assert torch.equal(model.pos_embed, before) and model.grid_size == (6, 6)
    assert not torch.equal(big.pos_embed, flat.pos_embed)
    assert torch.equal(big.pos_embed[:, :1], before[:, :1])  # the class token's row passes
    x, _ = _scenes(2, FRESH_SEED, 48)
    assert big(x).shape == (2, 8)
    with pytest.raises(ValueError, match="pos_embed for a 6x6 grid|6x6"):
        model(x)


def test_fine_tune_recipe_doubles_the_size_and_keeps_the_patch():
    ft = fine_tune_recipe(STRIPES_VIT_RECIPE)
    assert ft.img_size == 48 and ft.patch_size == 4 and ft.steps == FINE_TUNE_STEPS
    assert ft.replace(img_size=24, steps=1000, lr=3e-3, warmup=100) == STRIPES_VIT_RECIPE
    assert fine_tune_recipe(STRIPES_VIT_RECIPE.replace(img_size=(16, 24))).img_size == (32, 48)


TINY = dict(steps=4, batch_size=8, embed_dim=8, num_heads=1, depth=1, n_test=16, warmup=1)


def test_a_short_run_writes_what_load_reads_and_repeats_itself(tmp_path):
    before_threads, before_rng = torch.get_num_threads(), torch.random.get_rng_state()
    recipe = STRIPES_VIT_RECIPE.replace(**TINY)
    fine_tune = fine_tune_recipe(recipe, steps=3, warmup=1)
    rec = train_stripes_vit(
        tmp_path, recipe=recipe, fine_tune=fine_tune, seeds=(3, 4), progress=False
    )
    assert torch.get_num_threads() == before_threads
    assert torch.equal(torch.random.get_rng_state(), before_rng)
    saved = json.loads((tmp_path / RECORD_FILE).read_text())
    assert saved["command"] == rec["command"]
    assert "--seeds 3 4" in rec["command"] and "--fine-tune-steps 3" in rec["command"]
    assert [r["seed"] for r in saved["runs"]] == [3, 4] and saved["shipped_seed"] == 3
    assert set(saved["runs"][0]["accuracy"]) == {
        "low",
        "flattened",
        "resized",
        "fine_tuned",
        "scratch_short",
        "scratch_full",
    }
    m = load_stripes_vit(tmp_path)
    x = torch.rand(2, 3, 24, 24)
    assert torch.equal(m(x), rec["model"](x)) and m.recipe == recipe.replace(seed=3)
    again = train_stripes_vit(
        None, recipe=recipe, fine_tune=fine_tune, seeds=(3,), full_scratch=False, progress=False
    )
    assert torch.equal(again["model"].pos_embed, rec["model"].pos_embed)  # same seed, same model
    assert again["runs"][0]["accuracy"]["fine_tuned"] == saved["runs"][0]["accuracy"]["fine_tuned"]
    assert "scratch_full" not in again["runs"][0]["accuracy"]


def test_cli_runs_and_reports(tmp_path, capsys):
    opts = [f"--{k.replace('_', '-')}={v}" for k, v in TINY.items()]
    argv = [
        "train-stripes-vit",
        "--out",
        str(tmp_path),
        "--seeds",
        "1",
        "--quiet",
        "--fine-tune-steps",
        "2",
        "--no-full-scratch",
        *opts,
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "seed 1: 24 px" in out and "fine-tuned" in out and str(tmp_path) in out
    assert (tmp_path / WEIGHTS_FILE).is_file()
    args = build_parser().parse_args(["train-stripes-vit", "--seeds", "0", "2"])
    assert args.seeds == [0, 2] and args.img_size == 24


def test_errors_name_what_was_expected(tmp_path, capsys):
    with pytest.raises(FileNotFoundError, match="train-stripes-vit --out"):
        load_stripes_vit(tmp_path)
    with pytest.raises(ValueError, match="seeds must name at least one seed"):
        train_stripes_vit(None, seeds=())
    assert main(["train-stripes-vit", "--seed", "3", "--out", str(tmp_path)]) == 1
    assert "give the run seeds with --seeds" in capsys.readouterr().err
