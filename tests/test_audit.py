"""The audit log is append-only (database triggers) and tamper-evident (hash chain)."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from naeq.core.audit import GENESIS, audit_record, audit_verify
from naeq.core.models import AuditEvent
from naeq.registry.services import county_mailing_update
from tests.personas import World


def test_chain_links_every_event(db: None) -> None:
    a = audit_record(actor=None, action="t.one", object_type="x", object_id=1, after={"v": "一"})
    b = audit_record(actor=None, action="t.two", object_type="x", object_id=1, before={"v": "一"},
                     after={"v": "二"})
    assert a.prev_hash == GENESIS
    assert b.prev_hash == a.hash
    report = audit_verify()
    assert report.ok and report.events == 2


def test_service_write_is_audited_with_before_and_after(world: World) -> None:
    actor = world.users["county_liaison@A"]
    code = world.regions["A1a"].code
    county_mailing_update(actor=actor, code=code, postcode="200433", mailing_address="某路1号")
    ev = AuditEvent.objects.filter(action="registry.county.mailing_update").get()
    assert ev.actor_id == actor.pk and ev.actor_label == actor.username
    assert ev.object_id == code
    assert ev.before["postcode"] == "" and ev.after["postcode"] == "200433"
    assert ev.after["mailing_address"] == "某路1号"
    assert audit_verify().ok


@pytest.mark.parametrize("statement", ["UPDATE core_auditevent SET action = 'forged'",
                                       "DELETE FROM core_auditevent"])
def test_database_refuses_changes(db: None, statement: str) -> None:
    audit_record(actor=None, action="t.one", object_type="x", object_id=1)
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cur:
        cur.execute(statement)
    assert AuditEvent.objects.filter(action="t.one").count() == 1


def test_model_refuses_changes(db: None) -> None:
    ev = audit_record(actor=None, action="t.one", object_type="x", object_id=1)
    ev.action = "forged"
    with pytest.raises(RuntimeError):
        ev.save()
    with pytest.raises(RuntimeError):
        ev.delete()


def _drop_triggers() -> None:
    with connection.cursor() as cur:
        if connection.vendor == "sqlite":
            cur.execute("DROP TRIGGER core_auditevent_no_update")
            cur.execute("DROP TRIGGER core_auditevent_no_delete")
        else:
            cur.execute("DROP TRIGGER core_auditevent_no_change ON core_auditevent")


def test_verify_detects_an_altered_event(db: None) -> None:
    """Someone with database rights who removes the triggers and edits a row is still caught by the chain."""
    for i in range(3):
        audit_record(actor=None, action="t.step", object_type="x", object_id=i, after={"i": i})
    middle = AuditEvent.objects.order_by("id")[1]
    _drop_triggers()
    with connection.cursor() as cur:
        cur.execute("UPDATE core_auditevent SET after = %s WHERE id = %s", ['{"i": 99}', middle.id])
    report = audit_verify()
    assert not report.ok
    assert report.first_bad_id == middle.id
    assert "altered" in (report.reason or "")


def test_verify_detects_a_removed_event(db: None) -> None:
    for i in range(3):
        audit_record(actor=None, action="t.step", object_type="x", object_id=i)
    _first, middle, last = AuditEvent.objects.order_by("id")
    _drop_triggers()
    with connection.cursor() as cur:
        cur.execute("DELETE FROM core_auditevent WHERE id = %s", [middle.id])
    report = audit_verify()
    assert report.first_bad_id == last.id
    assert "removed" in (report.reason or "")
