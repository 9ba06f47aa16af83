"""common.db.prepared_fetchone: how a hot statement's values reach PostgreSQL, which decides the plan it runs.

The serving connections force generic plans (plan_cache_mode, gis_portal/settings.py), so a statement whose best plan
depends on its values (an OGC page's box, a low-zoom cluster tile) must have them bound into its text on the client
(prepare=False): sent as parameters, even unprepared, it would be planned blind."""

from django.db import connection
import pytest

from common.db import prepared_fetchone

pytestmark = pytest.mark.django_db

# the statement's own text as the server received it: its values, or $1 when they came as parameters
OWN_TEXT = "SELECT query, %(v)s FROM pg_stat_activity WHERE pid = pg_backend_pid()"


@pytest.mark.parametrize("binary", [False, True])
def test_prepare_false_sends_the_values_in_the_text_so_they_are_planned_for(binary):
    client_bound, value = prepared_fetchone(OWN_TEXT, {"v": 424242}, binary=binary, prepare=False)
    assert value == 424242 and "424242" in client_bound and "$1" not in client_bound
    with connection.cursor() as cursor:  # pg_stat_activity is read once per transaction unless cleared
        cursor.execute("SELECT pg_stat_clear_snapshot()")
    server_bound, value = prepared_fetchone(OWN_TEXT, {"v": 424242}, binary=binary)
    # sent as a parameter: PostgreSQL plans the statement without it under plan_cache_mode=force_generic_plan
    assert value == 424242 and "$1" in server_bound and "424242" not in server_bound


def test_a_client_bound_binary_answer_is_bytes_as_sent():
    tile = bytes(range(256))
    value, text = prepared_fetchone("SELECT %(b)s::bytea, %(t)s", {"b": tile, "t": "٪ 50% 'quoted'"}, binary=True,
                                    prepare=False)
    assert bytes(value) == tile and text == "٪ 50% 'quoted'"
