"""vitlearn.images: the sample photos load from anywhere, at any size; each is small and sourced."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import vitlearn
from vitlearn import list_images, load_image
from vitlearn.images import images_dir

REPO = Path(__file__).resolve().parents[1]


def test_list_images():
    names = list_images()
    assert 3 <= len(names) <= 5
    assert names == sorted(names)
    assert {"astronaut", "cat", "coffee", "rocket"} <= set(names)


@pytest.mark.parametrize("name", list_images())
def test_load_each(name):
    x = load_image(name)
    assert x.dtype == torch.float32 and x.dim() == 3 and x.shape[0] == 3
    assert 0.0 <= float(x.min()) and float(x.max()) <= 1.0
    assert float(x.max()) > 0.5  # a real photo, not black
    assert load_image(name, 32).shape == (3, 32, 32)
    assert load_image(name, (24, 40)).shape == (3, 24, 40)


def test_sizes_and_sources():
    sources = (REPO / "images" / "SOURCES.md").read_text()
    assert images_dir() == REPO / "images"
    for name in list_images():
        (path,) = [p for p in (REPO / "images").iterdir() if p.stem == name]
        assert path.stat().st_size < 200_000, path
        assert f"`{path.name}`" in sources, f"{path.name} is not described in images/SOURCES.md"
    for word in ("public domain", "CC0"):
        assert word.lower() in sources.lower()


def test_resize_crops_instead_of_squashing():
    # the cat is 256 x 385; a 64 x 64 load is its centre square, so the middle columns agree
    full = load_image("cat")
    square = load_image("cat", 256)
    h, w = full.shape[1:]
    left = (w - h) // 2
    assert (square - full[:, :, left : left + h]).abs().mean() < 0.02
    assert load_image("cat.jpg", 8).shape == (3, 8, 8)  # extension accepted


def test_unknown_name_lists_known():
    with pytest.raises(ValueError, match=r"unknown image 'dog'; known: 'astronaut', 'cat'"):
        load_image("dog")
    with pytest.raises(TypeError, match="must be a str"):
        load_image(3)
    with pytest.raises(ValueError, match="size must be at least 1"):
        load_image("cat", 0)


def test_env_override(tmp_path, monkeypatch):
    monkeypatch.setenv("VITLEARN_IMAGES", str(tmp_path))
    assert list_images() == []
    (tmp_path / "mine.png").write_bytes((REPO / "images" / "cat.jpg").read_bytes())
    assert list_images() == ["mine"]
    missing = tmp_path / "nowhere"
    monkeypatch.setenv("VITLEARN_IMAGES", str(missing))
    with pytest.raises(FileNotFoundError, match=r"nowhere.*does not exist.*VITLEARN_IMAGES"):
        load_image("cat")


def test_loads_from_another_working_directory(tmp_path, monkeypatch):
    monkeypatch.delenv("VITLEARN_IMAGES", raising=False)
    monkeypatch.chdir(tmp_path)
    assert load_image("coffee", (16, 24)).shape == (3, 16, 24)
    assert images_dir() == REPO / "images"
    assert Path(vitlearn.__file__).resolve().parents[1] == REPO
