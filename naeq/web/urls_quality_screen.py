"""URLs of the data-quality pages (screening runs, their ranked units and suspicious pairs), included into
naeq.web.urls under the "web" namespace."""

from django.urls import URLPattern, path

from naeq.web import views_quality as v

urlpatterns: list[URLPattern] = [
    path("quality/", v.quality_home, name="quality_home"),
    path("quality/runs/status.json", v.quality_runs_status, name="quality_runs_status"),
    path("quality/runs/start/", v.quality_start, name="quality_start"),
    path("quality/runs/<int:run_id>/", v.quality_run, name="quality_run"),
    path("quality/runs/<int:run_id>/export.xlsx", v.quality_run_export, name="quality_run_export"),
    path("quality/runs/<int:run_id>/rerun/", v.quality_rerun, name="quality_rerun"),
    path("quality/units/<int:unit_id>/", v.quality_unit, name="quality_unit"),
    path("quality/pairs/<int:pair_id>/", v.quality_pair, name="quality_pair"),
]
