"""Names from the YAML configurations (posts, milestones, checklist items, incident categories) in two languages.

A configuration entry may carry an English name beside its Chinese one (``name`` + ``name_en``, ``label`` +
``label_en``, ...). :func:`bilingual` returns a :class:`Bilingual` string: it *is* the Chinese name (equality,
hashing, joins, JSON, the audit log and every code path that compares names keep the canonical Chinese value),
but rendering it — ``str()``, ``%s``, ``format()``, Django templates — gives the name in the active language:
the English one when the active language is English and one is given, else the Chinese one.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import get_language


class Bilingual(str):
    en: str

    def __new__(cls, zh: str, en: str = "") -> Bilingual:
        obj = super().__new__(cls, zh)
        obj.en = en
        return obj

    @property
    def zh(self) -> str:
        return str.__str__(self)

    def localized(self) -> str:
        lang = get_language() or ""
        return self.en if self.en and lang.startswith("en") else str.__str__(self)

    def __str__(self) -> str:
        return self.localized()

    def __format__(self, spec: str) -> str:
        return format(self.localized(), spec)

    def __reduce__(self) -> tuple[Any, ...]:
        return (Bilingual, (self.zh, self.en))


def bilingual(zh: Any, en: Any = None) -> Bilingual:
    """``zh`` with its optional English ``en`` (None or blank: none)."""
    return Bilingual(str(zh), str(en).strip() if en is not None else "")
