"""The command line of a shipped model's training: one option per :class:`TrainRecipe` field.

``python -m vitlearn train-course-vit --steps 800 --lr 0.002 ...``: every field of the recipe
dataclass is an option named after it (``img_size`` -> ``--img-size``), typed from its
annotation, defaulting to the model's own recipe. The same table turns a recipe back into the
command line that makes it (:func:`recipe_command`), which each training record keeps.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from collections.abc import Sequence
from typing import Any

from ..data import TASKS
from ..embedding import POS_EMBED_KINDS
from ..models import POOL_KINDS
from ..training import TrainRecipe

_CHOICES: dict[str, tuple[str, ...]] = {
    "task": tuple(TASKS),
    "pos_embed": POS_EMBED_KINDS,
    "global_pool": POOL_KINDS,
}
_ALIASES = {"img_size": ("--image-size",)}  # the name the first records' commands used


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _kinds(hint: Any) -> tuple[type, bool, bool]:
    """``(scalar type, may be None, is a sequence)`` of a field's annotation."""
    args = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    optional = type(None) in args
    for arg in args:
        if typing.get_origin(arg) is tuple:  # tuple[float, ...] or tuple[int, int]
            return typing.get_args(arg)[0], optional, True
    scalar = next(a for a in args if a is not type(None))
    return scalar, optional, False


def add_recipe_options(p: argparse.ArgumentParser, defaults: TrainRecipe) -> None:
    """One option per field of ``defaults``' recipe, each defaulting to its value there."""
    hints = typing.get_type_hints(type(defaults))
    for field in dataclasses.fields(defaults):
        name, default = field.name, getattr(defaults, field.name)
        scalar, optional, sequence = _kinds(hints[name])
        flags = (_flag(name), *_ALIASES.get(name, ()))
        shown = "none" if default is None else default
        if scalar is bool:
            p.add_argument(
                *flags,
                action=argparse.BooleanOptionalAction,
                default=default,
                help=f"default {shown}",
            )
            continue
        kwargs: dict[str, Any] = {"default": default, "help": f"default {shown}"}
        if sequence:
            kwargs["nargs"] = "+"
        if name in _CHOICES:
            kwargs["choices"] = _CHOICES[name]
        kwargs["type"] = _optional(scalar) if optional else scalar
        kwargs["metavar"] = {int: "N", float: "X"}.get(scalar, name.upper())
        p.add_argument(*flags, dest=name, **kwargs)


def _optional(scalar: type) -> Any:
    """``int`` or the word ``none`` (for a field whose None means something, like ``n_train``)."""

    def parse(text: str) -> Any:
        return None if text.lower() == "none" else scalar(text)

    parse.__name__ = scalar.__name__
    return parse


def recipe_from_options(args: argparse.Namespace, defaults: TrainRecipe) -> TrainRecipe:
    """The recipe the parsed options ask for (errors as :class:`TrainRecipe` raises them)."""
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(defaults)}
    size = values.get("img_size")
    if isinstance(size, list):  # --img-size 56, or --img-size 48 64 for (H, W)
        values["img_size"] = size[0] if len(size) == 1 else tuple(size)
    return defaults.replace(**values)


def recipe_command(
    command: str, recipe: TrainRecipe, defaults: TrainRecipe, extra: Sequence[str] = ()
) -> str:
    """The command line that runs ``recipe``: ``command``, the options that differ from
    ``defaults`` (in field order), then ``extra``."""
    parts = [command]
    for field in dataclasses.fields(recipe):
        value = getattr(recipe, field.name)
        if value == getattr(defaults, field.name):
            continue
        flag = _flag(field.name)
        if isinstance(value, bool):
            parts.append(flag if value else "--no-" + flag[2:])
        elif isinstance(value, tuple):
            parts.append(f"{flag} {' '.join(str(v) for v in value)}")
        elif value is None:
            parts.append(f"{flag} none")
        else:
            parts.append(f"{flag} {value}")
    return " ".join([*parts, *extra])
