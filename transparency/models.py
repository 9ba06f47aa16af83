"""The city in the open, as data: council decisions (مصوبات شورا) and municipal projects (پروژه‌های عمرانی), their
attachments and the staff's updates on them, citizens' comments (moderated) and who follows what.

A decision or a project has an optional place on the map: a point, a line or an area (one geometry column of any of
those types, or their multi- forms, in the municipality's CRS). Comments are plain text, shown escaped; their author
is personal data and never shown: the public sees a pseudonym (`Comment.pseudonym`, different on every decision or
project, told from nothing). A decision always has its date: the database refuses a row without one
(`transparency_decision_has_date`), and so do the admin and the loader, with the same words."""

import uuid

import jdatetime
from django.conf import settings
from django.contrib.gis.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from common.fields import MunicipalGeometryField
from parcels import lookups  # noqa: F401  (registers geom__isempty)
from transparency import lookups as _geomtype  # noqa: F401  (registers geom__geomtype)

# The shapes a place may take (PostGIS GeometryType names).
GEOMETRY_TYPES = ("POINT", "LINESTRING", "POLYGON", "MULTIPOINT", "MULTILINESTRING", "MULTIPOLYGON")
DATE_REQUIRED = _("A council decision needs its date (the date of the session that decided it).")


def jalali_year(day) -> int:
    """The Jalali year a date falls in (decision numbers start again each year)."""
    return jdatetime.date.fromgregorian(date=day).year


class PlaceChecked(models.Model):
    """A model with a `geom` place: its database constraints (valid, not empty, one of GEOMETRY_TYPES) are checked in
    Python by full_clean() (Django's constraint check cannot pass a geometry value to a spatial function), with the
    same rules and a message for the form's place field."""

    class Meta:
        abstract = True

    def validate_constraints(self, exclude=None):
        super().validate_constraints(exclude={*(exclude or ()), "geom"})

    def clean_fields(self, exclude=None):
        super().clean_fields(exclude)
        geom = self.geom
        if geom is None or "geom" in (exclude or ()):
            return
        from django.core.exceptions import ValidationError

        if geom.geom_type.upper() not in GEOMETRY_TYPES:
            raise ValidationError({"geom": _("A place is a point, a line, an area or several of one kind.")})
        if geom.empty:
            raise ValidationError({"geom": _("The place is empty.")})
        if not geom.valid:
            raise ValidationError({"geom": _("The place is not a valid shape (%(reason)s).")
                                   % {"reason": geom.valid_reason[:80]}})


def _place_constraints(model: str) -> list:
    return [models.CheckConstraint(condition=Q(geom__isnull=True) | Q(geom__isvalid=True),
                                   name=f"transparency_{model}_geom_valid"),
            models.CheckConstraint(condition=Q(geom__isnull=True) | Q(geom__isempty=False),
                                   name=f"transparency_{model}_geom_not_empty"),
            models.CheckConstraint(condition=Q(geom__isnull=True) | Q(geom__geomtype__in=GEOMETRY_TYPES),
                                   name=f"transparency_{model}_geom_type")]


class Project(PlaceChecked):
    """A municipal project: what is built or done, where, for how much, by which department, how far it has got."""

    class Status(models.TextChoices):
        PLANNED = "planned", _("Planned")
        IN_PROGRESS = "in_progress", _("In progress")
        DONE = "done", _("Done")
        SUSPENDED = "suspended", _("Suspended")

    code = models.SlugField(_("code"), max_length=60, unique=True,
                            help_text=_("The project's key in the data file (letters, digits, dashes)."))
    title = models.CharField(_("title"), max_length=200)
    title_en = models.CharField(_("English title"), max_length=200, blank=True)
    description = models.TextField(_("description"), blank=True)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.PLANNED)
    budget = models.BigIntegerField(_("budget (rials)"), null=True, blank=True)
    spent = models.BigIntegerField(_("spent so far (rials)"), null=True, blank=True)
    starts_on = models.DateField(_("start date"), null=True, blank=True)
    ends_on = models.DateField(_("end date (planned or actual)"), null=True, blank=True)
    department = models.CharField(_("responsible department"), max_length=200, blank=True)
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    geom = MunicipalGeometryField(_("place"), null=True, blank=True)
    demo = models.BooleanField(_("demo data"), default=False,
                               help_text=_("Made up for the demo; every page showing it says so."))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-starts_on", "-id"]
        verbose_name = _("municipal project")
        verbose_name_plural = _("municipal projects")
        constraints = [
            models.CheckConstraint(condition=Q(progress__gte=0, progress__lte=100),
                                   name="transparency_project_progress"),
            models.CheckConstraint(condition=Q(budget__isnull=True) | Q(budget__gte=0),
                                   name="transparency_project_budget"),
            models.CheckConstraint(condition=Q(spent__isnull=True) | Q(spent__gte=0),
                                   name="transparency_project_spent"),
            models.CheckConstraint(condition=Q(starts_on__isnull=True) | Q(ends_on__isnull=True)
                                   | Q(ends_on__gte=models.F("starts_on")), name="transparency_project_dates"),
            *_place_constraints("project"),
        ]

    def __str__(self):
        return self.title


class Decision(PlaceChecked):
    """A decision of the city council: its number (unique within its Jalali year), date, session, text, status,
    budget, place, and the projects it concerns."""

    class Status(models.TextChoices):
        UNDER_REVIEW = "under_review", _("Under review")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        AMENDED = "amended", _("Amended")
        REVOKED = "revoked", _("Revoked")

    number = models.CharField(_("decision number"), max_length=40)
    year = models.PositiveSmallIntegerField(_("year (Jalali)"), editable=False,
                                            help_text=_("The Jalali year of the decision's date."))
    decided_on = models.DateField(_("date of the decision"),
                                  error_messages={"null": DATE_REQUIRED, "blank": DATE_REQUIRED,
                                                  "required": DATE_REQUIRED})
    session = models.CharField(_("session"), max_length=120, blank=True)
    title = models.CharField(_("title"), max_length=300)
    title_en = models.CharField(_("English title"), max_length=300, blank=True)
    text = models.TextField(_("text of the decision"))
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.UNDER_REVIEW)
    budget = models.BigIntegerField(_("budget (rials)"), null=True, blank=True)
    geom = MunicipalGeometryField(_("place"), null=True, blank=True)
    projects = models.ManyToManyField(Project, blank=True, related_name="decisions", verbose_name=_("projects"))
    demo = models.BooleanField(_("demo data"), default=False,
                               help_text=_("Made up for the demo; every page showing it says so."))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    history = HistoricalRecords(m2m_fields=[projects])

    class Meta:
        ordering = ["-decided_on", "-id"]
        verbose_name = _("council decision")
        verbose_name_plural = _("council decisions")
        constraints = [
            models.CheckConstraint(condition=Q(decided_on__isnull=False), name="transparency_decision_has_date",
                                   violation_error_message=DATE_REQUIRED),
            models.UniqueConstraint(fields=["year", "number"], name="transparency_decision_number_per_year",
                                    violation_error_message=_("This year has a decision with this number already.")),
            models.CheckConstraint(condition=Q(budget__isnull=True) | Q(budget__gte=0),
                                   name="transparency_decision_budget"),
            *_place_constraints("decision"),
        ]
        indexes = [models.Index(fields=["year", "status"], name="transparency_decision_year")]

    def __str__(self):
        return f"{self.number}/{self.year} {self.title}"

    def clean(self):
        """The year follows the date; the number is unique within it (said by the form's number field)."""
        from django.core.exceptions import ValidationError

        if self.decided_on is None:
            return
        self.year = jalali_year(self.decided_on)
        if self.number and Decision.objects.filter(year=self.year, number=self.number).exclude(pk=self.pk).exists():
            raise ValidationError({"number": _("The year %(year)s has a decision numbered %(number)s already.")
                                   % {"year": self.year, "number": self.number}})

    def save(self, *args, **kwargs):
        if self.decided_on is not None:
            self.year = jalali_year(self.decided_on)
        super().save(*args, **kwargs)


class Target(models.Model):
    """What a row of the models below is about: one decision or one project (exactly one of the two)."""

    decision = models.ForeignKey(Decision, on_delete=models.CASCADE, null=True, blank=True,
                                 related_name="%(class)ss", verbose_name=_("council decision"))
    project = models.ForeignKey(Project, on_delete=models.CASCADE, null=True, blank=True,
                                related_name="%(class)ss", verbose_name=_("municipal project"))

    class Meta:
        abstract = True

    @property
    def target(self):
        return self.decision if self.decision_id else self.project

    @staticmethod
    def one_target(model: str):
        return models.CheckConstraint(condition=(Q(decision__isnull=False) & Q(project__isnull=True))
                                      | (Q(decision__isnull=True) & Q(project__isnull=False)),
                                      name=f"transparency_{model}_one_target")


def attachment_path(attachment, filename):
    """Under transparency/, a random name: files are served only by transparency/views.py (no media URL)."""
    return f"transparency/{attachment.public_id}{attachment.extension}"


class Attachment(Target):
    """A file of a decision or a project (the decision's signed text, a project's plan), checked on upload as every
    upload is (common/uploads.py: type by content, active PDF content, images re-encoded, virus scan). Public."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    title = models.CharField(_("title"), max_length=200, blank=True)
    file = models.FileField(_("file"), upload_to=attachment_path, max_length=200)
    name = models.CharField(_("file name"), max_length=200, editable=False)
    extension = models.CharField(max_length=8, editable=False)
    content_type = models.CharField(max_length=60, editable=False)
    size = models.PositiveIntegerField(_("size (bytes)"), editable=False, default=0)
    sha256 = models.CharField(max_length=64, editable=False)
    scan = models.CharField(max_length=12, editable=False, default="not_scanned")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                    editable=False)
    created_at = models.DateTimeField(_("added at"), auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        constraints = [Target.one_target("attachment")]

    def __str__(self):
        return self.title or self.name


class Update(Target):
    """A word from the municipality on a decision or a project ("the asphalt is laid"). Public once published; its
    followers are told when it is published."""

    text = models.TextField(_("text"), max_length=2000)
    published = models.BooleanField(_("published"), default=True)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True, editable=False)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                           editable=False)
    created_at = models.DateTimeField(_("written at"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("update")
        verbose_name_plural = _("updates")
        constraints = [Target.one_target("update")]

    def __str__(self):
        return self.text[:60]


class Comment(Target):
    """A citizen's comment, plain text. Waits for a moderator (`pending`) before anyone else sees it; a rejected one
    is seen by nobody but its author and staff. The author (a signed-in citizen) is never shown: `pseudonym` is."""

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting for moderation")
        PUBLISHED = "published", _("Published")
        REJECTED = "rejected", _("Rejected")

    # personal data (who wrote it): never public, not shown to moderators either
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                               related_name="transparency_comments", verbose_name=_("author"))
    pseudonym = models.CharField(_("shown as"), max_length=12)
    body = models.TextField(_("comment"), max_length=2000)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.PENDING, db_index=True)
    created_at = models.DateTimeField(_("written at"), db_index=True)
    moderated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="+", verbose_name=_("moderated by"))
    moderated_at = models.DateTimeField(_("moderated at"), null=True, blank=True)
    reason = models.CharField(_("reason for rejecting"), max_length=300, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("comment")
        verbose_name_plural = _("comments")
        permissions = [("moderate_comment", _("Can publish or reject citizens' comments"))]
        constraints = [Target.one_target("comment"),
                       models.CheckConstraint(condition=Q(state__in=["pending", "published", "rejected"]),
                                              name="transparency_comment_state")]

    def __str__(self):
        return f"{self.pseudonym}: {self.body[:40]}"


class Follower(Target):
    """A signed-in citizen who follows a decision or a project: told of a status change or a published update."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [Target.one_target("follower"),
                       models.UniqueConstraint(fields=["user", "decision"], condition=Q(decision__isnull=False),
                                               name="transparency_follower_decision"),
                       models.UniqueConstraint(fields=["user", "project"], condition=Q(project__isnull=False),
                                               name="transparency_follower_project")]
