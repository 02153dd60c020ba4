"""Which official account owns a mini program: bound once, then every event must agree.

``miniprogram.events.v1`` carries ``owner_account_id`` as the writer claims it, and the owner is
the account an event counts against (and a trading app is suspended with it). Without a binding,
one forged event claiming another owner for an app would make that app part of a stranger's
case, and so suspend a mini program the writer does not own. So an app is bound to the owner
of the first event seen for it, and an event that claims a different owner is rejected
(``owner_mismatch``, dead-lettered live, reported in replay).

"First seen" is in the app's topic order: the topic is keyed by ``app_id``, so one partition
holds all of an app's events in the order they were written, which is also the order of a
recording of that topic. Live and replay therefore bind every app to the same owner. Pure: the
shell persists each new binding (a compacted topic keyed by ``app_id``) before it commits the
input that made it, and loads the bindings of its partitions before reading them.
"""

from __future__ import annotations

from collections.abc import Iterable

from streams.core.rejections import OWNER_MISMATCH

__all__ = ["OWNER_MISMATCH", "OwnerBindings", "OwnerMismatch"]


class OwnerMismatch(Exception):
    """An event claims an owner other than the one its mini program is bound to."""

    def __init__(self, app_id: str, bound: str, claimed: str) -> None:
        super().__init__(f"mini program {app_id!r} is bound to another owner than the {claimed!r} this event claims")
        self.app_id, self.bound, self.claimed = app_id, bound, claimed


class OwnerBindings:
    """app_id -> owner account: the first owner seen wins."""

    def __init__(self, bindings: Iterable[tuple[str, str]] = ()) -> None:
        self._owner: dict[str, str] = {}
        for app_id, owner in bindings:
            self.load(app_id, owner)

    def load(self, app_id: str, owner: str) -> None:
        """A binding read back from where the shell keeps them (a later record replaces an earlier one)."""
        self._owner[app_id] = owner

    def check(self, app_id: str, claimed: str) -> bool:
        """Accept an event of ``app_id`` claiming ``claimed`` as owner, or raise :class:`OwnerMismatch`.

        True when this event binds the app (the shell must persist the binding before
        acknowledging the event); False when the app was already bound to that owner.
        """
        bound = self._owner.get(app_id)
        if bound is None:
            self._owner[app_id] = claimed
            return True
        if bound != claimed:
            raise OwnerMismatch(app_id, bound, claimed)
        return False

    def owner_of(self, app_id: str) -> str | None:
        return self._owner.get(app_id)

    def __len__(self) -> int:
        return len(self._owner)
