from django.conf import settings


def municipality(request):
    """The municipality's name and whether the loaded data is the generated demo city (shown on every page)."""
    from parcels.models import ImportRun

    return {
        "MUNICIPALITY_NAME": settings.MUNICIPALITY_NAME,
        "MUNICIPALITY_NAME_EN": settings.MUNICIPALITY_NAME_EN,
        "IS_DEMO_DATA": ImportRun.demo_data_loaded(),
    }
