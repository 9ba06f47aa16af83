import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gis_portal.settings")
django_application = get_wsgi_application()

from common.front import FrontShortcut  # noqa: E402  (needs the settings configured above)
from layers.tile_app import TileShortcut  # noqa: E402

# Public vector tiles (layers/tile_app.py) and anonymous GETs of the parcel sheet and OGC items pages
# (common/front.py) are answered before Django's request cycle; all else goes to Django.
application = TileShortcut(FrontShortcut(django_application))
