"""The floor of any Python WSGI tile endpoint on this machine: gunicorn answering with FLOOR_BYTES bytes made by
nothing (no Django, no database). bench/tiles.py serves it as the app is served and measures it beside the app."""

import os

BODY = b"\0" * int(os.environ.get("FLOOR_BYTES", "2000"))
HEADERS = [("Content-Type", "application/vnd.mapbox-vector-tile"), ("Content-Length", str(len(BODY)))]


def application(environ, start_response):
    start_response("200 OK", HEADERS)
    return [BODY]
