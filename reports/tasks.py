"""The reports' procrastinate tasks (autodiscovered): making the clean JPEG of an uploaded photo."""

from procrastinate import RetryStrategy
from procrastinate.contrib.django import app


# A storage that fails (a full disk, S3 out of reach) leaves the photo processing and the job is tried again; a photo
# that cannot be decoded is no error of the job: it is marked broken (reports.photos.process).
@app.task(name="reports.process_photo", queue="reports",
          retry=RetryStrategy(max_attempts=6, exponential_wait=5, retry_exceptions={OSError}))
def process_photo(photo_id: int) -> str:
    """Decode an uploaded photo whole, store it upright and without metadata with its thumbnail, delete the raw
    upload (reports.photos.process)."""
    from reports import photos

    return photos.process(photo_id)
