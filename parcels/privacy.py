"""Owners' personal data (names, national IDs, phones): who may see it, and the record of who did.

Anonymous users never see it. Staff see it only with the `parcels.view_personal_data` permission (the finance
and admin roles), and every view of it is recorded in PersonalDataAccess by one function, `record_access`: who, when,
what (the action and the path) and whose data (every owner and parcel shown, `subjects`).

The paths that show it and how each records:
- the admin: every ModelAdmin whose pages show personal data subclasses `RecordsPersonalData` (lists, searches,
  change pages, delete confirmations, actions, history lists and historical versions, autocomplete answers);
  tests/test_privacy_recording.py walks every admin URL and checks that each page showing an owner's data made
  exactly one record, and that every admin showing a personal field uses the mixin;
- the parcel search by owner name or national ID (parcels/search.py);
- layers carrying the personal-data permission (tiles, OGC API, GeoJSON, exports: layers/access.py).
"""

from contextlib import contextmanager
from contextvars import ContextVar

from django.contrib import admin
from django.core.paginator import Paginator

from common.text import masked  # noqa: F401 (re-exported: the admins mask with it)
from parcels.models import Owner, Parcel, PersonalDataAccess

PERSONAL_DATA_PERMISSION = "parcels.view_personal_data"

# The records an access is about: an object of another model counts with the owners and parcels it points to.
SUBJECT_MODELS = (Owner, Parcel)


def may_see_personal_data(user) -> bool:
    return bool(user and user.is_authenticated and user.has_perm(PERSONAL_DATA_PERMISSION))


def owners_named_by(phones=(), national_ids=()) -> list:
    """The owner records a shown phone number or national ID belongs to (recorded as whose data a page showed)."""
    phones, national_ids = {p for p in phones if p}, {n for n in national_ids if n}
    if not phones and not national_ids:
        return []
    from django.db.models import Q

    return list(Owner.objects.filter(Q(phone__in=phones) | Q(national_id__in=national_ids)).order_by("id"))


# Who is looking at the admin page being made (read by masked columns while the page renders: an admin object is
# shared by every request and thread, so this is per request context, not an attribute of the admin).
_viewer: ContextVar = ContextVar("personal_data_viewer", default=None)


@contextmanager
def _viewing(request):
    token = _viewer.set(request.user)
    try:
        yield
    finally:
        _viewer.reset(token)


def viewer_sees_personal_data() -> bool:
    return may_see_personal_data(_viewer.get())


def masked_column(field_name: str, description):
    """An admin column (or read-only field) showing a personal field in full to staff with the permission (the page
    is recorded) and masked to the others."""

    @admin.display(description=description, ordering=field_name)
    def shown(model_admin, obj):
        value = getattr(obj, field_name) or ""
        return value if viewer_sees_personal_data() else masked(value)

    return shown


def subjects_of(objects) -> dict[str, list[int]]:
    """{model label: sorted ids} of the objects and of the owners and parcels they point to (an Ownership: its
    owner and its parcel)."""
    found: dict[str, set] = {}
    for obj in objects:
        if obj is None or obj.pk is None:
            continue
        found.setdefault(obj._meta.label_lower, set()).add(obj.pk)
        for field in obj._meta.concrete_fields:
            if field.is_relation and field.related_model in SUBJECT_MODELS:
                value = getattr(obj, field.attname)
                if value is not None:
                    found.setdefault(field.related_model._meta.label_lower, set()).add(value)
    return {label: sorted(ids) for label, ids in sorted(found.items())}


def record_access(request, action: str, owner=None, parcel=None, *, objects=()) -> PersonalDataAccess:
    """Record that the request's user was shown personal data: `objects` (and `owner`, `parcel`) are what it showed.
    The one function every path showing personal data calls."""
    subjects = subjects_of([owner, parcel, *objects])
    owner_ids, parcel_ids = subjects.get("parcels.owner", []), subjects.get("parcels.parcel", [])
    return PersonalDataAccess.objects.create(
        user=request.user, action=action[:30], path=request.get_full_path()[:500], subjects=subjects,
        owner_id=owner_ids[0] if len(owner_ids) == 1 else None,
        parcel_id=parcel_ids[0] if len(parcel_ids) == 1 else None,
    )


class _RecordingPaginator(Paginator):
    """The admin's autocomplete answers a page of this paginator: the page's objects are what the user is shown."""

    def __init__(self, model_admin, request, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.model_admin, self.request = model_admin, request

    def page(self, number):
        page = super().page(number)
        self.model_admin.record_shown(self.request, "autocomplete", list(page.object_list))
        return page


class RecordsPersonalData:
    """For a ModelAdmin whose pages show personal data: each page that shows it records it once (record_access),
    with the objects it showed: the list (and its searches), a change page, the delete confirmation, an action's
    confirmation page, the history list and a historical version, and the autocomplete answers of its search.

    With `personal_data_only` (the default) the admin is open only to staff with the personal-data permission;
    otherwise (an admin that masks personal data for the others, or shows it only in an inline) `reveals_personal_data`
    tells when a page shows it, and `personal_pages` which pages do."""

    personal_data_only = True
    personal_pages: tuple[str, ...] | None = None  # the kinds of page that show personal data (None: all)

    def reveals_personal_data(self, request) -> bool:
        return may_see_personal_data(request.user)

    def personal_objects(self, objects: list, kind: str) -> list:
        """The objects whose personal data a page of this kind showing `objects` shows (override to add those it
        shows besides them, e.g. the owners of a parcel)."""
        return objects

    def record_shown(self, request, kind: str, objects) -> None:
        if (self.personal_pages is None or kind in self.personal_pages) and self.reveals_personal_data(request):
            shown = self.personal_objects([obj for obj in objects if obj is not None], kind)
            record_access(request, f"{self.model._meta.model_name}_{kind}", objects=shown)

    def _record_response(self, request, kind: str, response, *keys: str):
        context = getattr(response, "context_data", None) or {}
        if response.status_code == 200 and any(key in context for key in keys):
            value = next(context[key] for key in keys if key in context)
            self.record_shown(request, kind, list(value) if kind == "list" else [value])
        return response

    # Who may open it at all.
    def _allowed(self, request) -> bool:
        return not self.personal_data_only or may_see_personal_data(request.user)

    def has_module_permission(self, request):
        return self._allowed(request) and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return self._allowed(request) and super().has_view_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._allowed(request) and super().has_change_permission(request, obj)

    def has_add_permission(self, request, *args):
        return self._allowed(request) and super().has_add_permission(request, *args)

    def has_delete_permission(self, request, obj=None):
        return self._allowed(request) and super().has_delete_permission(request, obj)

    # Every page that shows it.
    @staticmethod
    def _rendered(request, make):
        """The response of `make()`, rendered while `request`'s user is the viewer (masked columns read it)."""
        with _viewing(request):
            response = make()
            if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                response.render()
        return response

    def changelist_view(self, request, extra_context=None):
        response = self._rendered(request, lambda: super(RecordsPersonalData, self).changelist_view(
            request, extra_context))
        context = getattr(response, "context_data", None) or {}
        if response.status_code == 200 and "cl" in context:
            self.record_shown(request, "list", list(context["cl"].result_list))
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = self._rendered(request, lambda: super(RecordsPersonalData, self).change_view(
            request, object_id, form_url, extra_context))
        return self._record_response(request, "view", response, "original")

    def delete_view(self, request, object_id, extra_context=None):
        response = self._rendered(request, lambda: super(RecordsPersonalData, self).delete_view(
            request, object_id, extra_context))
        return self._record_response(request, "delete", response, "object")

    def response_action(self, request, queryset):
        response = super().response_action(request, queryset)
        if response is not None and response.status_code == 200 and getattr(response, "context_data", None):
            self.record_shown(request, "action", list(response.context_data.get("queryset", queryset)))
        return response

    def history_view(self, request, object_id, extra_context=None):  # Django's (simple_history's: below)
        response = self._rendered(request, lambda: super(RecordsPersonalData, self).history_view(
            request, object_id, extra_context))
        return self._record_response(request, "history", response, "object")

    def render_history_view(self, request, template, context, **kwargs):
        """simple_history renders its history list and each historical version through this."""
        response = super().render_history_view(request, template, context, **kwargs)
        if response.status_code == 200:
            kind, obj = ("history", context.get("object")) if "page_obj" in context else \
                ("version", context.get("original"))
            self.record_shown(request, kind, [obj])
        return response

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        match = getattr(request, "resolver_match", None)
        if match is not None and match.url_name == "autocomplete":
            return _RecordingPaginator(self, request, queryset, per_page, orphans, allow_empty_first_page)
        return super().get_paginator(request, queryset, per_page, orphans, allow_empty_first_page)
