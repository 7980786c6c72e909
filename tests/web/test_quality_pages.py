"""The 数据质量甄别 pages on a screened run (tests/quality/conftest.py's 8 schools, a source and eight 70 % copies in
school A1a-1, its last item not administered): the run list with its start form and polled status, starting and
re-running, refusals of bad input that change nothing, the ranked counties and schools with the drivers' labels
and meanings and the chart, pagination that keeps the level, the Excel export, a county's and a school's page
with every indicator, pairs, clusters and the "open a case" button, and a pair's answer strings item by item."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from django.test import Client

from naeq.core.models import AuditEvent
from naeq.quality import meanings, selectors, services
from naeq.quality.models import Case, ScreenedPair, ScreenedUnit, ScreeningRun
from naeq.scaling.models import RunStatus
from tests.personas import World
from tests.quality.conftest import RUNS_ITEMS, RUNS_PER_SCHOOL, RunsWorld, runs_build_inputs


@pytest.fixture
def screened(world: World, monkeypatch: pytest.MonkeyPatch,
             django_capture_on_commit_callbacks: Any) -> tuple[RunsWorld, ScreeningRun]:
    """A done screening run of the hand-built inputs (``services._gather`` returns them)."""
    from naeq.cycles.services import load_shipped_cycles

    cycle = next(c for c in load_shipped_cycles() if c.is_current)
    rw = runs_build_inputs(world, cycle)
    monkeypatch.setattr(services, "_gather", lambda run: rw.inputs)
    with django_capture_on_commit_callbacks(execute=True):
        run = services.screening_start(actor=rw.analyst, cycle=cycle, instrument_code="runstest", seed=3)
    run.refresh_from_db()
    assert run.status == RunStatus.DONE, run.error
    return rw, run


def _analyst(client: Client, rw: RunsWorld) -> Client:
    client.force_login(rw.analyst)
    return client


def _messages(html: str) -> list[str]:
    return re.findall(r'<li class="msg msg-[a-z]+">(.*?)</li>', html, flags=re.S)


# ------------------------------------------------------------------------------------------------ run list


def test_the_run_list_shows_the_run_the_form_and_the_case_link(client: Client, screened: Any) -> None:
    rw, run = screened
    html = _analyst(client, rw).get("/quality/").content.decode()
    assert f'href="/quality/runs/{run.pk}/"' in html and "runstest" in html
    assert f'value="{rw.cycle.pk}:runstest"' in html            # the start form offers the test
    assert 'href="/quality/cases/"' in html and f'action="/quality/runs/{run.pk}/rerun/"' in html
    assert ">数据质量</a>" in html and "data-poll" not in html    # nav link; nothing left to poll
    status = client.get("/quality/runs/status.json").json()
    assert status["runs"][0] == {"id": run.pk, "status": "done", "status_label": "已完成", "progress": 1.0,
                                 "stage": "done", "finished": True, "error": ""}


def test_a_queued_run_is_polled(client: Client, screened: Any) -> None:
    rw, _run = screened
    queued = ScreeningRun.objects.create(cycle=rw.cycle, instrument_code="runstest", code_version="t")
    html = _analyst(client, rw).get("/quality/").content.decode()
    assert "data-poll" in html and 'data-url="/quality/runs/status.json"' in html
    assert f'data-run-progress="{queued.pk}"' in html
    page = client.get(f"/quality/runs/{queued.pk}/").content.decode()
    assert "/quality/runs/status.json" in page and 'data-testid="unit-row"' not in page


def test_the_start_form_records_a_run_with_the_options(client: Client, screened: Any,
                                                        django_capture_on_commit_callbacks: Any) -> None:
    rw, _run = screened
    _analyst(client, rw)
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post("/quality/runs/start/", {"instrument": f"{rw.cycle.pk}:runstest", "seed": "11", "fdr": "0.1",
                                                 "alpha_pairs": "0.02", "pair_scope": "room", "pair_report_p": "0.01",
                                                 "roster_days": "7", "no_pe": "1"})
    new = ScreeningRun.objects.order_by("-id").first()
    assert new is not None and r.status_code == 302 and r["Location"] == f"/quality/runs/{new.pk}/"
    assert new.seed == 11 and new.status == RunStatus.DONE, new.error
    assert new.options == {**services.DEFAULTS, "fdr": 0.1, "alpha_pairs": 0.02, "pair_scope": "room",
                           "pair_report_p": 0.01, "roster_days": 7, "exact_tests": False, "pe_tests": []}


@pytest.mark.parametrize(("data", "says"), [
    ({"seed": "abc"}, "随机种子应为非负整数"),
    ({"seed": "-1"}, "随机种子应为非负整数"),
    ({"instrument": "nosuch"}, "请选择要甄别的测试卷"),
    ({"instrument": "{cycle}:nosuch"}, "没有代码为“nosuch”的测试卷"),
    ({"instrument": "999999:runstest"}, "没有该监测周期"),
    ({"fdr": "2"}, "fdr"),
    ({"pair_scope": "county"}, "pair_scope"),
    ({"roster_days": "400"}, "roster_days"),
])
def test_bad_input_is_refused_in_chinese_and_changes_nothing(client: Client, screened: Any, data: dict[str, str],
                                                             says: str) -> None:
    rw, _run = screened
    form = {"instrument": f"{rw.cycle.pk}:runstest", "seed": "1", "exact_tests": "1", **data}
    form["instrument"] = form["instrument"].replace("{cycle}", str(rw.cycle.pk))
    before = ScreeningRun.objects.count()
    r = _analyst(client, rw).post("/quality/runs/start/", form, follow=True)
    assert ScreeningRun.objects.count() == before
    assert r.redirect_chain[-1][0] == "/quality/"
    assert any(says in m for m in _messages(r.content.decode())), _messages(r.content.decode())


def test_rerun_repeats_the_options_and_seed(client: Client, screened: Any,
                                            django_capture_on_commit_callbacks: Any) -> None:
    rw, run = screened
    _analyst(client, rw)
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(f"/quality/runs/{run.pk}/rerun/")
    new = ScreeningRun.objects.order_by("-id").first()
    assert new is not None and new.pk != run.pk and r["Location"] == f"/quality/runs/{new.pk}/"
    assert (new.options, new.seed, new.inputs_hash) == (run.options, run.seed, run.inputs_hash)


# ------------------------------------------------------------------------------------------------ one run


def test_the_run_ranks_counties_with_their_drivers_in_plain_words(client: Client, screened: Any) -> None:
    rw, run = screened
    html = _analyst(client, rw).get(f"/quality/runs/{run.pk}/").content.decode()
    rows = re.findall(r'<tr data-testid="unit-row" data-unit="(\d+)"', html)
    counties = list(ScreenedUnit.objects.filter(run=run, level="county").order_by("rank"))
    assert rows == [str(u.pk) for u in counties]
    top = counties[0]
    assert top.county_id == rw.school.county_id and top.flag and top.drivers
    first_row = html[html.index(f'data-unit="{top.pk}"'):html.index(f'data-unit="{counties[1].pk}"')]
    assert "疑似异常" in first_row and f'href="/quality/units/{top.pk}/"' in first_row
    for name in top.drivers:
        assert meanings.label(name) in first_row and meanings.meaning(name) in first_row
    assert top.county.name in first_row
    assert '<div class="chart" id="chart-ranked"><svg' in html and "区县综合p值排序" in html
    s = run.summary
    assert f'{s["schools_flagged"]} / {s["n_schools"]}' in html and f'href="/quality/runs/{run.pk}/export.xlsx"' in html
    assert "（测试）一条读取警告" in html
    # no item content: no stem, no key string of the run
    assert "（示例题）" not in html and "".join(s["keys"]) not in html


def test_the_school_list_can_show_only_the_flagged(client: Client, screened: Any) -> None:
    rw, run = screened
    _analyst(client, rw)
    html = client.get(f"/quality/runs/{run.pk}/?level=school").content.decode()
    rows = re.findall(r'data-testid="unit-row" data-unit="(\d+)"', html)
    schools = list(ScreenedUnit.objects.filter(run=run, level="school").order_by("rank"))
    assert rows == [str(u.pk) for u in schools] and schools[0].school_id == rw.school.pk
    assert rw.school.name in html and "学校综合p值排序" in html
    flagged = client.get(f"/quality/runs/{run.pk}/?level=school&flagged=1").content.decode()
    assert re.findall(r'data-testid="unit-row" data-unit="(\d+)"', flagged) == [
        str(u.pk) for u in schools if u.flag]
    # an unknown level falls back to counties
    odd = client.get(f"/quality/runs/{run.pk}/?level=province").content.decode()
    assert len(re.findall(r'data-testid="unit-row"', odd)) == 4


def test_pagination_keeps_the_level(client: Client, screened: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    rw, run = screened
    monkeypatch.setattr(selectors, "PAGE", 3)
    _analyst(client, rw)
    html = client.get(f"/quality/runs/{run.pk}/?level=school").content.decode()
    assert len(re.findall(r'data-testid="unit-row"', html)) == 3
    assert 'href="?level=school&amp;page=2"' in html
    page3 = client.get(f"/quality/runs/{run.pk}/?level=school&page=3").content.decode()
    ranks = [u.rank for u in ScreenedUnit.objects.filter(run=run, level="school").order_by("rank")][6:]
    assert len(re.findall(r'data-testid="unit-row"', page3)) == len(ranks) == 2


def test_the_export_has_both_ranked_lists_and_is_audited(client: Client, screened: Any) -> None:
    from openpyxl import load_workbook

    rw, run = screened
    r = _analyst(client, rw).get(f"/quality/runs/{run.pk}/export.xlsx")
    assert r.status_code == 200 and r["Content-Type"].startswith("application/vnd.openxmlformats")
    wb = load_workbook(io.BytesIO(r.content), read_only=True)
    assert wb.sheetnames == ["区县", "学校"]
    schools = list(wb["学校"].iter_rows(values_only=True))
    counties = list(wb["区县"].iter_rows(values_only=True))
    assert len(schools) == 1 + 8 and len(counties) == 1 + 4
    head = schools[0]
    assert head[:10] == ("排序", "区县代码", "区县", "学校标识码", "学校", "人数", "综合p值", "综合q值", "疑似异常",
                         "主要指标")
    top = ScreenedUnit.objects.get(run=run, level="school", rank=1)
    assert schools[1][:9] == (1, rw.school.county.code, rw.school.county.name, rw.school.code, rw.school.name,
                              RUNS_PER_SCHOOL, top.combined_p, top.combined_q, "是")
    assert schools[1][9] == "、".join(meanings.label(d) for d in top.drivers)
    col = head.index(f"{meanings.label('pairs_omega')}（p）")
    assert schools[1][col] == top.indicators["pairs_omega"]["p"]
    assert [row[0] for row in counties[1:]] == [1, 2, 3, 4]
    ev = AuditEvent.objects.filter(action="quality.run_export", object_id=str(run.pk)).get()
    assert ev.actor_id == rw.analyst.pk


# ------------------------------------------------------------------------------------------------ one unit


def test_the_school_page_has_every_indicator_its_pairs_and_the_case_button(client: Client, screened: Any) -> None:
    rw, run = screened
    unit = ScreenedUnit.objects.get(run=run, level="school", school=rw.school)
    html = _analyst(client, rw).get(f"/quality/units/{unit.pk}/").content.decode()
    for name in unit.indicators:
        assert f'data-indicator="{name}"' in html and meanings.label(name) in html
    assert html.count('class="driver-row"') == len(unit.drivers)
    pairs = ScreenedPair.objects.filter(run=run, school=rw.school)
    links = re.findall(r'href="/quality/pairs/(\d+)/" data-testid="pair-link"', html)
    assert len(links) == min(pairs.count(), selectors.UNIT_PAIRS) > 0
    assert links[0] == str(pairs.order_by("omega_p", "id").first().pk)  # type: ignore[union-attr]
    source = next(iter(p.source.code for p in pairs.filter(flag=True) if p.source_id == rw.source), None)
    assert source is None or source in html
    assert f'action="/quality/units/{unit.pk}/open-case/"' in html and 'data-testid="open-case"' in html
    assert 'id="misfits"' in html


def test_after_a_case_is_opened_the_unit_links_to_it(client: Client, screened: Any) -> None:
    rw, run = screened
    unit = ScreenedUnit.objects.get(run=run, level="school", school=rw.school)
    _analyst(client, rw)
    r = client.post(f"/quality/units/{unit.pk}/open-case/", {"next": f"/quality/units/{unit.pk}/"})
    case = Case.objects.get(unit=unit)
    assert r.status_code == 302 and r["Location"] == f"/quality/cases/{case.pk}/"
    html = client.get(f"/quality/units/{unit.pk}/").content.decode()
    assert 'data-testid="open-case"' not in html and f'href="/quality/cases/{case.pk}/"' in html
    assert case.number in html
    # the case page links back to the unit and its pairs
    page = client.get(f"/quality/cases/{case.pk}/").content.decode()
    assert f'href="/quality/units/{unit.pk}/"' in page and f'href="/quality/runs/{run.pk}/"' in page
    assert re.search(r'href="/quality/pairs/\d+/"', page)


def test_the_county_page_ranks_its_schools(client: Client, screened: Any) -> None:
    rw, run = screened
    unit = ScreenedUnit.objects.get(run=run, level="county", county=rw.school.county)
    html = _analyst(client, rw).get(f"/quality/units/{unit.pk}/").content.decode()
    schools = ScreenedUnit.objects.filter(run=run, level="school", county=rw.school.county).order_by("rank")
    assert schools.count() == 2
    positions = [html.index(f'href="/quality/units/{s.pk}/"') for s in schools]
    assert positions == sorted(positions)
    assert 'id="schools"' in html and 'data-testid="pair-link"' not in html
    assert 'data-testid="open-case"' in html


# ------------------------------------------------------------------------------------------------ one pair


def test_the_pair_page_puts_both_answer_strings_side_by_side(client: Client, screened: Any) -> None:
    rw, run = screened
    pair = ScreenedPair.objects.filter(run=run, flag=True).order_by("omega_p").first()
    assert pair is not None
    html = _analyst(client, rw).get(f"/quality/pairs/{pair.pk}/").content.decode()
    assert 'data-testid="pair-table"' in html
    kinds = re.findall(r'<tr class="k-([a-z_]+)" data-kind="\1">', html)
    a, b = rw.labels(pair.person_a_id), rw.labels(pair.person_b_id)
    keys = run.summary["keys"]
    expect = []
    for j in range(RUNS_ITEMS):
        if a[j] is None or b[j] is None:
            expect.append("na")
        elif a[j] != b[j]:
            expect.append("differ")
        elif a[j] == "":
            expect.append("same_omit")
        else:
            expect.append("same_right" if a[j] == keys[j] else "same_wrong")
    assert kinds == expect and expect[-1] == "na"  # the school's last item was not administered
    assert expect.count("same_wrong") == pair.identical_incorrect
    assert pair.person_a.code in html and pair.person_b.code in html
    assert f'href="/quality/units/{ScreenedUnit.objects.get(run=run, level="school", school=rw.school).pk}/"' in html
    assert "疑似抄袭" in html and "ω" in html
