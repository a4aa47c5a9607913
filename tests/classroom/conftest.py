"""The classroom suite's report: how long nbgrader took to autograde each assignment.

Printed at the end of the run (a figure to read, not a test: timings are never asserted).
"""

from __future__ import annotations

import json

from submissions import AUTOGRADE_SECONDS as TIMES


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not TIMES:
        return
    lines = [f"  {n}: {t:6.1f} s" for n, t in TIMES.items()]
    terminalreporter.write_sep("-", "autograde time per assignment")
    terminalreporter.write_line("\n".join(lines) + f"\n  total {sum(TIMES.values()):.0f} s")
    terminalreporter.write_line(json.dumps({n: round(t, 1) for n, t in TIMES.items()}))
