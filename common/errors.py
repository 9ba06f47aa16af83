"""Errors that carry their HTTP status and a stable code, as pygeoapi's do: views raise them, and one place renders
them (common.edge.ErrorMiddleware): JSON {"error": code, "message": ...} on API routes, a page elsewhere. The
message is for people, in the user's language (gettext'd where it is raised); the code is for programs."""

from django.http import JsonResponse


class ApiError(Exception):
    status = 400
    code = "bad_request"
    headers: dict[str, str] = {}  # extra response headers (a 401's challenge)

    def __init__(self, message: str):
        super().__init__(message)
        self.message = str(message)

    def response(self) -> JsonResponse:
        """The JSON answer; also used where no Django request is running (layers/tile_app.py)."""
        response = JsonResponse({"error": self.code, "message": self.message}, status=self.status,
                                json_dumps_params={"ensure_ascii": False})
        for name, value in self.headers.items():
            response[name] = value
        return response


class BadParameter(ApiError):
    status = 400
    code = "bad_parameter"


class Forbidden(ApiError):
    """Signed in (or not needed) but not allowed: a missing permission or role."""

    status = 403
    code = "forbidden"


class NotFound(ApiError):
    status = 404
    code = "not_found"


class MethodNotAllowed(ApiError):
    status = 405
    code = "method_not_allowed"


class ServerError(ApiError):
    status = 500
    code = "server_error"



class ServiceUnavailable(ApiError):
    """The database cannot be reached (a restart, a failover, too many connections): try again shortly."""

    status = 503
    code = "service_unavailable"
    headers = {"Retry-After": "5"}
