from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebConfig(AppConfig):
    name = "naeq.web"
    label = "web"
    verbose_name = _("网页")

    def ready(self) -> None:
        from django.contrib import admin

        from naeq.web.admin_access import national_admin_only

        # Only national administrators (or a superuser) reach the Django admin; every ModelAdmin of naeq asks
        # the site, so this one function decides for the whole admin.
        admin.site.has_permission = national_admin_only  # type: ignore[method-assign]
        admin.site.site_header = _("naeq 管理后台")
        admin.site.site_title = _("naeq 管理后台")
        admin.site.index_title = _("国家监测中心管理")
