"""The course ViT shipped in vitlearn/trained/weights: it loads offline, classifies fresh scenes,
its learned position table has the 2-D structure, its record tells the truth, and its training
script runs."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
import torch

import vitlearn
from vitlearn import (
    evaluate,
    grid_structure,
    load_course_vit,
    load_course_vit_record,
    make_scenes,
    render_scenes,
)
from vitlearn.editions.cli import build_parser, main
from vitlearn.trained.course_vit import (
    COURSE_VIT_RECIPE,
    EXPERIMENTS_FILE,
    HISTORY_FILE,
    RECORD_FILE,
    WEIGHTS_FILE,
    build_course_vit,
    experiments_table,
    train_course_vit,
)

WEIGHTS_DIR = Path(vitlearn.__file__).parent / "trained" / "weights"
# below the training seeds (100_000 + step), and neither the validation (1) nor the test (2) seed
FRESH_SEED = 7


@pytest.fixture(scope="module")
def model():
    return load_course_vit()


@pytest.fixture(scope="module")
def record():
    return load_course_vit_record()


def _scenes(meta, n, seed):
    scenes = make_scenes(n, seed=seed, task=meta["task"], cells=meta["cells"])
    return render_scenes(scenes, meta["image_size"]), torch.from_numpy(scenes.labels)


def test_loads_without_the_network(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("load_course_vit tried to open a socket")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    m = load_course_vit()
    assert isinstance(m, vitlearn.TinyViT) and not m.training


def test_meta_and_shapes(model):
    meta = model.meta
    for key in (
        "task",
        "image_size",
        "patch_size",
        "test_accuracy",
        "command",
        "config",
        "seeds",
        "versions",
        "train_seconds",
        "cells",
    ):
        assert key in meta, key
    assert meta["command"].startswith("python -m vitlearn train-course-vit")
    assert set(meta["versions"]) >= {"torch", "numpy", "python"}
    rows, cols = model.grid_size
    assert rows >= 14 and cols >= 14  # a realistic grid, like ViT-B/16 at 224 px
    assert model.patch_size == (meta["patch_size"], meta["patch_size"])
    assert (rows * meta["patch_size"], cols * meta["patch_size"]) == (meta["image_size"],) * 2
    assert model.pos_embed.shape == (1, 1 + rows * cols, meta["config"]["embed_dim"])
    assert model.cls_token.shape == (1, 1, meta["config"]["embed_dim"])
    x, _ = _scenes(meta, 2, FRESH_SEED)
    assert model(x).shape == (2, vitlearn.task_info(meta["task"]).num_classes)


def test_weights_are_small_plain_tensors_in_timm_names():
    files = [p for p in WEIGHTS_DIR.iterdir() if p.is_file()]
    assert {WEIGHTS_FILE, RECORD_FILE, HISTORY_FILE, EXPERIMENTS_FILE} <= {p.name for p in files}
    assert sum(p.stat().st_size for p in files) < 2 * 1024 * 1024  # all the package data
    state = torch.load(WEIGHTS_DIR / WEIGHTS_FILE, map_location="cpu", weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    assert {
        "pos_embed",
        "cls_token",
        "patch_embed.proj.weight",
        "blocks.0.attn.qkv.weight",
        "head.weight",
    } <= set(state)
    history = torch.load(WEIGHTS_DIR / HISTORY_FILE, map_location="cpu", weights_only=True)
    assert set(history) == {"steps", "tables"}


def test_classifies_fresh_scenes(model):
    x, y = _scenes(model.meta, 300, FRESH_SEED)
    train_seeds = model.meta["seeds"]["train"]
    assert not train_seeds[0] <= FRESH_SEED <= train_seeds[1]
    assert FRESH_SEED not in (model.meta["seeds"]["val"], model.meta["seeds"]["test"])
    assert evaluate(model, x, y) >= 0.90


def test_record_accuracy_is_what_its_test_split_gives(model):
    meta = model.meta
    x, y = _scenes(meta, meta["n_test"], meta["seeds"]["test"])
    assert evaluate(model, x, y) == pytest.approx(meta["test_accuracy"], abs=1e-9)


def test_learned_table_has_the_grid_structure(model):
    out = grid_structure(model.pos_embed.detach(), model.grid_size, num_prefix_tokens=1)
    assert out["spearman"] <= -0.6
    assert out["all_neighbours_above_median"]
    assert out["spearman"] == pytest.approx(model.meta["spearman"], abs=1e-9)


def test_the_table_started_as_timm_starts_it(model):
    start = build_course_vit(model.recipe).pos_embed.detach()
    assert model.meta["config"]["pos_embed_std"] == 0.02
    assert 0.015 < float(start.std()) < 0.025 and float(start.abs().max()) <= 2.0
    assert not torch.equal(start, model.pos_embed.detach())  # training moved it


def test_record_history_and_tables(model, record):
    h = record["history"]
    assert h["step"][0] == 0 and h["step"][-1] == record["config"]["steps"] and len(h["step"]) >= 6
    assert (
        len(h["val_accuracy"])
        == len(h["spearman"])
        == len(h["neighbour_fraction"])
        == len(h["step"])
    )
    assert 3 <= len(record["table_steps"]) <= 4 and set(record["table_steps"]) <= set(h["step"])
    tables = record["tables"]
    assert tables.shape == (len(record["table_steps"]), *model.pos_embed.shape[1:])
    assert torch.equal(
        tables[-1], model.pos_embed.detach()[0]
    )  # the last snapshot is the shipped table
    start = build_course_vit(record["recipe"]).pos_embed.detach()[0]
    assert torch.equal(tables[0], start)  # the first is the untrained table
    for step, table in zip(record["table_steps"], tables, strict=True):
        rho = grid_structure(table, model.grid_size, 1)["spearman"]
        assert rho == pytest.approx(h["spearman"][h["step"].index(step)], abs=1e-5)


def test_experiments_table_matches_its_notes(record):
    rows = record["experiments"]
    assert rows and all(
        {"command", "test_accuracy", "spearman", "neighbour_fraction", "minutes"} <= set(r)
        for r in rows
    )
    shipped = [r for r in rows if r.get("shipped")]
    assert len(shipped) == 1 and shipped[0]["command"] == record["command"]
    assert shipped[0]["test_accuracy"] == pytest.approx(record["test_accuracy"], abs=5e-4)
    notes = (WEIGHTS_DIR / "course_vit.md").read_text()
    assert experiments_table(rows) in notes


def test_cli_parses_every_recipe_option():
    args = build_parser().parse_args(
        [
            "train-course-vit",
            "--out",
            "somewhere",
            "--steps",
            "3",
            "--embed-dim",
            "16",
            "--task",
            "relation",
            "--lr",
            "0.002",
            "--no-decay-pos-embed",
            "--input-std",
            "0.2",
            "0.3",
            "0.4",
            "--threads",
            "2",
        ]
    )
    assert (
        args.out == Path("somewhere")
        and args.steps == 3
        and args.embed_dim == 16
        and args.lr == 0.002
    )
    assert args.input_std == [0.2, 0.3, 0.4] and args.decay_pos_embed is False and args.threads == 2
    assert args.cells == COURSE_VIT_RECIPE.cells and args.n_train is None
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train-course-vit", "--task", "colour"])


TINY = dict(
    img_size=16, patch_size=4, cells=2, embed_dim=8, depth=1, num_heads=1, batch_size=8, warmup=1
)


def test_a_short_training_run_writes_what_load_reads(tmp_path):
    before_threads = torch.get_num_threads()
    before_rng = torch.random.get_rng_state()
    rec = train_course_vit(tmp_path, steps=3, n_val=8, n_test=8, progress=False, **TINY)
    assert torch.get_num_threads() == before_threads and torch.equal(
        torch.random.get_rng_state(), before_rng
    )
    assert rec["history"]["step"][0] == 0 and rec["history"]["step"][-1] == 3
    saved = json.loads((tmp_path / RECORD_FILE).read_text())
    assert saved["command"] == rec["command"] and "--steps 3" in rec["command"]
    m = load_course_vit(tmp_path)
    assert m.grid_size == (4, 4) and m.meta["test_accuracy"] == rec["test_accuracy"]
    x = torch.rand(2, 3, 16, 16)
    assert torch.equal(m(x), rec["model"](x))
    again = train_course_vit(None, steps=3, n_val=8, n_test=8, progress=False, **TINY)
    assert torch.equal(again["model"].pos_embed, rec["model"].pos_embed)  # same seed, same numbers
    hist = load_course_vit_record(tmp_path)
    assert hist["tables"].shape[1:] == (17, 8) and "experiments" not in hist


def test_cli_trains_and_reports(tmp_path, capsys):
    opts = [f"--{k.replace('_', '-')}={v}" for k, v in TINY.items()]
    assert (
        main(
            [
                "train-course-vit",
                "--out",
                str(tmp_path),
                "--steps",
                "2",
                "--quiet",
                "--n-val",
                "8",
                "--n-test",
                "8",
                *opts,
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "test accuracy" in out and str(tmp_path) in out
    assert (tmp_path / WEIGHTS_FILE).is_file()


def test_errors_name_what_was_expected(tmp_path):
    with pytest.raises(TypeError, match=r"unknown TrainRecipe fields \['colour'\]"):
        train_course_vit(None, steps=1, colour="red")
    with pytest.raises(ValueError, match="steps must be a positive int, got 0"):
        train_course_vit(None, steps=0)
    with pytest.raises(TypeError, match="steps must be an int, got float 2.0"):
        train_course_vit(None, steps=2.0)
    with pytest.raises(TypeError, match="n_val must be an int"):
        train_course_vit(None, steps=1, n_val=1.5)
    with pytest.raises(FileNotFoundError, match="train-course-vit --out"):
        load_course_vit(tmp_path)


def test_cli_options_are_the_recipe_fields_and_its_command_runs_the_recipe():
    import dataclasses

    from vitlearn.trained._recipe_cli import recipe_command

    parser = build_parser()
    sub = parser._subparsers._group_actions[0].choices["train-course-vit"]
    dests = {a.dest for a in sub._actions} - {"help", "out", "threads", "quiet", "n_val"}
    assert dests == {f.name for f in dataclasses.fields(COURSE_VIT_RECIPE)}
    changed = COURSE_VIT_RECIPE.replace(
        img_size=(48, 64), n_train=512, lr=2e-3, decay_pos_embed=True, input_std=(0.2, 0.3, 0.4)
    )
    command = recipe_command("python -m vitlearn train-course-vit", changed, COURSE_VIT_RECIPE)
    args = parser.parse_args(command.split()[3:])
    from vitlearn.trained._recipe_cli import recipe_from_options

    assert recipe_from_options(args, COURSE_VIT_RECIPE) == changed
    assert recipe_command("x", COURSE_VIT_RECIPE, COURSE_VIT_RECIPE) == "x"
