"""The course's website, built once per session and served on 127.0.0.1.

Run: ``pytest -m site tests/site``.

``site`` builds it with :func:`vitlearn.editions.website.build_site` (``--strict``: a Sphinx warning
fails the build) into a temporary folder, hashing every file under ``notebooks/`` before and after.
Set ``VITLEARN_SITE_DIR`` to test a site built before (``python -m vitlearn build-site --strict
DIR``) instead; then the notebooks are compared with git's committed version.

``server`` serves the site with Python's http.server on a free port (stopped in a ``finally``);
``open_page`` loads one page in Chromium with every request to another host blocked and recorded,
so a script, stylesheet or font that is not served by the site itself shows up as a failure.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.server
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"


def digest_tree(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder``, by relative path."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@dataclass
class Site:
    out: Path
    build: Any = None  # vitlearn.editions.website.SiteBuild, when built by this session
    notebooks_before: dict[str, str] | None = None
    notebooks_after: dict[str, str] | None = None


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    given = os.environ.get("VITLEARN_SITE_DIR")
    if given:
        out = Path(given)
        if not (out / "index.html").is_file():
            pytest.fail(f"VITLEARN_SITE_DIR={given} holds no site (no index.html)")
        return Site(out)
    from vitlearn.editions.website import build_site

    out = tmp_path_factory.mktemp("site") / "html"
    before = digest_tree(NOTEBOOKS)
    build = build_site(out, strict=True, log=print)
    return Site(out, build, before, digest_tree(NOTEBOOKS))


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base class's name)
        pass


@contextlib.contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve ``folder`` on 127.0.0.1 (a free port) while the block runs; yield its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(10)


@pytest.fixture(scope="session")
def serve_folder() -> Callable[[Path], contextlib.AbstractContextManager[str]]:
    """:func:`serve`, for a test that builds a site of its own."""
    return serve


@pytest.fixture(scope="session")
def server(site: Site) -> Iterator[str]:
    """The site's base URL, ``http://127.0.0.1:PORT/``."""
    with serve(site.out) as url:
        yield url


@dataclass
class Visit:
    """One page in Chromium, and everything that went wrong or left the site while it loaded."""

    page: Any
    blocked: list[tuple[str, str]] = field(
        default_factory=list
    )  # (resource type, url) to other hosts
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_own: list[str] = field(default_factory=list)  # the site's own requests that failed

    def problems(self) -> list[str]:
        """Everything that breaks "works offline, no console error": empty on a good page."""
        external_images = {url for kind, url in self.blocked if kind == "image"}
        found = [
            f"{kind} from another host: {url}" for kind, url in self.blocked if kind != "image"
        ]
        for text in self.console_errors:
            # Chromium reports each blocked badge image as a failed load; those may point elsewhere.
            url = text.partition(" @ ")[2]
            if not (text.startswith("Failed to load resource") and url in external_images):
                found.append(f"console error: {text}")
        found += [f"page error: {e}" for e in self.page_errors]
        found += [f"failed: {r}" for r in self.failed_own]
        return found


@pytest.fixture
def open_page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Callable[..., Visit]]:
    """``open_page("notebooks/01_patches.html")``: load it offline-only; return the :class:`Visit`.

    ``open_page(path, base=url)`` opens a page of another local server (see :func:`serve`).
    """
    contexts = []

    def open_(path: str, base: str | None = None) -> Visit:
        if base is None:
            base = request.getfixturevalue("server")  # the course's site (built on first use)
        context = browser.new_context(viewport={"width": 1300, "height": 900})
        contexts.append(context)
        page = context.new_page()
        visit = Visit(page)

        def route(r: Any) -> None:
            if r.request.url.startswith(base):
                r.continue_()
            else:
                visit.blocked.append((r.request.resource_type, r.request.url))
                r.abort()

        context.route("**/*", route)
        page.on(
            "console",
            lambda m: (
                visit.console_errors.append(f"{m.text} @ {m.location.get('url', '')}")
                if m.type == "error"
                else None
            ),
        )
        page.on("pageerror", lambda e: visit.page_errors.append(str(e)))
        page.on(
            "response",
            lambda r: (
                visit.failed_own.append(f"{r.status} {r.url}")
                if r.url.startswith(base) and r.status >= 400
                else None
            ),
        )
        page.goto(base + path, wait_until="load")
        # every image of the page settled (loaded or failed) before anyone looks at it
        page.evaluate(
            """() => Promise.all(Array.from(document.images).filter(i => !i.complete)
                 .map(i => new Promise(done => { i.onload = i.onerror = done; })))"""
        )
        return visit

    try:
        yield open_
    finally:
        for context in contexts:
            context.close()
