"""Database triggers that refuse UPDATE and DELETE of custody events, on SQLite and PostgreSQL.

The same pattern as the audit log's (:mod:`naeq.core.triggers`): the chain of custody is append-only, and a
row-level trigger holds even against raw SQL or a queryset ``update()``/``delete()`` that bypasses the model's
``save``/``delete``. TRUNCATE is not refused, so that a test database can still be emptied between transactional
tests (PostgreSQL flushes with TRUNCATE; on SQLite no transactional test keeps custody rows).

Installed by migration ``custody.0002``.
"""

from __future__ import annotations

from typing import Any

_INSTALL = {
    "sqlite": [
        ("CREATE TRIGGER IF NOT EXISTS custody_custodyevent_no_update BEFORE UPDATE ON custody_custodyevent "
         "BEGIN SELECT RAISE(ABORT, 'custody events are append-only'); END;"),
        ("CREATE TRIGGER IF NOT EXISTS custody_custodyevent_no_delete BEFORE DELETE ON custody_custodyevent "
         "BEGIN SELECT RAISE(ABORT, 'custody events are append-only'); END;"),
    ],
    "postgresql": [
        ("CREATE OR REPLACE FUNCTION custody_custodyevent_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
         "BEGIN RAISE EXCEPTION 'custody events are append-only'; END; $$;"),
        ("CREATE OR REPLACE TRIGGER custody_custodyevent_no_change BEFORE UPDATE OR DELETE "
         "ON custody_custodyevent FOR EACH ROW EXECUTE FUNCTION custody_custodyevent_append_only();"),
    ],
}
_REMOVE = {
    "sqlite": ["DROP TRIGGER IF EXISTS custody_custodyevent_no_update;",
               "DROP TRIGGER IF EXISTS custody_custodyevent_no_delete;"],
    "postgresql": ["DROP TRIGGER IF EXISTS custody_custodyevent_no_change ON custody_custodyevent;"],
}


def _execute(connection: Any, statements: list[str]) -> None:
    with connection.cursor() as cur:
        for sql in statements:
            cur.execute(sql)


def install_custody_triggers(connection: Any) -> None:
    _execute(connection, _INSTALL.get(connection.vendor, []))


def remove_custody_triggers(connection: Any) -> None:
    _execute(connection, _REMOVE.get(connection.vendor, []))
