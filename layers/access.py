"""Who may see a layer: the registry says public or a permission; this module finds the user of a request (session,
or HTTP basic authentication, which QGIS and GDAL send from their authentication settings) and refuses the rest
with a clear 401/403. Every use of a layer with personal data is recorded (parcels/privacy.py)."""

import base64
import binascii

from django.contrib.auth import authenticate
from django.utils.translation import gettext as _

from common.errors import ApiError, Forbidden, NotFound
from layers.registry import LAYERS, PERSONAL_DATA_PERMISSION, Layer


class Unauthorized(ApiError):
    """No (valid) credentials: the challenge makes QGIS and GDAL answer from their authentication settings."""

    status = 401
    code = "unauthorized"
    headers = {"WWW-Authenticate": 'Basic realm="layers", charset="UTF-8"'}


def request_user(request):
    """The session's user, or the one named by an `Authorization: Basic` header (wrong credentials: 401)."""
    header = request.headers.get("Authorization", "")
    if header[:6].lower() == "basic ":
        try:
            username, _colon, password = base64.b64decode(header[6:].strip()).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise Unauthorized(_("The Authorization header is not valid HTTP basic authentication.")) from None
        user = authenticate(request, username=username, password=password)
        if user is None or not user.is_active:
            raise Unauthorized(_("Wrong user name or password."))
        request.user = user
    return getattr(request, "user", None)


def layer_for(request, name: str) -> Layer:
    """The registered layer `name` if the request may see it; 404 for unknown names, 401/403 for protected ones."""
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

        record_access(request, f"layer:{name}"[:30])
    return layer
