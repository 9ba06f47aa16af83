"""Warming the low-zoom tiles after a load: an import or the demo city's load rewrites most tiles of zooms
TILE_SEED_ZOOMS (10-14 by default: a handful of tiles each, but the heaviest to make), so a job asks for all of them
over the city's extent at their new versions, and the first visitors of the map find them made.

The signal comes from the cadastre's import (parcels.importing.core.data_loaded, sent inside the import's
transaction): the job is deferred in that transaction, under a queueing lock, so a load of many layers (the demo
city) queues one job, which runs once the load is committed. With TILE_SEED_BASE_URL (the shared cache in front,
deploy/nginx) the tiles are asked for through it, at their versioned URLs, so that the cache keeps them; without it
they are made into this app's own tile cache ("tiles" in settings.CACHES) when that is a shared backend (memcached,
Redis); with the default per-process cache no job is queued (it would warm only the worker's memory)."""

import logging
import urllib.request

from django.conf import settings
from django.db import transaction

from layers import tiles, versions
from layers.geojson import city_extent
from layers.registry import portal_layers

logger = logging.getLogger(__name__)

TASK = "layers.seed_tiles"


def tiles_to_seed() -> list[tuple[str, int, int, int]]:
    """(layer, z, x, y) of every tile of the map's layers at the seeded zooms over the city's extent."""
    bbox = city_extent()["bbox"]
    if bbox is None:
        return []
    west, south, east, north = bbox
    low, high = settings.TILE_SEED_ZOOMS
    out = []
    for layer in portal_layers():
        for z in range(max(low, layer.tile_min_zoom), high + 1):
            x0, y0 = tiles.lonlat_to_tile(west, north, z)
            x1, y1 = tiles.lonlat_to_tile(east, south, z)
            out += [(layer.name, z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
    return out


def seed(base_url: str | None = None) -> int:
    """Ask for every tile of tiles_to_seed at its current version; returns how many were asked for."""
    from layers.registry import LAYERS

    base_url = settings.TILE_SEED_BASE_URL if base_url is None else base_url
    wanted = tiles_to_seed()
    for name, z, x, y in wanted:
        layer = LAYERS[name]
        version = str(versions.tile_version(layer, z, x, y))
        if base_url:
            url = f"{base_url.rstrip('/')}/tiles/{name}/{z}/{x}/{y}.pbf?v={version}"
            with urllib.request.urlopen(url, timeout=120) as response:
                response.read()
        else:
            tiles.answer(layer, z, x, y, version, None)
    logger.info("Seeded %d low-zoom tiles%s", len(wanted), f" through {base_url}" if base_url else "")
    return len(wanted)


def worth_seeding() -> bool:
    """Whether a warmed tile reaches anyone: a shared cache in front, or a tile cache the web servers share. A
    per-process cache (the default, in memory) would warm only the worker's own memory."""
    backend = settings.CACHES["tiles"]["BACKEND"].rsplit(".", 1)[-1]
    return bool(settings.TILE_SEED_BASE_URL) or backend not in ("LocMemCache", "DummyCache")


def defer_seeding(**kwargs) -> None:
    """Queue the seeding job in the current transaction (parcels.importing.core.data_loaded's receiver), when worth
    it; one job waiting is enough for any number of loads."""
    from procrastinate.contrib.django import app
    from procrastinate.exceptions import AlreadyEnqueued

    if not worth_seeding():
        return
    try:
        with transaction.atomic():  # a savepoint: the lock's unique violation must not break the load's transaction
            app.configure_task(TASK, queueing_lock=TASK).defer()
    except AlreadyEnqueued:
        pass
