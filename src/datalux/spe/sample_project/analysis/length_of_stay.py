"""Mean length of stay by ICD-10 chapter (first letter), small counts suppressed."""

import argparse

import duckdb

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
print(f"{len(rows)} chapters written")
