"""One row per hospital stay with its length in days (the cohort: highly sensitive)."""

import os
import sys
from pathlib import Path

import duckdb

data = Path(os.environ.get("DATALUX_DATA", "/data"))
found = sorted(data.glob("*hospital*stays*.parquet"))
if not found:
    sys.exit(f"no hospital stays table in {data}: this sample expects one")
con = duckdb.connect()
stays = con.read_parquet(str(found[0]))
cohort = con.sql(
    """
    select primary_diagnosis,
           date_diff('day', admission_date, discharge_date) as length_of_stay
    from stays
    where admission_date is not null and discharge_date is not null
    """
)
Path("output").mkdir(exist_ok=True)
cohort.write_parquet("output/stays.parquet")
[(n,)] = con.sql("select count(*) from cohort").fetchall()
print(f"{n} stays with both dates")
