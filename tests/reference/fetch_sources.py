"""Fetch the MAE, DINOv2, SAM and ViTDet source files the fixture generators compare against.

    python tests/reference/fetch_sources.py [DEST]

DEST defaults to ``tests/reference/_src`` (ignored by git). None of these projects is on PyPI,
and MAE's code is licensed CC BY-NC 4.0, so this MIT repository keeps none of it: this script
downloads each
file at a pinned commit, checks its sha256 against the value recorded below, and only when every
file matches writes them, each repository's LICENSE beside its code, under
``DEST/<repository>/<path in that repository>`` (so a file's header, "licensed under the LICENSE
file in the root directory of this source tree", points at the right file), plus
``DEST/PROVENANCE.txt``. A mismatch stops the script before anything is written.

The generators (``tests/make_resample_fixtures.py``, ``tests/make_posenc_fixtures.py``,
``tests/make_segmentation_fixtures.py``) take DEST as ``--sources`` and load the code with
:func:`load_mae_pos_embed`, :func:`load_dinov2_interpolate_pos_encoding`, :func:`load_sam_functions`
and :func:`load_detectron2_backbone_utils`, which check the hashes again before running it.

The pins, and why these commits:

- MAE ``util/pos_embed.py``: facebookresearch/mae main (efb2a80, 2022) still uses ``np.float``,
  which NumPy 1.24 removed. Pull request #202 replaces it with ``np.float32``; its head commit
  af6ae546 and GitHub's test merge of it, a9f5c701 (the commit the first fixtures cite), hold the
  same file (git blob 32d8f822), so either URL gives the bytes recorded here. CC BY-NC 4.0.
- DINOv2 ``dinov2/models/vision_transformer.py``: commit 6a626154 on main (31 Aug 2023, the day the
  repository moved to Apache-2.0), whose ``interpolate_pos_encoding`` is the "legacy" one the
  course calls ``dinov2_legacy`` (``scale_factor`` with the +0.1 offset; main changed it in
  #378, Feb 2024). The first fixtures cite 027a9ac3, which is GitHub's test merge of pull request
  #129 (an ONNX refactor, not merged) into that same main commit; its function differs only by
  ``float(...)`` around values that are already Python floats, so both give the same numbers.
  Apache-2.0; the repository has no NOTICE file at that commit.
- SAM ``segment_anything/modeling/image_encoder.py``: facebookresearch/segment-anything main at
  dca509fe (18 Sep 2024, a README change); the file is unchanged since c1910835 (Apr 2023). Its
  ``get_rel_pos``, ``add_decomposed_rel_pos``, ``window_partition`` and ``window_unpartition``.
  Apache-2.0.
- ViTDet ``detectron2/modeling/backbone/utils.py``: facebookresearch/detectron2 main at 02b5c4e2
  (6 Jun 2026); the file is unchanged since 1fbb4b37 (Jun 2022). Its ``get_abs_pos`` (the
  pre-trained table resized to the detection grid). Apache-2.0.

Only the standard library is used, so ``--help`` and the tests of this file need nothing else.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import importlib.util
import math
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

DEFAULT_DEST = Path(__file__).resolve().parent / "_src"
RAW_BASE = "https://raw.githubusercontent.com"


@dataclass(frozen=True)
class Source:
    repo: str  # owner/name on GitHub
    path: str  # inside the repository
    commits: tuple[str, ...]  # full 40-hex commits holding these exact bytes, tried in order
    sha256: str
    licence: str

    @property
    def local(self) -> Path:
        """Where the file goes under DEST: ``<name>/<path>``, e.g. ``mae/util/pos_embed.py``."""
        return Path(self.repo.split("/")[1]) / self.path

    def urls(self, base: str = RAW_BASE) -> list[str]:
        return [f"{base.rstrip('/')}/{self.repo}/{c}/{self.path}" for c in self.commits]


MAE_COMMITS = (
    # head of pull request #202 ("Fix deprecated np.float")
    "af6ae5466e7c85ff2aa3a8cc6c2252300e0f3291",
    "a9f5c70165c6ec81ce4036d9c2296ab70b7042f9",  # GitHub's test merge of #202 into main
)
DINOV2_COMMIT = "6a6261546c3357f2c243a60cfafa6607f84efcb7"  # main, 2023-08-31

MAE_POS_EMBED = Source(
    "facebookresearch/mae",
    "util/pos_embed.py",
    MAE_COMMITS,
    "e9cbea924002017f0277b434a3dfd25cc8075f926c938c54a25d2c67d45d1f7e",
    "CC-BY-NC-4.0",
)
MAE_LICENSE = Source(
    "facebookresearch/mae",
    "LICENSE",
    MAE_COMMITS,
    "ffe3b1e0b58c1f1250ce48f84d8c37328f9a1ff59bb77b63bc97480cf2778b64",
    "CC-BY-NC-4.0",
)
DINOV2_VIT = Source(
    "facebookresearch/dinov2",
    "dinov2/models/vision_transformer.py",
    (DINOV2_COMMIT,),
    "114c3170b4b67370f324bc260b4009395f9c658a433cc476fcfacd73226b9b49",
    "Apache-2.0",
)
DINOV2_LICENSE = Source(
    "facebookresearch/dinov2",
    "LICENSE",
    (DINOV2_COMMIT,),
    "600cc67cc4cb2f5ea317dcfc687ad1c74dc4bec8782bbe9db0afd83513b935b7",
    "Apache-2.0",
)
SAM_COMMIT = "dca509fe793f601edb92606367a655c15ac00fdf"  # main, 2024-09-18
DETECTRON2_COMMIT = "02b5c4e295e990042a714712c21dc79b731e8833"  # main, 2026-06-06

SAM_IMAGE_ENCODER = Source(
    "facebookresearch/segment-anything",
    "segment_anything/modeling/image_encoder.py",
    (SAM_COMMIT,),
    "1665ada2902722c9a8cd566c840e324d623ef2b12f7d9ae9f38b24aed0e39886",
    "Apache-2.0",
)
SAM_LICENSE = Source(
    "facebookresearch/segment-anything",
    "LICENSE",
    (SAM_COMMIT,),
    "c71d239df91726fc519c6eb72d318ec65820627232b2f796219e87dcf35d0ab4",
    "Apache-2.0",
)
DETECTRON2_UTILS = Source(
    "facebookresearch/detectron2",
    "detectron2/modeling/backbone/utils.py",
    (DETECTRON2_COMMIT,),
    "3be2ae09fdaced380206beab220dacabe65e729c6ab20e86a6b1177a57e58c3d",
    "Apache-2.0",
)
DETECTRON2_LICENSE = Source(
    "facebookresearch/detectron2",
    "LICENSE",
    (DETECTRON2_COMMIT,),
    "ceb78ee847e76f67a6a521a5732dc3373aed07eee003d738a572dc96705f08ff",
    "Apache-2.0",
)
SOURCES: tuple[Source, ...] = (
    MAE_POS_EMBED,
    MAE_LICENSE,
    DINOV2_VIT,
    DINOV2_LICENSE,
    SAM_IMAGE_ENCODER,
    SAM_LICENSE,
    DETECTRON2_UTILS,
    DETECTRON2_LICENSE,
)


class SourceError(RuntimeError):
    """A reference file that could not be fetched, or whose bytes are not the pinned ones."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _download(source: Source, base: str, timeout: float) -> bytes:
    """The first of ``source``'s URLs that answers, checked against its sha256."""
    failures = []
    for url in source.urls(base):
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                data = response.read()
        except (urllib.error.URLError, OSError) as err:
            failures.append(f"  {url}: {err}")
            continue
        got = sha256(data)
        if got != source.sha256:
            raise SourceError(
                f"sha256 mismatch for {url}: expected {source.sha256}, got {got} "
                f"({len(data)} bytes). "
                "Nothing was written. If the pin itself should change, update SOURCES in "
                f"{Path(__file__).name} after reading the new file and its licence."
            )
        return data
    raise SourceError(
        f"could not download {source.repo}:{source.path}; tried\n" + "\n".join(failures)
    )


def fetch(
    dest: Path = DEFAULT_DEST,
    base: str = RAW_BASE,
    sources: tuple[Source, ...] = SOURCES,
    timeout: float = 60.0,
) -> list[Path]:
    """Download every source, verify all of them, then write them under ``dest``; the paths
    written."""
    blobs = [(s, _download(s, base, timeout)) for s in sources]  # raises before any write
    written = []
    for source, data in blobs:
        path = dest / source.local
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        written.append(path)
    lines = [
        "Reference sources for the vitlearn fixture generators, written by "
        "tests/reference/fetch_sources.py.",
        "Each file keeps its own licence (LICENSE beside it); none of it is part of vitlearn.",
        "",
    ]
    for source in sources:
        lines += [
            f"{source.local}",
            f"  from     {source.repo} {source.path}",
            f"  commits  {' '.join(source.commits)}",
            f"  sha256   {source.sha256}",
            f"  licence  {source.licence}",
        ]
    (dest / "PROVENANCE.txt").write_text("\n".join(lines) + "\n")
    written.append(dest / "PROVENANCE.txt")
    return written


def verified_path(source: Source, dest: Path) -> Path:
    """``dest``'s copy of ``source``, after checking its bytes; a clear error if absent or
    altered."""
    path = Path(dest) / source.local
    if not path.is_file():
        raise SourceError(
            f"{path} is missing: expected {source.repo}:{source.path} there. "
            f"Run: python tests/reference/fetch_sources.py {dest}"
        )
    got = sha256(path.read_bytes())
    if got != source.sha256:
        raise SourceError(
            f"{path} is not the pinned {source.repo}:{source.path}: "
            f"sha256 expected {source.sha256}, "
            f"got {got}. Fetch it again: python tests/reference/fetch_sources.py {dest}"
        )
    return path


def load_mae_pos_embed(dest: Path = DEFAULT_DEST) -> ModuleType:
    """MAE's ``util/pos_embed.py`` as a module (it imports only numpy and torch)."""
    path = verified_path(MAE_POS_EMBED, dest)
    verified_path(MAE_LICENSE, dest)
    spec = importlib.util.spec_from_file_location("mae_util_pos_embed", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_dinov2_interpolate_pos_encoding(dest: Path = DEFAULT_DEST) -> Callable:
    """``DinoVisionTransformer.interpolate_pos_encoding(self, x, w, h)`` as a plain function.

    Importing the whole file would need the rest of the dinov2 package (``dinov2.layers``), so the
    one method is taken from the file's syntax tree and compiled alone, under the file's own name
    (tracebacks point into it), with the three names it uses: ``math``, ``torch`` and ``nn``.
    """
    import torch  # the generators' environment has it; this module's CLI does not need it

    path = verified_path(DINOV2_VIT, dest)
    verified_path(DINOV2_LICENSE, dest)
    tree = ast.parse(path.read_text(), filename=str(path))
    found = [
        item
        for node in tree.body
        if isinstance(node, ast.ClassDef) and node.name == "DinoVisionTransformer"
        for item in node.body
        if isinstance(item, ast.FunctionDef) and item.name == "interpolate_pos_encoding"
    ]
    if len(found) != 1:
        raise SourceError(
            f"{path}: expected one DinoVisionTransformer.interpolate_pos_encoding, "
            f"found {len(found)}"
        )
    namespace = {"math": math, "torch": torch, "nn": torch.nn}
    exec(compile(ast.Module(body=found, type_ignores=[]), str(path), "exec"), namespace)
    return namespace["interpolate_pos_encoding"]


SAM_FUNCTIONS = ("get_rel_pos", "add_decomposed_rel_pos", "window_partition", "window_unpartition")


def load_sam_functions(dest: Path = DEFAULT_DEST) -> dict[str, Callable]:
    """SAM's four position and window functions from ``image_encoder.py``, by name.

    The file imports ``.common`` from its package, so, as for DINOv2, the functions are taken from
    its syntax tree and compiled alone under the file's own name, with the names they use:
    ``torch``, ``nn``, ``F`` and the ``typing`` names of their annotations.
    """
    import typing

    import torch

    path = verified_path(SAM_IMAGE_ENCODER, dest)
    verified_path(SAM_LICENSE, dest)
    tree = ast.parse(path.read_text(), filename=str(path))
    found = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name in SAM_FUNCTIONS]
    if sorted(n.name for n in found) != sorted(SAM_FUNCTIONS):
        raise SourceError(
            f"{path}: expected the functions {SAM_FUNCTIONS}, found {[n.name for n in found]}"
        )
    namespace = {
        "torch": torch,
        "nn": torch.nn,
        "F": torch.nn.functional,
        "Optional": typing.Optional,
        "Tuple": typing.Tuple,  # noqa: UP006  (the file's own annotations)
        "Type": typing.Type,  # noqa: UP006
    }
    exec(compile(ast.Module(body=found, type_ignores=[]), str(path), "exec"), namespace)
    return {name: namespace[name] for name in SAM_FUNCTIONS}


def load_detectron2_backbone_utils(dest: Path = DEFAULT_DEST) -> ModuleType:
    """ViTDet's ``detectron2/modeling/backbone/utils.py`` as a module (imports: math, torch)."""
    path = verified_path(DETECTRON2_UTILS, dest)
    verified_path(DETECTRON2_LICENSE, dest)
    spec = importlib.util.spec_from_file_location("detectron2_backbone_utils", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Download the pinned MAE, DINOv2, SAM and ViTDet files (with their licences), "
        "verify their sha256 and save them for the fixture generators."
    )
    parser.add_argument(
        "dest",
        nargs="?",
        type=Path,
        default=DEFAULT_DEST,
        help="folder to write into (default: tests/reference/_src, ignored by git)",
    )
    parser.add_argument(
        "--base-url",
        default=RAW_BASE,
        help=f"where <owner>/<repo>/<commit>/<path> is served (default: {RAW_BASE}); "
        "a mirror, or file:///some/dir, works the same, and the hashes are checked all the same",
    )
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="seconds per request (default: 60)"
    )
    args = parser.parse_args(argv)
    try:
        written = fetch(args.dest, args.base_url, timeout=args.timeout)
    except SourceError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
