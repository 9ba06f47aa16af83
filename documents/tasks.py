"""The documents' job (procrastinate autodiscovers this module): print, sign and store an issued document, once."""

import procrastinate
from procrastinate.contrib.django import app


# The printer may fail once (memory, a slot busy): tried again after 5, 25, 125 … seconds, five times in all.
@app.task(queue="documents", name="documents.render",
          retry=procrastinate.RetryStrategy(max_attempts=5, exponential_wait=5))
def render_document(document_id: int) -> None:
    from documents import rendering

    rendering.render(document_id)
