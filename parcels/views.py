from common.i18n import is_persian
from django.http import Http404
from django.shortcuts import render

from parcels.models import Parcel


def parcel_page(request, parcel_id):
    """A text-only page for every parcel: its own URL, readable by screen readers and search engines."""
    from parcels.sheet import parcel_sheet, sections

    parcel = Parcel.objects.filter(pk=parcel_id).first() if parcel_id < 2**63 else None
    if parcel is None:
        raise Http404("No such parcel")
    sheet = parcel_sheet(parcel)
    lon, lat = sheet["point"]["coordinates"]
    plate = " / ".join("—" if v is None else str(v) for v in sheet["registered_plate"].values())
    rendered_sections = [
        {"section": s, "template": s.template, "data": s.build(parcel, request)} for s in sections()
    ]
    return render(request, "parcels/parcel_page.html", {
        "sheet": sheet, "sections": rendered_sections, "parcel": parcel, "plate": plate, "lon": f"{lon:.6f}", "lat": f"{lat:.6f}",
        "is_fa": is_persian(),
    })
