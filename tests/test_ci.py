"""CI runs the README's two commands, as the README writes them, and nothing else in their place.

``.ci/run`` reads both commands from README.md (``.ci/readme_commands.py``). These tests read the
README independently, then source ``.ci/run`` with its venv helpers replaced by stand-ins that
record what they are asked to run, and compare.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
CI_RUN = ROOT / ".ci" / "run"


def _load_readme_commands():
    spec = importlib.util.spec_from_file_location(
        "readme_commands", ROOT / ".ci" / "readme_commands.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _bash_blocks(heading: str) -> list[str]:
    """Every line of every ```bash block under ``## heading`` (read here without the CI helper)."""
    text = README.read_text(encoding="utf-8")
    section = text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    return [line.strip() for b in blocks for line in b.splitlines() if line.strip()]


def test_readme_has_the_two_commands() -> None:
    assert _bash_blocks("Start the course") == [
        "pip install -r requirements.txt && jupyter lab notebooks/00_start_here.ipynb"
    ]
    assert _bash_blocks("Run the tests") == ["pip install -r requirements-dev.txt && pytest"]


def test_readme_commands_helper_reads_them() -> None:
    rc = _load_readme_commands()
    install, left_out = rc.install_command()
    start = _bash_blocks("Start the course")[0]
    assert f"{install} && {left_out}" == start
    assert left_out.startswith("jupyter lab ")  # only the step that opens the browser is left out
    opened = left_out.split()[2]
    assert (ROOT / opened).is_file(), f"the README opens {opened}, which does not exist"
    assert rc.readme_command("Run the tests") == _bash_blocks("Run the tests")[0]


def test_readme_commands_helper_refuses_ambiguity(tmp_path: Path) -> None:
    rc = _load_readme_commands()
    two = tmp_path / "README.md"
    two.write_text("## Run the tests\n\n```bash\npip install x\npytest\n```\n")
    with pytest.raises(ValueError, match="one command"):
        rc.readme_command("Run the tests", two)
    none = tmp_path / "R2.md"
    none.write_text("## Start the course\n\n```bash\npip install -r requirements.txt\n```\n")
    with pytest.raises(ValueError, match="opening JupyterLab"):
        rc.install_command(none)


def _what_stage_runs(function: str) -> list[str]:
    """Source .ci/run with stand-ins for its venv helpers; call ``function``; return what it ran."""
    script = f"""
        source {CI_RUN}
        fresh_venv() {{ echo "FRESH $1"; }}
        in_venv() {{ local name=$1; shift; echo "IN $name: $*"; }}
        {function}
    """
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return [line for line in done.stdout.splitlines() if line.startswith(("FRESH", "IN"))]


def test_ci_tests_stage_runs_exactly_the_readme_test_command() -> None:
    ran = _what_stage_runs("readme_tests")
    assert ran == ["FRESH tests", f"IN tests: bash -c {_bash_blocks('Run the tests')[0]}"]


def test_ci_course_stage_runs_the_readme_install_in_its_own_venv() -> None:
    ran = _what_stage_runs("course_install")
    install = _bash_blocks("Start the course")[0].split(" && jupyter lab")[0]
    assert ran[:2] == ["FRESH course", f"IN course: bash -c {install}"]
    assert all(line.startswith("IN course: ") for line in ran[2:])  # checks, no other install
    assert not any("requirements-dev" in line for line in ran)


def test_ci_runs_every_stage_in_a_fresh_venv() -> None:
    """Every stage's commands go through a venv that .ci/run built; none use the machine's
    python."""
    text = CI_RUN.read_text(encoding="utf-8")
    main = text.split("main() {", 1)[1].split("\n}", 1)[0]
    stages = re.findall(r"^\s*stage (\S+) (\S+)", main, flags=re.M)
    assert ("tests", "readme_tests") in stages and ("course", "course_install") in stages
    for name, function in stages:
        body = text.split(f"\n{function}() {{", 1)[1].split("\n}", 1)[0]
        assert "in_venv" in body, f"stage {name} ({function}) does not run inside a fresh venv"


def _pins(path: Path, op: str) -> dict[str, str]:
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        m = re.fullmatch(rf"([A-Za-z0-9_.-]+)\s*{re.escape(op)}\s*([0-9][0-9.]*)(,.*)?", line)
        if m:
            found[m.group(1).lower()] = m.group(2)
    return found


def test_every_written_floor_is_the_tested_one() -> None:
    """requirements.txt's lower bounds are the versions CI's floors stage installs (but torch's,
    which only its own wheel can test here, and jupyterlab's, which no unit test imports)."""
    from packaging.version import Version

    floors = _pins(ROOT / "constraints-floors.txt", "==")
    lows = _pins(ROOT / "requirements.txt", ">=")
    untested = {"torch", "jupyterlab"}
    assert set(floors) == set(lows) - untested
    for name, version in floors.items():
        assert Version(version) == Version(lows[name]), (name, version, lows[name])
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    course_only = {
        "safetensors",
        "sphinx",
        "myst-nb",
        "sphinx-book-theme",
        "sphinx-mathjax-offline",
    }
    for name in floors:
        if name not in course_only:  # lines of the course's runtime, not needs of the package
            assert f'"{name}>={lows[name]}' in pyproject, name
    assert "floors floors" in CI_RUN.read_text(encoding="utf-8")


def test_test_tools_are_held_by_the_constraints_file() -> None:
    held = _pins(ROOT / "constraints-dev.txt", "==")
    dev = (ROOT / "requirements-dev.txt").read_text(encoding="utf-8")
    assert "-c constraints-dev.txt" in dev
    tools = {
        re.split(r"[<>=!~\[; ]", line, maxsplit=1)[0].lower()
        for line in dev.splitlines()
        if line.strip() and not line.startswith(("#", "-"))
    }
    assert tools == set(held), f"tools without an exact version: {sorted(tools - set(held))}"
