"""``python -m vitlearn``: the course's command-line tools.

Each subcommand lives in its own module and registers itself here through ``add_parser`` and
``run``; a failure is one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .._command import CommandError

_COMMANDS = (
    ("resample-checkpoint", "vitlearn.checkpoints.resample"),
    ("release-student", "vitlearn.editions.student"),
    ("build-site", "vitlearn.editions.website"),
    ("release-nbgrader", "vitlearn.editions.nbgrader"),
    ("train-course-vit", "vitlearn.trained.course_vit"),
    ("train-anyres-vits", "vitlearn.trained.anyres_vits"),
    ("train-stripes-vit", "vitlearn.trained.stripes_vit"),
    ("working-time", "vitlearn.editions.worktime"),
)


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = argparse.ArgumentParser(prog="python -m vitlearn", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module in _COMMANDS:
        mod = importlib.import_module(module)
        p = sub.add_parser(name, help=mod.HELP, description=mod.HELP)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args._run(args)
    except (CommandError, ImportError, OSError, ValueError) as e:
        print(f"{parser.prog} {args.command}: error: {e}", file=sys.stderr)
        return 1
    return 0
