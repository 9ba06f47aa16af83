"""Shared by the documents tests: a kind registered for the test, and running the render jobs the test deferred."""

import json

import pytest
from django.db import connection


def run_render_jobs(doc_ids=None, task_name: str = "documents.render") -> int:
    """Run the waiting `documents.render` jobs as a worker would (the test's transaction holds them: no worker
    process sees them): those of `doc_ids`, or else of every document not printed yet (jobs other tests committed
    and left behind for documents printed since are not ours to run). How many ran."""
    from procrastinate.contrib.django import app

    with connection.cursor() as cursor:
        cursor.execute("SELECT j.id, j.args FROM procrastinate_jobs j JOIN documents_issueddocument d "
                       "ON d.id = (j.args->>'document_id')::int "
                       "WHERE j.task_name = %s AND j.status = 'todo' "
                       "AND (CASE WHEN %s::int[] IS NULL THEN d.rendered_at IS NULL ELSE d.id = ANY(%s::int[]) END) "
                       "ORDER BY j.id", [task_name, None if doc_ids is None else list(doc_ids),
                                         None if doc_ids is None else list(doc_ids)])
        jobs = cursor.fetchall()
    for job_id, args in jobs:
        app.tasks[task_name](**(json.loads(args) if isinstance(args, str) else args))
        with connection.cursor() as cursor:
            cursor.execute("UPDATE procrastinate_jobs SET status = 'succeeded' WHERE id = %s", [job_id])
    return len(jobs)


def validate_pdf_signature(embedded_signature, context):
    """pyHanko's validation of a signature, run as documents/signing.py runs the signing: in a thread of its own when
    this thread already runs an event loop (a browser test's Playwright keeps one in the session's main thread)."""
    from pyhanko.sign.validation import async_validate_pdf_signature

    from documents.signing import _run

    return _run(lambda: async_validate_pdf_signature(embedded_signature, context))


@pytest.fixture
def signing_key(tmp_path, settings):
    """A key of the test's own (a self-signed demo key under a temporary VAR_DIR)."""
    settings.VAR_DIR = tmp_path
    settings.DOCUMENTS_SIGNING_KEY = settings.DOCUMENTS_SIGNING_CERT = ""
    from documents import signing

    signing._cache.clear()
    yield signing.key()
    signing._cache.clear()


@pytest.fixture
def note_kind(signing_key):
    """A kind of document registered for the test: a one-line Persian note with its number and code."""
    from documents import kinds

    def html(doc):
        return (f'<html dir="rtl" lang="fa"><meta charset="utf-8"><body><h1>یادداشت {doc.number}</h1>'
                f'<p>{doc.verification_code}</p><p>{doc.content.get("text", "")}</p></body></html>').encode()

    kind = kinds.DocumentKind(code="test_note", name="Test note", prefix="TN", html=html, supersedes=True)
    kinds.KINDS[kind.code] = kind
    yield kind
    kinds.KINDS.pop(kind.code, None)
