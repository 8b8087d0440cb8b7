"""Mean length of stay by ICD-10 chapter (first letter), disclosive cells suppressed.

The table is written with the platform's ``write_table``: beside the CSV it writes the
evidence the output checks need for the dominance rules
(``length_of_stay_by_chapter.csv.evidence.json``: counts and shares of the largest stays,
never a stay's length), declared highly sensitive in project.yaml so it stays here.
"""

import argparse

import duckdb
import matplotlib.pyplot as plt

from datalux.privacy.output_checks import Rules, write_table

parser = argparse.ArgumentParser()
parser.add_argument("--min-count", type=int, default=10)
args = parser.parse_args()

con = duckdb.connect()
cohort = con.read_parquet("output/stays.parquet")
stays = con.sql(
    """
    select left(primary_diagnosis, 1) as icd10_chapter, length_of_stay
    from cohort
    where primary_diagnosis is not null and length_of_stay is not null
    """
)
table = write_table(
    stays,
    ["icd10_chapter"],
    "output/length_of_stay_by_chapter.csv",
    value="length_of_stay",
    statistic="mean",
    suppress=Rules(min_count=args.min_count),  # small or dominated cells are left blank
    decimals=1,
)
rows = con.read_csv(str(table), all_varchar=True).fetchall()
shown = [(chapter, float(mean)) for chapter, count, mean in rows if mean]
figure, axes = plt.subplots(figsize=(8, 4))
axes.bar([c for c, _ in shown], [m for _, m in shown])
axes.set_xlabel("ICD-10 chapter")
axes.set_ylabel("mean length of stay (days)")
figure.savefig("output/length_of_stay_by_chapter.png", dpi=100, bbox_inches="tight")
print(f"{len(rows)} chapters written, {len(shown)} shown in the figure")
