"""The 量尺校准 pages: start a run from the form, the run list with progress, a run's results with flags
highlighted and the two charts, the person estimates by key, the downloads; query counts on list pages."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.test import Client
from openpyxl import load_workbook

from naeq.scaling import charts
from naeq.scaling.models import CalibrationItem, CalibrationPerson, CalibrationRun, RunStatus
from tests.scaling.conftest import N_PERSONS, ScalingWorld


def _post_start(client: Client, sw: ScalingWorld, capture: Any, **extra: Any) -> Any:
    data = {"instrument": f"{sw.cycle.pk}:scaltest", "seed": "42", "model": "2pl", "poly_model": "gpcm",
            "n_quad": "41", "n_pv": "5", "cuts": "420,500,580", "dif": ["urban_rural"], **extra}
    with capture(execute=True):
        return client.post("/scaling/start/", data)


@pytest.fixture
def done_run(client: Client, sw: ScalingWorld, django_capture_on_commit_callbacks: Any) -> CalibrationRun:
    client.force_login(sw.analyst)
    response = _post_start(client, sw, django_capture_on_commit_callbacks)
    run = CalibrationRun.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/scaling/runs/{run.pk}/"
    assert run.status == RunStatus.DONE, run.error
    return run


def test_start_from_the_form_and_see_the_results(client: Client, sw: ScalingWorld, done_run: CalibrationRun) -> None:
    assert done_run.created_by == sw.analyst and done_run.seed == 42
    assert done_run.options["cuts"] == [420.0, 500.0, 580.0] and done_run.options["dif"] == ["urban_rural"]
    page = client.get(f"/scaling/runs/{done_run.pk}/").content.decode()
    assert done_run.inputs_hash in page
    for k in range(1, 13):
        assert f"T{k:02d}" in page
    assert page.count("<svg") == 2 and 'id="chart-information"' in page and 'id="chart-booklets"' in page
    assert "测验信息曲线" in page and "各题本得分分布" in page
    assert "待提高" in page and "优秀" in page  # level shares
    assert "EAP" in page and "WLE" in page and "似真值" in page
    assert "<script" not in page  # finished: no polling


def test_flags_are_highlighted(client: Client, done_run: CalibrationRun) -> None:
    page = client.get(f"/scaling/runs/{done_run.pk}/").content.decode()
    assert "flag-fit" not in page or CalibrationItem.objects.filter(run=done_run, fit_flag=True).exists()
    CalibrationItem.objects.filter(run=done_run, item="T03").update(fit_flag=True)
    CalibrationItem.objects.filter(run=done_run, item="T05").update(dif_flag=True)
    page = client.get(f"/scaling/runs/{done_run.pk}/").content.decode()
    rows = {r.split("</td>", 1)[0].rsplit(">", 1)[-1].split(" ")[0]: r for r in page.split("<tr class=")[1:]}
    assert "flag-fit" in rows["T03"] and "flag-dif" in rows["T05"] and "flag" not in rows["T04"].split(">")[0]


def test_an_unfinished_run_polls_its_status(client: Client, sw: ScalingWorld) -> None:
    client.force_login(sw.analyst)
    run = CalibrationRun.objects.create(cycle=sw.cycle, instrument_code="scaltest", model_spec="2pl/gpcm",
                                        options={"n_pv": 5}, seed=1, code_version="t", status=RunStatus.RUNNING,
                                        progress=0.4, stage="calibrate", created_by=sw.analyst)
    page = client.get(f"/scaling/runs/{run.pk}/").content.decode()
    assert f'data-url="/scaling/runs/{run.pk}/status.json"' in page and 'value="0.400"' in page
    status = client.get(f"/scaling/runs/{run.pk}/status.json").json()
    assert status == {"id": run.pk, "status": "running", "status_label": "计算中", "progress": 0.4,
                      "stage": "calibrate", "finished": False, "error": ""}
    listing = client.get("/scaling/").content.decode()
    assert 'data-url="/scaling/status.json"' in listing
    assert client.get("/scaling/status.json").json()["runs"][0]["progress"] == 0.4


def test_bad_form_input_changes_nothing(client: Client, sw: ScalingWorld,
                                        django_capture_on_commit_callbacks: Any) -> None:
    client.force_login(sw.analyst)
    for extra in ({"seed": "abc"}, {"instrument": ""}, {"n_quad": "3"}, {"cuts": "600,500,400"},
                  {"instrument": f"{sw.cycle.pk}:nope"}):
        response = _post_start(client, sw, django_capture_on_commit_callbacks, **extra)
        assert response.status_code == 302 and response["Location"] == "/scaling/"
        page = client.get("/scaling/").content.decode()
        assert "alert" in page or "msg" in page, extra
    assert not CalibrationRun.objects.exists()


def test_run_list_query_count_does_not_grow(client: Client, sw: ScalingWorld,
                                            django_assert_num_queries: Any) -> None:
    client.force_login(sw.analyst)

    def add(n: int) -> None:
        for _ in range(n):
            CalibrationRun.objects.create(cycle=sw.cycle, instrument_code="scaltest", model_spec="2pl/gpcm",
                                          options={}, seed=1, code_version="t", created_by=sw.analyst,
                                          status=RunStatus.FAILED, error="x")

    add(1)
    client.get("/scaling/")
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        assert client.get("/scaling/").status_code == 200
    add(5)
    with django_assert_num_queries(len(one)):
        page = client.get("/scaling/")
    assert page.content.decode().count("/scaling/runs/") >= 6


def test_persons_page_by_key_with_constant_queries(client: Client, done_run: CalibrationRun,
                                                    django_assert_num_queries: Any) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as first:
        page = client.get(f"/scaling/runs/{done_run.pk}/persons/").content.decode()
    codes = [c for c in CalibrationPerson.objects.filter(run=done_run).order_by("id")
             .values_list("test_taker__code", flat=True)]
    assert codes[0] in page and codes[49] in page and codes[50] not in page
    nxt = CalibrationPerson.objects.filter(run=done_run).order_by("id").values_list("id", flat=True)[49]
    assert f"?after={nxt}" in page
    with django_assert_num_queries(len(first)):
        second = client.get(f"/scaling/runs/{done_run.pk}/persons/?after={nxt}").content.decode()
    assert codes[50] in second and codes[0] not in second


def test_downloads(client: Client, done_run: CalibrationRun) -> None:
    r = client.get(f"/scaling/runs/{done_run.pk}/items.csv")
    assert r.status_code == 200 and "attachment" in r["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(r.content.decode())))
    assert [x["item"] for x in rows] == [f"T{k:02d}" for k in range(1, 13)]
    first = CalibrationItem.objects.get(run=done_run, item="T01")
    assert float(rows[0]["a"]) == first.a and float(rows[0]["b1"]) == first.b[0]  # exact: repr round-trip
    assert "dif_urban_rural_ets" in rows[0]
    x = client.get(f"/scaling/runs/{done_run.pk}/items.xlsx")
    ws = load_workbook(io.BytesIO(x.content)).active
    assert ws is not None and ws.cell(1, 1).value == "item" and ws.cell(2, 1).value == "T01"
    assert ws.max_row == 13
    p = client.get(f"/scaling/runs/{done_run.pk}/persons.csv")
    text = b"".join(p.streaming_content).decode()  # type: ignore[attr-defined]
    lines = list(csv.DictReader(io.StringIO(text)))
    assert len(lines) == N_PERSONS and lines[0]["test_id"].startswith("SCD") and "pv5" in lines[0]
    assert "name" not in text.split("\n", 1)[0]
    assert client.get(f"/scaling/runs/{done_run.pk}/items.pdf").status_code == 404


def test_rerun_from_the_page(client: Client, done_run: CalibrationRun,
                             django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/scaling/runs/{done_run.pk}/rerun/")
    again = CalibrationRun.objects.exclude(pk=done_run.pk).get()
    assert response["Location"] == f"/scaling/runs/{again.pk}/"
    assert again.inputs_hash == done_run.inputs_hash and again.status == RunStatus.DONE


def test_charts_are_svg_with_chinese_text_and_stable(done_run: CalibrationRun) -> None:
    a = charts.test_information_svg(done_run.summary)
    b = charts.test_information_svg(done_run.summary)
    assert a.startswith("<svg") and a == b  # the same run draws the same chart
    assert "题本1" in a and "测验信息量" in a  # text kept as text (svg.fonttype none)
    c = charts.booklet_scores_svg(done_run.summary)
    assert c.startswith("<svg") and "得分率" in c and "题本3" in c
    assert charts.test_information_svg({}) == "" and charts.booklet_scores_svg({}) == ""
