"""Who may write over HTTP, and where the server may listen.

Rules (README, "Web pages and HTTP API"):

* Reads are open to whoever reaches the port.
* Writes (upload, retry, entity rules) need the write token when one is configured
  (`DOCFLOW_WRITE_TOKEN`): `Authorization: Bearer <token>` on the API, the `token` field
  of the pages' forms. It is compared in constant time.
* With no token configured, writes are taken only from a loopback client that named a
  loopback host (so a DNS-rebound name cannot write) and, when the browser says where the
  request comes from (`Origin`), only from this server's own pages (no cross-site form
  posts from another tab).
* The server refuses to listen beyond loopback without a token (`check_bind`).
"""

from __future__ import annotations

import hmac
import ipaddress
from urllib.parse import urlsplit

from fastapi import HTTPException, Request

from tasks.errors import ConfigError
from workers.settings import Settings

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})
TOKEN_HINT = (
    "set DOCFLOW_WRITE_TOKEN to a long random secret "
    "(`python -c 'import secrets; print(secrets.token_urlsafe(32))'`) and send it as "
    "`Authorization: Bearer <token>`"
)


def is_loopback(host: str | None) -> bool:
    """127.0.0.0/8, ::1 and localhost."""
    if not host:
        return False
    name = host.strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_bind(settings: Settings, host: str) -> None:
    """Refuse to listen beyond loopback without a write token (ConfigError says how)."""
    if is_loopback(host) or settings.write_token is not None:
        return
    raise ConfigError(
        f"docflow serve: refusing to listen on {host} without a write token: anyone who "
        "reaches it could upload files and change entity rules",
        hint=f"{TOKEN_HINT}, or listen on 127.0.0.1 (DOCFLOW_SERVE_HOST / --host)",
    )


def _host_name(header: str) -> str:
    """The host part of a Host header (`[::1]:8000` -> `::1`, `a:80` -> `a`)."""
    return urlsplit(f"//{header}").hostname or ""


def local_write_allowed(request: Request) -> str | None:
    """None if a token-less write may go ahead, else why not."""
    client = request.client.host if request.client else None
    if not is_loopback(client):
        return f"writes from {client or 'an unknown client'} need DOCFLOW_WRITE_TOKEN"
    if not is_loopback(_host_name(request.headers.get("host", ""))):
        return "writes without a token are taken only at http://127.0.0.1 (Host header)"
    origin = request.headers.get("origin")
    if origin and origin != "null":
        own = request.headers.get("host", "")
        if urlsplit(origin).netloc != own:
            return f"a write from another site ({origin}) is refused"
    elif origin == "null":
        return "a write from an opaque origin is refused"
    return None


def token_matches(settings: Settings, offered: str | None) -> bool:
    """Whether `offered` is the configured write token (constant-time)."""
    if settings.write_token is None or not offered:
        return False
    expected = settings.write_token.get_secret_value().encode()
    return hmac.compare_digest(expected, offered.encode())


def bearer(request: Request) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, if any."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def require_writer(request: Request, settings: Settings, form_token: str | None = None) -> None:
    """Raise 401/403 unless this request may write (see the module docstring)."""
    if settings.write_token is not None:
        if token_matches(settings, bearer(request) or form_token):
            return
        raise HTTPException(
            status_code=401,
            detail="this write needs the write token: send `Authorization: Bearer <token>` "
            "(DOCFLOW_WRITE_TOKEN), or fill in the token field on the page",
            headers={"WWW-Authenticate": "Bearer"},
        )
    why = local_write_allowed(request)
    if why is not None:
        raise HTTPException(status_code=403, detail=f"{why}; {TOKEN_HINT}")
