"""The public pages of decisions and projects, comments and follows (transparency/civic_views.py, service.py): a
comment with HTML or script is shown as text, a flood of comments is a 429, anonymous people cannot comment, pending
comments are hidden until a moderator publishes them, a follower is told of a status change by SMS (the local
backend), and no page or download carries a commenter's personal data."""

import csv
import io
import json

import pytest
from django.urls import reverse

from tests.conftest import make_user
from tests.transparency.conftest import make_citizen
from transparency import loader, service
from transparency.models import Comment, Decision, Follower, Project

pytestmark = pytest.mark.django_db

SCRIPT = '<script>alert("x")</script><img src=x onerror=alert(1)> & <b>bold</b>'


def english(client):
    client.cookies["django_language"] = "en"
    return client


def project_url(project):
    return reverse("transparency:project", args=[project.pk])


def test_lists_filter_and_pages_show_the_demo_as_demo(client, demo):
    english(client)
    page = client.get(reverse("transparency:decisions")).content.decode()
    assert page.count('data-testid="decision-item"') == 8 and 'data-testid="demo-note"' in page
    only = client.get(reverse("transparency:decisions"), {"year": 1403, "status": "approved"}).content.decode()
    expected = Decision.objects.filter(year=1403, status="approved").count()
    assert expected >= 1 and only.count('data-testid="decision-item"') == expected
    found = client.get(reverse("transparency:decisions"), {"q": "Mehr"}).content.decode()
    assert found.count('data-testid="decision-item"') == 1 and "Funds for the renewal of Mehr park" in found
    assert client.get(reverse("transparency:decisions"), {"status": "nonsense"}).status_code == 400
    projects = client.get(reverse("transparency:projects"), {"status": "done"}).content.decode()
    assert projects.count('data-testid="project-item"') == 2
    park = demo["mehr-park"]
    shown = client.get(project_url(park)).content.decode()
    assert 'data-testid="demo-note"' in shown and "Mehr park renewal" in shown and 'id="place-map"' in shown
    assert "Funds for the renewal of Mehr park" in shown  # the decision about it
    assert client.get(reverse("transparency:project", args=[10 ** 9])).status_code == 404


def test_the_geojson_and_csv_carry_every_row_in_wgs84(client, demo):
    collection = json.loads(client.get(reverse("transparency:projects_geojson")).content)
    assert len(collection["features"]) == 6
    from layers.geojson import city_extent

    west, south, east, north = city_extent()["bbox"]
    for feature in collection["features"]:
        flat = json.dumps(feature["geometry"]["coordinates"])
        numbers = [float(v) for v in flat.replace("[", " ").replace("]", " ").replace(",", " ").split()]
        lons, lats = numbers[0::2], numbers[1::2]
        assert west <= min(lons) and max(lons) <= east and south <= min(lats) and max(lats) <= north
    decisions = json.loads(client.get(reverse("transparency:decisions_geojson")).content)
    assert len(decisions["features"]) == 8
    assert sum(f["geometry"] is None for f in decisions["features"]) == 3  # decisions without a place
    rows = list(csv.reader(io.StringIO(client.get(reverse("transparency:decisions_csv")).content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["id", "number", "year", "date"] and len(rows) == 9
    Project.objects.filter(code="mehr-park").update(title="=HYPERLINK(\"http://evil\")")
    rows = list(csv.reader(io.StringIO(client.get(reverse("transparency:projects_csv")).content.decode("utf-8-sig"))))
    assert any(r[2] == "'=HYPERLINK(\"http://evil\")" for r in rows[1:])   # a spreadsheet does not run it


def test_anonymous_people_cannot_comment_or_follow(client, demo):
    park = demo["mehr-park"]
    english(client)
    page = client.get(project_url(park)).content.decode()
    assert 'data-testid="comment-form"' not in page and 'data-testid="signin-link"' in page
    answer = client.post(reverse("transparency:comment", args=["project", park.pk]), {"body": "Hello there"})
    assert answer.status_code == 401 and "Sign in with your mobile number first" in answer.content.decode()
    answer = client.post(reverse("transparency:follow", args=["project", park.pk]), {"action": "follow"})
    assert answer.status_code == 401
    staff = make_user("tp-staff-not-citizen", "admin", is_staff=True)   # staff are not citizens either
    client.force_login(staff)
    assert client.post(reverse("transparency:comment", args=["project", park.pk]),
                       {"body": "Hello there"}).status_code == 401
    assert not Comment.objects.exists() and not Follower.objects.exists()


def test_a_comment_with_script_is_kept_as_text_and_shown_escaped(client, demo, citizen, moderator):
    park = demo["mehr-park"]
    client.force_login(citizen)
    answer = client.post(reverse("transparency:comment", args=["project", park.pk]), {"body": SCRIPT})
    assert answer.status_code == 302 and answer["Location"].endswith("?commented=1#comments")
    comment = Comment.objects.get()
    assert comment.body == SCRIPT and comment.state == "pending"  # kept as it was written
    service.moderate(comment, "publish", moderator)
    client.logout()
    page = english(client).get(project_url(park)).content.decode()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt; &amp; " \
           "&lt;b&gt;bold&lt;/b&gt;" in page
    assert "<script>alert" not in page and "<img src=x" not in page and "<b>bold" not in page


def test_a_flood_of_comments_is_refused_with_429(client, demo, citizen, settings):
    settings.TRANSPARENCY_COMMENT_RATE_PER_CITIZEN = ["3/600"]
    park = demo["mehr-park"]
    client.force_login(citizen)
    english(client)
    url = reverse("transparency:comment", args=["project", park.pk])
    assert [client.post(url, {"body": f"Comment {i}"}).status_code for i in range(3)] == [302, 302, 302]
    refused = client.post(url, {"body": "One more"})
    assert refused.status_code == 429 and 0 < int(refused["Retry-After"]) <= 600
    assert "Too many comments from you or your network" in refused.content.decode()
    assert Comment.objects.count() == 3
    # the address limit holds for another citizen on the same network
    settings.TRANSPARENCY_COMMENT_RATE_PER_CITIZEN = ["1000/600"]
    settings.TRANSPARENCY_COMMENT_RATE_PER_ADDRESS = ["4/600"]
    client.force_login(make_citizen("09179998877"))
    assert client.post(url, {"body": "From the same place"}).status_code == 429


def test_comments_are_checked_for_length(client, demo, citizen):
    park = demo["mehr-park"]
    client.force_login(citizen)
    english(client)
    url = reverse("transparency:comment", args=["project", park.pk])
    assert client.post(url, {"body": " x "}).status_code == 400
    long = client.post(url, {"body": "a" * (service.COMMENT_MAX + 1)})
    assert long.status_code == 400 and "at most 2000 characters" in long.content.decode()
    assert client.post(url, {"body": "a" * (service.COMMENT_MAX + 500)}).status_code == 400
    assert not Comment.objects.exists()


def test_pending_comments_are_hidden_until_published(client, demo, citizen, moderator):
    park = demo["mehr-park"]
    client.force_login(citizen)
    english(client)
    client.post(reverse("transparency:comment", args=["project", park.pk]), {"body": "Please add benches"})
    own = client.get(project_url(park)).content.decode()
    assert 'data-testid="own-comment" data-state="pending"' in own and "Please add benches" in own  # only theirs
    other = english(type(client)())
    other.force_login(make_citizen("09170001111"))
    for viewer in (other, english(type(client)())):
        page = viewer.get(project_url(park)).content.decode()
        assert "Please add benches" not in page and 'data-testid="no-comments"' in page
    # the moderation queue: moderators only
    assert other.get(reverse("transparency:moderation")).status_code == 403
    staff = english(type(client)())
    staff.force_login(moderator)
    queue = staff.get(reverse("transparency:moderation")).content.decode()
    assert "Please add benches" in queue and "09171234567" not in queue   # the words, not the writer
    comment = Comment.objects.get()
    assert staff.post(reverse("transparency:moderation_decide", args=[comment.pk]),
                      {"action": "publish"}).status_code == 302
    page = english(type(client)()).get(project_url(park)).content.decode()
    assert "Please add benches" in page and f"Citizen {comment.pseudonym}" in page
    staff.post(reverse("transparency:moderation_decide", args=[comment.pk]), {"action": "reject", "reason": "spam"})
    assert "Please add benches" not in english(type(client)()).get(project_url(park)).content.decode()


def test_a_follower_is_told_of_a_status_change_by_sms(client, demo, citizen, tmp_path):
    from notices import delivery
    from notices.models import LocalSms, Message

    park = demo["mehr-park"]
    client.force_login(citizen)
    english(client)
    client.post(reverse("transparency:follow", args=["project", park.pk]), {"action": "follow"})
    assert 'data-testid="following"' in client.get(project_url(park)).content.decode()
    # the data file says the project is done: the loader changes it, and the follower hears of it
    text = loader.DEMO_FILE.read_text()
    changed = tmp_path / "demo.toml"
    changed.write_text(text.replace('status = "in_progress"\nbudget = 18_500_000_000',
                                    'status = "done"\nbudget = 18_500_000_000', 1))
    counts = loader.load(loader.read(changed))
    assert counts["told"] == 1
    assert delivery.run_until_idle("tp-test", max_seconds=5) >= 1
    sms = LocalSms.objects.get(phone="09171234567")
    assert sms.body == 'Project "Mehr park renewal": Done'   # the citizen reads English (their language)
    inbox = Message.objects.get(user=citizen, channel="inbox", event="transparency.status_changed")
    assert project_url(park) in inbox.body
    # a published update reaches them too; after unfollowing, nothing does
    service.publish_update(Project.objects.get(pk=park.pk), "The lights are on.")
    assert Message.objects.filter(user=citizen, event="transparency.update_published").count() == 2  # sms + inbox
    client.post(reverse("transparency:follow", args=["project", park.pk]), {"action": "unfollow"})
    project = Project.objects.get(pk=park.pk)
    before = project.status
    project.status = "suspended"
    project.save()
    assert service.status_changed(project, before) == 0


def test_a_status_changed_in_the_admin_tells_the_followers(client, demo, citizen):
    from notices.models import Message

    decision = Decision.objects.get(number="31")   # under review
    Follower.objects.create(decision=decision, user=citizen)
    admin = make_user("tp-admin2", "admin", is_staff=True)
    from django.contrib.admin.sites import site

    from transparency.admin import DecisionAdmin

    request = type("R", (), {"user": admin, "_messages": None})()
    model_admin = DecisionAdmin(Decision, site)
    model_admin.message_user = lambda *a, **k: None
    decision.status = "approved"
    model_admin.save_model(request, decision, None, change=True)
    message = Message.objects.get(user=citizen, channel="sms", event="transparency.status_changed")
    assert message.phone == "09171234567" and "Approved" in message.body


def test_no_personal_data_in_public_pages_or_downloads(client, demo, citizen, moderator):
    park = demo["mehr-park"]
    client.force_login(citizen)
    client.post(reverse("transparency:comment", args=["project", park.pk]), {"body": "Nice work"})
    client.post(reverse("transparency:follow", args=["project", park.pk]), {"action": "follow"})
    service.moderate(Comment.objects.get(), "publish", moderator)
    anonymous = english(type(client)())
    pages = [project_url(park), reverse("transparency:projects"), reverse("transparency:decisions"),
             reverse("transparency:decision", args=[park.decisions.first().pk]),
             reverse("transparency:projects_geojson"), reverse("transparency:decisions_geojson"),
             reverse("transparency:projects_csv"), reverse("transparency:decisions_csv")]
    for url in pages:
        body = anonymous.get(url).content.decode("utf-8-sig")
        for personal in ("09171234567", "0917****567", "۰۹۱۷۱۲۳۴۵۶۷", citizen.username):
            assert personal not in body, (url, personal)
    comment = Comment.objects.get()
    assert comment.pseudonym.isalpha() and len(comment.pseudonym) == 6
    # one citizen's pseudonym differs from one project to another
    assert service.pseudonym(citizen.pk, park) != service.pseudonym(citizen.pk, demo["fire-station-3"])


def test_the_catalogue_lists_decisions_and_projects():
    from transparency.registry import DATASETS

    for key in ("council-decisions", "municipal-projects"):
        dataset = DATASETS[key]
        formats = {d.format: reverse(d.url_name, args=d.args) for d in dataset.distributions()}
        assert set(formats) == {"GeoJSON", "CSV"}
        assert formats["CSV"].endswith(".csv") and formats["GeoJSON"].endswith(".geojson")


def test_the_admin_action_publishes_and_needs_the_permission(client, demo, citizen, moderator):
    park = demo["mehr-park"]
    comment = service.add_comment(park, citizen, "From the admin")
    viewer = make_user("tp-viewer", is_staff=True)   # staff who may only look at comments
    from django.contrib.auth.models import Permission

    viewer.user_permissions.add(Permission.objects.get(codename="view_comment"))
    url = reverse("admin:transparency_comment_changelist")
    action = {"action": "publish", "_selected_action": [comment.pk]}
    client.force_login(viewer)
    client.post(url, action)
    assert Comment.objects.get().state == "pending"   # no such action for them
    client.force_login(moderator)
    assert client.post(url, action).status_code == 302
    assert Comment.objects.get().state == "published"
