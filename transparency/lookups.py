"""A spatial transform GeoDjango lacks, used in the models' constraints: `geom__geomtype__in=("POINT", ...)`
(PostGIS GeometryType: the shape's type name in capitals)."""

from django.contrib.gis.db.models import GeometryField
from django.db.models import CharField, Transform


@GeometryField.register_lookup
class GeometryTypeName(Transform):
    lookup_name = "geomtype"
    function = "GeometryType"
    output_field = CharField()
