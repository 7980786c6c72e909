"""The marking pages end to end through the test client: the organiser's overview, import pages with row errors,
assignment, a rater's queue (anonymised: no name, school or test ID, no key), scoring, arbitration, agreement and
drift pages, suspension, the export; query counts on the list pages."""

from __future__ import annotations

import csv
import io
from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from naeq.core.models import AuditEvent
from naeq.marking import services
from naeq.marking.models import Arbitration, Assignment, AssignmentStatus, MarkResponse, ResponseStatus
from tests.marking.conftest import POINTS_E01, Marking, add_raters


def _ready(m: Marking, *, double: str = "1") -> list[Any]:
    services.responses_collect(actor=m.admin, cycle=m.cycle)
    services.rubric_save(actor=m.admin, cycle=m.cycle, instrument_code="mtest", item_code="E01", points=POINTS_E01,
                         anchors=[{"code": "A2", "text": "14，因为14能被2整除且大于10。", "score": 2}])
    services.settings_update(actor=m.admin, cycle=m.cycle, double_share=double)
    return add_raters(m)


def test_organiser_overview_assign_and_rater_queue(client: Client, marking: Marking) -> None:
    rx, ry = _ready(marking)
    client.force_login(marking.admin)
    with CaptureQueriesContext(connection) as ctx:
        page = client.get("/marking/")
    assert page.status_code == 200
    assert len(ctx.captured_queries) <= 14  # fixed: session, user, settings, items, rubrics, counts (no per-item)
    assert "mtest/E01" in page.content.decode()
    r = client.post("/marking/assign/", {"item": "mtest/E01", "seed": "11"})
    assert r.status_code == 302
    assert Assignment.objects.filter(rater=rx).count() == 12  # double share 1: every response to both raters
    client.force_login(rx)
    q = client.get("/marking/queue/")
    body = q.content.decode()
    assert q.status_code == 200
    a = Assignment.objects.filter(rater=rx, status=AssignmentStatus.PENDING).order_by("position").first()
    assert a is not None and a.response.code in body
    # Anonymised: no test ID, no school, no name of anyone; the rubric and anchor are shown, no key exists.
    for t in marking.takers:
        assert t.code not in body
    assert marking.world.schools["A1a-1"].name not in body
    assert POINTS_E01[2] in body and "14能被2整除" in body
    r = client.post(f"/marking/assignments/{a.pk}/", {"score": "2"})
    assert r.status_code == 302
    a.refresh_from_db()
    assert (a.status, a.score) == (AssignmentStatus.SCORED, 2)
    assert AuditEvent.objects.filter(action="marking.score", object_id=str(a.pk)).exists()
    # Out of range: refused with the precise message, nothing changes.
    b = Assignment.objects.filter(rater=rx, status=AssignmentStatus.PENDING).order_by("position").first()
    assert b is not None
    r = client.post(f"/marking/assignments/{b.pk}/", {"score": "3"}, follow=True)
    assert "分数应为0至2的整数。" in r.content.decode()
    b.refresh_from_db()
    assert b.status == AssignmentStatus.PENDING
    # Another rater's assignment looks missing.
    other = Assignment.objects.filter(rater=ry).first()
    assert other is not None
    assert client.post(f"/marking/assignments/{other.pk}/", {"score": "1"}).status_code == 404
    other.refresh_from_db()
    assert other.status == AssignmentStatus.PENDING


def test_disagreement_goes_to_arbitration_page_and_is_resolved(client: Client, marking: Marking) -> None:
    rx, ry = _ready(marking)
    services.assign(actor=marking.admin, cycle=marking.cycle, instrument_code="mtest", item_code="E01", seed=3)
    for rater, score in ((rx, 2), (ry, 1)):
        for a in Assignment.objects.filter(rater=rater):
            services.score_submit(actor=rater, assignment_id=a.pk, score=score)
    # E01 has 2 points: any difference goes to arbitration (threshold 0).
    assert Arbitration.objects.count() == 12
    client.force_login(marking.admin)
    with CaptureQueriesContext(connection) as ctx:
        page = client.get("/marking/arbitration/")
    assert page.status_code == 200
    assert len(ctx.captured_queries) <= 12  # one rubric query per item, not per response
    arb = Arbitration.objects.order_by("id").first()
    assert arb is not None
    r = client.post(f"/marking/arbitration/{arb.pk}/", {"score": "1", "note": "理由不完整"})
    assert r.status_code == 302
    arb.response.refresh_from_db()
    assert (arb.response.status, arb.response.final_score, arb.response.final_rule) == (
        ResponseStatus.FINAL, 1, "arbitrated")
    # Agreement page: both raters and the item, flagged (exact agreement 0).
    page = client.get("/marking/agreement/").content.decode()
    assert "mtest/E01" in page and "评分员X" in page and "一致率偏低" in page
    export = client.get("/marking/export.csv")
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode("utf-8-sig"))))
    assert rows[0] == ["test_id", "instrument", "item", "score", "rule"]
    assert [marking.takers[3].code, "mtest", "E02", "0", "omitted"] in rows  # left blank: 0 without a rater
    assert any(r[2] == "E01" and r[4] == "arbitrated" for r in rows[1:])


def test_drift_page_and_suspension_withdraws_unfinished(client: Client, marking: Marking) -> None:
    rx, _ry = _ready(marking, double="0")
    services.assign(actor=marking.admin, cycle=marking.cycle, instrument_code="mtest", item_code="E01", seed=5)
    pending = Assignment.objects.filter(rater=rx, status=AssignmentStatus.PENDING).count()
    assert pending > 0
    client.force_login(marking.admin)
    assert client.get("/marking/drift/").status_code == 200
    r = client.post(f"/marking/raters/{rx.pk}/suspend/", {"reason": "检测卷准确率偏低"})
    assert r.status_code == 302
    assert Assignment.objects.filter(rater=rx, status=AssignmentStatus.WITHDRAWN).count() == pending
    client.force_login(rx)
    assert "您的评分资格已被暂停" in client.get("/marking/queue/").content.decode()
    # The withdrawn responses go to the other rater at the next run.
    services.assign(actor=marking.admin, cycle=marking.cycle, instrument_code="mtest", item_code="E01", seed=6)
    live = Assignment.objects.exclude(status=AssignmentStatus.WITHDRAWN)
    assert set(live.values_list("response_id", flat=True)) == set(
        MarkResponse.objects.filter(item_code="E01").exclude(source="check").values_list("id", flat=True))
    assert not live.filter(rater=rx).exists()


def test_analyst_reads_but_cannot_organise(client: Client, marking: Marking) -> None:
    _ready(marking)
    client.force_login(marking.world.users["national_analyst@A"])
    assert client.get("/marking/").status_code == 200
    assert client.post("/marking/assign/", {"item": "mtest/E01", "seed": "1"}).status_code == 403
    assert not Assignment.objects.exists()


def test_statistics_pages_use_a_fixed_number_of_queries(client: Client, marking: Marking) -> None:
    rx, ry = _ready(marking)
    services.assign(actor=marking.admin, cycle=marking.cycle, instrument_code="mtest", item_code="E01", seed=3)
    client.force_login(marking.admin)

    def queries(path: str) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(path).status_code == 200
        return len(ctx.captured_queries)

    for a in Assignment.objects.filter(rater=rx):
        services.score_submit(actor=rx, assignment_id=a.pk, score=2)
    theirs = list(Assignment.objects.filter(rater=ry).order_by("id"))
    for a in theirs[:2]:
        services.score_submit(actor=ry, assignment_id=a.pk, score=1)
    few = {p: queries(p) for p in ("/marking/agreement/", "/marking/drift/")}
    for a in theirs[2:]:
        services.score_submit(actor=ry, assignment_id=a.pk, score=1)
    # Two pairs or twelve: the same number of queries (none per response or per rater).
    assert {p: queries(p) for p in few} == few
    empty = few
    assert max(empty.values()) <= 12


def test_senior_rater_reaches_arbitration_from_the_queue(client: Client, marking: Marking) -> None:
    _ready(marking)
    lead = add_raters(marking, ("rater_lead",), senior=True)[0]
    client.force_login(lead)
    assert "/marking/arbitration/" in client.get("/marking/queue/").content.decode()
    assert client.get("/marking/arbitration/").status_code == 200
    plain = marking.world.users["rater@A"]
    from naeq.marking.models import RaterProfile

    RaterProfile.objects.create(user=plain)
    client.force_login(plain)
    assert "/marking/arbitration/" not in client.get("/marking/queue/").content.decode()
    assert client.get("/marking/arbitration/").status_code == 404


def test_scanned_image_reaches_only_its_rater(client: Client, marking: Marking) -> None:
    import zipfile

    from naeq.delivery.demo_bank import bar_chart_png

    rx, ry = _ready(marking, double="0")
    png = bar_chart_png()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("s1.png", png)
    manifest = f"test_id,instrument,item,image\n{marking.takers[0].code},mtest,E01,s1.png\n".encode()
    # E01 of this test taker was collected online already: the same response cannot come twice.
    MarkResponse.objects.filter(test_taker=marking.takers[0], item_code="E01").delete()
    services.paper_import(actor=marking.admin, cycle=marking.cycle, manifest=manifest, manifest_name="m.csv",
                          archive=buf.getvalue(), archive_name="z.zip")
    services.assign(actor=marking.admin, cycle=marking.cycle, instrument_code="mtest", item_code="E01", seed=1)
    paper = MarkResponse.objects.get(source="paper")
    holder = Assignment.objects.get(response=paper).rater
    other = ry if holder == rx else rx
    url = f"/marking/responses/{paper.code}/image"
    client.force_login(holder)
    r = client.get(url)
    assert r.status_code == 200 and r.content == png
    assert r["Content-Type"] == "image/png" and "no-store" in r["Cache-Control"]
    client.force_login(other)
    assert client.get(url).status_code == 404
    assert client.get("/marking/responses/RXXXXXXXXXX/image").status_code == 404


def test_raters_page_creates_a_rater(client: Client, marking: Marking) -> None:
    from naeq.accounts.models import User
    from naeq.marking.models import RaterItem

    client.force_login(marking.admin)
    r = client.post("/marking/raters/", {"username": "page_rater", "password": "pw-2026-page", "province": "310000",
                                         "display_name": "页面评分员", "items": ["mtest/E02"], "senior": "1"})
    assert r.status_code == 302
    u = User.objects.get(username="page_rater")
    assert (u.role, u.region.code, u.rater_profile.senior) == ("rater", "310000", True)
    assert list(RaterItem.objects.filter(rater=u).values_list("item_code", flat=True)) == ["E02"]
    with CaptureQueriesContext(connection) as ctx:
        page = client.get("/marking/raters/").content.decode()
    assert "page_rater" in page and "mtest/E02" in page
    assert len(ctx.captured_queries) <= 12
    # A county code is refused with the message; nothing is created.
    r = client.post("/marking/raters/", {"username": "bad_rater", "password": "pw", "province": "310101"},
                    follow=True)
    assert "请选择评分员所在的省。" in r.content.decode()
    assert not User.objects.filter(username="bad_rater").exists()
