"""Every SQL statement of the notices (the outbox, its claim, campaigns, the local backend's store)."""

# One message of notify(); nothing when the key exists (the caller then reads the existing id).
# notify()'s messages, one row per channel (row_sql, numbered), in one statement that also says whether a wake-up
# job is waiting already (wake_workers: none to defer then). A key used before inserts nothing (its row is not
# returned): notify looks its message up.
MESSAGE_ROW = """(%(key{i})s, %(event)s, %(kind)s, %(priority)s, %(channel{i})s, %(phone{i})s, %(email{i})s, %(user_id)s,
  %(language)s, %(subject{i})s, %(body{i})s, %(context)s::jsonb, %(status{i})s, 0, now(), '', %(provider{i})s, '', '', '',
  now(), CASE WHEN %(status{i})s = 'delivered' THEN now() END)"""

INSERT_MESSAGES = """
WITH made AS (
    INSERT INTO notices_message (idempotency_key, event, kind, priority, channel, phone, email, user_id, language,
                                 subject, body, context, status, attempts, not_before, claimed_by, provider,
                                 provider_id, error_kind, error, created_at, delivered_at)
    VALUES {rows}
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING id, idempotency_key
)
SELECT made.id, made.idempotency_key,
       EXISTS (SELECT 1 FROM procrastinate_jobs WHERE queueing_lock = %(lock)s AND status = 'todo')
FROM made
"""

# A wake-up job already waiting (procrastinate's unique index on the queueing lock of 'todo' jobs answers it).
WAKE_UP_WAITING = "SELECT 1 FROM procrastinate_jobs WHERE queueing_lock = %s AND status = 'todo' LIMIT 1"

# notify()'s preference (the user's own first, else the number's) and the event's templates in the languages it may
# be written in (the one asked, the preference's, the fallback): one row per template, the preference on each (and
# one row with no template when there is none).
PREFERENCE_AND_TEMPLATES = """
SELECT p.found, p.user_id, p.phone, p.email, p.language, p.by_sms, p.by_email, p.by_inbox, p.reminders_opt_out,
       t.channel, t.language, t.subject, t.body
FROM (SELECT 1) one
LEFT JOIN (
    SELECT true AS found, user_id, phone, email, language, by_sms, by_email, by_inbox, reminders_opt_out
    FROM notices_preference
    WHERE (%(user_id)s::bigint IS NOT NULL AND user_id = %(user_id)s) OR (%(phone)s <> '' AND phone = %(phone)s)
    ORDER BY (user_id IS NOT DISTINCT FROM %(user_id)s::bigint) DESC
    LIMIT 1
) p ON true
LEFT JOIN notices_template t ON t.event = %(event)s AND t.language IN (%(language)s, p.language, %(fallback)s)
"""

MESSAGE_IDS_BY_KEY = "SELECT idempotency_key, id FROM notices_message WHERE idempotency_key = ANY(%s)"

# A campaign: the caller's rows (phone, language, context, key) as a CTE first, so their %s come first.
CAMPAIGN = """
WITH src AS ({rows_sql}),
cand AS (
    SELECT s.phone::text AS phone, coalesce(nullif(s.language::text, ''), p.language, 'fa') AS language,
           coalesce(s.context::jsonb, '{{}}'::jsonb) AS context, s.key::text || ':sms' AS key,
           p.user_id,
           s.phone::text !~ '^09[0-9]{{9}}$' AS invalid,
           coalesce(p.reminders_opt_out, false) AS opted_out,
           EXISTS (SELECT 1 FROM notices_message m WHERE m.idempotency_key = s.key::text || ':sms') AS existing
    FROM src s LEFT JOIN notices_preference p ON p.phone = s.phone::text
),
todo AS (
    SELECT c.*, row_number() OVER (ORDER BY c.phone, c.key) AS n
    FROM cand c WHERE NOT c.invalid AND NOT c.opted_out AND NOT c.existing
),
start AS (
    -- after the reminders already waiting, so two campaigns together keep the rate
    SELECT greatest(now(), coalesce(max(not_before), now())) AS t
    FROM notices_message WHERE status = 'queued' AND kind = 'reminder'
),
ins AS (
    INSERT INTO notices_message (idempotency_key, event, kind, priority, channel, phone, email, user_id, language,
                                 subject, body, context, status, attempts, not_before, claimed_by, provider,
                                 provider_id, error_kind, error, created_at, batch_id)
    SELECT t.key, %s, 'reminder', %s, 'sms', t.phone, '', t.user_id, t.language, '', '', t.context, 'queued', 0,
           start.t + ((t.n - 1) / %s::float8) * interval '1 second', '', '', '', '', '', now(), %s
    FROM todo t, start
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING 1
)
SELECT (SELECT count(*) FROM cand),
       (SELECT count(*) FROM cand WHERE invalid),
       (SELECT count(*) FROM cand WHERE opted_out AND NOT invalid),
       (SELECT count(*) FROM cand WHERE existing AND NOT invalid AND NOT opted_out),
       (SELECT count(*) FROM ins)
"""

# Claims and outcomes use statement_timestamp(), the time of each statement (now() is the transaction's).
# The claim: due messages and those whose lease expired (their worker died), highest priority first; rows another
# worker holds are skipped, not waited for. Each claim counts as an attempt.
CLAIM = """
UPDATE notices_message m
SET status = 'sending', claimed_at = statement_timestamp(), claimed_by = %(worker)s, attempts = m.attempts + 1
WHERE m.id IN (
    SELECT id FROM notices_message
    WHERE (status = 'queued' AND not_before <= statement_timestamp())
       OR (status = 'sending' AND claimed_at < statement_timestamp() - make_interval(secs => %(lease)s))
    ORDER BY priority DESC, not_before, id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
RETURNING m.id, m.idempotency_key, m.event, m.kind, m.channel, m.phone, m.email, m.user_id, m.language,
          m.subject, m.body, m.context, m.attempts
"""

# Seconds until the next message is due (queued later, or a lease running out); NULL when nothing is waiting.
NEXT_DUE = """
SELECT extract(epoch FROM min(due) - statement_timestamp()) FROM (
    SELECT min(not_before) AS due FROM notices_message WHERE status = 'queued'
    UNION ALL
    SELECT min(claimed_at) + make_interval(secs => %(lease)s) FROM notices_message WHERE status = 'sending'
) d
"""

STORE_RENDERED = "UPDATE notices_message SET subject = %s, body = %s WHERE id = %s"

# Outcomes: only while this worker still holds the message (a lease taken over by another worker wins).
MARK_SENT = """
UPDATE notices_message
SET status = CASE WHEN %(delivered)s THEN 'delivered' ELSE 'sent' END, provider = %(provider)s,
    provider_id = %(provider_id)s, sent_at = statement_timestamp(), delivered_at = CASE WHEN %(delivered)s THEN statement_timestamp() END,
    error_kind = '', error = ''
WHERE id = %(id)s AND status = 'sending' AND claimed_by = %(worker)s
"""

MARK_RETRY = """
UPDATE notices_message
SET status = %(status)s, not_before = statement_timestamp() + make_interval(secs => %(wait)s), provider = %(provider)s,
    error_kind = 'temporary', error = %(error)s
WHERE id = %(id)s AND status = 'sending' AND claimed_by = %(worker)s
"""

MARK_FAILED = """
UPDATE notices_message
SET status = 'failed', provider = %(provider)s, error_kind = 'permanent', error = %(error)s
WHERE id = %(id)s AND status = 'sending' AND claimed_by = %(worker)s
"""

# A delivery report (callback or status poll).
RECORD_DELIVERY = """
UPDATE notices_message
SET status = CASE WHEN %(delivered)s THEN 'delivered' ELSE 'failed' END,
    delivered_at = CASE WHEN %(delivered)s THEN statement_timestamp() END,
    error_kind = CASE WHEN %(delivered)s THEN '' ELSE 'permanent' END,
    error = CASE WHEN %(delivered)s THEN '' ELSE %(reason)s END
WHERE provider = %(provider)s AND provider_id = %(provider_id)s AND provider_id <> '' AND status IN ('sending', 'sent')
RETURNING id
"""

RETRY = """
UPDATE notices_message
SET status = 'queued', attempts = 0, not_before = statement_timestamp(), claimed_at = NULL, claimed_by = '', error_kind = '',
    error = ''
WHERE id = ANY(%s) AND status IN ('failed', 'dead')
RETURNING id
"""

# Sent, not yet known delivered, older than a minute: for providers that answer status queries.
TO_POLL = """
SELECT provider_id FROM notices_message
WHERE status = 'sent' AND provider = %s AND provider_id <> '' AND sent_at < statement_timestamp() - interval '1 minute'
ORDER BY sent_at LIMIT %s
"""

LOCAL_SMS_UPSERT = """
INSERT INTO notices_localsms (key, phone, body, parts, sender, created_at, duplicates)
VALUES (%(key)s, %(phone)s, %(body)s, %(parts)s, %(sender)s, now(), 0)
ON CONFLICT (key) DO UPDATE SET duplicates = notices_localsms.duplicates + 1
RETURNING id, (xmax = 0) AS inserted
"""
