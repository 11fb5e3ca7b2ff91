"""Who may act: the configured admin user ids, plus the members of one Slack user group.

The group's members are looked up with `usergroups.users.list` and trusted for at most
GROUP_TTL_SECONDS after the last successful look-up. A look-up Slack refuses for good (the
group was deleted, the scope or the token was revoked) drops them at once; one that fails for a
while (429, 5xx, no connection) keeps them until that limit, never longer.

No admin check waits on another request's Slack call: the lock guards the cached state only and
is never held across a call. While the members are trusted, one check at a time refreshes them
and the others answer from the cache; when nothing is trusted, a check asks Slack itself, on a
client without retry handlers, so it waits for one short call of its own and nothing else.
"""

from __future__ import annotations

import http.client
import logging
import threading
import time
from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

log = logging.getLogger(__name__)

# The longest the members are trusted after the last successful look-up.
GROUP_TTL_SECONDS = 300.0
# Ask again this long after a success, well inside GROUP_TTL, so that a Slack hiccup at refresh
# time does not lock group admins out (and a member removed from the group loses access within
# a minute). usergroups.users.list is tier 2 (about 20 calls a minute): once a minute is cheap.
REFRESH_SECONDS = 60.0
# After a failed look-up, wait this long (or a 429's Retry-After, if longer) before asking again,
# rather than asking on every click.
FAILURE_WAIT_SECONDS = 30.0
MAX_RETRY_AFTER_SECONDS = 300.0
LOOKUP_TIMEOUT_SECONDS = 5
# Slack's own words for a failure that is its, not ours, when it answers HTTP 200 with ok=false.
TEMPORARY_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
# What a call with no answer raises: urllib's connection errors and timeouts, a cut response.
NO_ANSWER = (OSError, http.client.HTTPException)


def lookup_client(token: str, base_url: str) -> WebClient:
    """A Web API client for the group look-up: a short timeout and no retry handlers, so an
    admin check never sleeps out a Retry-After or a retry of Slack's."""
    return WebClient(
        token=token, base_url=base_url, timeout=LOOKUP_TIMEOUT_SECONDS, retry_handlers=[]
    )


def is_temporary(error: BaseException) -> bool:
    """Whether a failed look-up may succeed as it is later (429, 5xx, no connection)."""
    if isinstance(error, SlackApiError):
        status = error.response.status_code
        return status == 429 or status >= 500 or error.response.get("error") in TEMPORARY_ERRORS
    return isinstance(error, NO_ANSWER)


def _retry_after(error: BaseException) -> float:
    if not isinstance(error, SlackApiError):
        return 0.0
    headers = error.response.headers or {}
    raw = headers.get("retry-after") or headers.get("Retry-After") or 0
    try:
        return min(max(float(raw), 0.0), MAX_RETRY_AFTER_SECONDS)
    except (TypeError, ValueError):
        return 0.0


def _why(error: BaseException) -> str:
    # Slack's error code, or the exception's type: never the response (it names the URL).
    if isinstance(error, SlackApiError):
        return f"HTTP {error.response.status_code} {error.response.get('error')}"
    return type(error).__name__


class Authorizer:
    """Answers "is this Slack user an administrator?" (listed ids, and the user group)."""

    def __init__(
        self,
        admins: frozenset[str],
        usergroup: str | None,
        client: WebClient,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.admins = admins
        self.usergroup = usergroup
        self.client = client
        self.clock = clock
        # Guards the fields below; never held while Slack is asked.
        self._lock = threading.Lock()
        self._members: frozenset[str] = frozenset()
        self._trusted_until = float("-inf")
        self._ask_after = float("-inf")
        self._asking = 0
        # Look-ups may overlap (see the module's docstring): only the latest started one counts.
        self._started = 0
        self._applied = 0

    def is_admin(self, user_id: str) -> bool:
        """Whether `user_id` may view records, retry and resolve."""
        if not user_id:
            return False
        if user_id in self.admins:
            return True
        return user_id in self.group_members()

    def group_members(self) -> frozenset[str]:
        """The user group's members while they are trusted; none if no group is set."""
        usergroup = self.usergroup
        if usergroup is None:
            return frozenset()
        now = self.clock()
        with self._lock:
            trusted = now < self._trusted_until
            # While trusted members exist, one refresh at a time; the others use them.
            if now < self._ask_after or (trusted and self._asking):
                return self._members if trusted else frozenset()
            self._asking += 1
            self._started += 1
            ticket = self._started
        return self._ask(usergroup, ticket, now)

    def _ask(self, usergroup: str, ticket: int, started: float) -> frozenset[str]:
        """Ask Slack (in this request's own thread), record the answer, return who is trusted."""
        error: BaseException | None = None
        members: frozenset[str] = frozenset()
        try:
            answer = self.client.usergroups_users_list(usergroup=usergroup)
            members = frozenset(str(u) for u in answer.get("users") or ())
        except (SlackClientError, *NO_ANSWER) as exc:
            error = exc
        now = self.clock()
        with self._lock:
            self._asking -= 1
            if ticket > self._applied:
                self._applied = ticket
                if error is None:
                    self._members = members
                    self._trusted_until = started + GROUP_TTL_SECONDS
                    self._ask_after = started + REFRESH_SECONDS
                else:
                    self._failed(error, now)
            return self._members if now < self._trusted_until else frozenset()

    def _failed(self, error: BaseException, now: float) -> None:
        """A failed look-up: drop the members unless Slack may answer later; wait a little."""
        self._ask_after = now + max(FAILURE_WAIT_SECONDS, _retry_after(error))
        if is_temporary(error) and now < self._trusted_until:
            # Ask once more when the trust runs out, so that its end is a look-up's (and logged).
            self._ask_after = min(self._ask_after, self._trusted_until)
            # ERROR all the same: admins should hear of it before the trust runs out.
            log.error(
                "usergroups.users.list failed for %s (%s); its members are trusted for %.0f s more",
                self.usergroup,
                _why(error),
                self._trusted_until - now,
            )
            return
        self._members, self._trusted_until = frozenset(), float("-inf")
        log.error(
            "usergroups.users.list failed for %s (%s): its members are refused until a look-up "
            "succeeds (admins listed in SYNCBOT_ADMIN_USERS are not affected)",
            self.usergroup,
            _why(error),
        )
