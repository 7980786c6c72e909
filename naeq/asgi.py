"""The ASGI application `naeq serve` runs: the answer-save hot path (naeq.web.hotapi) in front of Django.

Django itself runs as its WSGI handler on a fixed pool of threads (a2wsgi), ``NAEQ_THREADS`` of them (default 8):
each thread keeps its database connection between requests (``CONN_MAX_AGE``), as under a threaded WSGI server.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "naeq.settings")

from a2wsgi import WSGIMiddleware
from django.core.wsgi import get_wsgi_application

django_application = WSGIMiddleware(get_wsgi_application(),  # type: ignore[arg-type]  # Django's stubs: a response
                                    workers=int(os.environ.get("NAEQ_THREADS", "8")))

from naeq.web.hotapi import application_for  # noqa: E402  (Django is set up by get_wsgi_application)

application = application_for(django_application)  # type: ignore[arg-type]  # a2wsgi's narrower ASGI types
