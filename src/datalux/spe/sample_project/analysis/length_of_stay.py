"""Mean length of stay by ICD-10 chapter (first letter), small counts suppressed."""

import argparse

import duckdb
import matplotlib.pyplot as plt

parser = argparse.ArgumentParser()
parser.add_argument("--min-count", type=int, default=10)
args = parser.parse_args()

con = duckdb.connect()
cohort = con.read_parquet("output/stays.parquet")
table = con.sql(
    """
    select left(primary_diagnosis, 1) as icd10_chapter,
           count(*) as stays,
           round(avg(length_of_stay), 1) as mean_days
    from cohort
    where primary_diagnosis is not null
    group by 1
    order by 1
    """
)
rows = table.fetchall()
with open("output/length_of_stay_by_chapter.csv", "w") as handle:
    handle.write("icd10_chapter,stays,mean_days\n")
    for chapter, stays, mean in rows:
        if stays < args.min_count:  # a small cell could single someone out
            handle.write(f"{chapter},<{args.min_count},\n")
        else:
            handle.write(f"{chapter},{stays},{mean}\n")
shown = [(chapter, mean) for chapter, stays, mean in rows if stays >= args.min_count]
figure, axes = plt.subplots(figsize=(8, 4))
axes.bar([c for c, _ in shown], [m for _, m in shown])
axes.set_xlabel("ICD-10 chapter")
axes.set_ylabel("mean length of stay (days)")
figure.savefig("output/length_of_stay_by_chapter.png", dpi=100, bbox_inches="tight")
print(f"{len(rows)} chapters written, {len(shown)} shown in the figure")
