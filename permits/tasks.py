"""The permits' jobs (procrastinate autodiscovers this module): the PDF of an issued document, made once."""

from procrastinate.contrib.django import app


@app.task(queue="permits", name="permits.render_issued")
def render_issued(issued_id: int) -> None:
    """Make and store the PDF of an issued permit or certificate (once: a second run finds it made)."""
    from permits import issuing

    issuing.render(issued_id)
