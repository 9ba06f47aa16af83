"""Errors that carry their HTTP status; API views turn them into JSON with a clear message."""

from django.http import JsonResponse


class ApiError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def response(self) -> JsonResponse:
        return JsonResponse({"error": self.code, "message": self.message}, status=self.status)


class BadParameter(ApiError):
    status = 400
    code = "bad_parameter"


class NotFound(ApiError):
    status = 404
    code = "not_found"


class ServerError(ApiError):
    status = 500
    code = "server_error"


def json_errors(view):
    """Decorator: ApiError raised by the view becomes a JSON error response."""
    from functools import wraps

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except ApiError as exc:
            return exc.response()

    return wrapper
