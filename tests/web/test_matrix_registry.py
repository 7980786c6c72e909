"""Registry upload and review pages: the authorisation matrix (every page and POST × every role × inside /
sibling / outside, with the machinery of tests/web/test_matrix.py) and the upload → errors / changes → submit →
review → lock flow through the pages.

Who may do what (issue 3): the county's liaison and information officers upload and submit their county's
registry; the province coordinator approves or returns (with a reason); the national administrator locks; city
viewers see their counties read-only (POSTs are 403); missing and forbidden objects are both 404.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.test import Client
from openpyxl import load_workbook

from naeq.accounts.roles import Role
from naeq.core.models import AuditEvent
from naeq.cycles.services import load_shipped_cycles
from naeq.registry.models import School, Submission, SubmissionKind, SubmissionStatus
from naeq.registry.services import submission_review, submission_submit
from tests.personas import World
from tests.registry.helpers import row, xlsx
from tests.web.test_matrix import (
    BAD,
    FORBIDDEN,
    MISSING,
    OK,
    REDIRECT,
    WHERE,
    Endpoint,
    _by_role,
    _object_code,
    visible_school_keys,
)

R = Role
YEAR = 2024  # the current cycle after load_shipped_cycles


@pytest.fixture(autouse=True)
def _cycle(db: None) -> None:
    load_shipped_cycles(actor=None)


def _good_file(world: World, county_code: str) -> io.BytesIO:
    """The county's two schools unchanged plus one new school: a valid upload that adds a row."""
    schools = School.objects.filter(county__code=county_code).order_by("code")
    rows = [row(s.code, s.name) for s in schools] + [row(f"1{county_code}050", "新增学校", level="小学", g8=0, c8=0)]
    f = io.BytesIO(xlsx(rows))
    f.name = "学校.xlsx"
    return f


ENDPOINTS = [
    Endpoint("registry_home", lambda _c: "/registry/", None),
    Endpoint("registry_progress_export", lambda _c: "/registry/export.xlsx", None),
    Endpoint("registry_template", lambda _c: "/registry/template.xlsx", None),
    Endpoint("registry_lock", lambda _c: "/registry/lock/", None, method="POST"),
    Endpoint("review_queue", lambda _c: "/review/?kind=registry", None),
    Endpoint("registry_progress_region", lambda c: f"/registry/?region={c}", "region"),
    Endpoint("registry_county", lambda c: f"/registry/counties/{c}/", "region"),
    Endpoint("registry_county_export", lambda c: f"/registry/counties/{c}/export.xlsx", "region"),
    Endpoint("registry_upload", lambda c: f"/registry/counties/{c}/upload/", "region", method="POST"),
    Endpoint("registry_submit", lambda c: f"/registry/counties/{c}/submit/", "region", method="POST"),
    Endpoint("review_decide", lambda c: f"/review/{c}/", "submission", method="POST"),
]

NONE = (MISSING, MISSING, MISSING)
OWN = (OK, MISSING, MISSING)
TREE = (OK, OK, MISSING)
ALL = (OK, OK, OK)
TREE_READ_ONLY = (FORBIDDEN, FORBIDDEN, MISSING)
STAFF_ANYWHERE = dict(national=OK, province=OK, city=OK, county=OK, school=OK)

EXPECT: dict[str, dict[str, Any]] = {
    "registry_home": _by_role(**STAFF_ANYWHERE, taker=MISSING),
    "registry_progress_export": _by_role(**STAFF_ANYWHERE, taker=MISSING),
    "registry_template": _by_role(**STAFF_ANYWHERE, taker=OK),
    # Only the national administrator locks; here it is refused as not ready (counties not yet approved).
    "registry_lock": _by_role(national_admin=BAD, national_analyst=FORBIDDEN, province=FORBIDDEN,
                              city=FORBIDDEN, county=FORBIDDEN, school=FORBIDDEN, taker=FORBIDDEN),
    "review_queue": _by_role(**STAFF_ANYWHERE, taker=MISSING),
    "registry_progress_region": _by_role(national=ALL, province=TREE, city=TREE, county=OWN, school=NONE,
                                         taker=NONE),
    "registry_county": _by_role(national=ALL, province=TREE, city=TREE, county=OWN, school=NONE, taker=NONE),
    "registry_county_export": _by_role(national=ALL, province=TREE, city=TREE, county=OWN, school=NONE,
                                       taker=NONE),
    "registry_upload": _by_role(national=(FORBIDDEN,) * 3, province=TREE_READ_ONLY, city=TREE_READ_ONLY,
                                county=OWN, school=NONE, taker=NONE),
    "registry_submit": _by_role(national=(FORBIDDEN,) * 3, province=TREE_READ_ONLY, city=TREE_READ_ONLY,
                                county=(REDIRECT, MISSING, MISSING), school=NONE, taker=NONE),
    # A county registry submitted and waiting for its province: only the province decides.
    "review_decide": _by_role(national=(FORBIDDEN,) * 3, province=(REDIRECT, REDIRECT, MISSING),
                              city=TREE_READ_ONLY, county=(FORBIDDEN, MISSING, MISSING), school=NONE,
                              taker=NONE),
}


def test_every_registry_endpoint_has_a_row_for_every_role() -> None:
    assert set(EXPECT) == {e.name for e in ENDPOINTS}
    for name, expect in EXPECT.items():
        assert set(expect) == {r.value for r in Role}, name
        endpoint = next(e for e in ENDPOINTS if e.name == name)
        for value in expect.values():
            assert isinstance(value, tuple) == (endpoint.obj is not None), name


def _submitted(world: World, county_code: str) -> Submission:
    """The county's registry, submitted by a county officer (created for the sibling county too)."""
    from naeq.accounts.services import user_create

    officer = user_create(actor=None, username=f"officer_{county_code}", password="officer-pass-2026",
                          role=R.COUNTY_INFO_OFFICER, region=world.regions[next(
                              k for k, r in world.regions.items() if r.code == county_code)])
    return submission_submit(actor=officer, kind=SubmissionKind.REGISTRY, year=YEAR, county_code=county_code)


def _call(client: Client, world: World, endpoint: Endpoint, code: str) -> Any:
    url = endpoint.url(code)
    if endpoint.name == "registry_upload":
        return client.post(url, {"file": _good_file(world, code)})
    if endpoint.name == "review_decide":
        return client.post(url, {"decision": "approve", "kind": "registry"})
    if endpoint.method == "POST":
        return client.post(url, {})
    return client.get(url)


CASES = [(e.name, role.value, p) for e in ENDPOINTS for role in Role for p in ("A", "B")]


@pytest.mark.parametrize(("endpoint_name", "role", "p"), CASES)
def test_registry_matrix(client: Client, world: World, endpoint_name: str, role: str, p: str) -> None:
    endpoint = next(e for e in ENDPOINTS if e.name == endpoint_name)
    persona = f"{role}@{p}"
    client.force_login(world.users[persona])
    expected = EXPECT[endpoint_name][role]
    q = "B" if p == "A" else "A"
    foreign = {world.schools[k].code for k in world.schools} - {
        world.schools[k].code for k in visible_school_keys(role, p)}
    if endpoint.obj is None:
        response = _call(client, world, endpoint, "")
        assert response.status_code == expected, (persona, endpoint_name, response.status_code)
        if expected == OK and response["Content-Type"].startswith("text/html"):
            body = response.content.decode()
            for code in foreign:
                assert code not in body, (persona, endpoint_name, code)
            if role not in {"national_admin", "national_analyst"}:
                assert world.regions[q].name not in body, (persona, endpoint_name)
        if endpoint_name == "registry_lock":
            assert not Submission.objects.filter(status=SubmissionStatus.LOCKED).exists()
        return
    for where, status in zip(WHERE, expected, strict=True):
        county = _object_code(world, "region", p, where)
        code = str(_submitted(world, county).pk) if endpoint.obj == "submission" else county
        schools_before = School.objects.filter(county__code=county).count()
        response = _call(client, world, endpoint, code)
        assert response.status_code == status, (persona, endpoint_name, where, response.status_code)
        if status == OK and response["Content-Type"].startswith("text/html"):
            body = response.content.decode()
            for other in foreign:
                assert other not in body, (persona, endpoint_name, where, other)
        if endpoint_name == "registry_upload":
            assert School.objects.filter(county__code=county).count() == schools_before + (status == OK)
        if endpoint_name == "registry_submit":
            submitted = Submission.objects.filter(kind=SubmissionKind.REGISTRY, county__code=county,
                                                  status=SubmissionStatus.SUBMITTED).exists()
            assert submitted == (status == REDIRECT)
        if endpoint_name == "review_decide":
            s = Submission.objects.get(pk=int(code))
            assert s.status == (SubmissionStatus.APPROVED if status == REDIRECT else SubmissionStatus.SUBMITTED)


def test_missing_and_forbidden_answer_alike(client: Client, world: World) -> None:
    client.force_login(world.users["county_liaison@A"])
    for forbidden, missing in (("/registry/counties/440101/", "/registry/counties/999999/"),
                               ("/registry/?region=440000", "/registry/?region=999999")):
        a, b = client.get(forbidden), client.get(missing)
        assert a.status_code == b.status_code == 404
        body_a, body_b = a.content.decode(), b.content.decode()
        assert body_a[body_a.index("<main"):] == body_b[body_b.index("<main"):]
    s = _submitted(world, "440101")
    client.force_login(world.users["province_coordinator@A"])
    a = client.post(f"/review/{s.pk}/", {"decision": "approve"})
    b = client.post("/review/999999/", {"decision": "approve"})
    assert a.status_code == b.status_code == 404


# ---------------------------------------------------------------------------------------------------- the flow


def test_pages_upload_errors_diff_submit_return_approve_lock(client: Client, world: World) -> None:
    county = world.regions["A1a"]
    url = f"/registry/counties/{county.code}/"
    client.force_login(world.users["county_info_officer@A"])
    page = client.get(url).content.decode()
    assert 'id="upload-form"' in page and "/registry/template.xlsx" in page and 'id="submit-form"' in page

    broken = io.BytesIO(xlsx([row("1310101001", "甲省一市a县第1学校"), row("1310101001", "重复"),
                              row("1440101003", "外县学校", g4="4.5")], title="属地学校信息"))
    broken.name = "坏文件.xlsx"
    response = client.post(f"{url}upload/", {"file": broken})
    assert response.status_code == 400
    body = response.content.decode()
    table = body[body.index('id="upload-errors"'):body.index("</table>", body.index('id="upload-errors"'))]
    for needle in ("坏文件.xlsx", '<td class="num">4</td>', '<td class="num">5</td>', "学校标识码", "第3行",
                   "四年级学生数", "4.5", "1310101"):
        assert needle in table, needle
    assert not AuditEvent.objects.filter(action="registry.import").exists()

    good = io.BytesIO(xlsx([row("1310101001", "甲省一市a县第一学校"), row("1310101002", "甲省一市a县第2学校"),
                            row("1310101003", "新建小学", level="小学", g8=0, c8=0)]))
    good.name = "学校.xlsx"
    body = client.post(f"{url}upload/", {"file": good}).content.decode()
    assert 'id="diff-added"' in body and "新建小学" in body
    changed = body[body.index('id="diff-changed"'):]
    assert "学校名称" in changed and "甲省一市a县第1学校" in changed and "甲省一市a县第一学校" in changed

    assert client.post(f"{url}submit/").status_code == 302
    page = client.get(url).content.decode()
    assert 'data-status="submitted"' in page and 'id="upload-form"' not in page
    again = io.BytesIO(xlsx([row("1310101001")]))
    again.name = "again.xlsx"
    response = client.post(f"{url}upload/", {"file": again})
    assert response.status_code == 400 and "不能修改" in response.content.decode()

    # The province returns it: a reason is required.
    s = Submission.objects.get(kind=SubmissionKind.REGISTRY, county=county, year=YEAR)
    assert 'id="county-review"' not in page  # the county does not review itself
    client.force_login(world.users["province_coordinator@A"])
    assert f'action="/review/{s.pk}/"' in client.get(url).content.decode()  # decide from the county page too
    queue = client.get("/review/?kind=registry").content.decode()
    assert f'data-id="{s.pk}"' in queue[queue.index('id="review-queue"'):]
    response = client.post(f"/review/{s.pk}/", {"decision": "return", "reason": "", "kind": "registry"})
    assert response.status_code == 400 and "退回原因" in response.content.decode()
    assert client.post(f"/review/{s.pk}/", {"decision": "return", "reason": "新建小学班级数待核实",
                                            "kind": "registry"}).status_code == 302
    client.force_login(world.users["county_info_officer@A"])
    page = client.get(url).content.decode()
    assert "新建小学班级数待核实" in page and 'id="upload-form"' in page
    assert client.post(f"{url}submit/").status_code == 302

    client.force_login(world.users["province_coordinator@A"])
    assert client.post(f"/review/{s.pk}/", {"decision": "approve", "kind": "registry"}).status_code == 302
    s.refresh_from_db()
    assert (s.status, s.pending_level) == ("approved", "nation")

    # The city sees it, read-only.
    client.force_login(world.users["city_viewer@A"])
    progress = client.get("/registry/").content.decode()
    assert 'data-status="approved"' in progress
    assert client.post(f"/review/{s.pk}/", {"decision": "return", "reason": "x"}).status_code == 403

    # The nation cannot lock province A while A1b is not approved; once it is, the lock goes through.
    client.force_login(world.users["national_admin@A"])
    response = client.post("/registry/lock/", {"province": "310000"})
    assert response.status_code == 400 and world.regions["A1b"].name in response.content.decode()
    s2 = _submitted(world, world.regions["A1b"].code)
    submission_review(actor=world.users["province_coordinator@A"], submission_id=s2.pk, approve=True)
    assert client.post("/registry/lock/", {"province": "310000"}).status_code == 302
    assert set(Submission.objects.filter(county__code__startswith="31").values_list("status", flat=True)) == {
        "locked"}
    assert AuditEvent.objects.filter(action="registry.frame.lock", object_id="2024:310000").exists()


def test_exports(client: Client, world: World) -> None:
    client.force_login(world.users["province_coordinator@A"])
    response = client.get("/registry/export.xlsx")
    ws = load_workbook(io.BytesIO(response.content)).active
    codes = [ws.cell(row=r, column=1).value for r in range(3, ws.max_row + 1)]
    assert codes == ["310101", "310102"]
    response = client.get("/registry/counties/310101/export.xlsx")
    ws = load_workbook(io.BytesIO(response.content))["学校信息"]
    assert [v for r in range(2, ws.max_row + 1) if (v := ws.cell(row=r, column=1).value)] == [
        "1310101001", "1310101002"]
    # The export is a valid upload as it stands.
    client.force_login(world.users["county_liaison@A"])
    f = io.BytesIO(response.content)
    f.name = "export.xlsx"
    body = client.post("/registry/counties/310101/upload/", {"file": f}).content.decode()
    assert "与现有信息相同" in body
    assert client.get("/registry/template.pdf").status_code == 404
    assert client.get("/review/?kind=parents").status_code == 404
