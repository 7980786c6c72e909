"""URLs of the analysis pages (estimation runs, their tables, the balanced-county evaluation), included into
naeq.web.urls under the "web" namespace."""

from django.urls import URLPattern, path

from naeq.web import views_analysis as v

urlpatterns: list[URLPattern] = [
    path("analysis/", v.analysis_home, name="analysis_home"),
    path("analysis/runs/status.json", v.analysis_runs_status, name="analysis_runs_status"),
    path("analysis/runs/start/", v.analysis_start, name="analysis_start"),
    path("analysis/runs/<int:run_id>/", v.analysis_run, name="analysis_run"),
    path("analysis/runs/<int:run_id>/rerun/", v.analysis_rerun, name="analysis_rerun"),
    path("analysis/balanced/", v.analysis_balanced, name="analysis_balanced"),
]
