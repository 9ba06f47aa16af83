"""The project's URLs: every app's own, composed by the site layer (portal)."""

from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path
from django.views.decorators.cache import cache_page
from django.views.i18n import JavaScriptCatalog

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("portal.urls")),
    path("", include("layers.urls")),
    path("", include("parcels.urls")),
    path("", include("dues.urls")),
    path("", include("zoning.urls")),
    path("", include("jobs.urls")),
    path("", include("notices.urls")),
    path("", include("accounts.urls")),
    path("", include("reports.urls")),
    path("", include("permits.urls")),
    path("", include("documents.urls")),
    path("", include("transparency.urls")),
]
# The JavaScript's interface text (djangojs catalogues), at /fa/jsi18n.js and /en/jsi18n.js: the language in the
# URL (a prefix only the active language resolves) lets browsers cache each language apart; it changes only with a
# deploy, so each process renders it once an hour at most.
urlpatterns += i18n_patterns(path("jsi18n.js", cache_page(60 * 60)(JavaScriptCatalog.as_view()),
                                  name="javascript-catalog"))

# Errors outside views (unknown paths, middleware refusals, crashes): JSON on API routes, pages elsewhere.
handler400 = "common.edge.bad_request"
handler403 = "common.edge.permission_denied"
handler404 = "common.edge.page_not_found"
handler500 = "common.edge.server_error"
