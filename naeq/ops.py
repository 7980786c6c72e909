"""Operations verbs: ``naeq user``, ``naeq audit``, ``naeq demo``."""

from __future__ import annotations

import os
import sys

import click


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "naeq.settings")
    import django

    django.setup()


@click.group()
def user() -> None:
    """Accounts: create users anchored in the hierarchy."""


@user.command("create")
@click.argument("username")
@click.option("--role", required=True, help="A role code, e.g. national_admin, province_coordinator, "
              "city_viewer, county_liaison, school_head (see docs/accounts.md).")
@click.option("--region", "region_code", help="6-digit division code of the province/city/county it is anchored at.")
@click.option("--school", "school_code", help="10-digit school identification code, for school roles.")
@click.option("--name", "display_name", default="", help="Display name.")
@click.option("--password", envvar="NAEQ_NEW_PASSWORD", prompt=True, hide_input=True, confirmation_prompt=True,
              help="Password (or set NAEQ_NEW_PASSWORD; prompted otherwise).")
def user_create_cmd(username: str, role: str, region_code: str | None, school_code: str | None,
                    display_name: str, password: str) -> None:
    """Create an account with ROLE anchored at a region or school. The write is audited as 'system'."""
    _setup()
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError
    from django.utils.translation import gettext as _

    from naeq.accounts.services import user_create
    from naeq.core.errors import InvalidInput, Problem
    from naeq.registry.models import Region, School

    region = school = None
    if region_code:
        region = Region.objects.filter(code=region_code).first()
        if region is None:
            raise InvalidInput(_("区域不存在。"), problems=[Problem(field="region", reason=_("区域不存在"),
                                                                  value=region_code)])
    if school_code:
        school = School.objects.filter(code=school_code).first()
        if school is None:
            raise InvalidInput(_("学校不存在。"), problems=[Problem(field="school", reason=_("学校不存在"),
                                                                  value=school_code)])
    try:
        validate_password(password)
    except ValidationError as exc:
        raise InvalidInput(_("密码不符合要求。"),
                           problems=[Problem(field="password", reason=str(m)) for m in exc.messages]) from exc
    u = user_create(actor=None, username=username, password=password, role=role, region=region, school=school,
                    display_name=display_name)
    click.echo(f"created {u.username} ({u.role})")


@click.group()
def audit() -> None:
    """The audit log: verify that no event was altered or removed."""


@audit.command("verify")
def audit_verify_cmd() -> None:
    """Recompute the hash chain of the audit log. Exit 0 when intact, 1 at the first broken event."""
    _setup()
    from naeq.core.audit import audit_verify

    report = audit_verify()
    if report.ok:
        click.echo(f"audit chain intact: {report.events} events")
        return
    click.echo(f"audit chain BROKEN at event {report.first_bad_id}: {report.reason}", err=True)
    sys.exit(1)
