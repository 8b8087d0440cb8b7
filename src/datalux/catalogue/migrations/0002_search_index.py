"""The catalogue search index (catalogue/search.py): FTS5 on SQLite, tsvector + GIN on PostgreSQL,
and the one-row ``catalogue_search_state`` whose token tells processes their facet table is stale.

The table is not a Django model: it is written by ``search.reindex_dataset`` and read with SQL.
It holds no foreign key so that flushing the catalogue tables never trips over it; documents of
deleted datasets are removed by a signal and never match anyway (searches join the datasets).
"""

from django.db import migrations


def _create(apps, schema_editor):
    from datalux.catalogue.search import engine_for, populate_with

    engine = engine_for(schema_editor.connection.vendor)
    for sql in engine.create_sql():
        schema_editor.execute(sql, params=None)
    with schema_editor.connection.cursor() as cursor:
        populate_with(cursor, schema_editor.connection.vendor, apps)


def _drop(apps, schema_editor):
    from datalux.catalogue.search import engine_for

    for sql in engine_for(schema_editor.connection.vendor).drop_sql():
        schema_editor.execute(sql, params=None)


class Migration(migrations.Migration):
    dependencies = [("catalogue", "0001_initial")]

    operations = [migrations.RunPython(_create, _drop)]
