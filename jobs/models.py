"""A long job a user started from the portal (an export, a reassessment): what it is, how far it has come, where its
result is. The queue itself is procrastinate's (its tables, in the same database); this row is what people see."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class Job(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "queued"
        RUNNING = "running", "running"
        DONE = "done", "done"
        FAILED = "failed", "failed"
        CANCELLED = "cancelled", "cancelled"

    UNFINISHED = (Status.QUEUED, Status.RUNNING)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=50)  # a code in jobs.registry
    params = models.JSONField(default=dict, blank=True)
    language = models.CharField(max_length=10, default="fa")  # of the person who started it: messages in it
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True)
    progress = models.FloatField(default=0.0)  # 0..1
    message = models.CharField(max_length=500, blank=True)
    result_path = models.CharField(max_length=500, blank=True)  # a file under VAR_DIR/jobs/<id>/
    result_name = models.CharField(max_length=200, blank=True)  # the file name the download gets
    content_type = models.CharField(max_length=100, blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="jobs")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)  # for people (never a traceback: that goes to the log)
    cancel_requested = models.BooleanField(default=False)
    procrastinate_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    attempts = models.PositiveIntegerField(default=0)  # how many times a worker started it (a retried stall: 2)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "-created_at"], name="jobs_job_user_recent")]
        constraints = [models.CheckConstraint(condition=models.Q(progress__gte=0) & models.Q(progress__lte=1),
                                              name="jobs_job_progress_0_1")]

    def __str__(self):
        return f"{self.kind} {self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status not in self.UNFINISHED
