"""Geometry fields in the current municipality's CRS (common.municipality.current().srid).

A Django geometry field's SRID is fixed when the model is declared; here it is read each time Django asks for it:
the column type `migrate` creates (geometry(MultiPolygon, N)), the ST_Transform a lookup or a saved value in another
CRS gets, the units of distance lookups, the form field's SRID. So one model serves municipalities in different
CRSs, each in its own database, and `migrate` run under `activate(other)` creates the other's columns in its CRS.

Nothing of the SRID is written into migrations (deconstruct leaves it out). Fields deliberately in a fixed CRS
(longitude/latitude, the tiles' Web Mercator copies) stay plain GeometryFields with their `srid`.
"""

from django.contrib.gis.db import models

from common import municipality


class MunicipalSRID:
    """The SRID of the current municipality, for a geometry field; giving `srid` is an error."""

    def __init__(self, *args, **kwargs):
        if "srid" in kwargs:
            raise TypeError(f"{type(self).__name__} is in the current municipality's CRS: give it no srid")
        super().__init__(*args, srid=None, **kwargs)  # BaseSpatialField assigns it: the setter takes only None

    @property
    def srid(self) -> int:
        return municipality.current().srid

    @srid.setter
    def srid(self, value):
        if value is not None:
            raise AttributeError(f"{type(self).__name__}.srid follows the current municipality: it cannot be set")

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs.pop("srid", None)
        return name, path, args, kwargs


class MunicipalGeometryField(MunicipalSRID, models.GeometryField):
    pass


class MunicipalPointField(MunicipalSRID, models.PointField):
    pass


class MunicipalLineStringField(MunicipalSRID, models.LineStringField):
    pass


class MunicipalMultiPolygonField(MunicipalSRID, models.MultiPolygonField):
    pass
