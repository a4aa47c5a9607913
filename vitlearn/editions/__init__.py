"""The course's editions and its command line: never imported by ``import vitlearn``.

- :mod:`~vitlearn.editions.student`: the student edition (solution cells removed);
- :mod:`~vitlearn.editions.nbgrader`: the nbgrader edition (one autograded assignment per notebook);
- :mod:`~vitlearn.editions.website`: the course as a static website (Sphinx + MyST-NB);
- :mod:`~vitlearn.editions.course`: where the course lives (its repository, the badge and the
  setup cell every notebook opens with);
- :mod:`~vitlearn.editions.cli`: ``python -m vitlearn``, one subcommand per tool.

These are tools around the course, for the people who publish and teach it; a notebook never
imports them.
"""
