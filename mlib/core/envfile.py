"""Write ``environment.yml`` for conda users from ``requirements.txt``.

``requirements.txt`` is the one list of direct dependencies; the conda file is
derived from it (``make environment.yml``) so the two cannot drift apart, and
a test checks that the committed file is what this module produces.
"""

from __future__ import annotations

import sys
from pathlib import Path

PYTHON_VERSION = "3.11"


def requirements(path: str | Path) -> list[str]:
    """The requirement lines of a pip requirements file, comments dropped."""
    lines = (line.split("#", 1)[0].strip() for line in Path(path).read_text().splitlines())
    return [line for line in lines if line]


def render(path: str | Path) -> str:
    body = "\n".join(f"      - {req}" for req in requirements(path))
    return (
        "# Generated from requirements.txt by `make environment.yml`; do not edit by hand.\n"
        "name: mlib\n"
        "channels:\n"
        "  - conda-forge\n"
        "dependencies:\n"
        f"  - python={PYTHON_VERSION}\n"
        "  - pip\n"
        "  - pip:\n"
        f"{body}\n"
        "      - -e .\n"
    )


if __name__ == "__main__":
    sys.stdout.write(render(sys.argv[1] if len(sys.argv) > 1 else "requirements.txt"))
