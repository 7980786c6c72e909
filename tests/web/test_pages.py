"""Pages beyond the matrix: what they show, how many queries they cost, login limits, language, audit."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from naeq.core.models import AuditEvent
from naeq.registry.models import Region, School, SchoolLevel
from tests.personas import PASSWORD, World


def _more_schools(county: Region, n: int) -> None:
    School.objects.bulk_create([
        School(code=f"9{county.code}{i:03d}", name=f"{county.name}附加学校{i}", county=county, path=county.path,
               level=SchoolLevel.PRIMARY, urban_rural="220", g4_enrollment=30, g4_classes=1)
        for i in range(n)
    ])


@pytest.mark.parametrize(
    ("persona", "name", "counts"),
    [
        ("national_admin@A", "全国", {"provinces": "2", "cities": "2", "counties": "4", "schools": "8"}),
        ("province_coordinator@A", "甲省", {"cities": "1", "counties": "2", "schools": "4", "g4": "180"}),
        ("city_viewer@B", "乙省一市", {"counties": "2", "schools": "4"}),
        ("county_liaison@A", "甲省一市a县", {"counties": "1", "schools": "2", "g8": "120"}),
        ("school_head@B", "乙省一市a县第1学校", {"schools": "1", "g4": "45", "g8": "60"}),
    ],
)
def test_home_shows_the_jurisdiction_and_the_schedule(client: Client, world: World, cycle: Any, persona: str,
                                                       name: str, counts: dict[str, str]) -> None:
    client.force_login(world.users[persona])
    page = client.get("/").content.decode()
    assert f'<h1 class="jurisdiction-name">{name}</h1>' in page
    for key, value in counts.items():
        assert f'data-count="{key}">{value}<' in page, key
    assert str(cycle.year) in page
    assert "学生数学测试" in page  # the 2024 schedule


def test_test_takers_see_no_registry(client: Client, world: World, cycle: Any) -> None:
    client.force_login(world.users["student@A"])
    page = client.get("/").content.decode()
    assert "您的测试和问卷将在这里显示" in page
    assert "data-count" not in page and world.schools["A1a-1"].code not in page
    assert 'href="/schools/"' not in page


def test_search_by_code_prefix_and_name_with_pages(client: Client, world: World) -> None:
    county = world.regions["A1a"]
    _more_schools(county, 120)
    client.force_login(world.users["county_liaison@A"])
    first = client.get("/schools/?q=9310101").content.decode()
    assert "9310101000" in first and "9310101049" in first and "9310101050" not in first
    assert 'rel="next"' in first and 'rel="prev"' not in first
    third = client.get("/schools/?q=9310101&page=3").content.decode()
    assert "9310101100" in third and "9310101119" in third and 'rel="next"' not in third
    by_name = client.get("/api/schools/?q=附加学校11").json()
    assert [s["code"] for s in by_name["results"]] == ["9310101011", *[f"9310101{i}" for i in range(110, 120)]]
    assert client.get("/schools/?page=abc").status_code == 200
    # A province B school found by code is not found by an A county liaison.
    assert client.get(f"/api/schools/?q={world.schools['B1a-1'].code}").json()["results"] == []


@pytest.mark.parametrize(
    ("persona", "url", "limit"),
    [
        ("national_admin@A", "/", 8),
        ("national_admin@A", "/regions/", 8),
        ("national_admin@A", "/regions/310000/", 9),
        ("national_admin@A", "/regions/310101/", 9),
        ("national_admin@A", "/schools/", 6),
        ("province_coordinator@A", "/schools/?q=学校&page=2", 6),
        ("county_liaison@A", "/schools/", 6),
        ("county_liaison@A", "/api/schools/", 4),
        ("school_head@A", "/", 9),
    ],
)
def test_query_counts(client: Client, world: World, cycle: Any, django_assert_max_num_queries: Any,
                      persona: str, url: str, limit: int) -> None:
    """The cost of a list does not grow with the number of rows on it."""
    _more_schools(world.regions["A1a"], 120)
    _more_schools(world.regions["A1b"], 60)
    client.force_login(world.users[persona])
    with django_assert_max_num_queries(limit):
        response = client.get(url)
    assert response.status_code == 200


def test_login_and_logout(client: Client, world: World) -> None:
    page = client.get("/login/").content.decode()
    assert "用户名" in page and "密码" in page
    response = client.post("/login/", {"username": "county_liaison_a", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    assert "甲省一市a县" in client.get("/").content.decode()
    assert client.get("/logout/").status_code == 405
    assert client.post("/logout/").status_code == 302
    assert client.get("/").status_code == 302


def test_login_is_rate_limited(client: Client, world: World) -> None:
    for _ in range(5):
        response = client.post("/login/", {"username": "county_liaison_a", "password": "wrong-password-1"})
    assert response.status_code in (200, 429)
    response = client.post("/login/", {"username": "county_liaison_a", "password": PASSWORD})
    assert response.status_code == 429
    page = response.content.decode()
    assert "已被暂时锁定" in page and "5 次" in page
    assert "_auth_user_id" not in client.session
    assert client.get("/").status_code == 302
    # Another account from the same address is not locked.
    ok = client.post("/login/", {"username": "county_liaison_b", "password": PASSWORD})
    assert ok.status_code == 302


def test_wrong_password_message_is_chinese(client: Client, world: World) -> None:
    page = client.post("/login/", {"username": "county_liaison_a", "password": "nope-nope-nope"}).content.decode()
    assert "请输入一个正确的" in page or "用户名和密码" in page


def test_english_switch(client: Client, world: World, cycle: Any) -> None:
    client.force_login(world.users["province_coordinator@A"])
    assert "首页" in client.get("/").content.decode()
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/schools/"})
    assert response.status_code == 302 and response["Location"] == "/schools/"
    page = client.get("/schools/").content.decode()
    assert '<html lang="en">' in page
    assert "Schools" in page and "Home" in page and "Sign out" in page
    assert "首页" not in page and "退出" not in page
    home = client.get("/").content.decode()
    assert "Current monitoring cycle" in home and "Primary school schedule" in home
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    assert "首页" in client.get("/").content.decode()


def test_chinese_even_when_the_browser_asks_for_english(client: Client, world: World, cycle: Any) -> None:
    """Chinese by default: a browser sending Accept-Language: en still gets Chinese until the user switches."""
    client.force_login(world.users["county_liaison@A"])
    page = client.get("/schools/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert '<html lang="zh-hans">' in page and "首页" in page
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    page = client.get("/schools/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9").content.decode()
    assert '<html lang="en">' in page and "Home" in page


def test_mailing_edit_is_audited_with_before_and_after(client: Client, world: World) -> None:
    county = world.regions["A1a"]
    client.force_login(world.users["county_liaison@A"])
    form = client.get(f"/regions/{county.code}/mailing/").content.decode()
    assert "邮政编码" in form
    data = {"mailing_address": "甲省一市a县教育局", "postcode": "200001", "mailing_recipient": "联络员甲",
            "mailing_phone": "021-1234567", "supervision_hotline": "021-7654321"}
    response = client.post(f"/regions/{county.code}/mailing/", data)
    assert response.status_code == 302 and response["Location"] == f"/regions/{county.code}/"
    county.refresh_from_db()
    assert (county.postcode, county.mailing_address) == ("200001", "甲省一市a县教育局")
    event = AuditEvent.objects.get(action="registry.county.mailing_update", object_id=county.code)
    assert event.actor_label == "county_liaison_a"
    assert event.before["postcode"] == "" and event.after["postcode"] == "200001"
    assert event.after["supervision_hotline"] == "021-7654321"
    detail = client.get(f"/regions/{county.code}/").content.decode()
    assert "邮寄信息已保存" in detail and "200001" in detail and "021-7654321" in detail
    assert client.get(f"/api/regions/{county.code}/").json()["mailing"]["supervision_hotline"] == "021-7654321"
    bad = client.post(f"/regions/{county.code}/mailing/", {**data, "supervision_hotline": "打电话"})
    assert bad.status_code == 400 and "电话号码只能包含数字" in bad.content.decode()
    county.refresh_from_db()
    assert county.supervision_hotline == "021-7654321"


def test_mailing_edit_rejects_bad_input_in_chinese_and_changes_nothing(client: Client, world: World) -> None:
    county = world.regions["A1a"]
    client.force_login(world.users["county_liaison@A"])
    response = client.post(f"/regions/{county.code}/mailing/", {"postcode": "20a", "mailing_address": "x" * 201})
    assert response.status_code == 400
    page = response.content.decode()
    assert "邮政编码应为6位数字" in page and "请更正以下错误" in page
    county.refresh_from_db()
    assert county.postcode == "" and county.mailing_address == ""
    assert not AuditEvent.objects.filter(action="registry.county.mailing_update").exists()


def test_mailing_edit_of_a_city_is_refused(client: Client, world: World) -> None:
    client.force_login(world.users["province_coordinator@A"])
    response = client.get(f"/regions/{world.regions['A1'].code}/mailing/")
    assert response.status_code == 400
    assert "只有县级区域有邮寄信息" in response.content.decode()


def test_read_only_city_viewer_is_told_in_chinese(client: Client, world: World) -> None:
    client.force_login(world.users["city_viewer@A"])
    response = client.post(f"/regions/{world.regions['A1a'].code}/mailing/", {"postcode": "200000"})
    assert response.status_code == 403
    assert "只能查看，不能修改" in response.content.decode()


def test_school_detail_shows_counts_not_names(client: Client, world: World) -> None:
    from naeq.registry.models import Student

    school = world.schools["A1a-1"]
    Student.objects.create(school=school, grade=4, class_no=1, seq=1, name="测试学生甲", sex="M", birth_month="2014-03")
    client.force_login(world.users["school_head@A"])
    page = client.get(f"/schools/{school.code}/").content.decode()
    assert school.name in page and "九年一贯制学校" in page and "镇中心区" in page
    assert "测试学生甲" not in page
    assert '<td class="num">1</td>' in page  # one grade-4 student on the roster


def test_admin_edit_goes_through_the_service_and_is_audited(client: Client, world: World) -> None:
    client.force_login(world.users["national_admin@A"])
    county = world.regions["A1b"]
    url = f"/admin/registry/region/{county.pk}/change/"
    assert client.get(url).status_code == 200
    response = client.post(url, {"mailing_address": "乙路2号", "postcode": "200002", "mailing_recipient": "",
                                 "mailing_phone": ""})
    assert response.status_code == 302, response.content.decode()[:3000]
    county.refresh_from_db()
    assert county.postcode == "200002"
    event = AuditEvent.objects.get(action="registry.county.mailing_update", object_id=county.code)
    assert event.actor_label == "national_admin_a" and event.after["mailing_address"] == "乙路2号"
    # Provinces have no mailing details: read-only in the admin. Nothing can be added or deleted.
    assert client.post(f"/admin/registry/region/{world.regions['A'].pk}/change/", {}).status_code == 403
    assert client.get("/admin/registry/region/add/").status_code == 403
    assert client.get(f"/admin/registry/school/{world.schools['A1a-1'].pk}/delete/").status_code == 403
    assert client.get("/admin/core/auditevent/").status_code == 200
    assert client.get("/admin/accounts/user/").status_code == 200


def test_admin_refuses_everyone_but_national_admins(client: Client, world: World) -> None:
    client.force_login(world.users["national_analyst@A"])
    assert client.get("/admin/registry/region/").status_code == 302
    client.force_login(world.users["province_coordinator@A"])
    assert client.get("/admin/core/auditevent/").status_code == 302


def test_static_assets_ship_with_the_package(client: Client, world: World) -> None:
    page = client.get("/login/").content.decode()
    assert "/static/web/naeq.css" in page
    assert "http://" not in page.replace("http://www.w3.org", "") and "https://" not in page


def test_edit_link_only_for_writers(client: Client, world: World) -> None:
    url = f"/regions/{world.regions['A1a'].code}/"
    client.force_login(world.users["city_viewer@A"])
    assert "/mailing/" not in client.get(url).content.decode()
    client.force_login(world.users["county_info_officer@A"])
    assert "/mailing/" in client.get(url).content.decode()
