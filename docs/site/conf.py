"""Sphinx configuration of the course's website.

Not run from here: ``python -m vitlearn build-site`` copies this folder into a staging folder,
adds the executed notebooks, the front page (from README.md) and the API page, and runs Sphinx
there (see ``vitlearn/editions/website.py``).

The build must work without network, and the site must work offline: every script, stylesheet
and font is served from the site itself. Hence no intersphinx (it downloads inventories), MathJax
from the sphinx-mathjax-offline wheel instead of a CDN, and no ipywidgets scripts (from a CDN
too; the explorers are static images on the site).
"""

from vitlearn import __version__
from vitlearn.editions import course as _course

project = "vitlearn"
author = "the vitlearn authors"
copyright = "the vitlearn authors, MIT licence"  # noqa: A001 (Sphinx's name for it)
version = release = __version__
html_title = "From an image to tokens: how a Vision Transformer sees"
html_baseurl = _course.site_url()

extensions = [
    "myst_nb",  # notebooks and Markdown pages (includes myst_parser)
    "sphinx.ext.autodoc",  # the API page, from the docstrings
    "sphinx.ext.napoleon",  # "Args:" / "Returns:" sections in those docstrings
    "sphinx-mathjax-offline",  # MathJax copied into _static/ (sets mathjax_path)
]

root_doc = "index"
exclude_patterns = ["_build", "**/.ipynb_checkpoints"]

# --- notebooks ----------------------------------------------------------------------------------
nb_execution_mode = "off"  # build-site has executed them (its own kernel environment and errors)
nb_ipywidgets_js = {}  # no require.js / html-manager from a CDN: there are no live widgets here
nb_output_stderr = "show"
myst_enable_extensions = ["dollarmath", "colon_fence"]
myst_heading_anchors = 3  # the README links to its own sections (#the-course-as-a-website)

# --- the API page -------------------------------------------------------------------------------
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
napoleon_google_docstring = True
napoleon_numpy_docstring = False

# --- the theme ----------------------------------------------------------------------------------
html_theme = "sphinx_book_theme"
html_static_path = ["_static"]
html_css_files = ["vitlearn.css"]
html_context = {"default_mode": "light"}
html_theme_options = {
    "repository_url": _course.REPO_URL,
    "repository_branch": _course.BRANCH,
    "path_to_docs": "",  # the staged notebooks sit at notebooks/, as in the repository
    "use_repository_button": True,
    "use_download_button": True,  # the executed .ipynb, figures included
    "launch_buttons": {
        # The theme builds the same URLs as vitlearn.editions.course.colab_url / binder_url
        # (tests/site checks that they are equal on every page).
        "colab_url": "https://colab.research.google.com",
        "binderhub_url": "https://mybinder.org",
        "notebook_interface": "jupyterlab",
    },
    "show_toc_level": 2,
    "home_page_in_toc": True,
}
