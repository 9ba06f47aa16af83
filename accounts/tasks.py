"""accounts' procrastinate task (autodiscovered): hourly housekeeping of the sign-in tables."""

from procrastinate.contrib.django import app


@app.periodic(cron="41 * * * *", periodic_id="accounts.purge")
@app.task(name="accounts.purge", queue="accounts", queueing_lock="accounts.purge")
def purge(timestamp: int) -> int:
    """Rate counters whose window is over, and sign-in code rows idle for a day (no lock running)."""
    from accounts import service

    counters, codes = service.purge()
    return counters + codes
