"""The cadastre's procrastinate tasks (autodiscovered): keeping the land-use overview of the tiles current
(parcels/overview.py)."""

from procrastinate.contrib.django import app

REBUILD_TASK = "parcels.rebuild_overview"
REFRESH_TASK = "parcels.refresh_overview"


# queueing_lock: one waiting job at most; edits and imports arriving while it waits are served by that one
@app.task(name=REBUILD_TASK, queue="parcels", queueing_lock=REBUILD_TASK)
def rebuild_overview() -> dict:
    """The whole overview afresh, after a load or import of parcels or blocks."""
    from common.db import batch_session
    from parcels import overview

    with batch_session():
        return {str(band): rows for band, rows in overview.rebuild().items()}


@app.task(name=REFRESH_TASK, queue="parcels", queueing_lock=REFRESH_TASK)
def refresh_overview() -> int:
    """The mosaic regions single edits marked stale."""
    from parcels import overview

    return overview.refresh_stale()
