"""URLs of the performance-task pages and APIs, included into naeq.web.urls under the "web" namespace."""

from django.urls import URLPattern, path

from naeq.web import views_performance as perf

_A = "t/api/perf/attempts/<int:attempt_id>/"

urlpatterns: list[URLPattern] = [
    path("sessions/<int:session_id>/performance/", perf.session_status, name="perf_session_status"),
    path("sessions/<int:session_id>/performance/room/", perf.room, name="perf_room"),
    path("sessions/<int:session_id>/performance/room/live", perf.room_live, name="perf_room_live"),
    path("sessions/<int:session_id>/performance/room/call", perf.room_call, name="perf_room_call"),
    path("sessions/<int:session_id>/performance/room/rerecord", perf.room_rerecord, name="perf_room_rerecord"),
    path(_A + "play", perf.api_play, name="perf_api_play"),
    path(_A + "headset", perf.api_headset, name="perf_api_headset"),
    path(_A + "state", perf.api_state, name="perf_api_state"),
    path(_A + "recordings", perf.api_recordings, name="perf_api_recordings"),
    path(_A + "recordings/<int:recording_id>", perf.api_recording, name="perf_api_recording"),
    path(_A + "recordings/<int:recording_id>/chunk", perf.api_chunk, name="perf_api_chunk"),
    path(_A + "recordings/<int:recording_id>/complete", perf.api_complete, name="perf_api_complete"),
]
