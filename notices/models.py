"""Notices: who wants what (Preference), what is said (Template), what was sent (Message, the outbox), campaigns
(Batch) and the local SMS backend's store (LocalSms)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

LANGUAGES = [("fa", _("Persian")), ("en", _("English"))]


class Channel(models.TextChoices):
    SMS = "sms", _("SMS")
    EMAIL = "email", _("E-mail")
    INBOX = "inbox", _("In-app inbox")


class Kind(models.TextChoices):
    SECURITY = "security", _("Security")
    TRANSACTIONAL = "transactional", _("Transactional")
    REMINDER = "reminder", _("Reminder")


class Status(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")
    DEAD = "dead", _("Dead (too many temporary errors)")


class ErrorKind(models.TextChoices):
    NONE = "", _("None")
    PERMANENT = "permanent", _("Permanent")
    TEMPORARY = "temporary", _("Temporary")


class Preference(models.Model):
    """A citizen's channels and language, keyed by mobile number, optionally linked to a user account."""

    phone = models.CharField(_("mobile number"), max_length=16, unique=True)
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="notice_preference", verbose_name=_("user"))
    email = models.EmailField(_("e-mail address"), blank=True)
    language = models.CharField(_("language"), max_length=2, choices=LANGUAGES, default="fa")
    by_sms = models.BooleanField(_("by SMS"), default=True)
    by_email = models.BooleanField(_("by e-mail"), default=False)
    by_inbox = models.BooleanField(_("in the inbox"), default=True)
    reminders_opt_out = models.BooleanField(_("no reminders"), default=False)
    opted_out_at = models.DateTimeField(_("opted out at"), null=True, blank=True)
    opt_out_source = models.CharField(_("opted out by"), max_length=20, blank=True,
                                      help_text=_("reply, settings or staff"))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("notice preference")
        verbose_name_plural = _("notice preferences")

    def __str__(self):
        return self.phone


class Template(models.Model):
    """What an event says on a channel in a language: Django template syntax over the event's context."""

    event = models.CharField(_("event"), max_length=100)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    language = models.CharField(_("language"), max_length=2, choices=LANGUAGES)
    subject = models.CharField(_("subject"), max_length=200, blank=True, help_text=_("E-mail and inbox only."))
    body = models.TextField(_("body"), help_text=_("Django template syntax; the event's context names the values."))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+", verbose_name=_("updated by"),
                                   help_text=_("Set when staff edit it; load_notice_templates then keeps the edit."))

    class Meta:
        verbose_name = _("notice template")
        verbose_name_plural = _("notice templates")
        constraints = [models.UniqueConstraint(fields=["event", "channel", "language"],
                                               name="notices_template_event_channel_language")]
        ordering = ["event", "channel", "language"]

    def __str__(self):
        return f"{self.event} / {self.channel} / {self.language}"


class Batch(models.Model):
    """A campaign: many reminders enqueued at once (notices.service.enqueue_campaign)."""

    name = models.CharField(_("name"), max_length=200)
    event = models.CharField(_("event"), max_length=100)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+", verbose_name=_("created by"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    rate = models.FloatField(_("messages per second"), default=0)
    rows = models.IntegerField(_("rows"), default=0)
    enqueued = models.IntegerField(_("enqueued"), default=0)
    skipped_opted_out = models.IntegerField(_("skipped: opted out"), default=0)
    skipped_invalid = models.IntegerField(_("skipped: not a mobile number"), default=0)
    skipped_existing = models.IntegerField(_("skipped: already sent"), default=0)

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-created_at"]

    def __str__(self):
        return self.name

    def report(self) -> dict[str, int]:
        """Messages of the campaign by status (every status present, zero when none)."""
        counts = dict(self.messages.values_list("status").annotate(n=models.Count("id")).order_by())
        return {status: counts.get(status, 0) for status in Status.values}


class Message(models.Model):
    """One notice on one channel: the outbox row, written in the transaction of its cause, delivered by workers."""

    idempotency_key = models.CharField(_("idempotency key"), max_length=200, unique=True)
    event = models.CharField(_("event"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    priority = models.SmallIntegerField(_("priority"), default=0, help_text=_("Higher is sent first."))
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    phone = models.CharField(_("mobile number"), max_length=16, blank=True)
    email = models.CharField(_("e-mail address"), max_length=254, blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                             related_name="notices", verbose_name=_("user"))
    language = models.CharField(_("language"), max_length=2, choices=LANGUAGES, default="fa")
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("body"), blank=True, help_text=_("Empty until a worker renders a campaign's message."))
    context = models.JSONField(_("context"), default=dict, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.IntegerField(_("attempts"), default=0)
    not_before = models.DateTimeField(_("not before"))
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    claimed_by = models.CharField(_("claimed by"), max_length=100, blank=True)
    provider = models.CharField(_("provider"), max_length=50, blank=True)
    provider_id = models.CharField(_("provider's message id"), max_length=100, blank=True)
    error_kind = models.CharField(_("error kind"), max_length=10, choices=ErrorKind.choices, blank=True)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created at"))
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    batch = models.ForeignKey(Batch, on_delete=models.SET_NULL, null=True, blank=True, related_name="messages",
                              verbose_name=_("campaign"))

    class Meta:
        verbose_name = _("notice")
        verbose_name_plural = _("notices")
        permissions = [("retry_message", _("Can retry failed or dead notices"))]
        indexes = [
            # the claim query (notices/queries.py CLAIM): only the rows still to send
            models.Index(fields=["-priority", "not_before"], name="notices_msg_due",
                         condition=Q(status__in=["queued", "sending"])),
            models.Index(fields=["provider", "provider_id"], name="notices_msg_provider",
                         condition=~Q(provider_id="")),
            models.Index(fields=["user", "channel", "-created_at"], name="notices_msg_inbox",
                         condition=Q(user__isnull=False)),
            models.Index(fields=["phone", "-created_at"], name="notices_msg_phone"),
            models.Index(fields=["status", "sent_at"], name="notices_msg_sent",
                         condition=Q(status="sent")),
        ]

    def __str__(self):
        return f"{self.event} → {self.phone or self.email or self.user_id} ({self.channel})"


class LocalSms(models.Model):
    """The local SMS backend's store: every SMS it 'sent', once per idempotency key."""

    key = models.CharField(_("idempotency key"), max_length=200, unique=True)
    phone = models.CharField(_("mobile number"), max_length=16, db_index=True)
    body = models.TextField(_("text"))
    parts = models.SmallIntegerField(_("parts"), default=1)
    sender = models.CharField(_("sender line"), max_length=20, blank=True)
    created_at = models.DateTimeField(_("sent at"), auto_now_add=True, db_index=True)
    duplicates = models.IntegerField(_("repeated sends"), default=0,
                                     help_text=_("Sends of the same key after the first (not delivered again)."))

    class Meta:
        verbose_name = _("local SMS")
        verbose_name_plural = _("local SMS outbox")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.phone}: {self.body[:30]}"
