"""The pure rules of accounts/signin.py: codes, their hashes, the verification decision, rate-limit arithmetic,
masking and the client address. No database."""

import datetime as dt

import pytest

from accounts import signin
from accounts.signin import CodeState, Verdict

NOW = dt.datetime(2025, 1, 1, 12, 0, tzinfo=dt.timezone.utc)
KEY = signin.derive_key("secret")


@pytest.mark.parametrize("digits", [5, 6])
def test_codes_have_the_digits_asked(digits):
    codes = {signin.generate_code(digits) for _ in range(200)}
    assert all(len(c) == digits and c.isdigit() for c in codes) and len(codes) > 150
    assert signin.generate_code(digits, randbelow=lambda n: 7) == "7".zfill(digits)


def test_hash_binds_number_and_code():
    h = signin.code_hash(KEY, "09121234567", "123456")
    assert len(h) == 64 and "123456" not in h
    assert h != signin.code_hash(KEY, "09121234568", "123456")
    assert h != signin.code_hash(signin.derive_key("other"), "09121234567", "123456")


def _issued(code="123456"):
    return signin.issue(CodeState(), signin.code_hash(KEY, "0912", code), NOW, 120)


def _verify(state, code, at=NOW, max_tries=5):
    return signin.verify(state, signin.code_hash(KEY, "0912", code), at, max_tries, 900)


def test_right_code_once():
    ok = _verify(_issued(), "123456")
    assert ok.verdict == Verdict.OK and ok.state.used_at == NOW
    assert _verify(ok.state, "123456").verdict == Verdict.REPLAYED


def test_expiry():
    state = _issued()
    assert _verify(state, "123456", NOW + dt.timedelta(seconds=119)).verdict == Verdict.OK
    assert _verify(state, "123456", NOW + dt.timedelta(seconds=120)).verdict == Verdict.EXPIRED


def test_lockout_after_max_tries_and_its_end():
    state = _issued()
    for left in (4, 3, 2, 1):
        d = _verify(state, "000000")
        assert d.verdict == Verdict.WRONG and d.tries_left == left
        state = d.state
    d = _verify(state, "000000")
    assert d.verdict == Verdict.LOCKED_NOW and d.retry_after == 900 and not d.state.code_hash
    locked = _verify(d.state, "123456", NOW + dt.timedelta(seconds=899))
    assert locked.verdict == Verdict.LOCKED and locked.retry_after == 1
    later = NOW + dt.timedelta(seconds=900)
    assert signin.locked_for(d.state, later) == 0
    assert _verify(d.state, "123456", later).verdict == Verdict.NO_CODE
    fresh = signin.issue(d.state, signin.code_hash(KEY, "0912", "654321"), later, 120)
    assert fresh.tries == 0 and fresh.locked_until is None
    assert _verify(fresh, "654321", later).verdict == Verdict.OK


def test_no_code():
    assert _verify(CodeState(), "123456").verdict == Verdict.NO_CODE


def test_limits_parse_and_windows():
    assert signin.parse_limits(["3/600", " 10 / 86400 "]) == [signin.Limit(3, 600), signin.Limit(10, 86400)]
    for bad in ["3", "0/60", "a/b", "3/0"]:
        with pytest.raises(ValueError):
            signin.parse_limits([bad])
    assert signin.window_start(1_000_123, 600) == 999_600


def test_rate_decision_names_the_longest_wait():
    counters = signin.counters("number", "0912", [signin.Limit(3, 600), signin.Limit(10, 86400)], 1_000_000)
    counts = {c.key: 11 for c in counters}
    d = signin.rate_decision(counters, counts, 1_000_000)
    assert not d.allowed and d.scope == "number" and d.limit == signin.Limit(10, 86400)
    assert signin.rate_decision(counters, {c.key: 3 for c in counters}, 1_000_000).allowed


@pytest.mark.parametrize("phone, masked", [("09121234567", "0912***4567"), ("123", "***"), ("", "")])
def test_mask(phone, masked):
    assert signin.mask_phone(phone) == masked


def test_address_keys_and_proxies():
    assert signin.address_key("10.0.0.1") == "10.0.0.1"
    assert signin.address_key("2001:db8::1") == signin.address_key("2001:db8::ffff") == "2001:db8::/64"
    assert signin.address_key("::ffff:10.0.0.1") == "10.0.0.1"
    assert signin.client_address("127.0.0.1", "6.6.6.6, 1.2.3.4", 1) == "1.2.3.4"
    assert signin.client_address("127.0.0.1", "6.6.6.6, 1.2.3.4", 0) == "127.0.0.1"
    assert signin.client_address("127.0.0.1", None, 1) == "127.0.0.1"


def test_mobile_form():
    assert signin.is_mobile("09121234567") and not signin.is_mobile("02112345678")
