"""``ml`` is a plain library: it must never import Django, DRF or the project's Django apps (the
commands own the Django side)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ML_DIR = Path(__file__).resolve().parents[1]
FORBIDDEN = {"django", "rest_framework", "core", "accounts", "catalog", "likes", "recommendations"}


def test_no_module_in_ml_imports_django() -> None:
    offenders = []
    for path in ML_DIR.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.relative_to(ML_DIR)}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert offenders == []


def test_importing_every_ml_module_loads_no_django() -> None:
    modules = sorted(p.stem for p in ML_DIR.glob("*.py") if p.stem != "__init__")
    code = (
        "import sys\n"
        + "".join(f"import ml.{m}\n" for m in modules)
        + f"bad = [m for m in sys.modules if m.split('.')[0] in {sorted(FORBIDDEN)!r}]\n"
        + "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ML_DIR.parent, timeout=60)
