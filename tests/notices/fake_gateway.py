"""A fake Iranian SMS gateway (the common Kavenegar-like REST shape) on a real loopback socket, for the tests of
notices.providers.http.RestSmsGateway and the delivery around it.

    with FakeGateway(api_key="k") as gw:          # 127.0.0.1, a free port, served by a thread
        gw.url                                     # give this to NOTICES_SMS_URL
        gw.mode = "down"                           # or set_mode(): see MODES
        gw.requests, gw.messages, gw.deliveries    # what it saw and what it "delivered"
        gw.set_status(messageid, 10)               # what status.json reports later
        gw.post_delivery(callback_url, messageid, 10)

API (what RestSmsGateway speaks):
    GET or POST /{api_key}/sms/send.json     receptor, message, sender, localid (form or query)
        -> {"return": {"status": 200, "message": ...}, "entries": [{"messageid": n, "status": 1, ...}]}
        A second send with a localid already seen answers the first message's entry and sends nothing.
    GET or POST /{api_key}/sms/status.json   messageid=1,2,3
        -> {"return": ..., "entries": [{"messageid": n, "status": code, "statustext": ...}]}
    Errors answer {"return": {"status": code, "message": text}, "entries": null} with an HTTP status.
"""

import collections
import json
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODES = {
    "ok": "answer normally",
    "down": "the listening socket is closed: connections are refused",
    "unavailable": "HTTP 503",
    "error": "HTTP 500",
    "slow": "wait slow_seconds (past the client's timeout), then answer normally",
    "invalid_receptor": "HTTP 400, gateway status 411 (receptor invalid) for every send",
    "bad_key": "HTTP 401, gateway status 401 (API key invalid) for every request",
    "no_credit": "HTTP 402, gateway status 418 (credit insufficient) for every send",
    "rate_limit": "HTTP 429 with Retry-After: retry_after",
    "garbage": "HTTP 200 with a body that is not JSON",
    "hangup": "the connection is closed without an answer (reset mid-request)",
    "redirect": "HTTP 302 to another address",
}

PHONE = re.compile(r"^09\d{9}$")
STATUS_TEXT = {1: "در صف ارسال", 2: "زمان‌بندی شده", 4: "ارسال شده به مخابرات", 5: "ارسال شده به مخابرات",
               6: "خطا در ارسال", 10: "رسیده به گیرنده", 11: "نرسیده به گیرنده", 13: "لغو شده", 14: "بلاک شده",
               100: "شناسه پیامک نامعتبر است"}


@dataclass
class SeenRequest:
    method: str
    path: str  # as requested, the API key included
    params: dict
    at: float  # time.monotonic()


@dataclass
class FakeMessage:
    messageid: int
    receptor: str
    message: str
    sender: str
    localid: str
    status: int = 1
    sent_at: float = field(default_factory=time.time)


class FakeGateway:
    def __init__(self, api_key: str = "test-api-key", *, rate: float | None = None, retry_after: int = 2,
                 slow_seconds: float = 2.0, first_messageid: int = 7_000_001):
        self.api_key = api_key
        self.rate = rate  # requests per second it accepts (sliding one-second window); more answer 429
        self.retry_after = retry_after
        self.slow_seconds = slow_seconds
        self.requests: list[SeenRequest] = []
        self.messages: dict[int, FakeMessage] = {}
        self.by_localid: dict[str, int] = {}
        self.rate_limited = 0  # requests answered 429 by the gateway's own limit
        self._next_id = first_messageid
        self._recent: collections.deque[float] = collections.deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._mode = "ok"
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # --- lifecycle ---------------------------------------------------------------------------------------------
    def start(self) -> "FakeGateway":
        self._stopping.clear()
        self._listen()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes slow handlers
        self._close()

    def __enter__(self) -> "FakeGateway":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _listen(self) -> None:
        gateway = self

        class Handler(_Handler):
            fake = gateway

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)  # allow_reuse_address: same port again
        server.daemon_threads = True
        server.block_on_close = False
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"fake-sms-gateway-{self.port}", daemon=True)
        self._thread.start()

    def _close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(5)
            self._server = self._thread = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def mode(self) -> str:
        return self._mode

    @mode.setter
    def mode(self, mode: str) -> None:
        self.set_mode(mode)

    def set_mode(self, mode: str) -> None:
        """Switch behaviour; "down" closes the listening socket (connection refused), leaving it listens again on
        the same port."""
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}: one of {', '.join(MODES)}")
        if mode == "down" and self._server is not None:
            self._close()
        elif mode != "down" and self._server is None and not self._stopping.is_set():
            self._listen()
        self._mode = mode

    # --- what it saw ------------------------------------------------------------------------------------------
    @property
    def deliveries(self) -> int:
        """Messages actually accepted for sending (a repeated localid is not a second one)."""
        return len(self.messages)

    def sends(self) -> list[SeenRequest]:
        return [r for r in self.requests if r.path.endswith("/sms/send.json")]

    def sent_to(self, phone: str) -> list[FakeMessage]:
        return [m for m in self.messages.values() if m.receptor == phone]

    def set_status(self, messageid: int, status: int) -> None:
        self.messages[int(messageid)].status = status

    def set_all(self, status: int) -> None:
        for message in self.messages.values():
            message.status = status

    # --- callbacks it makes -----------------------------------------------------------------------------------
    @staticmethod
    def _post(url: str, fields: dict, timeout: float = 10.0) -> tuple[int, bytes]:
        data = urllib.parse.urlencode(fields).encode()
        request = urllib.request.Request(url, data=data, method="POST",
                                         headers={"Content-Type": "application/x-www-form-urlencoded"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def post_delivery(self, url: str, messageid: int, status: int | None = None) -> tuple[int, bytes]:
        """POST a delivery report (messageid, status) to url, as gateways call back; status defaults to the
        message's current one."""
        if status is None:
            status = self.messages[int(messageid)].status
        else:
            self.set_status(messageid, status)
        return self._post(url, {"messageid": messageid, "status": status})

    def post_inbound(self, url: str, sender: str, message: str, to: str = "10004346") -> tuple[int, bytes]:
        """POST a citizen's reply (from, to, message, messageid) to url, as gateways forward received SMS."""
        with self._lock:
            messageid = self._next_id
            self._next_id += 1
        return self._post(url, {"messageid": messageid, "from": sender, "to": to, "message": message})

    # --- the API ----------------------------------------------------------------------------------------------
    def _over_rate(self, now: float) -> bool:
        if not self.rate:
            return False
        with self._lock:
            while self._recent and self._recent[0] <= now - 1.0:
                self._recent.popleft()
            if len(self._recent) >= self.rate:
                self.rate_limited += 1
                return True
            self._recent.append(now)
            return False

    def answer(self, method: str, path: str, params: dict) -> tuple[int, dict[str, str], bytes] | None:
        now = time.monotonic()
        with self._lock:
            self.requests.append(SeenRequest(method, path, params, now))
        mode = self._mode
        if mode == "slow":
            self._stopping.wait(self.slow_seconds)
        if mode == "hangup":
            return None
        if mode == "redirect":
            return 302, {"Location": f"{self.url}/elsewhere{path}"}, b""
        if mode == "unavailable":
            return 503, {}, b"<html><body>503 Service Unavailable</body></html>"
        if mode == "error":
            return _error(500, 500, "internal error")
        if mode == "garbage":
            return 200, {"Content-Type": "application/json"}, b"<html>{\"return\": oops"
        if mode == "rate_limit" or self._over_rate(now):
            return _error(429, 429, "too many requests", {"Retry-After": str(self.retry_after)})
        match = re.fullmatch(r"/([^/]+)/sms/(send|status)\.json", path)
        if not match:
            return _error(404, 404, "method not found")
        if mode == "bad_key" or urllib.parse.unquote(match.group(1)) != self.api_key:
            return _error(401, 401, "کلید API نامعتبر است (invalid API key)")
        if match.group(2) == "send":
            return self._send(params, mode)
        return self._status(params)

    def _send(self, params: dict, mode: str):
        receptor, message = params.get("receptor", ""), params.get("message", "")
        sender, localid = params.get("sender", ""), params.get("localid", "")
        if mode == "no_credit":
            return _error(402, 418, "اعتبار حساب کافی نیست (credit insufficient)")
        if mode == "invalid_receptor" or not PHONE.match(receptor):
            return _error(400, 411, "گیرنده نامعتبر است (receptor invalid)")
        if not message:
            return _error(400, 413, "متن پیام خالی است (message empty)")
        with self._lock:
            known = self.by_localid.get(localid) if localid else None
            if known is None:
                known = self._next_id
                self._next_id += 1
                self.messages[known] = FakeMessage(known, receptor, message, sender, localid)
                if localid:
                    self.by_localid[localid] = known
            entry = self._entry(self.messages[known])
        return _ok([entry])

    def _status(self, params: dict):
        raw = params.get("messageid", "")
        try:
            ids = [int(x) for x in raw.split(",") if x.strip()]
        except ValueError:
            return _error(400, 400, "messageid invalid")
        if not ids:
            return _error(400, 400, "messageid required")
        entries = []
        with self._lock:
            for messageid in ids:
                message = self.messages.get(messageid)
                status = message.status if message else 100
                entries.append({"messageid": messageid, "status": status, "statustext": STATUS_TEXT.get(status, "")})
        return _ok(entries)

    @staticmethod
    def _entry(m: FakeMessage) -> dict:
        return {"messageid": m.messageid, "message": m.message, "status": m.status,
                "statustext": STATUS_TEXT.get(m.status, ""), "sender": m.sender, "receptor": m.receptor,
                "date": int(m.sent_at), "cost": 120 * _parts(m.message)}


def _parts(text: str) -> int:
    """SMS parts of a UCS-2 text: 70 characters in one part, 67 per part when split."""
    return 1 if len(text) <= 70 else -(-len(text) // 67)


def _json(status: int, document: dict, headers: dict | None = None):
    body = json.dumps(document, ensure_ascii=False).encode()
    return status, {"Content-Type": "application/json; charset=utf-8", **(headers or {})}, body


def _ok(entries: list[dict]):
    return _json(200, {"return": {"status": 200, "message": "تایید شد"}, "entries": entries})


def _error(http_status: int, status: int, message: str, headers: dict | None = None):
    return _json(http_status, {"return": {"status": status, "message": message}, "entries": None}, headers)


class _Handler(BaseHTTPRequestHandler):
    fake: FakeGateway
    server_version = "FakeSmsGateway/1.0"

    def _handle(self, method: str) -> None:
        split = urllib.parse.urlsplit(self.path)
        params = dict(urllib.parse.parse_qsl(split.query, keep_blank_values=True))
        if method == "POST":
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8", "replace")
            params.update(urllib.parse.parse_qsl(body, keep_blank_values=True))
        answer = self.fake.answer(method, split.path, params)
        if answer is None:  # hang up
            self.close_connection = True
            return
        status, headers, body = answer
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the client gave up (timed out) first
            pass

    def do_GET(self):  # noqa: N802
        self._handle("GET")

    def do_POST(self):  # noqa: N802
        self._handle("POST")

    def log_message(self, format, *args):  # quiet
        pass
