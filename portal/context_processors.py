from django.conf import settings
from django.urls import reverse

from common.i18n import is_persian


def municipality(request):
    """The municipality's name, the page's language, and whether the loaded data is the generated demo city (shown on
    every page)."""
    from parcels.models import ImportRun

    return {
        "MUNICIPALITY_NAME": settings.MUNICIPALITY_NAME,
        "MUNICIPALITY_NAME_EN": settings.MUNICIPALITY_NAME_EN,
        "municipality_name": settings.MUNICIPALITY_NAME if is_persian() else settings.MUNICIPALITY_NAME_EN,
        "IS_DEMO_DATA": ImportRun.demo_data_loaded(),
        "fa": is_persian(),
        "map_url": reverse("portal:map"),
    }
