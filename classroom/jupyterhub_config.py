"""JupyterHub for a class on the teacher's own Linux machine.

Each student logs in with an account of this machine (PAM, the system's own passwords) and gets a
JupyterLab server of their own, run as that account in its home folder (JupyterHub's
LocalProcessSpawner). The course is installed once, in the environment JupyterHub itself runs
from; the single-user servers start from that same environment. Each server starts through
start-singleuser.sh, which first copies the course's student edition into the student's
~/course (what is missing only: a student's own changes are never overwritten). How to set it
up, start it, and how nbgrader's exchange fits in: classroom/README.md.

Run it as root (PAM logins and starting servers as other users need it), from a folder that
keeps the hub's state (its database, cookie secret and proxy token):

    sudo /opt/vitlearn/.venv/bin/jupyterhub -f /opt/vitlearn/classroom/jupyterhub_config.py

Settings given on the command line win over this file: tests/classroom/test_jupyterhub.py starts
this config with a test authenticator and spawner, on 127.0.0.1 and free ports (and its own
student edition, through VITLEARN_STUDENT_EDITION).
"""

import os
import sys
from pathlib import Path

c = get_config()  # noqa: F821 (JupyterHub provides get_config)

HERE = Path(__file__).resolve().parent

# --- who may log in: edit these two --------------------------------------------------------------
TEACHER = "teacher"
"""The teacher's account on this machine: a JupyterHub admin (sees every server, can stop them)."""
STUDENTS_GROUP = "students"
"""The Unix group of the students' accounts: every member may log in
(``usermod -aG students NAME``)."""

c.JupyterHub.authenticator_class = "pam"
c.Authenticator.admin_users = {TEACHER}
# Being an admin does not let one in: the teacher is allowed by name, the students by group.
c.Authenticator.allowed_users = {TEACHER}
c.LocalAuthenticator.allowed_groups = {STUDENTS_GROUP}

# --- where: every address of this machine, port 8000 (JupyterHub's default) -----------------------
c.JupyterHub.bind_url = "http://:8000"

# --- the course every student finds in their home ------------------------------------------------
STUDENT_EDITION = Path(os.environ.get("VITLEARN_STUDENT_EDITION", HERE.parent / "student"))
"""The course's student edition, copied into each student's ~/course when their server starts:
``python -m vitlearn release-student student`` in the clone writes it there (the clone's
``student/``; the environment variable VITLEARN_STUDENT_EDITION names another folder). It must be
readable by every student's account."""
if not any((STUDENT_EDITION / "notebooks").glob("[0-9][0-9]_*.ipynb")):
    raise SystemExit(
        f"jupyterhub_config.py: no student edition in {STUDENT_EDITION} (its notebooks/ folder "
        "holds no course notebook), so students would find an empty home. Make it first:\n"
        f"  {sys.executable} -m vitlearn release-student {STUDENT_EDITION}"
    )

# --- what each student gets -----------------------------------------------------------------------
c.JupyterHub.spawner_class = "localprocess"
# The single-user server comes from the environment this hub runs from, where the course is
# installed, whatever PATH the student's account has; that environment's bin folder comes first
# on the server's PATH too, so a terminal finds its python, nbgrader (and alembic, which
# nbgrader runs to create its gradebook).
_BIN = Path(sys.executable).parent
# The server starts through start-singleuser.sh, which first copies the student edition into the
# student's ~/course (the files not there yet), then runs jupyterhub-singleuser.
c.Spawner.cmd = ["/bin/sh", str(HERE / "start-singleuser.sh"), str(_BIN / "jupyterhub-singleuser")]
c.Spawner.environment = {
    "PATH": f"{_BIN}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
    "VITLEARN_STUDENT_EDITION": str(STUDENT_EDITION),
}
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"

# --- the proxy: configurable-http-proxy from `npm ci --prefix classroom`, else from PATH ----------
_local_proxy = HERE / "node_modules" / ".bin" / "configurable-http-proxy"
if _local_proxy.exists():
    c.ConfigurableHTTPProxy.command = [str(_local_proxy)]
