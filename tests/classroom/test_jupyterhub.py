"""The class server, per user (``pytest -m jupyterhub``; not in plain pytest).

Needs the grading environment (``requirements-grading.txt``, which pins JupyterHub) and the proxy
from ``npm ci --prefix classroom``. The test makes the course's student edition as a teacher does
(``python -m vitlearn release-student``), then starts JupyterHub with the class server's own
config, ``classroom/jupyterhub_config.py``, with four settings changed on the command line so
that no system account is needed and nothing leaves this machine: the test authenticator
(``dummy``, any password), the spawner that runs every server as the current user in its own
home folder (``simple``, homes under a temporary folder), and 127.0.0.1 on free ports. The
edition's folder reaches the config through ``VITLEARN_STUDENT_EDITION``.

Then two students log in (the hub's login form, as a browser sends it), each asks the hub's REST
API for a token and, with it, starts their server through the REST API. What they must find:

- **the course in their home**: ``~/course/notebooks`` lists every notebook of the edition, 00
  included, each the edition's own (no solution cell), seen through their server's contents API
  as JupyterLab's file browser sees it;
- **their work kept**: one student saves her solution of notebook 01's exercise into her copy
  (the contents API, as JupyterLab saves) and deletes notebook 00; her server is stopped and
  started again (what the next login after an idle cull does): her 01 is hers still, 00 is back;
- **the course runs**: both run notebook 01 from ``~/course/notebooks`` cell by cell in a kernel of
  their server, over its websocket, both at once. Every cell must run without error; the checker
  says ✓ for her solution and "not done yet" for the other student's untouched stub; each kernel
  runs in its own home as its own hub user.

A second test starts the config without an edition: the hub refuses to start, and says how to
make one. Everything started is stopped at the end, whatever happens: the servers through the
API, then the hub's process group, then any process still running in the test's home folders
(found by its working directory).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time
import uuid
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.jupyterhub

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "classroom" / "jupyterhub_config.py"
PROXY = ROOT / "classroom" / "node_modules" / ".bin" / "configurable-http-proxy"
NOTEBOOK = "01_patches.ipynb"  # the one both students run (about 6 s)
STUDENTS = ("ada", "grace")  # ada solves 01's exercise and deletes 00; grace changes nothing
COURSE = "course/notebooks"  # where the course lands in each home (start-singleuser.sh)
BIN = Path(sys.executable).parent
START_TIMEOUT = 90  # s, for the hub and for each server
CELL_TIMEOUT = 120  # s, for one cell of notebook 01 (it runs in about 6 s in all)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _request(method: str, url: str, token: str | None = None, body=None, timeout=30):
    """One HTTP request with the standard library; returns (status, parsed JSON or text)."""
    import urllib.error
    import urllib.request

    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"token {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, text = r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read().decode()
    try:
        return status, json.loads(text) if text else None
    except json.JSONDecodeError:
        return status, text


def _processes_in(folder: Path) -> list[int]:
    """Pids of the processes whose working directory lies in ``folder`` (servers, kernels)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cwd = Path(os.readlink(entry / "cwd"))
        except OSError:
            continue
        if cwd == folder or folder in cwd.parents:
            found.append(int(entry.name))
    return found


def _stop_group(pid: int, wait: float = 15, proc: subprocess.Popen | None = None) -> None:
    """SIGTERM the process group of ``pid``, then SIGKILL what is left after ``wait`` s.

    ``proc``: the Popen of ``pid`` when it is our child, so that it is reaped (a zombie would
    still count as running).
    """
    try:
        pgid = os.getpgid(pid)
    except ProcessLookupError:
        return
    for sig, pause in ((signal.SIGTERM, wait), (signal.SIGKILL, 2)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + pause
        while time.monotonic() < deadline:
            if proc is not None:
                proc.poll()
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.2)


def _hub_args(url: str, homes: Path) -> list[str]:
    hub_port, api_port = _free_port(), _free_port()
    args = [
        str(BIN / "jupyterhub"),
        "-f",
        str(CONFIG),
        "--JupyterHub.authenticator_class=dummy",
        "--Authenticator.allow_all=True",
        "--JupyterHub.spawner_class=simple",
        f"--SimpleLocalProcessSpawner.home_dir_template={homes}/{{username}}",
        f"--JupyterHub.bind_url={url}",
        f"--JupyterHub.hub_bind_url=http://127.0.0.1:{hub_port}",
        f"--ConfigurableHTTPProxy.api_url=http://127.0.0.1:{api_port}",
        "--JupyterHub.cleanup_servers=True",
    ]
    if os.geteuid() == 0:  # CI runs as root; Jupyter Server refuses to, unless told
        args.append("--Spawner.args=['--allow-root']")
    return args


def _hub_env(edition: Path) -> dict[str, str]:
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    env.pop("JUPYTERHUB_API_TOKEN", None)
    env["VITLEARN_STUDENT_EDITION"] = str(edition)
    return env


@pytest.fixture(scope="module")
def edition(tmp_path_factory) -> Path:
    """The student edition, made as the teachers' guide says (``release-student``)."""
    folder = tmp_path_factory.mktemp("edition") / "student"
    subprocess.run(
        [sys.executable, "-m", "vitlearn", "release-student", str(folder)],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert (folder / "notebooks" / "00_start_here.ipynb").is_file()
    return folder


@pytest.fixture(scope="module")
def hub(tmp_path_factory, edition):
    """A running JupyterHub with the class config; yields (hub URL, homes folder, log path)."""
    assert PROXY.exists(), f"{PROXY} is missing: run `npm ci --prefix classroom` first"
    state = tmp_path_factory.mktemp("hub")
    homes = state / "homes"
    homes.mkdir()
    url = f"http://127.0.0.1:{_free_port()}"
    log = state / "jupyterhub.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            _hub_args(url, homes),
            cwd=state,
            env=_hub_env(edition),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    tokens: dict[str, str] = {}
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if proc.poll() is not None:
                pytest.fail(f"jupyterhub exited ({proc.returncode}):\n{log.read_text()[-4000:]}")
            try:
                status, info = _request("GET", f"{url}/hub/api/", timeout=5)
                if status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"jupyterhub did not answer in {START_TIMEOUT} s:\n{log.read_text()[-4000:]}"
                )
            time.sleep(0.5)
        yield url, homes, log, tokens
    finally:
        for name, token in tokens.items():  # stop the servers through the API first
            try:
                _request("DELETE", f"{url}/hub/api/users/{name}/server", token, timeout=30)
            except OSError:
                pass
        _stop_group(proc.pid, proc=proc)
        proxy_pid = state / "jupyterhub-proxy.pid"
        if proxy_pid.exists():
            try:
                _stop_group(int(proxy_pid.read_text().strip()))
            except ValueError:
                pass
        for pid in _processes_in(homes):  # anything a server left behind (kernels)
            _stop_group(pid, wait=5)
        assert not _processes_in(homes), "processes of the test servers are still running"


def _login(url: str, name: str) -> str:
    """Log in as ``name`` (the test authenticator takes any password), then ask for a token.

    The login is the hub's own login form, as a browser sends it (with its xsrf token); it
    creates the user. The token comes from the REST API, with the login's cookie.
    """
    import http.cookiejar
    import urllib.error
    import urllib.parse
    import urllib.request

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):  # the login redirects to /hub/spawn,
            return None  # which would start the server: the REST API does that below

    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
    opener.open(f"{url}/hub/login", timeout=30).read()
    xsrf = next(c.value for c in jar if c.name == "_xsrf")
    form = urllib.parse.urlencode({"username": name, "password": "any", "_xsrf": xsrf}).encode()
    try:
        opener.open(urllib.request.Request(f"{url}/hub/login", data=form), timeout=30)
    except urllib.error.HTTPError as e:
        assert e.code == 302, f"the login answered {e.code}"
    assert any(c.name == "jupyterhub-session-id" for c in jar), "the login set no session"
    xsrf = next(c.value for c in jar if c.name == "_xsrf")  # renewed for the logged-in session
    req = urllib.request.Request(
        f"{url}/hub/api/users/{name}/tokens",
        data=json.dumps({"note": "classroom test", "expires_in": 3600}).encode(),
        headers={"Content-Type": "application/json", "X-XSRFToken": xsrf},
        method="POST",
    )
    with opener.open(req, timeout=30) as r:
        assert r.status in (200, 201), r.status
        return json.loads(r.read())["token"]


def _start_server(url: str, name: str, token: str) -> None:
    status, body = _request("POST", f"{url}/hub/api/users/{name}/server", token)
    assert status in (201, 202), (status, body)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        status, user = _request("GET", f"{url}/hub/api/users/{name}", token)
        server = (user.get("servers") or {}).get("") if status == 200 else None
        if server and server.get("ready"):
            return
        time.sleep(0.5)
    pytest.fail(f"the server of {name} was not ready after {START_TIMEOUT} s")


def _stop_server(url: str, name: str, token: str) -> None:
    status, body = _request("DELETE", f"{url}/hub/api/users/{name}/server", token)
    assert status in (202, 204), (status, body)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        status, user = _request("GET", f"{url}/hub/api/users/{name}", token)
        if status == 200 and "" not in (user.get("servers") or {}):
            return
        time.sleep(0.5)
    pytest.fail(f"the server of {name} did not stop in {START_TIMEOUT} s")


def _contents(url: str, name: str, token: str, path: str, **body):
    """The user's server's contents API: GET ``path``, or PUT ``body`` there, or DELETE it."""
    api = f"{url}/user/{name}/api/contents/{path}"
    if body.pop("delete", False):
        status, answer = _request("DELETE", api, token)
        assert status == 204, (status, answer)
        return None
    if body:
        status, answer = _request("PUT", api, token, body)
        assert status in (200, 201), (status, answer)
        return answer
    status, answer = _request("GET", f"{api}?content=1", token)
    assert status == 200, (path, status, answer)
    return answer


def _decode(raw: str | bytes) -> dict:
    """A kernel message from Jupyter Server's websocket: JSON text, or a binary frame.

    A message with binary buffers (a widget's image) comes as one binary frame: a big-endian
    uint32 count n, n uint32 offsets, then the parts; the first part is the message's JSON.
    """
    if isinstance(raw, str):
        return json.loads(raw)
    (n,) = struct.unpack(">I", raw[:4])
    offsets = struct.unpack(f">{n}I", raw[4 : 4 + 4 * n])
    end = offsets[1] if n > 1 else len(raw)
    return json.loads(raw[offsets[0] : end].decode())


async def _run_notebook(url: str, name: str, token: str, path: str) -> dict:
    """Run the code cells of the notebook at ``path`` in the user's home, in a kernel of their
    server, as saved there (read through the contents API).

    Returns ``{"errors": [...], "outputs": [stream text per code cell], "probe": {...}}``.
    """
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    base = f"{url}/user/{name}/api"
    saved = await asyncio.to_thread(_contents, url, name, token, path)
    nb = nbformat.from_dict(saved["content"])
    status, session = await asyncio.to_thread(
        _request,
        "POST",
        f"{base}/sessions",
        token,
        {"path": path, "type": "notebook", "name": path, "kernel": {"name": "python3"}},
    )
    assert status == 201, (status, session)
    kernel = session["kernel"]["id"]
    ws_url = f"ws{base[4:]}/kernels/{kernel}/channels?session_id={uuid.uuid4().hex}"
    conn = await websocket_connect(HTTPRequest(ws_url, headers={"Authorization": f"token {token}"}))

    async def execute(code: str) -> tuple[str, list[str]]:
        msg_id = uuid.uuid4().hex
        conn.write_message(
            json.dumps(
                {
                    "header": {
                        "msg_id": msg_id,
                        "msg_type": "execute_request",
                        "username": name,
                        "session": "classroom-test",
                        "version": "5.3",
                    },
                    "parent_header": {},
                    "metadata": {},
                    "channel": "shell",
                    "buffers": [],
                    "content": {
                        "code": code,
                        "silent": False,
                        "store_history": True,
                        "user_expressions": {},
                        "allow_stdin": False,
                        "stop_on_error": True,
                    },
                }
            )
        )
        text, errors, replied, idle = [], [], False, False
        while not (replied and idle):
            raw = await asyncio.wait_for(conn.read_message(), CELL_TIMEOUT)
            assert raw is not None, "the kernel's websocket closed"
            msg = _decode(raw)
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg["header"]["msg_type"], msg["content"]
            if kind == "stream":
                text.append(content["text"])
            elif kind == "error":
                errors.append(f"{content['ename']}: {content['evalue']}")
            elif kind == "execute_reply":
                replied = True
            elif kind == "status" and content["execution_state"] == "idle":
                idle = True
        return "".join(text), errors

    result: dict = {"errors": [], "outputs": []}
    try:
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            text, errors = await execute(cell.source)
            result["outputs"].append((i, text))
            result["errors"] += [f"cell {i}: {e}" for e in errors]
            if errors:
                break
        probe, errors = await execute(
            "import json, os, shutil\n"
            "print(json.dumps({'cwd': os.getcwd(), 'home': os.environ['HOME'],"
            " 'hub_user': os.environ.get('JUPYTERHUB_USER'), 'pid': os.getpid(),"
            " 'nbgrader': shutil.which('nbgrader')}))"
        )
        result["errors"] += errors
        result["probe"] = json.loads(probe.strip().splitlines()[-1]) if not errors else {}
    finally:
        conn.close()
        await asyncio.to_thread(_request, "DELETE", f"{base}/sessions/{session['id']}", token)
    return result


def _notebooks(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("[0-9][0-9]_*.ipynb"))


def _solved(nb, solution_of: Path):
    """``nb`` (a student's copy) with its exercise stub replaced by the instructor's solution."""
    solutions = [
        c.source
        for c in nbformat.read(solution_of, as_version=4).cells
        if "solution" in c.metadata.get("tags", [])
    ]
    stubs = [c for c in nb.cells if "exercise" in c.metadata.get("tags", [])]
    assert len(stubs) == len(solutions) == 1, (len(stubs), len(solutions))
    stubs[0].source = solutions[0]
    return nb


def test_students_find_the_course_keep_their_work_and_run_it(hub, edition):
    url, homes, log, tokens = hub
    for name in STUDENTS:
        tokens[name] = _login(url, name)
    # a token works for its own user only
    status, _ = _request("GET", f"{url}/hub/api/users/{STUDENTS[1]}", tokens[STUDENTS[0]])
    assert status in (403, 404), status
    for name in STUDENTS:
        _start_server(url, name, tokens[name])

    # the course in each home: every notebook of the edition, 00 included, the edition's own
    released = _notebooks(edition / "notebooks")
    assert released[0].startswith("00_") and NOTEBOOK in released
    for name in STUDENTS:
        listing = _contents(url, name, tokens[name], COURSE)
        assert sorted(i["name"] for i in listing["content"]) == released, (name, listing)
        for nb_name in released:
            assert (homes / name / COURSE / nb_name).read_bytes() == (
                edition / "notebooks" / nb_name
            ).read_bytes()
        first = _contents(url, name, tokens[name], f"{COURSE}/{NOTEBOOK}")["content"]
        tags = {t for c in first["cells"] for t in c["metadata"].get("tags", [])}
        assert "exercise" in tags and "solution" not in tags  # the students' copy

    # ada's work: her solution saved into her 01, her 00 deleted; then her server restarts
    ada, grace = STUDENTS
    mine = _solved(
        nbformat.from_dict(_contents(url, ada, tokens[ada], f"{COURSE}/{NOTEBOOK}")["content"]),
        ROOT / "notebooks" / NOTEBOOK,
    )
    body = {"type": "notebook", "format": "json", "content": json.loads(nbformat.writes(mine))}
    _contents(url, ada, tokens[ada], f"{COURSE}/{NOTEBOOK}", **body)
    saved = (homes / ada / COURSE / NOTEBOOK).read_bytes()
    _contents(url, ada, tokens[ada], f"{COURSE}/{released[0]}", delete=True)
    assert released[0] not in _notebooks(homes / ada / COURSE)
    _stop_server(url, ada, tokens[ada])
    _start_server(url, ada, tokens[ada])
    assert (homes / ada / COURSE / NOTEBOOK).read_bytes() == saved  # her work, not overwritten
    assert _notebooks(homes / ada / COURSE) == released  # 00 copied again
    assert (homes / grace / COURSE / NOTEBOOK).read_bytes() == (
        edition / "notebooks" / NOTEBOOK
    ).read_bytes()  # grace's copy is her own

    # both run notebook 01 from their course folder, at once
    async def both():
        return await asyncio.gather(
            *(_run_notebook(url, n, tokens[n], f"{COURSE}/{NOTEBOOK}") for n in STUDENTS)
        )

    t0 = time.perf_counter()
    results = dict(zip(STUDENTS, asyncio.run(both()), strict=True))
    took = time.perf_counter() - t0
    print(f"notebook 01 ran for {len(STUDENTS)} students at once in {took:.1f} s")

    code_cells = sum(c.cell_type == "code" for c in mine.cells)
    for name, result in results.items():
        assert not result["errors"], (
            f"{name}: {result['errors']}\nhub log:\n{log.read_text()[-3000:]}"
        )
        assert len(result["outputs"]) == code_cells
        verdicts = [text for _, text in result["outputs"] if "patchify" in text]
        if name == ada:
            assert any("✓" in t for t in verdicts), f"{name}: the checker did not say ✓"
        else:
            assert any("not done yet" in t for t in verdicts), f"{name}: {verdicts}"
            assert not any("✓" in t for t in verdicts), verdicts
        probe = result["probe"]
        home = homes / name
        assert probe["home"] == str(home) and Path(probe["cwd"]) == home / COURSE, probe
        assert probe["hub_user"] == name, probe
        assert probe["nbgrader"] == str(BIN / "nbgrader"), probe  # the hub's environment first
    assert results[ada]["probe"]["pid"] != results[grace]["probe"]["pid"]
    assert sorted(p.name for p in homes.iterdir()) == sorted(STUDENTS)


def test_the_hub_refuses_to_start_without_a_student_edition(tmp_path):
    homes = tmp_path / "homes"
    homes.mkdir()
    empty = tmp_path / "student"
    (empty / "notebooks").mkdir(parents=True)
    done = subprocess.run(
        _hub_args(f"http://127.0.0.1:{_free_port()}", homes),
        cwd=tmp_path,
        env=_hub_env(empty),
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT,
    )
    assert done.returncode != 0
    said = done.stdout + done.stderr
    assert f"no student edition in {empty}" in said and "release-student" in said, said[-2000:]
    assert not list(homes.iterdir())
