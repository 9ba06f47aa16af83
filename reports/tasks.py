"""The reports' procrastinate tasks (autodiscovered): making the clean JPEG of an uploaded photo, and deleting the
photos uploaded for a report form that was never sent."""

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


@app.periodic(cron="*/30 * * * *", periodic_id="reports.purge_staged_photos")
@app.task(name="reports.purge_staged_photos", queue="reports", queueing_lock="reports.purge_staged_photos")
def purge_staged_photos(timestamp: int) -> int:
    """Delete the photos uploaded while a form was filled in and never attached, once REPORTS_STAGED_PHOTO_HOURS
    have passed (reports.staging.purge)."""
    from reports import staging

    return staging.purge()
