import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gis_portal.settings")
django_application = get_wsgi_application()

from layers.tile_app import TileShortcut  # noqa: E402  (needs the settings configured above)

# Public vector tiles are answered before Django's request cycle (layers/tile_app.py); all else goes to Django.
application = TileShortcut(django_application)
