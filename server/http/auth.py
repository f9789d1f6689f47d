"""Who is calling: bearer tokens checked against the token registry, with failed attempts
throttled per client address; or, on loopback with `--no-auth` only, an anonymous read-only caller.
"""

from __future__ import annotations

import logging
import time

from starlette.types import Scope

from secaudit.server.http.checks import header_values
from secaudit.server.http.responses import REALM, Refusal
from secaudit.server.settings import Settings
from secaudit.tools.auth import Principal, TokenRegistry, identity_digest, parse_token_env
from secaudit.tools.errors import ConfigError, SecauditError
from secaudit.tools.ratelimit import RateLimiter

__all__ = ["ANONYMOUS", "Authenticator", "build_token_registry"]

log = logging.getLogger("secaudit.http")

ANONYMOUS = Principal(
    name="loopback-anonymous",
    scopes=frozenset({"read"}),
    token_digest="-",  # noqa: S106 - a marker, not a credential
    source="no-auth",
)


def build_token_registry(settings: Settings) -> TokenRegistry:
    env_entries = []
    if settings.http_tokens is not None:
        env_entries = parse_token_env(settings.http_tokens.get_secret_value())
    return TokenRegistry(env_entries=env_entries, token_file=settings.http_token_file)


class Authenticator:
    def __init__(self, settings: Settings, *, loopback: bool, limiter: RateLimiter | None) -> None:
        self.tokens = build_token_registry(settings)
        self.no_auth = settings.http_no_auth
        self.limiter = limiter
        if self.no_auth and not loopback:
            raise ConfigError(
                "SECAUDIT_HTTP_NO_AUTH: refused because the server would listen on a non-loopback "
                "address; configure tokens (SECAUDIT_HTTP_TOKENS or SECAUDIT_HTTP_TOKEN_FILE)"
            )
        if not self.no_auth and not self.tokens.entries() and not self.tokens.configured:
            raise ConfigError(
                "no HTTP authentication configured: set SECAUDIT_HTTP_TOKENS or SECAUDIT_HTTP_TOKEN_FILE "
                "(create a token with `secaudit token new`); for local tests only, --no-auth on loopback"
            )
        if not self.no_auth and not self.tokens.entries():
            # A token file with no [[token]] in it: every request would be refused with 401 while
            # the server said it was serving. Tokens added to the file later are still picked up
            # (it is re-read when it changes), but starting with none is a mistake to report now.
            raise ConfigError(
                "SECAUDIT_HTTP_TOKEN_FILE holds no token: add a [[token]] entry to it (`secaudit token "
                "new --name NAME --scopes read 2>>FILE` appends one and prints the token), or set "
                "SECAUDIT_HTTP_TOKENS"
            )
        self._throttle_logged: dict[str, float] = {}

    async def authenticate(self, scope: Scope, client: str | None) -> Principal:
        if self.no_auth and not self.tokens.configured:
            return ANONYMOUS
        # Failed authentications are counted per client address, and an address over its budget is
        # refused before its token is even looked at: a valid token from there is refused too, or
        # the throttle would still answer "valid or not" to a guesser. It also bounds how fast
        # unauthenticated traffic can write auth_failed events. Behind a reverse proxy every client
        # shares the proxy's address (docs/http.md).
        address_key = identity_digest("client-address\x00" + (client or "unknown"))
        limiter = self.limiter
        if limiter is not None:
            try:
                wait = await limiter.exhausted(address_key, "auth_failure")
            except SecauditError as exc:
                raise Refusal(503, str(exc), code=-32603, headers=[(b"retry-after", b"5")]) from None
            if wait is not None:
                raise Refusal(
                    429,
                    "Too Many Requests: too many failed authentications from this address; "
                    f"retry in {wait} s",
                    headers=[(b"retry-after", str(wait).encode())],
                    event=self._throttle_event(address_key),
                    detail="failed-authentication budget spent",
                )
        try:
            return self._check_token(scope)
        except Refusal:
            if limiter is not None:
                try:
                    await limiter.charge(address_key, "auth_failure")
                except SecauditError:
                    log.warning("could not count a failed authentication; the rate-limit store failed")
            raise

    def _throttle_event(self, address_key: str) -> str | None:
        """'auth_throttled' once a minute per address: a flood of refusals is not a flood of rows."""
        now = time.monotonic()
        if len(self._throttle_logged) > 10_000:
            self._throttle_logged = {k: t for k, t in self._throttle_logged.items() if now - t < 60}
        last = self._throttle_logged.get(address_key)
        if last is not None and now - last < 60:
            return None
        self._throttle_logged[address_key] = now
        return "auth_throttled"

    def _check_token(self, scope: Scope) -> Principal:
        values = header_values(scope, b"authorization")
        if not values:
            raise Refusal(
                401,
                "Unauthorized: send Authorization: Bearer <token>",
                headers=[(b"www-authenticate", REALM.encode())],
                event="auth_failed",
                detail="missing",
            )
        scheme, _, token = values[0].partition(" ")
        principal = None
        if len(values) == 1 and scheme.lower() == "bearer":
            principal = self.tokens.authenticate(token.strip())
        if principal is None:
            raise Refusal(
                401,
                "Unauthorized: the token is not valid",
                headers=[(b"www-authenticate", f'{REALM}, error="invalid_token"'.encode())],
                event="auth_failed",
                detail="invalid" if scheme.lower() == "bearer" else "not a bearer token",
            )
        return principal
