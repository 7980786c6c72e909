"""What every CLI verb module needs before it touches the database, importable from any layer (verb modules import
only click at module level, so ``naeq --help`` stays fast; Django is set up inside each verb that needs it)."""

from __future__ import annotations

import os
from typing import Any


def django_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "naeq.settings")
    import django

    django.setup()


def account(username: str) -> Any:
    """The active account a verb acts as (``--as``); :class:`NotFound` naming it otherwise."""
    from django.contrib.auth import get_user_model
    from django.utils.translation import gettext as _

    from naeq.core.errors import NotFound

    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise NotFound(_("没有账户“%(u)s”。") % {"u": username})
    return user
