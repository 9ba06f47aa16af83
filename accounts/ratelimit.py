"""Rate-limit counters in PostgreSQL (no cache server): one statement bumps every counter of a request and returns
their counts; accounts/signin.py decides from them.

The upsert is atomic per row (INSERT … ON CONFLICT DO UPDATE takes the row lock), so concurrent requests from many
server processes count exactly: two requests never both see the same count.
"""

import time

from django.db import connection

from accounts.signin import Counter, Limit, RateDecision, counters, rate_decision

_BUMP = """
INSERT INTO accounts_ratecounter AS c (key, window_start, count)
VALUES {values}
ON CONFLICT (key) DO UPDATE
   SET count = CASE WHEN c.window_start = EXCLUDED.window_start THEN c.count + 1 ELSE 1 END,
       window_start = EXCLUDED.window_start
RETURNING key, count
"""


def bump(bumped: list[Counter]) -> dict[str, int]:
    """Add one to each counter (a counter of an earlier window starts again at one); their counts after."""
    if not bumped:
        return {}
    sql = _BUMP.format(values=", ".join(["(%s, %s, 1)"] * len(bumped)))
    args = [x for c in sorted(bumped, key=lambda c: c.key) for x in (c.key, c.window)]  # one lock order: no deadlock
    with connection.cursor() as cursor:
        cursor.execute(sql, args)
        return dict(cursor.fetchall())


def hit(scopes: dict[str, tuple[str, list[Limit]]], epoch_seconds: float | None = None) -> RateDecision:
    """Count one request against the rules of each scope, e.g. {"number": ("0912…", limits), "address":
    ("10.0.0.1", limits)}, in one statement; whether all rules still hold."""
    now = time.time() if epoch_seconds is None else epoch_seconds
    bumped = [c for scope, (value, limits) in scopes.items() for c in counters(scope, value, limits, now)]
    return rate_decision(bumped, bump(bumped), now)


_GIVE_BACK = """
UPDATE accounts_ratecounter AS c SET count = greatest(c.count - 1, 0)
  FROM (VALUES {values}) AS v(key, window_start)
 WHERE c.key = v.key AND c.window_start = v.window_start::bigint
"""


def give_back(scopes: dict[str, tuple[str, list[Limit]]], epoch_seconds: float) -> None:
    """Take back the count `hit` added at the same instant, e.g. a try counted against a failure limit before it was
    checked (so concurrent tries cannot all pass the limit) that turned out right. A window that has ended since is
    left alone."""
    given = [c for scope, (value, limits) in scopes.items() for c in counters(scope, value, limits, epoch_seconds)]
    if not given:
        return
    sql = _GIVE_BACK.format(values=", ".join(["(%s, %s)"] * len(given)))
    args = [x for c in sorted(given, key=lambda c: c.key) for x in (c.key, c.window)]
    with connection.cursor() as cursor:
        cursor.execute(sql, args)


def prune(epoch_seconds: float | None = None) -> int:
    """Delete counters whose window is over (rows of numbers and addresses not seen lately)."""
    now = time.time() if epoch_seconds is None else epoch_seconds
    with connection.cursor() as cursor:
        # the key carries the rule's seconds: scope:seconds:value
        cursor.execute("DELETE FROM accounts_ratecounter "
                       "WHERE window_start + split_part(key, ':', 2)::bigint <= %s", [int(now)])
        return cursor.rowcount
