"""What the writers of the published shapes share: where they read and write, and the sample."""

from __future__ import annotations

import csv
import io
from pathlib import Path

HERE = Path(__file__).parent  # the published shapes are written here
SAMPLE = HERE.parent  # the example CSVs they are made from
FIXTURES = HERE.parents[2] / "tests" / "storage" / "fixtures"  # each shape's columns
NBSP = "\u00a0"


def sample(name: str) -> list[dict[str, str]]:
    """Return the rows of one example CSV (`storage/sample/<name>`)."""
    return list(csv.DictReader(io.StringIO((SAMPLE / name).read_text("utf-8-sig"))))
