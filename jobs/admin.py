from django.contrib import admin

from jobs.models import Job


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    """Everybody's jobs, for staff with jobs.view_job: read-only (jobs are started from the pages that make them)."""

    list_display = ("created_at", "kind", "status", "progress", "user", "attempts", "finished_at")
    list_filter = ("status", "kind")
    search_fields = ("id", "user__username", "error")
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
