"""Who may see a layer: the registry says public or a permission; this module takes the user of a request and refuses
the rest with a clear 401/403. The user comes from the session, or on API paths from the Authorization header (an
API token, or HTTP basic authentication, which QGIS and GDAL send from their authentication settings), set by the
authentication middleware in settings.MIDDLEWARE (accounts/apiauth.py, a layer above this one, so it is not imported
here). That user is worked out lazily: a public layer never asks for it, so wrong credentials cost it nothing. Every use
of a layer with personal data is recorded (parcels/privacy.py)."""

from django.utils.translation import gettext as _

from common.errors import ApiError, Forbidden, NotFound
from layers.registry import LAYERS, PERSONAL_DATA_PERMISSION, Layer


class Unauthorized(ApiError):
    """No (valid) credentials: the challenge makes QGIS and GDAL answer from their authentication settings."""

    status = 401
    code = "unauthorized"
    headers = {"WWW-Authenticate": 'Basic realm="layers", charset="UTF-8"'}


def request_user(request):
    """The request's user (the session's, or the Authorization header's on API paths), or None outside a request
    cycle. Reading it may raise the header's 401/429 (accounts/apiauth.py)."""
    return getattr(request, "user", None)


def layer_for(request, name: str, action: str = "layer") -> Layer:
    """The registered layer `name` if the request may see it; 404 for unknown names, 401/403 for protected ones.
    A layer with personal data records the access as `action:name`."""
    layer = LAYERS.get(name)
    if layer is None:
        raise NotFound(_("Unknown layer '%(name)s'; layers: %(layers)s") % {"name": name, "layers": ", ".join(LAYERS)})
    user = request_user(request)
    if not layer.visible_to(user):
        if user is None or not user.is_authenticated:
            raise Unauthorized(_("Layer '%(name)s' is only for staff with permission; sign in (HTTP basic works).")
                               % {"name": name})
        raise Forbidden(_("Layer '%(name)s' needs the permission %(permission)s.")
                        % {"name": name, "permission": layer.permission})
    if layer.permission == PERSONAL_DATA_PERMISSION:
        from parcels.privacy import record_access

        record_access(request, f"{action}:{name}"[:30])
    return layer
