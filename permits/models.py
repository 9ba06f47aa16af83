"""Permit cases: building permits, completion certificates, certificates and inquiries asked online and decided step
by step.

- A **case type** (building permit, completion certificate, ...) has **workflow versions**: its definition as data
  (steps, desks, actions, documents, fees, SLA days, notices; data/permits/*.toml, permits/definitions.py checks it).
  A case keeps the version it started with, so a changed definition never changes a running case's path.
- A **desk** is where staff act at a step (intake, inspection, planning, revenue, the planning head, the mayor): its
  staff see its inbox. The applicant is a desk of its own ("applicant") for steps that wait for them.
- A **case** is one request for one parcel: its applicant (a citizen's account; an engineer acting for an owner with
  the owner's consent), the proposal and the eligibility decision frozen at submission, its step and status, the fee
  bill's reference, and `revision`, which every change increments (two staff acting at once: the second gets 409).
- Every change is a **case event** (who, when, from, to, note, documents). Documents are versioned files (never
  overwritten) with a checksum, in Django's storage. An **issued document** (the permit, a certificate) has a
  verification code that the public page confirms.

Applicants' mobiles, names and national IDs are personal data: never in public answers (permits/public.py builds
those from an explicit list of fields), recorded when staff see them (parcels.privacy)."""

import uuid

from django.conf import settings
from django.contrib.gis.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from common.fields import MunicipalPointField
from parcels.models import Parcel



class Desk(models.Model):
    """Where staff act on a step of a case (a role in the permit office); its staff see its inbox."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    name_en = models.CharField(_("English name"), max_length=120, blank=True)
    staff = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="permit_desks",
                                   verbose_name=_("staff"))
    active = models.BooleanField(_("active"), default=True)
    history = HistoricalRecords(m2m_fields=[staff])

    class Meta:
        ordering = ["code"]
        verbose_name = _("desk")
        verbose_name_plural = _("desks")

    def __str__(self):
        return self.name


class CaseType(models.Model):
    """What can be asked: a building permit, a completion certificate... Its path is its current workflow."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    name_en = models.CharField(_("English name"), max_length=120, blank=True)
    order = models.PositiveSmallIntegerField(_("order"), default=100)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["order", "code"]
        verbose_name = _("case type")
        verbose_name_plural = _("case types")

    def __str__(self):
        return self.name

    def current(self) -> "Workflow | None":
        return self.workflows.order_by("-version").first()


class Workflow(models.Model):
    """One version of a case type's definition (permits/definitions.py describes and checks it). Never changed
    once a case uses it: an edit (a file loaded again, or the admin) makes a new version."""

    case_type = models.ForeignKey(CaseType, on_delete=models.PROTECT, related_name="workflows",
                                  verbose_name=_("case type"))
    version = models.PositiveIntegerField(_("version"))
    definition = models.JSONField(_("definition"))
    sha256 = models.CharField(max_length=64, help_text=_("Of the definition as stored: equal files load once."))
    source = models.CharField(_("source"), max_length=300, blank=True)
    is_demo = models.BooleanField(_("demo definition"), default=False,
                                  help_text=_("A demonstration the municipality replaces with its own."))
    loaded_at = models.DateTimeField(_("loaded at"), auto_now_add=True)
    loaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        ordering = ["case_type", "-version"]
        constraints = [models.UniqueConstraint(fields=["case_type", "version"], name="permits_workflow_version")]
        verbose_name = _("workflow version")
        verbose_name_plural = _("workflow versions")

    def __str__(self):
        return f"{self.case_type.code} v{self.version}"


class Engineer(models.Model):
    """A licensed engineer (their professional body's licence number) who may apply for owners, with consent."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="permit_engineer",
                                verbose_name=_("user"))
    licence_number = models.CharField(_("licence number"), max_length=30, unique=True)
    full_name = models.CharField(_("full name"), max_length=120)
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True,
                                       help_text=_("Staff checked the licence; until then the engineer cannot apply."))
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("engineer")
        verbose_name_plural = _("engineers")

    def __str__(self):
        return f"{self.full_name} ({self.licence_number})"


class Consent(models.Model):
    """An owner's consent that an engineer applies for their parcel: a code sent to the owner's mobile, typed back by
    the engineer. Only the code's hash is kept."""

    engineer = models.ForeignKey(Engineer, on_delete=models.CASCADE, related_name="consents")
    parcel = models.ForeignKey(Parcel, on_delete=models.PROTECT, related_name="+")
    owner_phone = models.CharField(max_length=11)
    code_hash = models.CharField(max_length=64)
    tries = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    confirmed_at = models.DateTimeField(null=True, blank=True)
    used_by = models.OneToOneField("Case", null=True, blank=True, on_delete=models.SET_NULL, related_name="consent")

    class Meta:
        indexes = [models.Index(fields=["engineer", "parcel"])]


class Case(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        OPEN = "open", _("In progress")
        RETURNED = "returned", _("Returned for correction")
        AWAITING_PAYMENT = "awaiting_payment", _("Awaiting payment")
        ISSUED = "issued", _("Issued")
        REFUSED = "refused", _("Refused")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tracking_code = models.CharField(_("tracking code"), max_length=12, unique=True, null=True, blank=True)
    case_type = models.ForeignKey(CaseType, on_delete=models.PROTECT, related_name="cases",
                                  verbose_name=_("case type"))
    workflow = models.ForeignKey(Workflow, on_delete=models.PROTECT, related_name="cases")
    work = models.CharField(_("kind of work"), max_length=40, blank=True)
    parcel = models.ForeignKey(Parcel, on_delete=models.PROTECT, related_name="permit_cases",
                               verbose_name=_("parcel"))
    applicant = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="permit_cases",
                                  verbose_name=_("applicant"))
    applicant_phone = models.CharField(_("applicant's mobile"), max_length=11)
    engineer = models.ForeignKey(Engineer, null=True, blank=True, on_delete=models.PROTECT, related_name="cases",
                                 verbose_name=_("engineer"))
    language = models.CharField(max_length=2, default="fa")
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.DRAFT,
                              db_index=True)
    step = models.CharField(_("step"), max_length=40)
    desk = models.ForeignKey(Desk, null=True, blank=True, on_delete=models.PROTECT, related_name="cases",
                             verbose_name=_("desk"), help_text=_("Who holds the case now (none: the applicant)."))
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="assigned_permit_cases", verbose_name=_("assigned to"))
    step_entered_at = models.DateTimeField(null=True, blank=True)
    step_due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    proposal = models.JSONField(_("proposal"), default=dict, blank=True)
    decision = models.JSONField(_("eligibility decision at submission"), null=True, blank=True)
    fees = models.JSONField(_("fees"), default=list, blank=True)
    fee_total = models.BigIntegerField(default=0)
    bill = models.UUIDField(_("fee bill"), null=True, blank=True)
    outcome = models.JSONField(default=dict, blank=True,
                               help_text=_("What steps recorded: the planning position, a commission's decision..."))
    status_note = models.TextField(blank=True, help_text=_("The last reason given to the applicant."))
    revision = models.PositiveIntegerField(default=0, help_text=_("Every change adds one (concurrent edits: 409)."))
    created_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(null=True, blank=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        indexes = [models.Index(fields=["desk", "status", "step_due_at"], name="permits_case_inbox"),
                   models.Index(fields=["parcel", "status"], name="permits_case_parcel")]
        permissions = [("act_on_case", "Can act on permit cases at their desks"),
                       ("act_at_any_desk", "Can act on permit cases at every desk"),
                       ("view_archive", "Can search the parcels' document archive")]
        verbose_name = _("permit case")
        verbose_name_plural = _("permit cases")

    def __str__(self):
        return self.tracking_code or f"draft {self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status in (self.Status.OPEN, self.Status.RETURNED, self.Status.AWAITING_PAYMENT)


class CaseEvent(models.Model):
    """One change of a case: a move between steps, a comment, a document, a payment, a site visit."""

    class Kind(models.TextChoices):
        SUBMIT = "submit", _("Submitted")
        APPROVE = "approve", _("Approved")
        RETURN = "return", _("Returned for correction")
        RESUBMIT = "resubmit", _("Resubmitted")
        REJECT = "reject", _("Refused")
        SITE_VISIT = "site_visit", _("Site visit requested")
        VISITED = "visited", _("Site visited")
        DECISION = "decision", _("Decision recorded")
        PAYMENT = "payment", _("Fee paid")
        ISSUE = "issue", _("Issued")
        ASSIGN = "assign", _("Assigned")
        COMMENT = "comment", _("Comment")
        DOCUMENT = "document", _("Document added")
        WITHDRAW = "withdraw", _("Withdrawn")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(db_index=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    desk = models.CharField(max_length=40, blank=True, help_text=_("The desk (role) the actor acted for."))
    from_step = models.CharField(max_length=40, blank=True)
    to_step = models.CharField(max_length=40, blank=True)
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20, blank=True)
    note = models.TextField(blank=True)
    internal = models.BooleanField(default=False, help_text=_("A staff comment the applicant does not see."))
    documents = models.JSONField(default=list, blank=True, help_text=_("Ids of the documents this change names."))
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["case", "at"], name="permits_event_case")]


def document_path(instance, filename):
    # the stored name says nothing of the person; the original name is kept in the row
    return f"permits/{instance.parcel_id}/{uuid.uuid4().hex}{instance.extension}"


class Document(models.Model):
    """A file in a parcel's archive: uploaded to a case, made by a site visit, or issued. Never overwritten: a
    correction is a new row with `version` + 1 that `supersedes` the old one."""

    parcel = models.ForeignKey(Parcel, on_delete=models.PROTECT, related_name="permit_documents")
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.PROTECT, related_name="documents")
    kind = models.CharField(_("kind"), max_length=40, help_text=_("The document type's code in the workflow."))
    name = models.CharField(_("file name"), max_length=200)
    file = models.FileField(upload_to=document_path, max_length=300)
    extension = models.CharField(max_length=10)
    content_type = models.CharField(max_length=100, help_text=_("What libmagic found, not what was declared."))
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64, db_index=True)
    version = models.PositiveSmallIntegerField(default=1)
    supersedes = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="superseded_by")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True, db_index=True)
    step = models.CharField(max_length=40, blank=True)
    scan = models.CharField(max_length=20, default="not_scanned",
                            help_text=_("clean / not_scanned (no scanner configured)"))
    issued = models.BooleanField(default=False, help_text=_("Made by the municipality (a permit, a certificate)."))

    class Meta:
        ordering = ["-uploaded_at"]
        indexes = [models.Index(fields=["parcel", "kind"], name="permits_doc_parcel_kind")]
        verbose_name = _("document")
        verbose_name_plural = _("documents")

    def __str__(self):
        return f"{self.kind} v{self.version}: {self.name}"


class SiteVisit(models.Model):
    """What an inspector found on the parcel: where they stood, what they saw, the photos (documents)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="visits")
    inspector = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField()
    point = MunicipalPointField(null=True, blank=True)
    findings = models.TextField()
    matches_permit = models.BooleanField(null=True, blank=True,
                                         help_text=_("For inspections against a permit (completion certificates)."))
    photos = models.ManyToManyField(Document, blank=True, related_name="+")


class Issued(models.Model):
    """A permit or certificate the municipality issued at the end of a case. Its PDF is a Document; the
    verification code leads to the public page that confirms it (and says so when it was revoked or replaced)."""

    case = models.OneToOneField(Case, on_delete=models.PROTECT, related_name="issued")
    parcel = models.ForeignKey(Parcel, on_delete=models.PROTECT, related_name="issued_permits")
    kind = models.CharField(max_length=40, help_text=_("permit, completion_certificate, certificate, inquiry..."))
    number = models.CharField(_("number"), max_length=30, unique=True)
    verification_code = models.CharField(_("verification code"), max_length=16, unique=True)
    issued_at = models.DateTimeField()
    valid_until = models.DateField(null=True, blank=True)
    approved = models.JSONField(default=dict, help_text=_("What was approved: floors, area, use, units, parking..."))
    conditions = models.JSONField(default=list, blank=True)
    document = models.OneToOneField(Document, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    sha256 = models.CharField(max_length=64, blank=True)
    # the same document in the register of everything the municipality issues (documents/): one verification page,
    # one signed PDF; its revocation is the one that counts (revoked here too for the permits' own pages)
    record = models.OneToOneField("documents.IssuedDocument", null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-issued_at"]
        constraints = [models.CheckConstraint(condition=Q(revoked_at__isnull=True) | ~Q(revoked_reason=""),
                                              name="permits_issued_revoked_reason")]
        verbose_name = _("issued document")
        verbose_name_plural = _("issued documents")

    def __str__(self):
        return self.number
