"""Roster pages: the authorisation matrix (every role × inside / sibling / outside, with the machinery of
tests/web/test_matrix.py) and the upload → error table / what changed → submit → return flow.

Who may do what (issue 3): rosters are uploaded by the school's own staff (school head, school information officer)
and by county officers for their schools, only while the school's ROSTER submission is a draft or returned; the
school submits, the county reviews, then the province.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.test import Client
from openpyxl import Workbook

from naeq.accounts.roles import Role
from naeq.cycles.services import load_shipped_cycles
from naeq.registry.models import Principal, Student, Submission, SubmissionKind, Teacher
from naeq.registry.rosters import HEADERS
from naeq.registry.services import submission_review
from tests.personas import World
from tests.web.test_matrix import (
    FORBIDDEN,
    MISSING,
    NATIONAL,
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


def _xlsx(rows: list[list[Any]], header: tuple[str, ...]) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(list(header))
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


GOOD_STUDENTS = [[8, 1 + i % 2, 1 + i // 2, f"学生{i}", "男", "2010-05"] for i in range(4)]


def _file(rows: list[list[Any]], name: str = "students.xlsx") -> io.BytesIO:
    f = io.BytesIO(_xlsx(rows, HEADERS["students"]))
    f.name = name
    return f


@pytest.fixture(autouse=True)
def _cycle(db: None) -> None:
    load_shipped_cycles(actor=None)


ENDPOINTS = [
    Endpoint("roster_school", lambda c: f"/schools/{c}/rosters/", "school"),
    Endpoint("roster_upload", lambda c: f"/schools/{c}/rosters/students/", "school", method="POST"),
    Endpoint("roster_submit", lambda c: f"/schools/{c}/rosters/submit/", "school", method="POST"),
    Endpoint("roster_template", lambda _c: "/rosters/templates/students.xlsx", None),
]

NONE = (MISSING, MISSING, MISSING)
OWN = (OK, MISSING, MISSING)
TREE = (OK, OK, MISSING)
SEE_ONLY = (FORBIDDEN, MISSING, MISSING)  # sees its own school or county but may not write
TREE_SEE_ONLY = (FORBIDDEN, FORBIDDEN, MISSING)

EXPECT: dict[str, dict[str, Any]] = {
    "roster_school": _by_role(national=(OK,) * 3, province=TREE, city=TREE, county=OWN, school=OWN, taker=NONE),
    "roster_upload": {
        **_by_role(national=(FORBIDDEN,) * 3, province=TREE_SEE_ONLY, city=TREE_SEE_ONLY, county=OWN,
                   school=OWN, taker=NONE),
        R.INSPECTOR.value: SEE_ONLY, R.CHIEF_PROCTOR.value: SEE_ONLY,
    },
    "roster_submit": {
        # County officers may submit for their schools (counties often collect their sample schools' lists).
        **_by_role(national=(FORBIDDEN,) * 3, province=TREE_SEE_ONLY, city=TREE_SEE_ONLY,
                   county=(REDIRECT, MISSING, MISSING), school=(REDIRECT, MISSING, MISSING), taker=NONE),
        R.INSPECTOR.value: SEE_ONLY, R.CHIEF_PROCTOR.value: SEE_ONLY,
    },
    "roster_template": _by_role(national=OK, province=OK, city=OK, county=OK, school=OK, taker=OK),
}


def test_every_roster_endpoint_has_a_row_for_every_role() -> None:
    assert set(EXPECT) == {e.name for e in ENDPOINTS}
    for name, row in EXPECT.items():
        assert set(row) == {r.value for r in Role}, name


def _call(client: Client, endpoint: Endpoint, url: str) -> Any:
    if endpoint.name == "roster_upload":
        return client.post(url, {"file": _file(GOOD_STUDENTS)})
    if endpoint.method == "POST":
        return client.post(url, {})
    return client.get(url)


CASES = [(e.name, role.value, p) for e in ENDPOINTS for role in Role for p in ("A", "B")]


def _complete_rosters(world: World) -> None:
    """A student, a teacher and the principal in every school: what a roster needs before it can be submitted."""
    for school in world.schools.values():
        Student.objects.create(school=school, grade=8, class_no=1, seq=1, name="学生甲", sex="M",
                               birth_month="2011-03")
        Teacher.objects.create(school=school, name="教师甲", sex="F", grade=8, subjects="math")
        Principal.objects.create(school=school, name="校长甲", sex="M")


@pytest.mark.parametrize(("endpoint_name", "role", "p"), CASES)
def test_roster_matrix(client: Client, world: World, endpoint_name: str, role: str, p: str) -> None:
    endpoint = next(e for e in ENDPOINTS if e.name == endpoint_name)
    persona = f"{role}@{p}"
    client.force_login(world.users[persona])
    expected = EXPECT[endpoint_name][role]
    if endpoint_name == "roster_submit":
        _complete_rosters(world)
    foreign = {world.schools[k].code for k in world.schools} - {
        world.schools[k].code for k in visible_school_keys(role, p)}
    if endpoint.obj is None:
        response = _call(client, endpoint, endpoint.url(""))
        assert response.status_code == expected, (persona, endpoint_name, response.status_code)
        return
    for where, status in zip(WHERE, expected, strict=True):
        code = _object_code(world, "school", p, where)
        before = Student.objects.filter(school__code=code).count()
        response = _call(client, endpoint, endpoint.url(code))
        assert response.status_code == status, (persona, endpoint_name, where, response.status_code)
        if status == OK:
            body = response.content.decode()
            for other in foreign:
                assert other not in body, (persona, endpoint_name, where, other)
        if endpoint_name == "roster_upload":
            # Only a successful upload changes the roster.
            assert Student.objects.filter(school__code=code).count() == (4 if status == OK else before)
        if endpoint_name == "roster_submit":
            submitted = Submission.objects.filter(kind=SubmissionKind.ROSTER, school__code=code,
                                                  status="submitted").exists()
            assert submitted == (status == REDIRECT)


def test_national_is_national() -> None:
    assert {r.value for r in NATIONAL} == {"national_admin", "national_analyst"}


# ---------------------------------------------------------------------------------------------------- the flow


def test_upload_errors_then_success_then_submit_then_return(client: Client, world: World) -> None:
    school = world.schools["A1a-1"]
    url = f"/schools/{school.code}/rosters/"
    client.force_login(world.users["school_head@A"])
    page = client.get(url).content.decode()
    assert "学生名单" in page and "/rosters/templates/students.xlsx" in page and f'action="{url}submit/"' in page

    bad = [[8, 1, 1, "甲", "男", "2010-05"], [8, 1, 1, "乙", "女", "2010-13"], [8, 9, 2, "丙", "不详", "2010-01"]]
    response = client.post(f"{url}students/", {"file": _file(bad, "坏名单.xlsx")})
    assert response.status_code == 400
    body = response.content.decode()
    table = body[body.index('id="roster-errors"'):body.index("</table>", body.index('id="roster-errors"'))]
    for needle in ("坏名单.xlsx", "<td class=\"num\">3</td>", "班内序号", "与第 2 行重复", "出生年月", "YYYY-MM",
                   "<td class=\"num\">4</td>", "班级", "共 2 个班", "性别"):
        assert needle in table, needle
    assert Student.objects.filter(school=school).count() == 0

    response = client.post(f"{url}students/", {"file": _file(GOOD_STUDENTS)})
    assert response.status_code == 200
    body = response.content.decode()
    changes = body[body.index('id="roster-changes"'):]
    assert "<td class=\"num\">0</td><td class=\"num\">4</td>" in changes
    assert "学生0" not in body  # names never appear on the page
    assert Student.objects.filter(school=school).count() == 4

    # Students alone are not a roster: the submission names what is missing and changes nothing.
    response = client.post(f"{url}submit/")
    assert response.status_code == 400 and "名单不完整" in response.content.decode()
    assert not Submission.objects.filter(kind=SubmissionKind.ROSTER, school=school, status="submitted").exists()
    for kind, rows in (("teachers", [["教师甲", "女", 8, "数学", "是", 1]]), ("principal", [["校长甲", "男"]])):
        f = io.BytesIO(_xlsx(rows, HEADERS[kind]))
        f.name = f"{kind}.xlsx"
        assert client.post(f"{url}{kind}/", {"file": f}).status_code == 200, kind

    response = client.post(f"{url}submit/")
    assert response.status_code == 302
    page = client.get(url).content.decode()
    assert "待审核" in page and 'enctype="multipart/form-data"' not in page and f'action="{url}submit/"' not in page
    response = client.post(f"{url}students/", {"file": _file(GOOD_STUDENTS[:2])})
    assert response.status_code == 400 and "不能修改" in response.content.decode()
    assert Student.objects.filter(school=school).count() == 4

    # The county returns it with a reason: the school may change it again.
    sub = Submission.objects.get(kind=SubmissionKind.ROSTER, school=school, year=YEAR)
    submission_review(actor=world.users["county_liaison@A"], submission_id=sub.id, approve=False,
                      reason="第2班学生缺漏")
    page = client.get(url).content.decode()
    assert "已退回" in page and "第2班学生缺漏" in page and 'enctype="multipart/form-data"' in page
    assert client.post(f"{url}students/", {"file": _file(GOOD_STUDENTS[:2])}).status_code == 200
    assert Student.objects.filter(school=school).count() == 2


def test_upload_without_a_file_and_unknown_kind(client: Client, world: World) -> None:
    code = world.schools["A1a-1"].code
    client.force_login(world.users["school_info_officer@A"])
    response = client.post(f"/schools/{code}/rosters/students/", {})
    assert response.status_code == 400 and "请选择要上传的文件" in response.content.decode()
    assert client.post(f"/schools/{code}/rosters/parents/", {"file": _file(GOOD_STUDENTS)}).status_code == 404
    assert client.get("/rosters/templates/students.pdf").status_code == 404


def test_templates_download(client: Client, world: World) -> None:
    client.force_login(world.users["school_head@A"])
    response = client.get("/rosters/templates/teachers.csv")
    assert response.status_code == 200
    assert response.content.decode("utf-8-sig").strip() == ",".join(HEADERS["teachers"])
    assert "attachment" in response["Content-Disposition"]
    response = client.get("/rosters/templates/principal.xlsx")
    assert response.content[:2] == b"PK"  # a zip container: .xlsx
