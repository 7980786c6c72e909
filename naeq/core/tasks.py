"""Core background tasks."""

from __future__ import annotations

from celery import shared_task

from naeq.core.audit import audit_verify


@shared_task(name="naeq.core.audit_verify")
def audit_verify_task() -> dict[str, object]:
    """Verify the audit chain; returns the report as a dict (so it crosses a broker)."""
    report = audit_verify()
    return {"events": report.events, "first_bad_id": report.first_bad_id, "reason": report.reason}
