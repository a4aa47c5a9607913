"""The any-resolution ViTs (vitlearn.trained.anyres_vits): notebook 09's five shipped models.

The shipped weights are what notebook 05's seeded call gives (two schemes retrained here, one of
them with the random rescaling); the record's seed-0 accuracies are what the shipped models give;
every seed of the record holds what notebook 09 asserts from it; a short run writes what the
loaders read, and leaves the caller's thread count alone.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from vitlearn import load_anyres_record, load_anyres_vits, make_trained_tiny_vit
from vitlearn.anyres import POSITION_SCHEMES, TEST_SIZES
from vitlearn.editions.cli import main
from vitlearn.trained.anyres_vits import (
    DEFAULT_SEEDS,
    accuracy_at_sizes,
    for_size,
    train_anyres_vits,
)
from vitlearn.trained.anyres_vits import test_split as held_out  # not a test: the test scenes


@pytest.fixture(scope="module")
def models():
    return load_anyres_vits()


@pytest.fixture(scope="module")
def record():
    return load_anyres_record()


def test_loads_the_five_schemes_offline(monkeypatch, models, record):
    import socket

    def no_network(*args, **kwargs):
        raise AssertionError("tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    again = load_anyres_vits()
    assert list(again) == list(POSITION_SCHEMES) == list(record["seeds"]["0"])
    for name, model in models.items():
        kind, rope_kwargs = POSITION_SCHEMES[name]
        assert model.pos_embed_kind == kind and not model.training
        assert model.meta["scheme"] == name and model.meta["seed"] == record["shipped_seed"] == 0
        with torch.no_grad():
            assert model(torch.rand(2, 3, 32, 32)).shape == (2, 4)
    assert models["RoPE, box + rescale"].rope.rescale_coords == 2.0
    assert list(record["accuracy"]) == list(DEFAULT_SEEDS)


@pytest.mark.parametrize("name", ["learned + interpolation", "RoPE, box + rescale"])
def test_the_shipped_weights_are_notebook_05s_seeded_call(models, name):
    kind, rope_kwargs = POSITION_SCHEMES[name]
    run = make_trained_tiny_vit(kind, rope_kwargs=rope_kwargs, seed=0, progress=False)
    shipped = models[name].state_dict()
    trained = run.model.state_dict()
    assert list(shipped) == list(trained)
    assert all(torch.equal(shipped[k], trained[k]) for k in shipped), name


def test_the_record_is_what_the_shipped_models_give(models, record):
    acc = accuracy_at_sizes(models, held_out())
    for name in POSITION_SCHEMES:
        assert [round(acc[name][s], 6) for s in TEST_SIZES] == record["seeds"]["0"][name][
            "accuracy"
        ], name


def test_every_seed_of_the_record_holds_what_notebook_09_asserts(record):
    acc, seeds = record["accuracy"], sorted(record["accuracy"])
    away = [s for s in TEST_SIZES if s != (32, 32)]
    mean = {
        n: [float(np.mean([acc[seed][n][s] for s in away])) for seed in seeds]
        for n in POSITION_SCHEMES
    }
    box = ["RoPE, DINOv3 box", "RoPE, box + rescale"]
    index_based = [n for n in POSITION_SCHEMES if n not in box]
    assert round(min(min(mean[n]) for n in box), 2) == 0.72
    assert round(min(min(mean[n]) for n in index_based), 2) == 0.26
    assert round(max(max(mean[n]) for n in index_based), 2) == 0.71
    for i in range(len(seeds)):
        assert min(mean[n][i] for n in box) > max(mean[n][i] for n in index_based), seeds[i]
    assert max(acc[seed]["RoPE, patch indices"][(64, 64)] for seed in seeds) < 0.26
    gain = [a - b for a, b in zip(mean[box[1]], mean[box[0]], strict=True)]
    assert sum(g > 0 for g in gain) == 4 and round(min(gain), 2) == -0.02
    assert round(max(gain), 2) == 0.21
    assert all(
        acc[seed]["RoPE, patch indices"][(40, 40)] > acc[seed]["learned + interpolation"][(40, 40)]
        for seed in seeds
    )


def test_for_size_resizes_a_learned_table_in_a_copy_only(models):
    learned = models["learned + interpolation"]
    before = learned.pos_embed.detach().clone()
    bigger = for_size(learned, (48, 64))
    assert bigger is not learned and bigger.grid_size == (6, 8)
    assert bigger.pos_embed.shape == (1, 1 + 48, 32) and torch.equal(learned.pos_embed, before)
    assert for_size(learned, 32) is learned
    assert for_size(models["RoPE, DINOv3 box"], (64, 64)) is models["RoPE, DINOv3 box"]
    with pytest.raises(ValueError, match="patch"):
        for_size(learned, (50, 50))


def test_a_short_run_writes_what_the_loaders_read(tmp_path):
    before = torch.get_num_threads()
    rec = train_anyres_vits(tmp_path, seeds=(1, 0), steps=2, threads=1)
    assert torch.get_num_threads() == before
    assert rec["shipped_seed"] == 1 and list(rec["seeds"]) == ["1", "0"]
    assert rec[
        "command"
    ] == "python -m vitlearn train-anyres-vits --steps 2 --seeds 1 0 --out " + str(tmp_path)
    on_disk = json.loads((tmp_path / "anyres_vits.json").read_text())
    assert on_disk == {k: v for k, v in rec.items() if k != "models"}
    loaded = load_anyres_vits(tmp_path)
    for name, model in loaded.items():
        assert model.meta["seed"] == 1
        state = rec["models"][name].state_dict()
        assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())
    again = make_trained_tiny_vit("sincos", seed=1, steps=2, progress=False)
    assert torch.equal(again.model.head.weight, loaded["sin-cos, recomputed"].head.weight)


def test_the_command_line_trains_and_prints_the_table(tmp_path, capsys):
    assert main(["train-anyres-vits", "--out", str(tmp_path), "--seeds", "0", "--steps", "1"]) == 0
    out = capsys.readouterr().out
    assert "seed 0" in out and "RoPE, box + rescale" in out and "mean away" in out
    assert (tmp_path / "anyres_vits.pt").is_file()


def test_errors_name_what_was_expected(tmp_path):
    with pytest.raises(ValueError, match="seeds: give one or more different seeds"):
        train_anyres_vits(None, seeds=(0, 0), steps=1)
    with pytest.raises(ValueError, match="seed"):
        train_anyres_vits(None, seeds=(-1,), steps=1)
    with pytest.raises(FileNotFoundError, match="train them there with"):
        load_anyres_vits(tmp_path)
    (tmp_path / "anyres_vits.json").write_text(json.dumps({"format": 99}))
    with pytest.raises(ValueError, match="record format 99"):
        load_anyres_record(tmp_path)
