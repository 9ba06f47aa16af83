"""Spatial lookups GeoDjango lacks, used in model constraints."""

from django.contrib.gis.db.models import GeometryField
from django.db.models import Lookup


@GeometryField.register_lookup
class IsEmpty(Lookup):
    """`geom__isempty=False`: ST_IsEmpty, so a CHECK constraint can refuse empty geometries."""

    lookup_name = "isempty"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"ST_IsEmpty({lhs}) = {rhs}", lhs_params + rhs_params
