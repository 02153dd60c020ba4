"""The detector: one input event + one subject's state -> new state, actions, signal hits.

The policy of docs/design.md, in plain Python. The live Faust worker and ``tradewatch replay``
both call :meth:`Detector.process`, which is why they decide alike.

The engine decides when to act; what an action does to an account's case is the table in
streams/core/cases.py, and the threshold shortcut is streams/core/gate.py. Decisions depend on event time only:
the subject clock is the largest event time seen, and a deadline that the clock jumps past
is judged as of the deadline itself, before the event that moved the clock is counted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from streams.core.actions import (
    CASE_CLOSED,
    MINI_PROGRAM,
    OFFICIAL_ACCOUNT,
    QUALIFICATION_REMINDER,
    REINSTATE,
    REVIEW,
    SUSPEND,
    make_action_id,
)
from streams.core.behaviour import BehaviourParams, behaviour_hits
from streams.core.cases import NO_CASE, REMINDED, SUSPENDED, advance, case_id_for
from streams.core.counters import BUCKET_S
from streams.core.events import (
    WITHDRAWAL_REQUESTED,
    Appeal,
    InputEvent,
    MiniProgramEvent,
    Post,
    Qualification,
    Tick,
)
from streams.core.gate import (
    EDITORIAL_ACCOUNT,
    EDITORIAL_POST,
    SIGNAL_POST,
    TEXT_CODES,
    WITHDRAWAL_REQUESTED_COUNT,
    ScoreGate,
)
from streams.core.policy import Policy
from streams.core.post_signals import counts_as_offer, effective_hits
from streams.core.rejections import UNKNOWN_ACTION
from streams.core.scoring import Reason, Scores, score
from streams.core.signals import ACTIVITY_CODES, FRAUD_CODES, STANCE_SIGNAL_CODES, TRADING_CODES
from streams.core.stance import DISCUSSION_KINDS, StanceModel
from streams.core.state import Case, QualificationView, SubjectState
from streams.core.text.matching import TextMatcher
from streams.core.timefmt import format_time

MAX_TRADING_APPS = 50
COLLECTIBLE_EVIDENCE = "collectible_evidence"  # posts about collectibles, mini-program events
OTHER_MARKET_EVIDENCE = "other_market_evidence"  # posts about stocks, second-hand goods, art ...
REPEAT_AFTER_CLOSE = "repeat_after_close"  # reason: trading again soon after a "trading stopped" close
MAX_STANCE_NOTES = 8  # per account: the explanations of its latest offer posts
MAX_PENDING_OFFERS = 8  # per account: offers held until it shows what it sells
_TRADING = frozenset(TRADING_CODES) & ACTIVITY_CODES  # makes a mini program one that trades
_FRAUD = frozenset(FRAUD_CODES)


@dataclass(slots=True)
class Outcome:
    """What one event caused: actions to send (in order) and signal codes that hit."""

    actions: list[dict[str, Any]] = field(default_factory=list)
    hits: list[str] = field(default_factory=list)
    duplicate: bool = False
    stale: bool = False
    suppressed: int = 0  # actions this case had already emitted
    rejected: tuple[str, str] | None = None  # (reason, detail): an input the shell must dead-letter


def _never(_account_id: str, _at: float) -> bool:
    return False


class Detector:
    """Applies a :class:`Policy` to one subject at a time. Holds no per-subject state."""

    def __init__(self, policy: Policy, matcher: TextMatcher | None = None, stance: StanceModel | None = None,
                 allowed_at_runtime: Callable[[str, float], bool] | None = None) -> None:
        self.policy = policy
        # run-time allowlist entries (streams/core/control.py): (account, event time) -> allowlisted
        self._allowed_at_runtime = allowed_at_runtime or _never
        self.matcher = matcher or TextMatcher.from_file(policy.vocabulary_path)
        self.stance = stance or StanceModel.from_file(policy.stance_model_path)
        self.behaviour_params = BehaviourParams.from_mapping(policy.behaviour)
        self.gate = ScoreGate(policy)
        # Policy values read on every event (the policy is frozen)
        self._window_s = policy.window_s
        self._max_evidence = policy.max_evidence
        self._max_recent_ids = policy.max_recent_event_ids
        # after this long without an event, nothing windowed in a state can reach a later event
        self._forget_after_s = max(self._window_s, self.behaviour_params.memory_window_s)

    # ------------------------------------------------------------------ forgetting
    def forget_at(self, state: SubjectState) -> float | None:
        """When ``state`` may be forgotten (see :meth:`forgettable`), if it ever may: never
        while it holds a case, a case's history (case ids and the repeat window count on it),
        a qualification or a held action, which no window expires."""
        if (state.clock is None or state.case is not None or state.cases_opened or state.qualification is not None
                or state.stopped_at is not None or state.counting_since is not None or state.held):
            return None
        return state.clock + self._forget_after_s

    def forgettable(self, state: SubjectState, watermark: float) -> bool:
        """Whether dropping ``state`` changes nothing for any event timed after ``watermark``:
        such an event expires everything windowed in it (counters, event ids, behaviour
        memory, held offers, trading mini programs), and nothing else is left. A live worker
        forgets such quiet accounts, so memory does not grow with every account ever seen;
        only an event later than the watermark (decided at once, out of order) can tell."""
        forget_at = self.forget_at(state)
        return forget_at is not None and forget_at <= watermark

    # ------------------------------------------------------------------ entry point
    def process(self, state: SubjectState | None, event: InputEvent) -> tuple[SubjectState, Outcome]:
        """Apply one event. ``state`` is mutated and returned (a new one when None)."""
        if state is None:
            state = SubjectState(account_id=event.subject_account)
        outcome = Outcome()
        # isinstance, which narrows the event's type for mypy (the event classes have no subclasses)
        at = event.occurred_at if isinstance(event, MiniProgramEvent) else event.event_time  # most events: no property
        if not isinstance(event, Tick):
            if not state.recent_ids.check_and_add(event.event_id, at, self._max_recent_ids):
                outcome.duplicate = True
                return state, outcome
        clock = state.clock
        if clock is None or at > clock:
            case = state.case
            if case is not None and case.state == REMINDED:
                self._fire_due_deadline(state, at, outcome)
            state.clock = clock = at
            self._expire(state, clock)
        if clock - at >= self._window_s and not isinstance(event, (Qualification, Appeal)):
            outcome.stale = True  # older than the window: remembered as seen, never counted
            return state, outcome

        if isinstance(event, (MiniProgramEvent, Post)):
            if isinstance(event, MiniProgramEvent):
                self._count_mini_program_event(state, event, outcome)
            else:
                self._count_post(state, event, outcome)
            if state.pending_offers:  # what this event showed may be what they waited for
                self._release_held_offers(state, outcome)
        elif isinstance(event, Qualification):
            self._apply_qualification(state, event, outcome)
        elif isinstance(event, Appeal):
            self._apply_appeal(state, event, outcome)
        if outcome.hits or not isinstance(event, (Post, MiniProgramEvent)):
            # scores only rise when a signal is counted: an event without hits cannot open
            # a case or cross the fraud threshold (deadlines were handled above)
            self._evaluate(state, clock, outcome)
        return state, outcome

    # ------------------------------------------------------------------ counting
    def _count_post(self, state: SubjectState, post: Post, outcome: Outcome) -> None:
        analysis = self.matcher.analyse(post.title, post.text)
        stance = self.stance.classify(post.title, post.text)
        evidence = (post.event_id,)
        at = post.published_at
        counters = state.counters
        if analysis.reporting or stance.kind in DISCUSSION_KINDS:
            counters.add(EDITORIAL_POST, 1, at, evidence, self.policy.max_evidence)
        if analysis.collectible:
            counters.add(COLLECTIBLE_EVIDENCE, 1, at, (), self.policy.max_evidence)
        if analysis.other_market:
            counters.add(OTHER_MARKET_EVIDENCE, 1, at, (), self.policy.max_evidence)
        # "寄售区维护完成" says nothing about what is sold; the account's other posts and its
        # mini programs do
        min_offer = self.policy.stance_min_offer
        if not counts_as_offer(stance, min_offer):
            return  # discussion, promotion, other markets: nothing it says counts against it
        platform = ((not analysis.collectible or analysis.other_market or bool(analysis.account_context_hits))
                    and self._collectibles_platform(state))
        hits = effective_hits(analysis, stance, min_offer, platform)
        if hits:
            self._count_offer(state, post.event_id, at, [hit.code for hit in hits], stance.explain(), outcome)
        elif not platform and (analysis.other_market or not analysis.collectible):
            # an offer that names no product ("our market moved to xx.cn") or names another
            # market too, from an account not yet known to run a collectibles platform: held,
            # it counts once the account shows itself to be one within the window (its mini
            # program's first events, its posts); a shop whose posts are mostly about other
            # markets never becomes one
            codes = [hit.code for hit in effective_hits(analysis, stance, min_offer, True)]
            held = state.pending_offers
            if held is None:
                held = state.pending_offers = []
            held.append([post.event_id, at, codes, stance.explain()])
            if len(held) > MAX_PENDING_OFFERS:
                del held[0]

    def _count_offer(self, state: SubjectState, event_id: str, at: float, codes: list[str], note: str,
                     outcome: Outcome) -> None:
        """Count one offer post: its signal codes, and its stance explanation for actions."""
        state.counters.add(SIGNAL_POST, 1, at, (), self.policy.max_evidence)
        notes = state.stance_notes
        if notes is None:
            notes = state.stance_notes = {}
        notes[event_id] = note
        if len(notes) > MAX_STANCE_NOTES:
            del notes[next(iter(notes))]
        evidence = (event_id,)
        for code in codes:
            # one post counts once per signal: repeating a word in a post is not more trading
            self._count(state, code, at, evidence, outcome)

    def _release_held_offers(self, state: SubjectState, outcome: Outcome) -> None:
        """Held offers count once the account is known to run a collectibles platform."""
        if self._collectibles_platform(state):
            held, state.pending_offers = state.pending_offers or [], None
            for event_id, at, codes, note in held:
                self._count_offer(state, event_id, at, codes, note, outcome)

    def _collectibles_platform(self, state: SubjectState) -> bool:
        """Mostly about digital collectibles: enough evidence, and more than for other markets."""
        clock = state.clock
        assert clock is not None  # process sets the clock before it counts an event
        start = clock - self.policy.window_s
        evidence = state.counters.count(COLLECTIBLE_EVIDENCE, start, clock)
        elsewhere = state.counters.count(OTHER_MARKET_EVIDENCE, start, clock)
        return evidence >= self.policy.collectible_min_evidence and evidence > elsewhere

    def _count_mini_program_event(self, state: SubjectState, event: MiniProgramEvent, outcome: Outcome) -> None:
        # a collectibles mini program makes its owner a collectibles platform
        counters = state.counters
        at = event.occurred_at
        max_evidence = self._max_evidence
        counters.add(COLLECTIBLE_EVIDENCE, 1, at, (), max_evidence)
        hits = behaviour_hits(event, state.behaviour, self.behaviour_params)
        if hits:
            for code, evidence in hits.items():
                # what _count does, inlined: most mini-program events hit
                counters.add(code, 1, at, evidence, max_evidence)
                outcome.hits.append(code)
                if code in _TRADING:
                    if state.first_trading_at is None:
                        state.first_trading_at = at
                    trading_apps = state.trading_apps
                    if trading_apps is None:
                        trading_apps = state.trading_apps = {}
                    trading_apps[event.app_id] = max(trading_apps.get(event.app_id, 0.0), at)
                    if len(trading_apps) > MAX_TRADING_APPS:
                        oldest = min(trading_apps, key=lambda app: (trading_apps[app], app))
                        del trading_apps[oldest]
                elif state.first_trading_at is None and code in _FRAUD:
                    state.first_trading_at = at
        if event.type == WITHDRAWAL_REQUESTED:
            counters.add(WITHDRAWAL_REQUESTED_COUNT, 1, at, (), max_evidence)

    def _count(self, state: SubjectState, code: str, at: float, evidence: tuple[str, ...], outcome: Outcome) -> None:
        state.counters.add(code, 1, at, evidence, self.policy.max_evidence)
        outcome.hits.append(code)
        if state.first_trading_at is None and code in ACTIVITY_CODES:
            state.first_trading_at = at

    def _expire(self, state: SubjectState, clock: float) -> None:
        """Forget what fell out of the window of ``clock``, the subject's new clock."""
        horizon = clock - self._window_s
        # each memory returns at once when nothing in it is old enough (the usual case)
        state.counters.expire(horizon)
        state.recent_ids.expire(horizon)
        state.behaviour.expire(clock, self.behaviour_params)
        if state.pending_offers and state.pending_offers[0][1] < horizon:
            state.pending_offers = [held for held in state.pending_offers if held[1] >= horizon] or None
        trading_apps = state.trading_apps
        if trading_apps and min(trading_apps.values()) < horizon:
            for app in [app for app, last in trading_apps.items() if last < horizon]:
                del trading_apps[app]

    # ------------------------------------------------------------------ inputs that are not signals
    def _apply_qualification(self, state: SubjectState, event: Qualification, outcome: Outcome) -> None:
        current = state.qualification
        if current is not None and current.updated_at > event.updated_at:
            return  # an older record of the compacted topic arriving late changes nothing
        state.qualification = QualificationView(
            event.status, event.licences, event.valid_until, event.updated_at, event.event_id
        )
        case = state.case
        if case is not None and case.state == REMINDED and self._qualified(state, event.updated_at):
            reason = Reason("qualification_verified", 0.0, 1, (event.event_id,))
            self._close_case(state, case, reason, event.updated_at, outcome)

    def _apply_appeal(self, state: SubjectState, appeal: Appeal, outcome: Outcome) -> None:
        case = state.case
        if appeal.outcome != "overturned":
            return  # upheld: the suspension stands, nothing to send
        if case is None or case.state != SUSPENDED or appeal.action_id not in case.suspension_action_ids:
            outcome.rejected = (UNKNOWN_ACTION,
                                f"appeal {appeal.appeal_id[:64]!r} names no suspension of this account's open case")
            return
        reason = (Reason("appeal_overturned", 0.0, 1, (appeal.appeal_id,)),)
        signed = {"appeal_id": appeal.appeal_id, "reviewer": appeal.reviewer}
        for kind, subject_id in case.suspended_subjects:
            self._emit(state, case, REINSTATE, kind, subject_id, reason, None, appeal.decided_at, outcome, extra=signed)
        case.state = advance(case.state, REINSTATE)
        state.case = None
        state.counting_since = appeal.decided_at  # the reviewed evidence never reopens a case

    # ------------------------------------------------------------------ the state machine
    def _fire_due_deadline(self, state: SubjectState, until: float, outcome: Outcome) -> None:
        case = state.case
        if case is None or case.state != REMINDED or case.deadline is None or case.deadline > until:
            return
        deadline = case.deadline
        if self._qualified(state, deadline):
            evidence = (state.qualification.event_id,) if state.qualification else ()
            self._close_case(state, case, Reason("qualification_verified", 0.0, 1, evidence), deadline, outcome)
            return
        # what it did during its grace period: from the reminder (after the notice period, the
        # tail of the episode that caused it) to the deadline
        since = min(case.opened_at + self.policy.notice_s, deadline)
        scores = self._scores(state, since, deadline)
        if scores.trading >= self.policy.trading_suspend_threshold:
            self._suspend_or_review(state, case, scores, scores.trading_reasons, deadline, outcome)
        else:
            self._close_case(state, case, Reason("trading_stopped", 0.0, 1, ()), deadline, outcome)
            state.stopped_at = deadline

    def _evaluate(self, state: SubjectState, clock: float, outcome: Outcome) -> None:
        """Decide as of ``clock``, the subject's clock (``state.clock``)."""
        start = clock - self.policy.window_s
        if state.counting_since is not None:
            start = max(start, state.counting_since)
        case = state.case
        if case is not None and case.state != REMINDED:
            return  # suspended or under review: nothing stronger to say in this case
        gate = self.gate
        if gate.certainly_below(state.counters, start, clock, case is not None):
            return  # the same answer as the exact test below, without sorting or rounding
        trading, fraud = gate.score_values(state.counters, start, clock)
        if fraud < self.policy.fraud_threshold and (
            case is not None or trading < self.policy.trading_reminder_threshold
        ):
            return  # the common case: nothing to decide, so collect no evidence ids
        # from here on, collect the evidence (self._scores) only for an action about to be sent
        if fraud >= self.policy.fraud_threshold:
            scores = self._scores(state, start, clock)
            case = case or self._open_case(state, clock)
            reasons = scores.fraud_reasons + scores.trading_reasons
            self._suspend_or_review(state, case, scores, reasons, clock, outcome)
            return
        # no case, and trading at or above the reminder threshold
        if self._qualified(state, clock):
            return  # a licensed platform trades every day: no evidence to collect
        if self._allowlisted(state.account_id, clock):
            if trading >= self.policy.trading_suspend_threshold:
                scores = self._scores(state, start, clock)
                case = self._open_case(state, clock)
                self._suspend_or_review(state, case, scores, scores.trading_reasons, clock, outcome)
            return
        scores = self._scores(state, start, clock)
        case = self._open_case(state, clock)
        reasons, deadline = scores.trading_reasons, self._deadline(clock)
        stopped = state.stopped_at
        if stopped is not None and clock - stopped <= self.policy.repeat_window_s:
            # it stopped, its case was closed, and it trades again: no fresh full grace period
            reasons += (Reason(REPEAT_AFTER_CLOSE, 0.0, 1, ()),)
            if self.policy.repeat_grace_s <= 0:
                self._suspend_or_review(state, case, scores, reasons, clock, outcome)
                return
            deadline = clock + self.policy.repeat_grace_s
        case.state = advance(case.state, QUALIFICATION_REMINDER)
        case.deadline = deadline
        self._emit(
            state, case, QUALIFICATION_REMINDER, OFFICIAL_ACCOUNT, state.account_id,
            reasons, scores, clock, outcome, deadline=deadline,
        )

    def _suspend_or_review(
        self, state: SubjectState, case: Case, scores: Scores, reasons: tuple[Reason, ...], at: float, outcome: Outcome
    ) -> None:
        if self._allowlisted(state.account_id, at):
            case.state = advance(case.state, REVIEW)
            self._emit(state, case, REVIEW, OFFICIAL_ACCOUNT, state.account_id, reasons, scores, at, outcome)
            return
        case.state = advance(case.state, SUSPEND)
        case.deadline = None
        subjects = [[OFFICIAL_ACCOUNT, state.account_id]]
        subjects += [[MINI_PROGRAM, app] for app in sorted(state.trading_apps or ())]
        case.suspended_subjects = subjects
        for kind, subject_id in subjects:
            self._emit(state, case, SUSPEND, kind, subject_id, reasons, scores, at, outcome)
            case.suspension_action_ids.append(make_action_id(kind, subject_id, case.case_id, SUSPEND))

    def _close_case(self, state: SubjectState, case: Case, reason: Reason, at: float, outcome: Outcome) -> None:
        self._emit(state, case, CASE_CLOSED, OFFICIAL_ACCOUNT, state.account_id, (reason,), None, at, outcome)
        case.state = advance(case.state, CASE_CLOSED)
        state.case = None
        state.counting_since = at

    def _open_case(self, state: SubjectState, at: float) -> Case:
        state.cases_opened += 1
        case = Case(seq=state.cases_opened, case_id=case_id_for(state.account_id, state.cases_opened), state=NO_CASE, opened_at=at)
        state.case = case
        return case

    # ------------------------------------------------------------------ helpers
    def _scores(self, state: SubjectState, start: float, end: float) -> Scores:
        counters = state.counters
        counts, ratio, text_note = self.gate.window(counters, start, end)
        if text_note is not None:
            # An account that mostly reports is a news or regulator account: what its posts
            # say about trading is not evidence against it; and one offer post alone is not
            # enough to act on text. Its behaviour still counts.
            code, count = text_note
            evidence = (tuple(counters.evidence_ids(EDITORIAL_POST, start, end, self.policy.max_evidence))
                        if code == EDITORIAL_ACCOUNT else ())
            note = Reason(code, 0.0, count, evidence)
            return score(counters, self.policy, start, end, ratio, ignore=TEXT_CODES, note=note, counts=counts)
        return score(counters, self.policy, start, end, ratio, counts=counts)

    @staticmethod
    def _explained(state: SubjectState, reason: Reason) -> dict[str, Any]:
        """A reason as the action carries it; a stance reason also says, for its evidence
        posts still remembered, which kind of speech act, which cues and which sentence."""
        data = reason.to_dict()
        if reason.code in STANCE_SIGNAL_CODES and state.stance_notes:
            notes = state.stance_notes
            data["stance"] = [{"event_id": e, "explanation": notes[e]} for e in reason.evidence if e in notes]
        return data

    def _allowlisted(self, account_id: str, at: float) -> bool:
        """In the policy's allowlist, or covered at ``at`` by a run-time entry: never suspended
        automatically, a would-be suspension opens a review instead."""
        return account_id in self.policy.allowlist or self._allowed_at_runtime(account_id, at)

    def _qualified(self, state: SubjectState, at: float) -> bool:
        q = state.qualification
        if q is None or q.status != "verified":
            return False
        if q.valid_until is not None and q.valid_until <= at:
            return False
        return self.policy.required_licences.issubset(q.licences)

    def _deadline(self, at: float) -> float:
        campaign = self.policy.campaign_deadline
        if campaign is not None and campaign > at:
            return campaign
        # whole hours keep the deadline on an evaluation-friendly boundary
        grace_end = at + self.policy.grace_s
        return float(int(-(-grace_end // BUCKET_S)) * BUCKET_S)

    def _emit(
        self,
        state: SubjectState,
        case: Case,
        action: str,
        kind: str,
        subject_id: str,
        reasons: tuple[Reason, ...],
        scores: Scores | None,
        at: float,
        outcome: Outcome,
        deadline: float | None = None,
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any] | None:
        action_id = make_action_id(kind, subject_id, case.case_id, action)
        if action_id in case.emitted:
            outcome.suppressed += 1
            return None
        case.emitted.append(action_id)
        if scores is None:
            scores = self._scores(state, at - self.policy.window_s, at)
        elif any(reason.code in TEXT_CODES for reason in reasons):
            # text cited as a reason is an offer's or a scheme's: name both stances' posts
            # (a scheme post's trading words explain a trading suspension too)
            present = {reason.code for reason in reasons}
            reasons += tuple(r for r in scores.trading_reasons + scores.fraud_reasons
                             if r.code in STANCE_SIGNAL_CODES and r.code not in present)
        record: dict[str, Any] = {
            "action_id": action_id,
            "action": action,
            "subject": {"kind": kind, "id": subject_id},
            "account_id": state.account_id,
            "case_id": case.case_id,
            "reasons": [self._explained(state, reason) for reason in reasons],
            "trading_score": scores.trading,
            "fraud_score": scores.fraud,
            "policy_version": self.policy.version,
            "mode": self.policy.mode,
            "event_time": format_time(at),
        }
        if deadline is not None:
            record["deadline"] = format_time(deadline)
        if extra:
            record.update(extra)
        outcome.actions.append(record)
        return record
