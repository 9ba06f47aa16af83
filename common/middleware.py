"""Persian first: the language is the one the user chose with the switch (cookie), else Persian, whatever the
browser's Accept-Language says."""

from django.conf import settings
from django.utils import translation


class PersianFirstLocaleMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.languages = {code for code, _ in settings.LANGUAGES}

    def __call__(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        language = chosen if chosen in self.languages else settings.LANGUAGE_CODE
        request.LANGUAGE_CODE = language
        # The request's language only for the request: the thread's language is restored after it (a thread serves
        # other requests, and a test goes on in the language it had chosen).
        with translation.override(language):
            response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        return response
