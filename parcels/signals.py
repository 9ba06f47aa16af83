"""Keeping derived facts fresh after single edits (admin, API), and history baselines for bulk-loaded rows.

Bulk paths (imports, the demo loader) call parcels.derived.refresh_frontages themselves, once, set-based.
"""

from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from parcels import derived, overview
from parcels.models import Parcel, Street


def _refresh_later(parcel_ids):
    ids = sorted(set(parcel_ids))
    if ids:
        transaction.on_commit(lambda: _refresh_now(ids))


def _refresh_now(ids):
    with transaction.atomic():
        derived.refresh_frontages(ids)


@receiver(post_save, sender=Parcel)
def parcel_saved(sender, instance, raw=False, update_fields=None, **kwargs):
    if raw or (update_fields and "geom" not in update_fields):
        return
    _refresh_later([instance.pk])


# The land-use overview of the tiles (parcels/overview.py): the band-14 shapes of the parcel's old and new block are
# rebuilt in the edit's own transaction (a deleted or moved parcel leaves z14 with the edit); they and the mosaic
# regions (z10-z13) it touched are marked stale for the job queued here, which runs once the edit commits (and for a
# rebuild running meanwhile, which applies them again after its swap).
_OVERVIEW_FIELDS = {"geom", "land_use", "land_use_id", "block", "block_id"}


@receiver(pre_save, sender=Parcel)
def parcel_before_save(sender, instance, raw=False, update_fields=None, **kwargs):
    if raw or instance.pk is None or (update_fields and not _OVERVIEW_FIELDS & set(update_fields)):
        return
    instance._overview_before = Parcel.objects.filter(pk=instance.pk).values_list(
        "block_id", "geom", "land_use_id").first()


@receiver(post_save, sender=Parcel)
def parcel_overview_saved(sender, instance, raw=False, update_fields=None, **kwargs):
    if raw or (update_fields and not _OVERVIEW_FIELDS & set(update_fields)):
        return
    before = getattr(instance, "_overview_before", None)
    if before is not None and (before[0], before[2]) == (instance.block_id, instance.land_use_id) and (
            before[1] is not None and instance.geom is not None and before[1].equals_exact(instance.geom, 0)):
        return  # what the overview draws (the block, the use, the shape) is as it was: its tiles keep their URLs
    _overview_changed([before[:2] if before is not None else None, (instance.block_id, instance.geom)])


@receiver(post_delete, sender=Parcel)
def parcel_overview_deleted(sender, instance, **kwargs):
    _overview_changed([(instance.block_id, instance.geom)])


def _overview_changed(states) -> None:
    states = [s for s in states if s is not None]
    overview.refresh_blocks(block_ids=[block for block, _ in states])
    points = [p for p in (overview.centroid_3857(geom) for _, geom in states) if p is not None]
    blocks = [block for block, _ in states]
    if overview.mark_stale(blocks, points, detail_regions=None in blocks):
        overview.queue_refresh()


@receiver(post_save, sender=Street)
def street_saved(sender, instance, raw=False, **kwargs):
    if raw:
        return
    # Near its new position, and the parcels that fronted it before (it may have moved away from them).
    _refresh_later(derived.parcels_near_streets([instance.pk]))


@receiver(post_delete, sender=Street)
def street_deleted(sender, instance, **kwargs):
    _refresh_later(derived.parcels_near_street(instance.geom.ewkb, instance.existing_width))


@receiver(pre_save)
def history_baseline(sender, instance, raw=False, **kwargs):
    """Rows written by bulk paths (imports, the demo loader) have no history row yet. Before their first edit,
    record their current state as a baseline, so the edit's 'before' is kept."""
    if raw or instance.pk is None or not hasattr(sender, "history") or sender._meta.app_label not in _HISTORY_APPS:
        return
    from simple_history.utils import get_history_manager_for_model

    manager = get_history_manager_for_model(sender)
    if manager.filter(id=instance.pk).exists():
        return
    current = sender._default_manager.filter(pk=instance.pk).first()
    if current is not None:
        manager.bulk_history_create(
            [current], default_change_reason="state before the first recorded edit (bulk-loaded)"
        )


_HISTORY_APPS = {"parcels", "zoning"}
