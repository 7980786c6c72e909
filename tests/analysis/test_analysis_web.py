"""The analysis pages: authorisation matrix over every role (home, status, run, balanced, start, re-run; missing
and forbidden alike 404; refused POSTs record nothing), tables filtered by jurisdiction with SE, ▲▼ and — with
its footnote, county table paginated, start form starts a run, the balanced page."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from naeq.accounts.roles import Role
from tests.analysis.test_exports import YEAR_KEY, ExportWorld, exw  # noqa: F401  (fixture)
from tests.analysis.test_groups import GROUPS, gw  # noqa: F401  (fixture)
from tests.analysis.test_groups import _start as _start_groups
from tests.analysis.test_runs import SMALL, _start, ew  # noqa: F401  (fixture)

READERS = {Role.NATIONAL_ADMIN, Role.NATIONAL_ANALYST, Role.PROVINCE_COORDINATOR, Role.COUNTY_LIAISON}
ESTIMATORS = {Role.NATIONAL_ADMIN, Role.NATIONAL_ANALYST}


def _client(ew: ExportWorld, persona: str) -> Client:  # noqa: F811
    c = Client()
    c.force_login(ew.user(persona))
    return c


@pytest.mark.django_db
@pytest.mark.parametrize("role", list(Role))
def test_authorisation_matrix(ew: ExportWorld, role: Role) -> None:  # noqa: F811
    from naeq.analysis.models import EstimationRun

    run = _start(ew)
    c = _client(ew, f"{role.value}@A")
    read = 200 if role in READERS else 404
    for url in (reverse("web:analysis_home"), reverse("web:analysis_runs_status"),
                reverse("web:analysis_run", args=[run.pk]), reverse("web:analysis_balanced")):
        assert c.get(url).status_code == read, (role, url)
    assert c.get(reverse("web:analysis_run", args=[run.pk + 999])).status_code == 404
    before = EstimationRun.objects.count()
    with ew.cap(execute=True):  # type: ignore[attr-defined]
        r = c.post(reverse("web:analysis_start"), {"subject": f"{ew.cycle.pk}:{YEAR_KEY}", "min_n": "5",
                                                   "min_schools": "1"})
        r2 = c.post(reverse("web:analysis_rerun", args=[run.pk]))
    if role in ESTIMATORS:
        assert r.status_code == 302 and r2.status_code == 302
        assert EstimationRun.objects.count() == before + 2
    else:
        assert r.status_code == 404 and r2.status_code == 404
        assert EstimationRun.objects.count() == before


@pytest.mark.django_db
def test_run_page_tables_follow_the_jurisdiction(ew: ExportWorld) -> None:  # noqa: F811
    run = _start(ew)
    html = _client(ew, "national_admin@A").get(reverse("web:analysis_run", args=[run.pk])).content.decode()
    for tid in ("nation-table", "province-table", "county-table"):
        assert f'id="{tid}"' in html
    nat = run.estimates.get(level="nation", statistic="mean", group_var="", key="")
    assert f"{nat.value:.1f}" in html and f"({nat.se:.1f})" in html
    assert "440000/440100/440102/" in html
    prov = _client(ew, "province_coordinator@A").get(reverse("web:analysis_run", args=[run.pk])).content.decode()
    assert "310000/310100/310101/" in prov and "440000/440100/440101/" not in prov
    liaison = _client(ew, "county_liaison@A").get(reverse("web:analysis_run", args=[run.pk])).content.decode()
    assert 'data-path="310000/310100/310101/"' in liaison and 'data-path="310000/310100/310102/"' not in liaison


@pytest.mark.django_db
def test_suppressed_shown_as_dash_with_footnote_and_marks(ew: ExportWorld) -> None:  # noqa: F811
    run = _start(ew, options={})
    html = _client(ew, "national_admin@A").get(reverse("web:analysis_run", args=[run.pk])).content.decode()
    assert 'id="suppressed-note"' in html and "—" in html
    county = run.estimates.get(level="county", path="310000/310100/310101/", statistic="mean", group_var="")
    assert county.suppressed and f"{county.value:.1f}" not in html.split('data-path="310000/310100/310101/"')[1][:400]
    run2 = _start(ew)
    sig = run2.estimates.filter(statistic="difference", suppressed=False).exclude(sign=0).exclude(sign=None).first()
    html2 = _client(ew, "national_admin@A").get(reverse("web:analysis_run", args=[run2.pk])).content.decode()
    if sig is not None and sig.key in ("vs_province", "vs_nation", "F-M", "urban-rural") and sig.level != "county":
        assert ("▲" if sig.sign > 0 else "▼") in html2
    assert "▲ 显著高于比较对象" in html2


@pytest.mark.django_db
def test_home_lists_runs_and_start_form_only_for_national(ew: ExportWorld) -> None:  # noqa: F811
    run = _start(ew)
    admin = _client(ew, "national_admin@A").get(reverse("web:analysis_home")).content.decode()
    assert 'id="start-form"' in admin and f"#{run.pk}" in admin and f"{ew.cycle.pk}:{YEAR_KEY}" in admin
    prov = _client(ew, "province_coordinator@A").get(reverse("web:analysis_home")).content.decode()
    assert 'id="start-form"' not in prov and f"#{run.pk}" in prov
    c = _client(ew, "national_admin@A")
    r = c.post(reverse("web:analysis_start"), {"subject": f"{ew.cycle.pk}:{YEAR_KEY}", "max_cv": "abc"},
               follow=True)
    assert "应为数字" in r.content.decode()


@pytest.mark.django_db
def test_balanced_page(ew: ExportWorld) -> None:  # noqa: F811
    from naeq.analysis import balanced

    run = _start(ew)
    balanced.evaluate(actor=ew.user("national_admin@A"), cycle=ew.cycle,
                      counties=["310000/310100/310101/", "440000/440100/440101/"],
                      rule={"min_level": "I", "max_rate": 0.99})
    html = _client(ew, "province_coordinator@A").get(reverse("web:analysis_balanced")).content.decode()
    assert 'data-path="310000/310100/310101/"' in html and "440000/440100/440101/" not in html
    assert run.instrument_code in html
    admin: Any = _client(ew, "national_admin@A").get(reverse("web:analysis_balanced"), {"cycle": ew.cycle.year})
    assert 'data-path="440000/440100/440101/"' in admin.content.decode()


@pytest.mark.django_db
def test_run_page_shows_the_migrant_and_disadvantaged_contrasts(gw: ExportWorld) -> None:  # noqa: F811
    """Issue 8: beside F−M and urban−rural the run page shows 随迁子女−非随迁子女 and 家庭经济困难−其他 per unit with
    their SE and ▲▼, in the columns after 城区−乡村."""
    import re

    from naeq.web.views_analysis import COLUMNS

    run = _start_groups(gw, {"groups": GROUPS})
    html = _client(gw, "national_admin@A").get(reverse("web:analysis_run", args=[run.pk])).content.decode()
    heads = re.findall(r"<th[^>]*>([^<]+)</th>", html.split('id="nation-table"')[1].split("</thead>")[0])
    assert heads[12:15] == ["城区−乡村", "随迁子女−非随迁子女", "家庭经济困难−其他"]
    shown = 0
    for level, tid in (("nation", "nation-table"), ("province", "province-table")):
        table = html.split(f'id="{tid}"')[1].split("</table>")[0]
        for row in table.split("<tr data-path=")[1:]:
            path = row.split('"')[1]
            cells = re.findall(r'<td class="num nowrap[^"]*">(.*?)</td>', row, flags=re.S)
            assert len(cells) == len(COLUMNS)
            for key in ("migrant-nonmigrant", "disadvantaged-other"):
                e = run.estimates.filter(level=level, path=path, statistic="difference", key=key,
                                         group_var="").first()
                text = re.sub(r"<[^>]+>", "", cells[COLUMNS.index(("difference", key))]).strip()
                if e is None:
                    assert text == "", (level, path, key, text)
                    continue
                shown += 1
                if e.suppressed or e.value is None:
                    assert text == "—"
                    continue
                mark = {1: " ▲", -1: " ▼"}.get(e.sign or 0, "")
                assert text == f"{e.value:.1f} ({e.se:.1f}){mark}", (level, path, key, text)
    assert shown >= 2  # the nation's two contrasts at least
