"""The local SMS backend: keeps every SMS in notices_localsms (one row per idempotency key) instead of sending it.
For development, demos, tests and closed networks without a gateway; `manage.py sms_outbox 0912…` prints the last
ones and the admin lists them. A key sent again (a worker killed after sending, before recording) is counted in
`duplicates`, not stored twice: the same guarantee a gateway's `localid` gives."""

import time

from django.conf import settings
from django.db import connection

from notices import queries
from notices.providers.base import OutgoingSms, SendResult, SmsProvider
from notices.sms import parts


class LocalSmsBackend(SmsProvider):
    name = "local"

    def send(self, sms: OutgoingSms) -> SendResult:
        delay = settings.NOTICES_LOCAL_SMS_DELAY
        if delay:
            time.sleep(delay)
        row_id, _inserted = self.store(sms)
        return SendResult(provider_id=f"local-{row_id}", delivered=True)

    @staticmethod
    def store(sms: OutgoingSms) -> tuple[int, bool]:
        """(row id, whether it is new); a repeated key only counts a duplicate."""
        with connection.cursor() as cursor:
            cursor.execute(queries.LOCAL_SMS_UPSERT, {
                "key": sms.key, "phone": sms.phone, "body": sms.body, "parts": parts(sms.body), "sender": sms.sender,
            })
            row_id, inserted = cursor.fetchone()
        return row_id, inserted
