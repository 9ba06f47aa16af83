"""Keeping parcel overlay facts fresh after single edits of zones and overlays (admin), and terrain after parcel edits.

Parcel and street edits refresh them through parcels.derived (after the frontages); imports through post-load steps."""

from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from parcels.models import Parcel
from zoning import overlays, terrain
from zoning.models import Overlay, Zone


def _refresh_later(ids, parts):
    ids = sorted(set(ids))
    if ids:
        transaction.on_commit(lambda: _refresh_now(ids, parts))


def _refresh_now(ids, parts):
    with transaction.atomic():
        overlays.refresh(ids, parts=parts)


def _previous_geometry(sender, instance):
    if instance.pk is None:
        return None
    old = sender.objects.filter(pk=instance.pk).values_list("geom", flat=True).first()
    return old.ewkb if old is not None else None


@receiver(pre_save, sender=Zone)
@receiver(pre_save, sender=Overlay)
def remember_geometry(sender, instance, raw=False, **kwargs):
    # The parcels under the old geometry may lose the zone or overlay: they are refreshed too.
    instance._previous_geom_ewkb = None if raw else _previous_geometry(sender, instance)


@receiver(post_save, sender=Zone)
@receiver(post_delete, sender=Zone)
def zone_changed(sender, instance, raw=False, **kwargs):
    if raw:
        return
    geoms = [instance.geom.ewkb, getattr(instance, "_previous_geom_ewkb", None)]
    _refresh_later(overlays.parcels_touching(geoms), ("zone",))


@receiver(post_save, sender=Overlay)
@receiver(post_delete, sender=Overlay)
def overlay_changed(sender, instance, raw=False, **kwargs):
    if raw:
        return
    if instance.kind == Overlay.Kind.FAULT_LINE:
        # Distances to the nearest fault change everywhere.
        transaction.on_commit(lambda: _refresh_now(None, ("hazards",)))
        return
    geoms = [instance.geom.ewkb, getattr(instance, "_previous_geom_ewkb", None)]
    _refresh_later(overlays.parcels_touching(geoms), ("hazards",))



@receiver(post_save, sender=Parcel)
def parcel_saved(sender, instance, raw=False, update_fields=None, **kwargs):
    """A parcel's new shape has another terrain (its zone, widening and hazards follow with the frontages)."""
    if raw or (update_fields and "geom" not in update_fields):
        return
    ids = [instance.pk]
    transaction.on_commit(lambda: terrain.refresh_from_registered_dem(ids))
