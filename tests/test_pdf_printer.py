"""The kept browser that prints issued documents (common/pdf.py Printer), with the real Debian Chromium: a page
prints, the browser is reused, a killed one is started again, a page that never loads times out, two threads print
at once."""

import io
import os
import signal
import socket
import threading
import time
import unicodedata
from pathlib import Path

import pypdf
import pytest

from common import pdf

PAGE = ('<!DOCTYPE html><html dir="rtl" lang="fa"><meta charset="utf-8"><body><h1>شهرداری داراب</h1>'
        '<table><tr><th>کد</th><td>{n}</td></tr></table></body></html>')


def page(n: int = 1) -> bytes:
    return PAGE.format(n=n).encode()


def text_of(document: bytes) -> str:
    """Page one's text, its Arabic presentation forms (how Chromium's glyphs map back) folded to plain letters."""
    return unicodedata.normalize("NFKC", pypdf.PdfReader(io.BytesIO(document)).pages[0].extract_text())


def browsers(besides: set[int] = frozenset()) -> set[int]:
    """The Chromium browser processes (not their renderers) started under this process, but those in `besides`
    (another printer's: the documents' tests keep the process's shared one open)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    found, todo = set(), [os.getpid()]
    while todo:
        for pid in children.get(todo.pop(), []):
            todo.append(pid)
            try:
                argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"--remote-debugging-pipe" in argv and not any(a.startswith(b"--type=") for a in argv):
                found.add(pid)
    return found - besides


@pytest.fixture
def printer():
    kept = pdf.Printer(timeout=20)
    yield kept
    kept.close()


def test_a_page_prints_with_its_persian_text(printer):
    document = printer.print(page(7))
    assert document.startswith(b"%PDF")
    text = text_of(document)
    assert "داراب" in text and "کد" in text
    assert printer.launches == 1


def test_the_second_page_reuses_the_browser(printer):
    others = browsers()
    printer.print(page(1))
    first = browsers(others)
    printer.print(page(2))
    assert printer.launches == 1
    assert browsers(others) == first and len(first) == 1


def test_a_killed_browser_is_started_again_on_the_next_print(printer):
    others = browsers()
    printer.print(page(1))
    [browser] = browsers(others)
    os.kill(browser, signal.SIGKILL)
    for _ in range(50):   # until the kernel has reaped it (Playwright's driver waits for it)
        if browser not in browsers():
            break
        time.sleep(0.1)
    document = printer.print(page(2))
    assert document.startswith(b"%PDF") and "داراب" in text_of(document)
    assert printer.launches == 2
    [again] = browsers(others)
    assert again != browser


def test_the_browser_is_started_again_after_max_documents():
    kept = pdf.Printer(timeout=20, max_documents=2)
    try:
        for n in range(3):
            kept.print(page(n))
        assert kept.launches == 2
    finally:
        kept.close()


def test_a_page_that_never_loads_times_out_with_pdf_error(printer):
    silent = socket.socket()   # accepts connections (the kernel's backlog) and never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    port = silent.getsockname()[1]
    try:
        started = time.monotonic()
        with pytest.raises(pdf.PdfError, match="Timeout"):
            printer.print(f'<html><body><img src="http://127.0.0.1:{port}/never.png"></body></html>'.encode(),
                          timeout=2)
        assert time.monotonic() - started < 10
    finally:
        silent.close()
    assert printer.print(page(3)).startswith(b"%PDF")   # the same browser prints the next page
    assert printer.launches == 1


def test_two_threads_print_at_once(printer):
    results: dict[int, bytes] = {}

    def work(n):
        results[n] = printer.print(page(n))

    threads = [threading.Thread(target=work, args=(n,)) for n in (41, 42)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(results) == [41, 42]
    for n, document in results.items():
        assert document.startswith(b"%PDF")
        assert str(n)[::-1] in text_of(document) or str(n) in text_of(document)
    assert printer.launches == 1


def test_a_missing_browser_is_a_pdf_error():
    kept = pdf.Printer(browser="/nonexistent/chromium", timeout=5)
    try:
        with pytest.raises(pdf.PdfError, match="did not start"):
            kept.print(page())
    finally:
        kept.close()
