"""The fixture generators stay reproducible: arguments, one script per fixture, pinned sources.

No network and none of the reference libraries: each script is run with timm, transformers,
vit-pytorch, scipy, torchvision, torch and numpy made unimportable, and the fetch step is tried
against a folder standing in for GitHub.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
FIXTURES = TESTS / "fixtures"
REFERENCE = TESTS / "reference"
GENERATORS = sorted(TESTS.glob("make_*_fixtures.py"))
HEAVY = ("timm", "transformers", "vit_pytorch", "scipy", "torchvision", "torch", "numpy")

# Runs one script in a fresh interpreter where the HEAVY modules cannot be imported: first as a
# module (to read DEFAULT_OUT and the docstring), then as __main__ with --help.
PROBE = """
import contextlib, io, json, runpy, sys
for name in {heavy!r}:
    sys.modules[name] = None  # "import name" now raises ImportError
script = sys.argv[1]
ns = runpy.run_path(script, run_name="probe")
help_text, code = io.StringIO(), None
sys.argv = [script, "--help"]
with contextlib.redirect_stdout(help_text):
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as exit:
        code = exit.code
print(json.dumps({{"default_out": str(ns["DEFAULT_OUT"]), "doc": ns["__doc__"],
                  "help": help_text.getvalue(), "exit": code}}))
"""


def _probe(script: Path) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY), str(script)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert done.returncode == 0, (
        f"{script.name} failed without the reference libraries:\n{done.stderr}"
    )
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def probes() -> dict[str, dict]:
    return {script.name: _probe(script) for script in GENERATORS}


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(f"_under_test_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_there_are_generators_and_fixtures():
    assert len(GENERATORS) >= 5, [g.name for g in GENERATORS]
    assert len(list(FIXTURES.iterdir())) >= 5


@pytest.mark.parametrize("script", GENERATORS, ids=lambda p: p.name)
def test_help_runs_without_reference_libraries_and_names_the_default(script, probes):
    probe = probes[script.name]
    assert probe["exit"] == 0, f"{script.name} --help exited with {probe['exit']}"
    default = Path(probe["default_out"])
    relative = default.relative_to(ROOT).as_posix()
    assert "--out" in probe["help"], probe["help"]
    assert relative in probe["help"], f"--help should name the default {relative}:\n{probe['help']}"


@pytest.mark.parametrize("script", GENERATORS, ids=lambda p: p.name)
def test_docstring_opens_with_the_command_that_regenerates(script, probes):
    doc = probes[script.name]["doc"]
    head = "\n".join(doc.splitlines()[:6])
    default = Path(probes[script.name]["default_out"]).relative_to(ROOT).as_posix()
    assert f"python tests/{script.name}" in head, f"{script.name}: no command in\n{head}"
    assert default in doc.splitlines()[0], f"{script.name}: first line should name {default}"


def test_every_fixture_is_made_by_exactly_one_generator(probes):
    outputs = {name: Path(p["default_out"]) for name, p in probes.items()}
    for name, out in outputs.items():
        assert out.parent == FIXTURES, f"{name} writes {out}, expected a file in {FIXTURES}"
    made = sorted(out.name for out in outputs.values())
    assert len(made) == len(set(made)), f"two generators write the same file: {made}"
    present = sorted(p.name for p in FIXTURES.iterdir() if not p.name.startswith("."))
    assert made == present, f"generators make {made}, tests/fixtures holds {present}"


@pytest.mark.parametrize("script", GENERATORS, ids=lambda p: p.name)
def test_main_pins_cpu_kernels_before_importing_torch(script):
    tree = ast.parse(script.read_text())
    main = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "main")
    order = []
    for node in ast.walk(main):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "pin_cpu_kernels":
            order.append((node.lineno, "pin"))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
            if any(n.split(".")[0] in HEAVY for n in names):
                order.append((node.lineno, "heavy"))
    order.sort()
    assert order and order[0][1] == "pin", (
        f"{script.name}: main must call pin_cpu_kernels() first: {order}"
    )


def test_nothing_points_outside_the_repository():
    for path in [*GENERATORS, *REFERENCE.glob("*.py"), REFERENCE / "README.md"]:
        text = path.read_text()
        assert "/work/" not in text and "refvenv" not in text, f"{path} names a machine-local path"


def test_readme_has_one_command_per_generator():
    readme = (REFERENCE / "README.md").read_text()
    for script in GENERATORS:
        assert readme.count(f"python tests/{script.name}") == 1, script.name


# ---------------------------------------------------------------------------------------------
# tests/reference/fetch_sources.py


@pytest.fixture(scope="module")
def fetch_sources():
    return _load(REFERENCE / "fetch_sources.py")


def test_fetch_script_pins_full_commits_and_hashes(fetch_sources):
    url = re.compile(r"^https://raw\.githubusercontent\.com/[\w.-]+/[\w.-]+/[0-9a-f]{40}/\S+$")
    assert {s.repo for s in fetch_sources.SOURCES} == {
        "facebookresearch/mae",
        "facebookresearch/dinov2",
        "facebookresearch/segment-anything",
        "facebookresearch/detectron2",
    }
    for source in fetch_sources.SOURCES:
        assert re.fullmatch(r"[0-9a-f]{64}", source.sha256), source
        for u in source.urls():
            assert url.match(u), f"not a raw GitHub URL at a full commit: {u}"
    for repo in {s.repo for s in fetch_sources.SOURCES}:
        files = [s for s in fetch_sources.SOURCES if s.repo == repo]
        licences = [s for s in files if s.path == "LICENSE"]
        assert len(licences) == 1, f"{repo}: its LICENSE must be fetched with its code"
        assert all(s.commits == licences[0].commits for s in files), (
            f"{repo}: code and LICENSE at different commits"
        )


def test_fetched_sources_land_in_an_ignored_folder(fetch_sources):
    for source in fetch_sources.SOURCES:
        path = fetch_sources.DEFAULT_DEST / source.local
        done = subprocess.run(["git", "check-ignore", "-q", str(path)], cwd=ROOT)
        assert done.returncode == 0, (
            f"{path} is not ignored by git: MAE's code must not be committed"
        )


def _mirror(tmp_path: Path, fetch_sources, content: bytes, commits: tuple[str, ...], present: str):
    """A stand-in for raw.githubusercontent.com holding ``content`` at commit ``present`` only."""
    source = fetch_sources.Source(
        "someone/project",
        "pkg/mod.py",
        commits,
        hashlib.sha256(b"the real file").hexdigest(),
        "MIT",
    )
    served = tmp_path / "raw" / source.repo / present / source.path
    served.parent.mkdir(parents=True)
    served.write_bytes(content)
    return source, (tmp_path / "raw").as_uri()


def test_fetch_writes_verified_files_and_falls_back_to_the_next_commit(tmp_path, fetch_sources):
    first, second = "a" * 40, "b" * 40
    source, base = _mirror(
        tmp_path, fetch_sources, b"the real file", (first, second), present=second
    )
    dest = tmp_path / "dest"
    written = fetch_sources.fetch(dest, base, sources=(source,))
    assert (dest / "project" / "pkg" / "mod.py").read_bytes() == b"the real file"
    assert dest / "PROVENANCE.txt" in written
    assert source.sha256 in (dest / "PROVENANCE.txt").read_text()


def test_fetch_refuses_a_hash_mismatch_and_writes_nothing(tmp_path, fetch_sources):
    source, base = _mirror(
        tmp_path, fetch_sources, b"something else", ("c" * 40,), present="c" * 40
    )
    dest = tmp_path / "dest"
    with pytest.raises(fetch_sources.SourceError, match="sha256 mismatch") as err:
        fetch_sources.fetch(dest, base, sources=(source,))
    assert source.sha256 in str(err.value) and hashlib.sha256(b"something else").hexdigest() in str(
        err.value
    )
    assert not dest.exists()


def test_loaders_refuse_a_missing_or_edited_source(tmp_path, fetch_sources):
    with pytest.raises(fetch_sources.SourceError, match="is missing"):
        fetch_sources.load_mae_pos_embed(tmp_path)
    edited = tmp_path / fetch_sources.MAE_POS_EMBED.local
    edited.parent.mkdir(parents=True)
    edited.write_text("def interpolate_pos_embed(model, checkpoint): pass\n")
    with pytest.raises(fetch_sources.SourceError, match="is not the pinned"):
        fetch_sources.load_mae_pos_embed(tmp_path)


def test_pin_cpu_kernels_refuses_to_run_after_torch_is_loaded():
    import torch  # noqa: F401  (the course's environment has it; the point is that it is loaded)

    cpu_kernels = _load(REFERENCE / "cpu_kernels.py")
    with pytest.raises(RuntimeError, match="before torch is imported"):
        cpu_kernels.pin_cpu_kernels()
