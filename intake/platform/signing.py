"""Signed cookies and form tokens, each checked or signed once and remembered by the process.

Every page reads the session cookie (an HMAC check, base64, zlib and JSON) and every page with a
form signs a form token. Both are pure functions of their inputs and the secret keys, so a
cookie already checked, and a token signed moments ago for the same browser, are remembered
rather than worked out again. What is remembered is what the cookie or page already carries,
kept in this process's memory only, in bounded stores that empty themselves when full.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, g, session
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer

# Enough for every browser active in the last few minutes on one server process.
MAX_REMEMBERED = 4096
# A form token signed within this share of its time limit is given again instead of a new one,
# so a page's token is never more than this much older than one signed for it would be.
FORM_TOKEN_REUSE_SHARE = 0.02
FORM_TOKEN_REUSE_MAX_SECONDS = 60
# Only its clock is used: the time that signed values are dated and checked by.
_SIGNING_CLOCK = TimestampSigner("clock only")
# A cookie asked to be renewed is signed again only once it is this old, so a patient answering
# page after page is not sent a new cookie with each answer. Cookies last this much longer to match.
COOKIE_RENEWAL_SECONDS = 60


def _copy(value: Any) -> Any:
    """A copy of a session value that shares nothing a page could change in place."""
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value  # str, bool, numbers, and the tagged types Flask stores (tuples of these, Markup...)


class DatedSession(SecureCookieSession):
    """A session that knows when its cookie was signed (None when the browser sent none)."""

    signed_at: int | None = None


def renew_cookie(session: DatedSession) -> None:
    """Start the cookie's lifetime again from now, unless it was signed within the last minute."""
    if session.signed_at is None or _SIGNING_CLOCK.get_timestamp() - session.signed_at >= COOKIE_RENEWAL_SECONDS:
        session.modified = True


class RememberingSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with the signing serializer built once for each set of keys,
    and each cookie's contents remembered once checked (or once signed here), until it expires."""

    session_class = DatedSession

    def __init__(self) -> None:
        self._serializers: dict[tuple, URLSafeTimedSerializer | None] = {}
        self._cookies: dict[str, tuple[int, dict[str, Any]]] = {}

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        keys = (app.secret_key, *(app.config["SECRET_KEY_FALLBACKS"] or ()))
        if keys not in self._serializers:
            # A changed key replaces the old serializer and forgets every cookie checked with it.
            self._serializers = {keys: super().get_signing_serializer(app)}
            self._cookies = {}
        return self._serializers[keys]

    def _remember(self, cookie: str, signed_at: int, data: dict[str, Any]) -> None:
        """Keep `data`, which nothing else may hold, as what the cookie carries."""
        if len(self._cookies) >= MAX_REMEMBERED:
            self._cookies.clear()
        self._cookies[cookie] = (signed_at, data)

    def open_session(self, app: Flask, request) -> SecureCookieSession | None:
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        cookie = request.cookies.get(self.get_cookie_name(app))
        if not cookie:
            return self.session_class()
        max_age = int(app.permanent_session_lifetime.total_seconds())
        known = self._cookies.get(cookie)
        if known is not None:
            signed_at, data = known
            age = _SIGNING_CLOCK.get_timestamp() - signed_at
            if 0 <= age <= max_age:
                return self._dated(_copy(data), signed_at)
            self._cookies.pop(cookie, None)  # another thread may have dropped it already
        try:
            data, signed = serializer.loads(cookie, max_age=max_age, return_timestamp=True)
        except BadSignature:
            return self.session_class()
        signed_at = int(signed.timestamp())
        self._remember(cookie, signed_at, _copy(data))
        return self._dated(data, signed_at)

    def _dated(self, data: dict[str, Any], signed_at: int) -> DatedSession:
        session = self.session_class(data)
        session.signed_at = signed_at
        return session

    def save_session(self, app: Flask, session: SecureCookieSession, response) -> None:
        super().save_session(app, session, response)
        if not (session and session.modified):
            return
        name = self.get_cookie_name(app) + "="
        for cookie in response.headers.getlist("Set-Cookie"):
            if cookie.startswith(name):
                # The browser sends this cookie with its next page: remember what it holds. It was
                # signed during this second or the one before, so it is taken to be a second older.
                signed_at = _SIGNING_CLOCK.get_timestamp() - 1
                # As another process will read it: through the cookie's JSON, not as set in Python.
                stored = self.serializer.loads(self.serializer.dumps(dict(session)))
                self._remember(cookie[len(name):].split(";", 1)[0], signed_at, stored)


def reuse_recent_form_tokens(app: Flask) -> None:
    """Give a page the form token signed for the same browser moments ago, instead of signing another.

    Flask-WTF signs the browser's secret token with the time on every page; a token from the
    last few seconds is as good and costs a lookup. A page still gets a token no older than a
    small share of the time limit, and a page shown after a timed-out post gets a fresh one.
    """
    field = app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    time_limit = app.config.get("WTF_CSRF_TIME_LIMIT") or 0
    reuse_seconds = min(FORM_TOKEN_REUSE_MAX_SECONDS, int(time_limit * FORM_TOKEN_REUSE_SHARE))
    signed_tokens: dict[str, tuple[int, str]] = {}
    if reuse_seconds <= 0:
        return

    @app.before_request
    def recent_form_token() -> None:
        secret = session.get(field)
        known = signed_tokens.get(secret) if isinstance(secret, str) else None
        if known is not None and 0 <= _SIGNING_CLOCK.get_timestamp() - known[0] <= reuse_seconds:
            setattr(g, field, known[1])

    @app.after_request
    def remember_form_token(response):
        secret, signed = session.get(field), g.get(field)
        if isinstance(secret, str) and signed is not None and signed_tokens.get(secret, (0, None))[1] != signed:
            if len(signed_tokens) >= MAX_REMEMBERED:
                signed_tokens.clear()
            signed_tokens[secret] = (_SIGNING_CLOCK.get_timestamp() - 1, signed)  # signed this second or the one before
        return response

