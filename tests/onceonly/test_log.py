"""The exchange log: append-only, hash-chained, signed; tampering, removal and forged receipts
are detected, by ``datalux onceonly verify-log`` and ``verify-receipt`` too."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.db import DatabaseError, connection, transaction

from datalux.audit.kinds import EventKind
from datalux.audit.models import AuditEvent
from datalux.audit.signing import key_id, public_key_file
from datalux.cli import main
from datalux.onceonly import keys
from datalux.onceonly.log import Draft, append, verify
from datalux.onceonly.models import ExchangeLogEntry
from datalux.onceonly.receipts import GENESIS, check, entry_hash, receipt, sign_entry

pytestmark = pytest.mark.django_db


def _entries(n: int) -> list[tuple[ExchangeLogEntry, dict[str, Any]]]:
    return [
        append(
            Draft(
                outcome="delivered",
                consumer="family-benefits",
                system="caf-system",
                protocol="OOP-0001",
                protocol_version=1,
                purpose="family-allowance-eligibility",
                items=["surname"],
                case_reference=f"CASE-{i}",
                on_behalf_of="agent-1",
                subjects=["a" * 64],
                subject_count=1,
            )
        )
        for i in range(n)
    ]


def _drop_triggers() -> None:
    """What an attacker with database-owner rights could do (inside the test transaction)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("DROP TRIGGER onceonly_log_no_update")
            cursor.execute("DROP TRIGGER onceonly_log_no_delete")
        else:
            cursor.execute("ALTER TABLE onceonly_exchangelogentry DISABLE TRIGGER USER")


def test_entries_are_chained_signed_and_verify() -> None:
    written = _entries(3)
    assert written[0][0].prev_hash == GENESIS
    assert written[1][0].prev_hash == written[0][0].hash
    result = verify()
    assert result.ok, result.summary()
    assert (result.checked, result.head_seq, result.head_hash) == (3, 3, written[-1][0].hash)


def test_the_database_refuses_update_and_delete() -> None:
    ((entry, _receipt),) = _entries(1)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        ExchangeLogEntry.objects.filter(pk=entry.pk).update(case_reference="X")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        ExchangeLogEntry.objects.filter(pk=entry.pk).delete()


def test_a_tampered_entry_is_detected() -> None:
    _entries(4)
    _drop_triggers()
    ExchangeLogEntry.objects.filter(seq=2).update(case_reference="OTHER-CASE")
    result = verify()
    assert not result.ok and result.seq == 2 and "edited" in result.problem


def test_a_rewritten_entry_with_a_recomputed_hash_fails_its_signature() -> None:
    _entries(3)
    _drop_triggers()
    entry = ExchangeLogEntry.objects.get(seq=3)  # the newest: no later link to break
    entry.items = ["surname", "street_address"]
    ExchangeLogEntry.objects.filter(pk=entry.pk).update(
        items=entry.items, hash=entry_hash(entry.statement())
    )
    result = verify()
    assert not result.ok and result.seq == 3 and "signature is not valid" in result.problem


def test_a_removed_entry_is_detected() -> None:
    _entries(4)
    _drop_triggers()
    ExchangeLogEntry.objects.filter(seq=2).delete()
    result = verify()
    assert not result.ok and result.seq == 2 and "missing" in result.problem


def test_removing_the_newest_entries_is_caught_by_a_receipt() -> None:
    written = _entries(3)
    _drop_triggers()
    ExchangeLogEntry.objects.filter(seq=3).delete()
    assert verify().ok  # the chain alone cannot tell...
    newest = written[-1][1]
    result = verify(anchors=[(newest["entry"]["seq"], newest["hash"])])
    assert not result.ok and result.seq == 3 and "newest entries removed" in result.problem


def test_forged_receipts_are_detected() -> None:
    ((_entry, genuine),) = _entries(1)
    trusted = keys.trusted_keys()
    assert check(genuine, trusted).ok
    changed = copy.deepcopy(genuine)
    changed["entry"]["items"] = ["surname", "given_name"]
    assert "does not match its hash" in check(changed, trusted).problem
    rehashed = copy.deepcopy(changed)
    rehashed["hash"] = entry_hash(rehashed["entry"])
    assert "signature is not valid" in check(rehashed, trusted).problem
    impostor = Ed25519PrivateKey.generate()
    key, signature = sign_entry(impostor, rehashed["hash"])
    forged = receipt(rehashed["entry"], rehashed["hash"], key, signature)
    assert "not among the public keys" in check(forged, trusted).problem
    stolen_id = dict(forged, key_id=genuine["key_id"])
    assert "signature is not valid" in check(stolen_id, trusted).problem
    extra = copy.deepcopy(genuine)
    extra["entry"]["national_id"] = "x"
    assert "other fields" in check(extra, trusted).problem


def _write(path: Path, document: Any) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_cli_verify_receipt_offline_with_the_public_key(tmp_path: Path, settings: Any) -> None:
    ((_entry, genuine),) = _entries(1)
    public = public_key_file(Path(settings.DATALUX_ONCEONLY_SIGNING_KEY))
    runner = CliRunner()
    good = _write(tmp_path / "good.json", {"receipt": genuine})  # the API's answer, as saved
    ok = runner.invoke(main, ["onceonly", "verify-receipt", str(good), "--public-key", str(public)])
    assert ok.exit_code == 0, ok.output
    assert "receipt valid" in ok.output
    forged = copy.deepcopy(genuine)
    forged["entry"]["case_reference"] = "ANOTHER"
    bad = _write(tmp_path / "bad.json", forged)
    refused = runner.invoke(
        main, ["onceonly", "verify-receipt", str(bad), "--public-key", str(public)]
    )
    assert refused.exit_code == 1 and "NOT valid" in refused.output
    by_dir = runner.invoke(
        main,
        ["onceonly", "verify-receipt", str(good), "--keys-dir", str(keys.published_keys_dir())],
    )
    assert by_dir.exit_code == 0, by_dir.output
    assert (keys.published_keys_dir() / f"{genuine['key_id']}.pem").exists()
    assert genuine["key_id"] == key_id(keys.signing_key().public_key())
    junk = _write(tmp_path / "junk.json", {"format": "something else"})
    unreadable = runner.invoke(
        main, ["onceonly", "verify-receipt", str(junk), "--public-key", str(public)]
    )
    assert unreadable.exit_code == 1 and "not a datalux Once Only receipt" in unreadable.output


def test_cli_verify_log_checks_the_chain_and_the_receipts(tmp_path: Path) -> None:
    written = _entries(2)
    runner = CliRunner()
    newest = _write(tmp_path / "newest.json", written[-1][1])
    ok = runner.invoke(main, ["onceonly", "verify-log", "--receipt", str(newest)])
    assert ok.exit_code == 0, ok.output
    assert "exchange log intact: 2 entries" in ok.output
    _drop_triggers()
    ExchangeLogEntry.objects.filter(seq=2).delete()
    broken = runner.invoke(main, ["onceonly", "verify-log", "--receipt", str(newest)])
    assert broken.exit_code == 1 and "BROKEN at entry #2" in broken.output
    results = AuditEvent.objects.filter(kind=EventKind.ONCEONLY_LOG_VERIFIED).order_by("seq")
    assert [e.details["ok"] for e in results] == [True, False]
