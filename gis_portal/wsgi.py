import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gis_portal.settings")
django_application = get_wsgi_application()

from common.front import FrontShortcut  # noqa: E402  (needs the settings configured above)
from common.tenancy import MunicipalitySelector  # noqa: E402
from layers.tile_app import TileShortcut  # noqa: E402

# Each request's municipality, by path prefix or host name, is chosen first (common/tenancy.py: its database, its
# CRS, its cache keys); then public vector tiles (layers/tile_app.py) and anonymous GETs of the parcel sheet and OGC
# items pages (common/front.py) are answered before Django's request cycle; all else goes to Django.
application = MunicipalitySelector(TileShortcut(FrontShortcut(django_application)))
