"""Reports of problems in the city (the 137 line on the map): categories and departments (data, kept by staff, with
history), routing rules, the reports themselves, who follows each one, their photos and their public timeline.

The reporter's phone number and user are personal data: never in public answers (reports/public.py builds those from
an explicit list of fields), recorded when staff see them (parcels.privacy). A report's `public_geom` is what the
public map shows: the place itself, or for categories about private homes (`private_place`) the centre of the block
(or a 100 m grid cell outside blocks)."""

import uuid

from django.conf import settings
from django.contrib.gis.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from common.fields import MunicipalPointField
from common.text import masked
from parcels.models import District, Parcel
from reports import workflow



class Department(models.Model):
    """A unit that fixes things (street lighting, waste, roads, building control…); its staff see its inbox."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    name_en = models.CharField(_("English name"), max_length=120, blank=True)
    staff = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="report_departments",
                                   verbose_name=_("staff"))
    active = models.BooleanField(_("active"), default=True)
    history = HistoricalRecords(m2m_fields=[staff])

    class Meta:
        ordering = ["code"]
        verbose_name = _("department")
        verbose_name_plural = _("departments")

    def __str__(self):
        return self.name


class Category(models.Model):
    """What can be reported. Its department and SLA route and time a report; `needs_parcel` (illegal construction)
    makes the reporter pick a parcel; `private_place` rounds the public location to the block."""

    code = models.SlugField(_("code"), max_length=40, unique=True,
                            help_text=_("Also the Open311 service_code."))
    name = models.CharField(_("name"), max_length=120)
    name_en = models.CharField(_("English name"), max_length=120, blank=True)
    description = models.TextField(_("description"), blank=True)
    description_en = models.TextField(_("English description"), blank=True)
    group = models.CharField(_("group"), max_length=80, blank=True, help_text=_("Open311 group"))
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="categories",
                                   verbose_name=_("department"))
    sla_days = models.PositiveSmallIntegerField(_("days to fix (SLA)"), default=7)
    needs_parcel = models.BooleanField(_("about a parcel"), default=False,
                                       help_text=_("The reporter picks a parcel (e.g. illegal construction)."))
    private_place = models.BooleanField(_("about private homes"), default=False,
                                        help_text=_("The public map shows the block, not the place."))
    colour = models.CharField(_("colour"), max_length=7, default="#e65100")
    order = models.SmallIntegerField(_("order"), default=0)
    active = models.BooleanField(_("active"), default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["order", "code"]
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        constraints = [models.CheckConstraint(condition=Q(sla_days__gte=1), name="reports_category_sla_positive"),
                       models.CheckConstraint(condition=Q(colour__regex=r"^#[0-9A-Fa-f]{6}$"),
                                              name="reports_category_colour")]

    def __str__(self):
        return self.name


class Routing(models.Model):
    """Reports of `category` in `district` go to `department` (instead of the category's own)."""

    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="routes",
                                 verbose_name=_("category"))
    district = models.ForeignKey(District, on_delete=models.CASCADE, verbose_name=_("district"))
    department = models.ForeignKey(Department, on_delete=models.PROTECT, verbose_name=_("department"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")
        constraints = [models.UniqueConstraint(fields=["category", "district"], name="reports_routing_unique")]


class Report(models.Model):
    class Status(models.TextChoices):
        SUBMITTED = workflow.SUBMITTED, _("Submitted")
        ACCEPTED = workflow.ACCEPTED, _("Accepted")
        ASSIGNED = workflow.ASSIGNED, _("Assigned to a crew")
        IN_PROGRESS = workflow.IN_PROGRESS, _("In progress")
        RESOLVED = workflow.RESOLVED, _("Resolved")
        REJECTED = workflow.REJECTED, _("Rejected")
        MERGED = workflow.MERGED, _("Merged into another report")
        CLOSED = workflow.CLOSED, _("Closed")

    class Source(models.TextChoices):
        WEB = "web", _("Web")
        OPEN311 = "open311", _("Open311 client")
        STAFF = "staff", _("Staff (phone line)")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tracking_code = models.CharField(_("tracking code"), max_length=10, unique=True)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="reports",
                                 verbose_name=_("category"))
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="reports",
                                   verbose_name=_("department"))
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.SUBMITTED)
    geom = MunicipalPointField(_("place"))
    public_geom = MunicipalPointField(_("place shown to the public"))
    parcel = models.ForeignKey(Parcel, on_delete=models.SET_NULL, null=True, blank=True, related_name="reports",
                               verbose_name=_("parcel"))
    district = models.ForeignKey(District, on_delete=models.SET_NULL, null=True, blank=True,
                                 verbose_name=_("district"))
    description = models.TextField(_("description"), max_length=2000)
    address = models.CharField(_("address"), max_length=300, blank=True)
    # personal data (parcels/privacy.py): never public
    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="reports", verbose_name=_("reporter"))
    reporter_phone = models.CharField(_("reporter's mobile number"), max_length=16, blank=True)
    language = models.CharField(_("language"), max_length=2, default="fa")
    source = models.CharField(_("source"), max_length=10, choices=Source.choices, default=Source.WEB)
    created_at = models.DateTimeField(_("reported at"), db_index=True)
    updated_at = models.DateTimeField(_("updated at"))
    due_at = models.DateTimeField(_("due (SLA)"))
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    crew = models.CharField(_("crew"), max_length=120, blank=True)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="assigned_reports", verbose_name=_("assigned to"))
    status_note = models.TextField(_("staff's last word"), blank=True,
                                   help_text=_("Shown to the reporter and the public (a rejection's reason)."))
    merged_into = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="merged_reports", verbose_name=_("merged into"))
    voices = models.PositiveIntegerField(_("people who reported it too"), default=0)
    rating = models.PositiveSmallIntegerField(_("rating (1-5)"), null=True, blank=True)
    rating_comment = models.CharField(_("rating comment"), max_length=500, blank=True)
    reopened = models.PositiveSmallIntegerField(_("times reopened"), default=0)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("report")
        verbose_name_plural = _("reports")
        permissions = [("handle_report", _("Can handle reports of their departments")),
                       ("handle_all_reports", _("Can handle the reports of every department")),
                       ("moderate_photo", _("Can moderate report photos"))]
        indexes = [
            models.Index(fields=["department", "status", "due_at"], name="reports_inbox"),
            models.Index(fields=["category", "created_at"], name="reports_category_time"),
            models.Index(fields=["reporter_phone", "created_at"], name="reports_phone_time"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5),
                                   name="reports_rating_1_5"),
            models.CheckConstraint(condition=~Q(status=workflow.MERGED) | Q(merged_into__isnull=False),
                                   name="reports_merged_has_target"),
            models.CheckConstraint(condition=Q(status__in=workflow.STATUSES), name="reports_status_known"),
        ]

    def __str__(self):
        return f"{self.tracking_code} ({self.category_id})"

    @property
    def is_open(self) -> bool:
        return workflow.is_open(self.status)

    @property
    def masked_phone(self) -> str:
        return masked(self.reporter_phone)


class Follower(models.Model):
    """Who hears about a report: its reporter and everyone who added their voice (a merged report's followers move
    to the report it was merged into). By user, or by phone number for someone not signed in."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="followers")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True)
    phone = models.CharField(max_length=16, blank=True)
    language = models.CharField(max_length=2, default="fa")
    is_reporter = models.BooleanField(default=False)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["report", "phone"], condition=~Q(phone=""), name="reports_follower_phone"),
            models.UniqueConstraint(fields=["report", "user"], condition=Q(user__isnull=False),
                                    name="reports_follower_user"),
            models.CheckConstraint(condition=Q(user__isnull=False) | ~Q(phone=""), name="reports_follower_someone"),
        ]


class Event(models.Model):
    """The report's timeline: every status change, assignment, merge, voice, rating and reopening. `public` ones are
    shown on the report's public page (without who did it)."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    kind = models.CharField(max_length=20)  # status | voice | rating | reopen | merge | photo | note
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12, blank=True)
    note = models.TextField(blank=True)
    public = models.BooleanField(default=True)

    class Meta:
        ordering = ["at", "id"]


def photo_path(photo, filename):
    return f"reports/{photo.report.public_id}/{photo.public_id}.jpg"


def thumb_path(photo, filename):
    return f"reports/{photo.report.public_id}/{photo.public_id}-thumb.jpg"


def incoming_path(photo, filename):
    """The upload as received, until the job has made the clean JPEG of it: under reports/incoming/, a place of the
    storage no URL serves (photos are served only by reports/photo_views.py, and never this file)."""
    return f"reports/incoming/{photo.public_id}"


def staged_path(staged, filename):
    """A photo uploaded while its form is filled in: kept as it came under reports/incoming/ (nothing serves it), the
    same place as a photo's raw upload, so that attaching it to a report moves nothing."""
    return f"reports/incoming/{staged.token}"


class StagedPhoto(models.Model):
    """A photo uploaded while its reporter still fills in the form (POST /api/reports/photos: checked as an attached
    photo is, its EXIF place read), waiting to be attached to their report by its `token` (reports/staging.py). The
    token works once, only for the citizen and the session that uploaded it, until `expires_at`; the periodic job
    reports.purge_staged_photos deletes the rows and raw files of the ones never attached."""

    token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    session = models.CharField(max_length=64)  # SHA-256 of the session key it was uploaded in
    incoming = models.FileField(upload_to=staged_path, max_length=200)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    lon = models.FloatField(null=True, blank=True)  # the place in its EXIF (WGS84), if any
    lat = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("staged photo")
        verbose_name_plural = _("staged photos")


class Photo(models.Model):
    """A photo as stored: re-encoded as JPEG without any metadata (reports/photos.py), and its thumbnail. Public
    only once approved by a moderator; the reporter and staff see it before.

    A photo is `processing` from its upload (checked cheaply: size, type, header) until the job decodes it whole and
    stores the clean JPEG (`ready`), or finds it unreadable (`broken`, with the reason); until ready nobody is served
    any of it, and the raw upload (`incoming`) is never served."""

    class Kind(models.TextChoices):
        REPORT = "report", _("Reporter's photo")
        RESOLUTION = "resolution", _("Photo of the fix")

    class Moderation(models.TextChoices):
        PENDING = "pending", _("Waiting for moderation")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    class State(models.TextChoices):
        PROCESSING = "processing", _("Being processed")
        READY = "ready", _("Ready")
        BROKEN = "broken", _("Could not be read")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="photos")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.REPORT)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PROCESSING)
    refusal = models.CharField(max_length=300, blank=True)  # why a broken photo could not be used
    incoming = models.FileField(upload_to=incoming_path, max_length=200, blank=True)
    image = models.FileField(upload_to=photo_path, max_length=200, blank=True)
    thumbnail = models.FileField(upload_to=thumb_path, max_length=200, blank=True)
    width = models.PositiveIntegerField()  # the upload's, from its header, until processed: then the stored JPEG's
    height = models.PositiveIntegerField()
    bytes = models.PositiveIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    moderation = models.CharField(max_length=10, choices=Moderation.choices, default=Moderation.PENDING,
                                  db_index=True)
    moderated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    moderated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("photo")
        verbose_name_plural = _("photos")
