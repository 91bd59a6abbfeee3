"""Password login on the local listener: a live account's password buys an API token that
expires. Failed logins are counted per username in the shared counter table, so guessing is
throttled across every process of the node; every attempt is audited."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta

from gateway.audit.schemas import AuditEvent
from gateway.audit.service import AuditLog
from gateway.errors import NotAuthenticated, QuotaExceeded
from gateway.quotas.store import Charge, QuotaStore
from gateway.users.accounts import AccountStore
from gateway.users.store import IssuedToken, TokenStore

WRONG = "the username or password is wrong"


class PasswordLogin:
    def __init__(
        self,
        accounts: AccountStore,
        tokens: TokenStore,
        counters: QuotaStore,
        audit: AuditLog,
        agency: str,
        clock: Callable[[], datetime],
        *,
        token_hours: int = 12,
        max_failures: int = 10,
        window_minutes: int = 15,
    ) -> None:
        self._accounts = accounts
        self._tokens = tokens
        self._counters = counters
        self._audit = audit
        self._agency = agency
        self._clock = clock
        self._token_hours = token_hours
        self._max_failures = max_failures
        self._window = window_minutes * 60

    def login(self, username: str, password: str) -> IssuedToken:
        """A token for the account, or NotAuthenticated (the same for every cause), or
        QuotaExceeded after too many failures for this username in the window."""
        now = self._clock()
        epoch = int(now.timestamp())
        start = epoch - epoch % self._window
        subject = "login:" + hashlib.sha256(username.encode("utf-8")).hexdigest()[:32]
        window = str(start)
        if self._counters.used(subject, "failures", window) >= self._max_failures:
            self._record(username, "denied", "throttled", now)
            retry = datetime.fromtimestamp(start + self._window, now.tzinfo)
            raise QuotaExceeded(
                f"too many failed logins for this user; try again after {retry:%H:%M} UTC"
            )
        account = self._accounts.verify(username, password)
        if account is None:
            self._counters.charge_all(
                [
                    Charge(
                        subject,
                        "failures",
                        window,
                        1,
                        self._max_failures,
                        start + self._window + 3600,
                    )
                ]
            )
            self._record(username, "denied", "wrong username or password", now)
            raise NotAuthenticated(WRONG)
        expires = now + timedelta(hours=self._token_hours)
        issued = self._tokens.issue(
            account.username, account.role, now, expires_at=int(expires.timestamp())
        )
        self._record(username, "allowed", None, now, token_id=issued.user.token_id)
        return issued

    def _record(
        self,
        username: str,
        decision: str,
        refused: str | None,
        now: datetime,
        *,
        token_id: str | None = None,
    ) -> None:
        outcome: dict[str, object] = {"refused": refused} if refused else {"token_id": token_id}
        self._audit.append(
            AuditEvent(
                channel="local",
                requester_agency=self._agency,
                requester_user=username[:128] or "-",
                query_type="login",
                decision="allowed" if decision == "allowed" else "denied",
                recorded_at=now,
                outcome=outcome,
            )
        )
