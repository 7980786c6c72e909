"""URLs of the 量尺与等级 pages (naeq.scaling), included into naeq.web.urls under the "web" namespace."""

from django.urls import URLPattern, path

from naeq.web import views_scaling as v

urlpatterns: list[URLPattern] = [
    path("scaling/", v.scaling_runs, name="scaling_runs"),
    path("scaling/status.json", v.scaling_runs_status, name="scaling_runs_status"),
    path("scaling/start/", v.scaling_start, name="scaling_start"),
    path("scaling/runs/<int:run_id>/", v.scaling_run, name="scaling_run"),
    path("scaling/runs/<int:run_id>/status.json", v.scaling_run_status, name="scaling_run_status"),
    path("scaling/runs/<int:run_id>/persons/", v.scaling_persons, name="scaling_persons"),
    path("scaling/runs/<int:run_id>/items.<str:fmt>", v.scaling_items_download, name="scaling_items_download"),
    path("scaling/runs/<int:run_id>/persons.csv", v.scaling_persons_download, name="scaling_persons_download"),
    path("scaling/runs/<int:run_id>/rerun/", v.scaling_rerun, name="scaling_rerun"),
]
