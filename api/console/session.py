"""Console sessions: a signed cookie that names an API key by id, and a CSRF token.

Signing in exchanges an API key for the cookie; the key itself is never stored in it.
Every request re-reads the key, so revoking it (``adreel keys revoke``) ends its
sessions at once. The cookie is HttpOnly, SameSite=Lax, Secure over HTTPS, and expires
after ``SESSION_MAX_AGE_S``. Signing out drops the cookie in the browser; a copy taken
before then stays valid until it expires or the key is revoked (there is no server-side
session table, so that several ``adreel api`` processes need only share the secret).
"""

from __future__ import annotations

import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from fastapi import Request
from fastapi.responses import Response
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from storage.keys import ApiKey, live_key
from storage.services import services
from storage.settings import get_settings

COOKIE = "adreel_session"
SALT = "adreel-console-session"
SESSION_MAX_AGE_S = 12 * 3600
_serializers: dict[str, URLSafeTimedSerializer] = {}


@dataclass(frozen=True)
class Session:
    csrf_token: str
    key: ApiKey | None
    # why a signed-in session has no key now: "expired" (older than SESSION_MAX_AGE_S)
    # or "revoked" (its key was revoked); the sign-in page says so
    lapsed: str | None = None


def console_secret() -> str:
    """ADREEL_CONSOLE_SECRET, or one generated once and kept in ADREEL_HOME."""
    settings = get_settings()
    if settings.console_secret:
        return settings.console_secret
    path = Path(settings.home) / "console_secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, secrets.token_urlsafe(48).encode())
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)
    return path.read_text().strip()


def _serializer() -> URLSafeTimedSerializer:
    secret = console_secret()
    if secret not in _serializers:
        _serializers[secret] = URLSafeTimedSerializer(secret, salt=SALT)
    return _serializers[secret]


def read_session(request: Request) -> Session | None:
    """The request's session (signed, not expired), with its key if still live."""
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        data = _serializer().loads(raw, max_age=SESSION_MAX_AGE_S)
    except SignatureExpired:
        return Session(new_csrf_token(), None, "expired")
    except BadSignature:
        return None
    key_id = data.get("key_id")
    key = live_key(services().db, key_id) if isinstance(key_id, int) else None
    lapsed = "revoked" if key is None and isinstance(key_id, int) else None
    return Session(str(data.get("csrf", "")), key, lapsed)


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def write_session(
    request: Request, response: Response, key: ApiKey | None, token: str | None = None
) -> str:
    """Set a session cookie on ``response`` (a fresh CSRF token unless ``token``)."""
    token = token or new_csrf_token()
    payload = {"csrf": token, "key_id": key.key_id if key else None}
    response.set_cookie(
        COOKIE,
        _serializer().dumps(payload),
        max_age=SESSION_MAX_AGE_S,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    return token


def drop_session(request: Request, response: Response) -> None:
    response.delete_cookie(
        COOKIE, path="/", httponly=True, samesite="lax", secure=request.url.scheme == "https"
    )


def csrf_ok(session: Session | None, sent: str | None) -> bool:
    return bool(session and session.csrf_token and sent) and hmac.compare_digest(
        session.csrf_token, sent
    )
