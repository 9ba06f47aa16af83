"""Citizens (a Django user with a profile), their claims on owner records, sign-in codes, rate counters and the
audit log."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from common.text import masked

LANGUAGES = [("fa", _("Persian")), ("en", _("English"))]


class Citizen(models.Model):
    """A citizen's account: a Django user (username = the mobile number, no usable password, group `citizen`)
    with their mobile number, national ID (set once a claim on an owner record is verified) and language."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="citizen",
                                verbose_name=_("user"))
    mobile = models.CharField(_("mobile number"), max_length=11, unique=True)
    national_id = models.CharField(_("national ID"), max_length=10, unique=True, null=True, blank=True)
    language = models.CharField(_("language"), max_length=2, choices=LANGUAGES, default="fa")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("citizen")
        verbose_name_plural = _("citizens")
        constraints = [
            models.CheckConstraint(condition=Q(mobile__regex=r"^09[0-9]{9}$"), name="citizen_mobile_form"),
            models.CheckConstraint(condition=Q(national_id__regex=r"^[0-9]{10}$"), name="citizen_national_id_form"),
        ]

    def __str__(self):
        # masked wherever a citizen is named in passing (links, breadcrumbs, foreign keys); the number in full only
        # through the admin's recorded column (parcels.privacy.masked_column)
        return masked(self.mobile)


class PropertyLink(models.Model):
    """A citizen's claim to be the owner with a national ID: verified at once when an owner record with that ID
    carries the citizen's mobile number, else pending until staff decide (so nobody sees another person's parcels by
    typing their ID)."""

    class Status(models.TextChoices):
        VERIFIED = "verified", _("Verified")
        PENDING = "pending", _("Pending")
        REJECTED = "rejected", _("Rejected")

    class Method(models.TextChoices):
        MOBILE_MATCH = "mobile_match", _("Mobile number on the owner record")
        STAFF = "staff", _("Confirmed by staff")

    citizen = models.ForeignKey(Citizen, on_delete=models.CASCADE, related_name="links", verbose_name=_("citizen"))
    national_id = models.CharField(_("national ID"), max_length=10)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    method = models.CharField(_("method"), max_length=20, choices=Method.choices, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("decided by"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("property link")
        verbose_name_plural = _("property links")
        ordering = ["-created_at"]
        constraints = [
            # one open or verified claim per citizen and ID (a rejected one may be claimed again)
            models.UniqueConstraint(fields=["citizen", "national_id"], condition=~Q(status="rejected"),
                                    name="propertylink_one_open_claim"),
            # an ID is verified for one citizen at most
            models.UniqueConstraint(fields=["national_id"], condition=Q(status="verified"),
                                    name="propertylink_verified_once"),
            models.CheckConstraint(condition=Q(status__in=["verified", "pending", "rejected"]),
                                   name="propertylink_status_valid"),
        ]

    def __str__(self):
        return f"{self.citizen} → {self.national_id[:3]}…{self.national_id[-2:]} ({self.status})"


class SigninCode(models.Model):
    """A number's one-time sign-in code (only its HMAC), its wrong tries and lock (rules: accounts/signin.py). One
    row per number: a new code replaces the old one."""

    phone = models.CharField(max_length=11, primary_key=True)
    code_hash = models.CharField(max_length=64, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)
    tries = models.PositiveSmallIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("sign-in code")
        verbose_name_plural = _("sign-in codes")


class RateCounter(models.Model):
    """A fixed-window counter of a rate limit (key = scope:seconds:value), bumped by one upsert
    (accounts/ratelimit.py). The table is UNLOGGED (migration 0003): no wait for the WAL on every bump."""

    key = models.CharField(max_length=120, primary_key=True)
    window_start = models.BigIntegerField(help_text="epoch seconds")
    count = models.IntegerField(default=0)

    class Meta:
        verbose_name = _("rate counter")
        verbose_name_plural = _("rate counters")


class AuditEvent(models.Model):
    """What happened around sign-in and accounts, for staff with accounts.view_auditevent. Numbers are masked."""

    class Kind(models.TextChoices):
        CODE_REQUESTED = "code_requested", _("Sign-in code requested")
        CODE_VERIFIED = "code_verified", _("Sign-in code verified")
        SIGNIN_FAILED = "signin_failed", _("Sign-in failed")
        LOCKOUT = "lockout", _("Number locked out")
        RATE_LIMITED = "rate_limited", _("Rate limited")
        LINK_CREATED = "link_created", _("Property link requested")
        LINK_VERIFIED = "link_verified", _("Property link verified")
        LINK_REJECTED = "link_rejected", _("Property link rejected")
        STAFF_SIGNIN = "staff_signin", _("Staff signed in")
        STAFF_SIGNIN_FAILED = "staff_signin_failed", _("Staff sign-in failed")
        OTP_FAILED = "otp_failed", _("Two-factor code wrong")
        OTP_ENROLLED = "otp_enrolled", _("Two-factor device enrolled")
        SESSION_EXPIRED = "session_expired", _("Session expired (idle)")
        SIGNED_OUT = "signed_out", _("Signed out")
        API_TOKEN_CREATED = "api_token_created", _("API token created")
        API_TOKEN_REVOKED = "api_token_revoked", _("API token revoked")

    at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                             related_name="+", verbose_name=_("user"))
    phone = models.CharField(_("mobile number (masked)"), max_length=16, blank=True)
    address = models.GenericIPAddressField(_("client address"), null=True, blank=True)
    detail = models.JSONField(_("detail"), default=dict, blank=True)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-at", "-id"]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.kind}"


class ApiToken(models.Model):
    """A personal API token for QGIS, GDAL and scripts (accounts/apitokens.py, accounts/apiauth.py). Only its SHA-256
    is kept (the secret is shown once, when it is made); `prefix`, the token's first characters, tells tokens apart in
    lists. A token works until it is revoked or its expiry passes. `two_factor`: made by its owner in a session
    verified by a TOTP code, so it counts as two-factor verified (staff_otp_required)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens",
                             verbose_name=_("user"))
    name = models.CharField(_("name"), max_length=100, help_text=_("What it is for, e.g. QGIS on my laptop."))
    prefix = models.CharField(_("prefix"), max_length=16, editable=False)
    digest = models.CharField(max_length=64, unique=True, editable=False, help_text="SHA-256 of the token, hex")
    two_factor = models.BooleanField(_("made after a two-factor sign-in"), default=False, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+", editable=False, verbose_name=_("created by"))
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True,
                                      help_text=_("Empty: until it is revoked."))
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(digest__regex=r"^[0-9a-f]{64}$"),
                                              name="apitoken_digest_form")]

    def __str__(self):
        return f"{self.prefix}… ({self.name})"
