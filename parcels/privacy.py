"""Owners' personal data (names, national IDs, phones): who may see it, and the record of who did.

Anonymous users never see it. Staff see it only with the `parcels.view_personal_data` permission (the finance
and admin roles), and every view of it is recorded in PersonalDataAccess.
"""

from parcels.models import PersonalDataAccess

PERSONAL_DATA_PERMISSION = "parcels.view_personal_data"


def may_see_personal_data(user) -> bool:
    return bool(user and user.is_authenticated and user.has_perm(PERSONAL_DATA_PERMISSION))


def record_access(request, action: str, owner=None, parcel=None) -> None:
    PersonalDataAccess.objects.create(
        user=request.user, action=action, owner=owner, parcel=parcel, path=request.get_full_path()[:500]
    )
