"""The pages in a real browser (Chromium through Playwright), as personas and as every demo role.

Run with ``pytest -m browser``; they need /usr/bin/chromium. Screenshots go to pytest's tmp dir (printed with -s).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from naeq.registry.models import Region, School
from tests.personas import PASSWORD, World
from tests.web.browser import BROWSER_MARKS

pytestmark = BROWSER_MARKS


@pytest.fixture
def new_page(browser: Any, live_server: Any) -> Iterator[Any]:
    contexts = []

    def make() -> Any:
        ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        contexts.append(ctx)
        page = ctx.new_page()
        page.set_default_timeout(15_000)
        return page

    yield make
    for ctx in contexts:
        ctx.close()


def _login(page: Any, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit].btn-primary")
    page.wait_for_url(f"{base}/")


def _count(page: Any, key: str) -> int:
    return int(page.locator(f'[data-count="{key}"]').inner_text().replace(",", ""))


def _shot(page: Any, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path


@pytest.mark.usefixtures("cycle")
def test_personas_see_only_their_jurisdiction(new_page: Any, live_server: Any, world: World,
                                              tmp_path: Path) -> None:
    base = live_server.url
    expectations = [
        ("national_admin_a", "全国", {"provinces": 2, "counties": 4, "schools": 8}, "乙省"),
        ("province_coordinator_a", "甲省", {"cities": 1, "counties": 2, "schools": 4}, None),
        ("city_viewer_b", "乙省一市", {"counties": 2, "schools": 4}, None),
        ("county_liaison_b", "乙省一市a县", {"counties": 1, "schools": 2}, None),
        ("school_head_a", "甲省一市a县第1学校", {"schools": 1}, None),
    ]
    for username, name, counts, _ in expectations:
        page = new_page()
        _login(page, base, username, PASSWORD)
        assert page.locator("h1.jurisdiction-name").inner_text() == name
        for key, value in counts.items():
            assert _count(page, key) == value, (username, key)
        assert "学生数学测试" in page.content()
        page.goto(f"{base}/schools/")
        codes = set(re.findall(r"\d{10}", page.locator("table.table tbody").inner_text()))
        own_province = "乙" if username.endswith("_b") else "甲"
        for code in codes:
            school = School.objects.select_related("county").get(code=code)
            if not username.startswith("national"):
                assert school.name.startswith(own_province), (username, school.name)
        assert len(codes) == counts["schools"]
        if username == "province_coordinator_a":
            _shot(page, tmp_path, "schools-province-a")
            page.goto(f"{base}/regions/")
            for name in ("甲省", "甲省一市", "甲省一市b县"):
                page.get_by_role("link", name=name, exact=True).click()
                page.wait_for_load_state()
            assert "甲省一市b县第2学校" in page.content()
            assert "乙省" not in page.content()
    page = new_page()
    _login(page, base, "county_liaison_a", PASSWORD)
    response = page.goto(f"{base}/regions/{world.regions['B1a'].code}/")
    assert response.status == 404 and "没有找到该区域" in page.content()


def test_demo_roles_in_the_browser(new_page: Any, live_server: Any, tmp_path: Path) -> None:
    """The demo's world (a synthetic city) and its logins, one per role, as the demo prints them."""
    synth = pytest.importorskip("naeq.engines.synth")
    from naeq.cycles.services import load_shipped_cycles
    from naeq.ops import demo_accounts
    from naeq.registry.synth_load import synth_world_load

    regions, schools = synth.generate_registry("city", 7)
    synth_world_load(world=synth.World(scale="city", seed=7, regions=regions, schools=schools, rosters=None))
    load_shipped_cycles()
    rows = demo_accounts()
    base = live_server.url
    for label, username, password, where in rows:
        page = new_page()
        _login(page, base, username, password)
        text = page.content()
        assert label in text  # the role is shown in the header
        if "问卷" in label or username.endswith(("_student", "_teacher", "_principal", "_county_manager")):
            assert "您的测试和问卷将在这里显示" in text and "data-count" not in text
            continue
        if username.endswith("_rater"):  # raters see their marking, nothing of the hierarchy
            assert "我的评分任务" in text and "data-count" not in text
            continue
        user_scope = where.split("（")[0]
        heading = page.locator("h1.jurisdiction-name").inner_text()
        assert heading == (user_scope if where != "全国" else "全国"), username
        # The school count on the home page equals the registry's count under the account's anchor.
        from naeq.accounts.models import User

        user = User.objects.get(username=username)
        expected = 1 if user.school_id else School.objects.filter(path__startswith=user.scope_path).count()
        assert _count(page, "schools") == expected, username
        page.goto(f"{base}/schools/")
        shown = re.findall(r"\d{10}", page.locator("table.table tbody").inner_text())
        assert shown and all(
            School.objects.filter(code=c, path__startswith=user.scope_path).exists() for c in shown), username
        if username == "demo_national_admin":
            _shot(page, tmp_path, "demo-home-national")
            # Pagination: 50 a page, next and back.
            assert len(shown) == 50
            page.click("a[rel=next]")
            assert "第 2 页" in page.content()
            second = re.findall(r"\d{10}", page.locator("table.table tbody").inner_text())
            assert second and not set(second) & set(shown)
            # Search by code prefix and by name.
            first_code = shown[0]
            page.goto(f"{base}/schools/")
            page.fill("#q", first_code[:8])
            page.click("form.search button")
            assert all(c.startswith(first_code[:8]) for c in re.findall(
                r"\d{10}", page.locator("table.table tbody").inner_text()))
            # English.
            page.goto(f"{base}/")
            page.click("button[name=language][value=en]")
            page.wait_for_load_state()
            assert "Current monitoring cycle" in page.content() and "Sign out" in page.content()
            _shot(page, tmp_path, "demo-home-national-en")
            page.click("button[name=language][value=zh-hans]")
            page.wait_for_load_state()
            assert "当前监测周期" in page.content()
            county = Region.objects.filter(level="county").order_by("code").first()
            assert county is not None
            page.goto(f"{base}/regions/{county.code}/")
            _shot(page, tmp_path, "demo-county")
        if username == "demo_county_liaison":
            page.goto(f"{base}/regions/{user.region.code}/mailing/")
            page.fill("#id_postcode", "12a")
            page.click("form.form button[type=submit]")
            assert "邮政编码应为6位数字" in page.content()
            _shot(page, tmp_path, "demo-mailing-error")
            page.fill("#id_postcode", "123456")
            page.click("form.form button[type=submit]")
            assert "邮寄信息已保存" in page.content()
