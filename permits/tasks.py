"""The permits' jobs (procrastinate autodiscovers this module): the PDF of an issued document, made once."""

import procrastinate
from procrastinate.contrib.django import app


# Chromium may fail once (memory, a slot busy): tried again after 5, 25, 125 … seconds, five times in all.
@app.task(queue="permits", name="permits.render_issued",
          retry=procrastinate.RetryStrategy(max_attempts=5, exponential_wait=5))
def render_issued(issued_id: int) -> None:
    """Make and store the PDF of an issued permit or certificate (once: a second run finds it made)."""
    from permits import issuing

    issuing.render(issued_id)
