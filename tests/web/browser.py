"""What every browser test shares: Debian's Chromium, its flags, and the marks of a browser test module.

The ``browser`` fixture (one Chromium per test module) is in ``tests/conftest.py``.
"""

from __future__ import annotations

import os

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

#: ``pytestmark`` of a browser test module: marked ``browser``, transactional (the live server runs in another
#: thread), skipped where Chromium is missing.
BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Chromium at /usr/bin/chromium"),
]
