"""The course's website in a real browser: Debian's Chromium, driven by Playwright, offline.

Run: ``pytest -m site tests/site`` (kept out of plain ``pytest`` by the marker). The build takes
the time of executing every notebook (about 4 minutes on 2 cores); the browser checks take
about 1.5 minutes. Every request to another host is blocked: the site's scripts, styles and fonts
must come from the site itself; only images (the Colab and Binder badges) may point elsewhere.
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from vitlearn.editions import course as _course
from vitlearn.editions.static import NOTE_CLASS
from vitlearn.editions.student import NOTEBOOK_GLOB, SOLUTION_TAG
from vitlearn.editions.website import api_names

pytestmark = pytest.mark.site

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob(NOTEBOOK_GLOB))
NB_IDS = [p.stem for p in NOTEBOOKS]
NB_PAGES = [f"notebooks/{p.stem}.html" for p in NOTEBOOKS]
OTHER_PAGES = [
    "index.html",
    "docs/SYLLABUS.html",
    "docs/GLOSSARY.html",
    "api.html",
    "search.html",
    "genindex.html",
    "py-modindex.html",
]
# What a live widget leaves on a static page: none of it may appear on the site.
WIDGET_PLACEHOLDERS = (
    "Error displaying widget",
    "kernel connection is required",
    "Loading widget",
    "application/vnd.jupyter.widget",
)

# a cell that shows an explorer: it builds one (vitlearn.widgets.XxxExplorer(...)) and ends with
# an expression, which Jupyter displays (the explorer itself, or the variable holding it)
_EXPLORER = re.compile(r"\b\w+Explorer\(")


def _cells(path: Path) -> list:
    return nbformat.read(path, as_version=4).cells


def _explorer_cells(path: Path) -> int:
    return sum(
        1
        for cell in _cells(path)
        if cell.cell_type == "code"
        and _EXPLORER.search(cell.source)
        and isinstance(ast.parse(cell.source).body[-1], ast.Expr)
    )


def _solutions(path: Path) -> list[str]:
    return [c.source for c in _cells(path) if SOLUTION_TAG in c.get("metadata", {}).get("tags", [])]


def test_the_site_has_every_page_and_no_other(site):
    pages = sorted(
        p.relative_to(site.out).as_posix()
        for p in site.out.rglob("*.html")
        if not p.relative_to(site.out).parts[0].startswith("_")  # theme templates in _static/
    )
    assert pages == sorted(NB_PAGES + OTHER_PAGES)


@pytest.mark.parametrize("path", NB_PAGES + OTHER_PAGES)
def test_page_loads_offline_with_no_error_and_no_broken_image(path, open_page):
    visit = open_page(path)
    assert visit.problems() == [], f"{path}:\n" + "\n".join(visit.problems())
    broken = visit.page.evaluate(
        """() => Array.from(document.images)
             .filter(i => new URL(i.src, location.href).origin === location.origin)
             .filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)"""
    )
    assert broken == [], f"{path}: broken images of the site's own: {broken}"
    text = visit.page.inner_text("body")
    html = visit.page.content()
    for placeholder in WIDGET_PLACEHOLDERS:
        assert placeholder not in text and placeholder not in html, f"{path}: {placeholder!r}"


def test_sidebar_lists_every_notebook_in_reading_order(open_page):
    page = open_page("index.html").page
    links = page.eval_on_selector_all(
        "nav.bd-links a.reference.internal", "els => els.map(a => a.getAttribute('href'))"
    )
    in_sidebar = [h for h in links if h.startswith("notebooks/")]
    assert in_sidebar == NB_PAGES
    # the front page is the README: its syllabus links every notebook's page
    body_links = page.eval_on_selector_all(
        "article a.reference.internal", "els => els.map(a => a.getAttribute('href'))"
    )
    assert [h for h in body_links if h.startswith("notebooks/")] == NB_PAGES


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=NB_IDS)
def test_notebook_page_shows_figures_text_and_outputs(nb, open_page):
    page = open_page(f"notebooks/{nb.stem}.html").page
    title = _cells(nb)[0].source.splitlines()[0].lstrip("# ").strip()
    assert page.inner_text("article h1").replace("#", "").strip() == title
    figures = page.locator(".cell_output img[src*='_images/']")
    assert figures.count() >= 1, f"{nb.name}: no figure on its page"
    assert figures.first.evaluate("i => i.naturalWidth > 0")
    figures.first.scroll_into_view_if_needed()
    assert figures.first.is_visible()
    # printed results are on the page too, in reading order with the code
    assert page.locator(".cell_output .output.stream").count() >= 1, f"{nb.name}: no printed output"


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=NB_IDS)
def test_launch_links_match_the_notebooks_badge_and_binder(nb, open_page):
    page = open_page(f"notebooks/{nb.stem}.html").page
    hrefs = set(page.eval_on_selector_all("a[href]", "els => els.map(a => a.href)"))
    rel = f"notebooks/{nb.name}"
    assert _course.colab_url(rel) in hrefs, f"{nb.name}: no link to {_course.colab_url(rel)}"
    assert _course.binder_url(rel) in hrefs, f"{nb.name}: no link to {_course.binder_url(rel)}"
    # the theme's launch menu has both, next to the notebook's own Colab badge in its first cell
    launch = page.eval_on_selector_all(".dropdown-launch-buttons a", "els => els.map(a => a.href)")
    assert sorted(launch) == sorted([_course.binder_url(rel), _course.colab_url(rel)])


@pytest.mark.parametrize("nb", [p for p in NOTEBOOKS if _explorer_cells(p)], ids=lambda p: p.stem)
def test_each_explorer_is_a_picture_with_where_to_run_it(nb, open_page):
    page = open_page(f"notebooks/{nb.stem}.html").page
    notes = page.locator(f"p.{NOTE_CLASS}")
    assert notes.count() == _explorer_cells(nb)
    for i in range(notes.count()):
        note = notes.nth(i)
        output = note.locator("xpath=ancestor::div[contains(@class, 'cell_output')][1]")
        picture = output.locator("img[src*='_images/']")
        assert picture.count() == 1 and picture.evaluate("i => i.naturalWidth > 0")
        links = note.locator("a").evaluate_all("els => els.map(a => a.href)")
        rel = f"notebooks/{nb.name}"
        assert links == [_course.colab_url(rel), _course.binder_url(rel)]
        assert note.inner_text().endswith("runs in Colab, on Binder or in JupyterLab.")


def test_quiz_is_text_without_answers(open_page):
    from vitlearn.exercises.quiz import QUIZ

    nb = next(p for p in NOTEBOOKS if "quiz_widget()" in p.read_text(encoding="utf-8"))
    page = open_page(f"notebooks/{nb.stem}.html").page
    quiz = page.locator("ol.vitlearn-static-quiz")
    assert quiz.count() == 1
    assert quiz.locator(":scope > li").count() == len(QUIZ)
    text = quiz.inner_text()
    assert all(q.why not in page.inner_text("body") for q in QUIZ.values())
    assert all(option in text for q in QUIZ.values() for option in q.options.values())


@pytest.mark.parametrize("nb", [p for p in NOTEBOOKS if _solutions(p)], ids=lambda p: p.stem)
def test_solutions_are_hidden_until_clicked(nb, open_page):
    page = open_page(f"notebooks/{nb.stem}.html").page
    cells = page.locator(".cell.tag_solution")
    assert cells.count() == len(_solutions(nb))
    first_line = _solutions(nb)[0].splitlines()[0]
    for i in range(cells.count()):
        code = cells.nth(i).locator(".cell_input pre")
        assert not code.is_visible(), f"{nb.name}: solution {i} is visible before a click"
    summary = cells.first.locator("summary")
    assert summary.inner_text().strip() == "Show the solution"
    summary.click()
    code = cells.first.locator(".cell_input pre")
    code.wait_for(state="visible")
    assert code.inner_text().splitlines()[0] == first_line


def test_search_finds_interpolate_on_notebook_06(open_page):
    nb06 = next(p for p in NOTEBOOKS if p.name.startswith("06_"))
    visit = open_page("index.html")
    page = visit.page
    page.keyboard.press("Control+k")  # the theme's search dialog
    box = page.locator("input[name='q']:visible").first
    box.fill("interpolate")
    box.press("Enter")
    page.wait_for_url("**/search.html?q=interpolate*")
    results = page.locator("#search-results ul.search li a")
    results.first.wait_for(timeout=20_000)
    hrefs = results.evaluate_all("els => els.map(a => a.getAttribute('href'))")
    assert any(
        h.split("?")[0].split("#")[0].endswith(f"notebooks/{nb06.stem}.html") for h in hrefs
    ), hrefs
    assert visit.problems() == []


def test_api_page_documents_the_public_names_with_shapes(open_page):
    page = open_page("api.html").page
    ids = set(page.eval_on_selector_all("dt[id]", "els => els.map(e => e.id)"))
    wanted = {name for names in api_names().values() for name in names}
    assert wanted <= ids, f"not on the API page: {sorted(wanted - ids)}"
    patchify = page.locator("dt[id='vitlearn.patchify'] + dd").inner_text()
    assert "(B, C, H, W) -> (B, N, ph*pw*C)" in patchify


def test_math_is_typeset_offline(tmp_path, open_page, serve_folder):
    """MathJax comes from the site (sphinx-mathjax-offline), not from a CDN.

    No notebook has a formula today, so a one-page site built with the course's configuration
    stands in for one that has.
    """
    src = tmp_path / "src"
    shutil.copytree(ROOT / "docs" / "site", src)
    (src / "index.md").write_text(
        "# Math\n\nInline $N = (H/P)^2$ and displayed:\n\n$$\\sum_i a_i$$\n"
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-b",
            "html",
            "-q",
            "-W",
            str(src),
            str(tmp_path / "html"),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    with serve_folder(tmp_path / "html") as base:
        visit = open_page("index.html", base=base)
        visit.page.locator("mjx-container").nth(1).wait_for(timeout=20_000)
        assert visit.page.locator("mjx-container").count() == 2
        assert visit.problems() == []
        scripts = visit.page.eval_on_selector_all("script[src]", "els => els.map(s => s.src)")
        assert any(s.startswith(base) and "mathjax" in s for s in scripts), scripts


def test_building_did_not_touch_the_notebooks(site):
    if site.build is not None:
        assert site.notebooks_after == site.notebooks_before
        return
    # a site built before this session (VITLEARN_SITE_DIR): notebooks/ must equal git's version
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all", "--", "notebooks"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert status == "", f"notebooks/ differs from the committed version:\n{status}"
