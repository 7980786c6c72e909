"""Database triggers that refuse UPDATE and DELETE (and TRUNCATE) on the audit log, on SQLite and PostgreSQL.

Installed by migration ``core.0002``. The test suite re-installs them around transactional tests, whose teardown
empties every table (see ``tests/conftest.py``); nothing else may remove them.
"""

from __future__ import annotations

from typing import Any

_INSTALL = {
    "sqlite": [
        ("CREATE TRIGGER IF NOT EXISTS core_auditevent_no_update BEFORE UPDATE ON core_auditevent "
         "BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;"),
        ("CREATE TRIGGER IF NOT EXISTS core_auditevent_no_delete BEFORE DELETE ON core_auditevent "
         "BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;"),
    ],
    "postgresql": [
        ("CREATE OR REPLACE FUNCTION core_auditevent_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
         "BEGIN RAISE EXCEPTION 'audit events are append-only'; END; $$;"),
        ("CREATE OR REPLACE TRIGGER core_auditevent_no_change BEFORE UPDATE OR DELETE ON core_auditevent "
         "FOR EACH ROW EXECUTE FUNCTION core_auditevent_append_only();"),
        ("CREATE OR REPLACE TRIGGER core_auditevent_no_truncate BEFORE TRUNCATE ON core_auditevent "
         "FOR EACH STATEMENT EXECUTE FUNCTION core_auditevent_append_only();"),
    ],
}
_REMOVE = {
    "sqlite": ["DROP TRIGGER IF EXISTS core_auditevent_no_update;",
               "DROP TRIGGER IF EXISTS core_auditevent_no_delete;"],
    "postgresql": ["DROP TRIGGER IF EXISTS core_auditevent_no_change ON core_auditevent;",
                   "DROP TRIGGER IF EXISTS core_auditevent_no_truncate ON core_auditevent;"],
}


def _execute(connection: Any, statements: list[str]) -> None:
    with connection.cursor() as cur:
        for sql in statements:
            cur.execute(sql)


def install_audit_triggers(connection: Any) -> None:
    _execute(connection, _INSTALL.get(connection.vendor, []))


def remove_audit_triggers(connection: Any) -> None:
    _execute(connection, _REMOVE.get(connection.vendor, []))
