"""Who may act: the configured admin user ids, plus the members of one Slack user group."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

log = logging.getLogger(__name__)

GROUP_TTL_SECONDS = 300.0
# After a failed look-up, wait this long before asking Slack again (usergroups.users.list is
# tier 2: about 20 calls a minute), rather than asking on every click.
FAILURE_TTL_SECONDS = 30.0


class Authorizer:
    """Answers "is this Slack user an administrator?"; the user group is cached for 5 minutes."""

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
        self._lock = threading.Lock()
        self._members: frozenset[str] | None = None
        self._fresh_until = float("-inf")

    def is_admin(self, user_id: str) -> bool:
        """Whether `user_id` may view records, retry and resolve."""
        if not user_id:
            return False
        if user_id in self.admins:
            return True
        return user_id in self.group_members()

    def group_members(self) -> frozenset[str]:
        """The user group's members (none if no group is set), cached while fresh."""
        if self.usergroup is None:
            return frozenset()
        # One look-up at a time: clicks that arrive meanwhile wait for its answer instead of
        # each asking Slack again.
        with self._lock:
            if self.clock() < self._fresh_until and self._members is not None:
                return self._members
            try:
                answer = self.client.usergroups_users_list(usergroup=self.usergroup)
            except (SlackApiError, SlackClientError) as exc:
                # Fail closed, but keep the last known members: a Slack hiccup should not lock
                # every group admin out, and a removed member drops out on the next success.
                log.warning("usergroups.users.list failed for %s: %s", self.usergroup, exc)
                self._fresh_until = self.clock() + FAILURE_TTL_SECONDS
                self._members = self._members or frozenset()
                return self._members
            self._members = frozenset(answer.get("users") or ())
            self._fresh_until = self.clock() + GROUP_TTL_SECONDS
            return self._members
