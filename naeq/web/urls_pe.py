"""URLs of the 体育测试 pages (naeq.pe), included into naeq.web.urls under the "web" namespace."""

from django.urls import URLPattern, path

from naeq.web import views_pe as v

urlpatterns: list[URLPattern] = [
    path("pe/", v.pe_home, name="pe_home"),
    path("pe/completion.xlsx", v.pe_completion_xlsx, name="pe_completion_xlsx"),
    path("pe/indicators/", v.pe_indicators, name="pe_indicators"),
    path("pe/regions/<str:code>/", v.pe_region, name="pe_region"),
    path("pe/regions/<str:code>/window/", v.pe_window, name="pe_window"),
    path("pe/schools/<str:code>/", v.pe_school, name="pe_school"),
    path("pe/schools/<str:code>/generate/", v.pe_rooms_generate, name="pe_rooms_generate"),
    path("pe/rooms/<int:room_id>/", v.pe_room, name="pe_room"),
    path("pe/rooms/<int:room_id>/staff/", v.pe_room_staff, name="pe_room_staff"),
    path("pe/rooms/<int:room_id>/missing/", v.pe_room_missing, name="pe_room_missing"),
    path("pe/rooms/<int:room_id>/review/", v.pe_room_review, name="pe_room_review"),
    path("pe/rooms/<int:room_id>/unlock/", v.pe_room_unlock, name="pe_room_unlock"),
    path("pe/rooms/<int:room_id>/template.xlsx", v.pe_room_template, name="pe_room_template"),
    path("pe/rooms/<int:room_id>/import/", v.pe_room_import, name="pe_room_import"),
    path("pe/records/<int:record_id>/move/", v.pe_record_move, name="pe_record_move"),
]
