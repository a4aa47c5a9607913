"""The two commands the README gives, read from the README itself, so CI runs exactly those.

    python .ci/readme_commands.py install   # the course's install: the first command, minus
                                            # its last step, which opens JupyterLab
    python .ci/readme_commands.py test      # the test command, whole

Each command is the single line of the fenced ``bash`` block under its README heading ("Start the
course", "Run the tests"). ``.ci/run`` evaluates what this prints, and ``tests/test_ci.py`` checks
that it does, so the README and CI cannot drift apart.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"

HEADINGS = {"install": "Start the course", "test": "Run the tests"}
"""The README section holding each command."""

OPEN_COURSE = re.compile(r"\s*&&\s*(jupyter lab\b[^&|;]*)$")
"""The last step of the install command: it opens the course in JupyterLab, which CI cannot do."""


def readme_command(section: str, readme: Path = README) -> str:
    """The one-line command of the first ``bash`` block under ``## <section>`` in the README."""
    text = readme.read_text(encoding="utf-8")
    heading = re.search(rf"^## {re.escape(section)}\s*$", text, flags=re.M)
    if heading is None:
        raise ValueError(f"{readme}: no '## {section}' heading")
    body = text[heading.end() :]
    end = re.search(r"^## ", body, flags=re.M)
    body = body[: end.start()] if end else body
    block = re.search(r"^```bash\n(.*?)^```", body, flags=re.M | re.S)
    if block is None:
        raise ValueError(f"{readme}: no ```bash block under '## {section}'")
    lines = [line for line in block.group(1).splitlines() if line.strip()]
    if len(lines) != 1:
        raise ValueError(
            f"{readme}: the bash block under '## {section}' should hold one command, got {lines}"
        )
    return lines[0].strip()


def install_command(readme: Path = README) -> tuple[str, str]:
    """(what CI runs, the step it leaves out): the first command split before ``&& jupyter lab``."""
    command = readme_command(HEADINGS["install"], readme)
    match = OPEN_COURSE.search(command)
    if match is None:
        raise ValueError(f"the install command should end by opening JupyterLab: {command!r}")
    return command[: match.start()], match.group(1)


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in HEADINGS:
        print(f"usage: {Path(__file__).name} {{install|test}}", file=sys.stderr)
        return 2
    if argv[0] == "install":
        print(install_command()[0])
    else:
        print(readme_command(HEADINGS["test"]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
