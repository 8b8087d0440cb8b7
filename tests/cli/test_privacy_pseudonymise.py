"""``datalux privacy pseudonymise`` and ``datalux privacy keygen`` through click's runner."""

from __future__ import annotations

import base64
import datetime as dt
import hmac
import stat
from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from datalux.cli.privacy import privacy
from datalux.privacy import MASTER_KEY_ENV_VAR, MasterKey, load_master_key, make_national_id

MATERIAL = bytes(range(200, 232))


def nin(i: int) -> str:
    return make_national_id(dt.date(1970, 1, 1) + dt.timedelta(days=i), i)


def hmac_in_domain(master: MasterKey, domain: str, value: str) -> str:
    key = master.domain_keys(domain).hmac_key
    return hmac.new(key, value.encode(), "sha256").hexdigest()


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "ttp.key"
    path.write_text(base64.b64encode(MATERIAL).decode() + "\n")
    path.chmod(0o600)
    return path


def test_keygen_writes_a_0600_key_file_that_loads(tmp_path: Path) -> None:
    out = tmp_path / "new.key"
    result = CliRunner().invoke(privacy, ["keygen", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    key = load_master_key(out)
    assert key.to_base64() not in result.output
    again = CliRunner().invoke(privacy, ["keygen", "--out", str(out)])
    assert again.exit_code == 1
    assert "already exists" in again.output
    assert load_master_key(out) == key


def test_pseudonymise_csv_with_validation(tmp_path: Path, key_file: Path) -> None:
    bad = nin(3)[:-1] + str((int(nin(3)[-1]) + 1) % 10)
    src = tmp_path / "people.csv"
    src.write_text(f"nin,name,town\n{nin(1)},Ann,Esch\n{bad},Bob,Wiltz\n,Cid,Vianden\n")
    out = tmp_path / "people.parquet"
    args = ["pseudonymise", str(src), "--column", "nin", "--column", "name"]
    args += ["--domain", "holder:ccss", "--key-file", str(key_file), "--out", str(out)]
    args += ["--validate", "nin=national-id"]
    result = CliRunner().invoke(privacy, args)
    assert result.exit_code == 0, result.output
    master = MasterKey(MATERIAL)
    table = pq.read_table(out)
    assert table.column("nin").to_pylist() == [hmac_in_domain(master, "holder:ccss", nin(1)), None]
    assert table.column("name").to_pylist() == [
        hmac_in_domain(master, "holder:ccss", "Ann"),
        hmac_in_domain(master, "holder:ccss", "Cid"),
    ]
    assert table.column("town").to_pylist() == ["Esch", "Vianden"]
    assert "rows in:        3" in result.output
    assert "rejected:       1 rows" in result.output
    assert "nin: national-id:bad_verhoeff: 1" in result.output
    assert "nulls (kept):   1" in result.output
    assert "seconds:" in result.output
    assert bad not in result.output and "Bob" not in result.output
    rejects = pacsv.read_csv(tmp_path / "people.rejects.csv").to_pylist()
    assert rejects == [{"row": 2, "column": "nin", "reason": "national-id:bad_verhoeff"}]


def test_master_key_from_environment(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text("id\nx\n")
    out = tmp_path / "out.csv"
    env = {MASTER_KEY_ENV_VAR: base64.b64encode(MATERIAL).decode()}
    result = CliRunner(env=env).invoke(
        privacy, ["pseudonymise", str(src), "--column", "id", "--domain", "p:1", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert pacsv.read_csv(out).column("id").to_pylist() == [
        hmac_in_domain(MasterKey(MATERIAL), "p:1", "x")
    ]


def test_validate_without_column_applies_to_every_column(tmp_path: Path, key_file: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text(f"a,b\n{nin(1)},{nin(2)}\n{nin(3)},oops\n")
    out = tmp_path / "out.csv"
    args = ["pseudonymise", str(src), "--column", "a", "--column", "b", "--domain", "d"]
    args += ["--key-file", str(key_file), "--out", str(out), "--validate", "national-id"]
    result = CliRunner().invoke(privacy, args)
    assert result.exit_code == 0, result.output
    assert "b: national-id:length: 1" in result.output
    assert pacsv.read_csv(out).num_rows == 1


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--column", "nope"], "not in the input: nope"),
        (["--column", "id", "--domain", "Bad Domain"], "lowercase"),
        (["--column", "id", "--validate", "iban"], "unknown validation kind"),
    ],
)
def test_errors_are_messages_not_tracebacks(
    tmp_path: Path, key_file: Path, extra: list[str], message: str
) -> None:
    src = tmp_path / "in.csv"
    src.write_text("id\nx\n")
    out = tmp_path / "out.parquet"
    args = ["pseudonymise", str(src), "--domain", "d", "--key-file", str(key_file)]
    args += ["--out", str(out), *extra]
    result = CliRunner().invoke(privacy, args)
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def test_missing_key_names_the_fix(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text("id\nx\n")
    args = ["pseudonymise", str(src), "--column", "id", "--domain", "d"]
    args += ["--out", str(tmp_path / "o.csv")]
    result = CliRunner(env={MASTER_KEY_ENV_VAR: ""}).invoke(privacy, args)
    assert result.exit_code == 1
    assert MASTER_KEY_ENV_VAR in result.output and "keygen" in result.output
