"""The extract's tables: rows and columns of each Parquet file under $DATALUX_DATA."""

import csv
import os
from pathlib import Path

import duckdb

data = Path(os.environ.get("DATALUX_DATA", "/data"))
rows = []
for path in sorted(data.glob("*.parquet")):
    relation = duckdb.read_parquet(str(path))
    [(count,)] = relation.aggregate("count(*)").fetchall()
    rows.append({"table": path.stem, "rows": count, "columns": len(relation.columns)})
    print(f"{path.stem}: {count} rows, {len(relation.columns)} columns")

Path("output").mkdir(exist_ok=True)
with open("output/tables.csv", "w", newline="") as handle:
    writer = csv.DictWriter(handle, fieldnames=["table", "rows", "columns"])
    writer.writeheader()
    writer.writerows(rows)
