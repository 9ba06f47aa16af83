from django.urls import reverse

from common.i18n import is_persian
from common.municipality import current


def municipality(request):
    """The current municipality's name, the page's language, and whether the loaded data is the generated demo city
    (shown on every page)."""
    from parcels.models import ImportRun

    city = current()
    return {
        "MUNICIPALITY_NAME": city.name,
        "MUNICIPALITY_NAME_EN": city.name_en,
        "municipality_name": city.name if is_persian() else city.name_en,
        "IS_DEMO_DATA": ImportRun.demo_data_loaded(),
        "fa": is_persian(),
        "map_url": reverse("portal:map"),
    }
