"""Start a Jupyter server for the browser suites, and always stop it.

Both frontends (JupyterLab 4 and the classic Notebook 6.5) are started the same way: on 127.0.0.1,
a free port with ``port_retries=0`` (never a stale server by accident), a random token, their
runtime, config and data folders inside the test's temporary folder, and a new process group, so
that :func:`serve` can stop the server, and then every kernel it started, whatever happened.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest

START_TIMEOUT_S = 90
# VITLEARN_NOTEBOOKS: another folder of notebooks (to try the suites on drafts).
NB_DIR = Path(
    os.environ.get("VITLEARN_NOTEBOOKS") or Path(__file__).resolve().parents[2] / "notebooks"
)
NOTEBOOKS = sorted(NB_DIR.glob("[0-9][0-9]_*.ipynb"))


class Server:
    """A running Jupyter server: its URL, token and root folder, plus a small REST helper."""

    def __init__(
        self, name: str, url: str, token: str, root: Path, process: subprocess.Popen, log: Path
    ):
        self.name, self.url, self.token, self.root = name, url, token, root
        self.process, self.log = process, log

    def api(self, path: str, method: str = "GET") -> object:
        req = urllib.request.Request(
            f"{self.url}{path}", method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(req, timeout=30) as r:
            body = r.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        """Stop every session's kernel, so the next notebook has the CPU to itself."""
        for session in self.api("/api/sessions"):  # type: ignore[union-attr]
            self.api(f"/api/sessions/{session['id']}", method="DELETE")

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:]


def copy_notebooks(dest: Path) -> Path:
    """A fresh copy of the notebooks to serve: the suites never write into ``notebooks/``."""
    shutil.copytree(NB_DIR, dest, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    return dest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def isolated_env(base: Path, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """``env`` (default: this process's) with Jupyter's per-user folders moved under ``base``.

    Nothing from the machine's ``~/.jupyter`` or ``~/.local/share/jupyter`` (a stray kernel spec,
    an extension enabled by hand) can change what the suite sees, and nothing is written there.
    """
    out = dict(os.environ if env is None else env)
    out.pop("JUPYTER_TOKEN", None)
    for var, folder in (
        ("JUPYTER_RUNTIME_DIR", "runtime"),
        ("JUPYTER_CONFIG_DIR", "config"),
        ("JUPYTER_DATA_DIR", "data"),
    ):
        (base / folder).mkdir(parents=True, exist_ok=True)
        out[var] = str(base / folder)
    out["JUPYTER_PLATFORM_DIRS"] = "1"
    return out


def _descendants(pid: int) -> list[tuple[int, str]]:
    """(pid, start time) of every process below ``pid``, read from /proc (Linux)."""
    children: dict[int, list[tuple[int, str]]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        # after the command name: state, ppid, ..., starttime (field 22 of stat)
        children.setdefault(int(fields[1]), []).append((int(stat.parent.name), fields[19]))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child[0])
    return found


def _kill_if_same(pid: int, started: str) -> None:
    """SIGKILL ``pid`` if it is still the process that started at ``started`` (no pid reuse)."""
    try:
        now = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[19]
    except OSError:
        return
    if now == started:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def stop(process: subprocess.Popen) -> None:
    """Stop the server: SIGTERM to its process group (it shuts its kernels down), SIGKILL if it
    hangs; then any kernel that outlived it. Kernels run in sessions of their own (so that they
    can be interrupted), out of the server's group: they are found as its child processes."""
    below = _descendants(process.pid)
    for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(wait)
            break
        except subprocess.TimeoutExpired:
            continue
    for pid, started in below:
        _kill_if_same(pid, started)


@contextmanager
def serve(
    name: str,
    command: Callable[[int, str], list[str]],
    root: Path,
    env: Mapping[str, str],
    log: Path,
) -> Iterator[Server]:
    """Run ``command(port, token)`` in ``root``; yield the :class:`Server` once it answers.

    The server (its whole process group) is stopped when the block ends, however it ends.
    """
    port, token = free_port(), secrets.token_hex(24)
    with log.open("w") as out:
        process = subprocess.Popen(
            command(port, token),
            cwd=root,
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(name, f"http://127.0.0.1:{port}", token, root, process, log)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"{name} exited ({process.returncode}):\n{server.log_tail()}")
            try:
                server.api("/api/status")
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"{name} did not answer in {START_TIMEOUT_S} s:\n{server.log_tail()}"
                    )
                time.sleep(0.5)
        yield server
    finally:
        stop(process)
        if process.poll() is None:
            raise RuntimeError(f"{name} (pid {process.pid}) survived SIGKILL")
