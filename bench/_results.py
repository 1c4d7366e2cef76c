"""Where every benchmark's figures go: one JSON document per run, headed by the command that
produced it and when, so a figure quoted anywhere can be traced back to its run."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def save_results(path: Path, figures: dict[str, Any]) -> Path:
    """Write ``figures`` to ``path`` (written aside and renamed, so a crash leaves the old file)."""
    document = {
        "command": f"python bench/{Path(sys.argv[0]).name} " + " ".join(sys.argv[1:]),
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **figures,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(document, indent=1) + "\n")
    tmp.replace(path)
    return path
