"""The one way a Parquet format writes a session: ``data/<split>/<session>.parquet``.

One shard per split and session, so re-exporting rewrites only sessions that changed, and the
schema carries the `datasets` features, so image columns load as ``datasets.Image``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from datasets import Features


def write_shard(out: Path, split: str, session_id: str, rows: list[dict[str, Any]], features: Features,
                row_group_size: int = 256) -> str:
    """Write one shard; returns its path relative to ``out``."""
    path = out / "data" / split / f"{session_id}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=features.arrow_schema), path, compression="zstd",
                   row_group_size=row_group_size)
    return str(path.relative_to(out))
