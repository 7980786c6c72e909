"""URLs of the 纸笔作答采集 pages (naeq.papercapture), included into naeq.web.urls under the "web" namespace."""

from django.urls import URLPattern, path

from naeq.web import views_papercapture as v

urlpatterns: list[URLPattern] = [
    path("paper/", v.paper_home, name="paper_home"),
    path("paper/instruments/<int:instrument_id>/template.<str:fmt>", v.paper_template, name="paper_template"),
    path("paper/instruments/<int:instrument_id>/booklets/<int:number>.pdf", v.paper_booklet, name="paper_booklet"),
    path("paper/instruments/<int:instrument_id>/schools/<str:code>/cards.pdf", v.paper_cards, name="paper_cards"),
    path("paper/instruments/<int:instrument_id>/import/", v.paper_import, name="paper_import"),
    path("paper/instruments/<int:instrument_id>/key/", v.paper_key, name="paper_key"),
    path("paper/instruments/<int:instrument_id>/completion/", v.paper_completion, name="paper_completion"),
    path("paper/batches/<int:batch_id>/", v.paper_batch, name="paper_batch"),
    path("paper/batches/<int:batch_id>/confirm-missing/", v.paper_confirm_missing, name="paper_confirm_missing"),
    path("paper/batches/<int:batch_id>/score/", v.paper_score, name="paper_score"),
    path("paper/entries/<int:entry_id>/resolve/", v.paper_resolve, name="paper_resolve"),
    path("paper/keyed/<int:keyed_id>/", v.paper_keyed, name="paper_keyed"),
]
