"""The database itself refuses UPDATE and DELETE (and TRUNCATE on PostgreSQL) on the exchange
log, as on the audit chain (audit 0002)."""

from django.db import migrations

TABLE = "onceonly_exchangelogentry"

SQLITE_UP = [
    f"""CREATE TRIGGER onceonly_log_no_update BEFORE UPDATE ON {TABLE}
        BEGIN SELECT RAISE(ABORT, 'the exchange log is append-only: UPDATE refused'); END""",
    f"""CREATE TRIGGER onceonly_log_no_delete BEFORE DELETE ON {TABLE}
        BEGIN SELECT RAISE(ABORT, 'the exchange log is append-only: DELETE refused'); END""",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS onceonly_log_no_update",
    "DROP TRIGGER IF EXISTS onceonly_log_no_delete",
]

POSTGRES_UP = [
    """CREATE OR REPLACE FUNCTION datalux_onceonly_log_refuse() RETURNS trigger AS $$
       BEGIN
         RAISE EXCEPTION 'the exchange log is append-only: % refused', TG_OP
           USING ERRCODE = 'integrity_constraint_violation';
       END; $$ LANGUAGE plpgsql""",
    f"""CREATE TRIGGER onceonly_log_no_update_delete BEFORE UPDATE OR DELETE ON {TABLE}
        FOR EACH ROW EXECUTE FUNCTION datalux_onceonly_log_refuse()""",
    f"""CREATE TRIGGER onceonly_log_no_truncate BEFORE TRUNCATE ON {TABLE}
        FOR EACH STATEMENT EXECUTE FUNCTION datalux_onceonly_log_refuse()""",
]
POSTGRES_DOWN = [
    f"DROP TRIGGER IF EXISTS onceonly_log_no_update_delete ON {TABLE}",
    f"DROP TRIGGER IF EXISTS onceonly_log_no_truncate ON {TABLE}",
    "DROP FUNCTION IF EXISTS datalux_onceonly_log_refuse()",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        statements = statements_by_vendor.get(schema_editor.connection.vendor)
        if statements is None:
            raise RuntimeError(
                f"no append-only triggers for the {schema_editor.connection.vendor} database: "
                "datalux supports SQLite and PostgreSQL"
            )
        for sql in statements:
            schema_editor.execute(sql, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [("onceonly", "0003_exchange_log")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_UP, "postgresql": POSTGRES_UP}),
            _run({"sqlite": SQLITE_DOWN, "postgresql": POSTGRES_DOWN}),
        )
    ]
