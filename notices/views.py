"""The in-app inbox of a signed-in user (thin: parameters -> one service call -> page)."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from common import params
from notices import service

PAGE_SIZE = 30


@login_required
@require_http_methods(["GET", "POST"])
def inbox(request):
    if request.method == "POST":
        everything = params.choice(request.POST, "all", ["1"]) == "1"
        service.mark_read(request.user, None if everything else params.id_list(request.POST, "ids", max_count=200))
        return redirect(request.path + (f"?page={request.GET['page']}" if request.GET.get("page") else ""))
    page = Paginator(service.inbox(request.user), PAGE_SIZE).get_page(
        params.integer(request.GET, "page", default=1, min=1))
    return render(request, "notices/inbox.html", {
        "page": page, "unread": service.unread_count(request.user),
    })
