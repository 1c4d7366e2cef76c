"""Where the benchmarks find their data, and one sentence (not a traceback) when it is absent.

The datasets are never committed: they live beside the worktrees in ``../shared/datasets/``
(see the README, "Data"). A benchmark asks :func:`require_dataset` for its path before reading.
"""

from __future__ import annotations

import sys
from pathlib import Path

SHARED_DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
PLAYLISTS = SHARED_DATASETS / "spotify-mpd-followed-playlists"


def require_dataset(path: Path) -> Path:
    """``path`` if it exists; otherwise exit with one sentence saying what is missing and what to do."""
    path = Path(path)
    if not path.exists():
        script = Path(sys.argv[0]).name
        raise SystemExit(
            f"bench/{script} needs the dataset at {path}, which is absent (datasets are not in the repository: "
            "see the README's 'Data' section for where they come from, or pass --data PATH)."
        )
    return path
