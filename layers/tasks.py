"""The layers' jobs (procrastinate autodiscovers this module)."""

from procrastinate.contrib.django import app


@app.task(name="layers.seed_tiles", queue="jobs", queueing_lock="layers.seed_tiles")
def seed_tiles() -> int:
    """Warm the low-zoom tiles after a load (layers/seeding.py)."""
    from layers import seeding

    return seeding.seed()
