"""An upload run: which records to send, sending up to `jobs` at once, and when to stop early.

For each valid record the journal decides: never seen, or not yet stored → send; accepted with
the same content → skip; accepted with other content (a clerk corrected the row) → send the
correction as an Update; unknown (a Save that may have arrived) → list it, or settle it with an
Update when asked (see batch_upload). A visit is never in flight twice, every journal write
happens on the calling thread, and the journal marks a record `sending` before it leaves, so a
run killed at any moment loses and doubles nothing.

Sending runs on a pool of `jobs` threads with one thread-safe client: the service is reached
over a VPN, where waiting for one answer at a time leaves the line idle. A refused login or a
run of consecutive connection failures ends the run: every later record would fail alike.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from scforhis.errors import (
    ConnectionFailedError,
    OutcomeUnknownError,
    ScForHisError,
    TransportError,
    ValidationError,
)
from scforhis.validation.issues import ValidationResult
from scforhis.validation.keys import canonical_keys

from .input import Record
from .journal import (
    ACCEPTED,
    CONFIRMED,
    CORRECTED,
    FAILED,
    INVALID,
    PENDING,
    REJECTED,
    RUN_ERRORS,
    SKIPPED_ACCEPTED,
    SKIPPED_UNKNOWN,
    UNKNOWN,
    WOULD_SEND,
    Journal,
    Unknown,
    UploadTally,
    content_digest,
    record_key,
)

Send = Callable[[Mapping[str, Any]], Any]


class ServiceUnreachable(ScForHisError):
    """Several records in a row could not reach the service: the run stops, untouched records
    wait for the next run."""


@dataclass(frozen=True)
class _Job:
    """One record on its way: what was decided for it and what to journal afterwards."""

    record: Record
    key: str
    digest: str
    previous: str | None
    kind: str  # "send", "resolve" or "correct"


@dataclass
class Sender:
    """How to send: the operation's own call, the Update that settles an unknown Save and the
    Update that carries a correction (None where they do not apply)."""

    send: Send
    resolve: Send | None = None
    correct: Send | None = None


def upload(
    records: Iterable[Record],
    *,
    operation: str,
    sender: Sender | None,
    validate: Callable[[object], ValidationResult],
    folded: Mapping[str, str],
    key_fields: tuple[str, ...],
    journal: Journal,
    prepare: Callable[[Any], Any] = lambda payload: payload,
    resend_pending: bool = False,
    secret_names: Collection[str] = (),
    jobs: int = 4,
    max_unreachable: int = 3,
    on_result: Callable[[Record, str, str], None] = lambda record, status, info: None,
    on_checked: Callable[[Record, ValidationResult], None] = lambda record, result: None,
) -> UploadTally:
    """Validate each record and send what the journal says to send; `sender=None` is a dry run.

    `prepare` fills what the client would fill (credentials, institution) before the record is
    validated and keyed. `resend_pending` says whether a record left `sending` by an
    interrupted run may simply be sent again (true for the idempotent Update and Delete).
    Raises `ServiceUnreachable` after `max_unreachable` connection failures in a row, and a
    run error (a refused login, a missing setting) at once; outcomes of records already in
    flight are journalled first.
    """
    run = _Run(journal, operation, sender, resend_pending, jobs, max_unreachable, on_result)
    try:
        for record in records:
            payload = prepare(record.payload)
            result = validate(payload)
            if result.errors or result.warnings:
                on_checked(record, result)
            if not result.ok:
                run.tally.counts[INVALID] += 1
                on_result(record, INVALID, str(result.errors[0]))
                continue
            canonical = canonical_keys(payload, folded, {}, [])
            key = record_key(canonical, key_fields)
            run.decide(record, key, content_digest(canonical, secret_names), payload)
            run.check_stop()
        run.drain()
    finally:
        run.close()
    run.check_stop()
    return run.tally


class _Run:
    """The state of one upload run: the pool, what is in flight, the tally."""

    def __init__(
        self,
        journal: Journal,
        operation: str,
        sender: Sender | None,
        resend_pending: bool,
        jobs: int,
        max_unreachable: int,
        on_result: Callable[[Record, str, str], None],
    ) -> None:
        self.journal = journal
        self.operation = operation
        self.sender = sender
        self.resend_pending = resend_pending
        self.jobs = max(1, jobs)
        self.max_unreachable = max_unreachable
        self.on_result = on_result
        self.tally = UploadTally()
        self.pool = ThreadPoolExecutor(self.jobs) if sender is not None else None
        self.flying: dict[Future[tuple[str, str, str, str, bool]], _Job] = {}
        self.keys: set[str] = set()
        self.unreachable = 0
        self.stop: BaseException | None = None

    def decide(self, record: Record, key: str, digest: str, payload: Mapping[str, Any]) -> None:
        """Skip, list, or put `record` in flight, as its journal entry says."""
        while key in self.keys:  # the same visit is in flight: its outcome decides this one
            self._collect(wait(self.flying, return_when=FIRST_COMPLETED).done)
        entry = self.journal.entry(self.operation, key)
        previous = entry.status if entry is not None else None
        if previous == PENDING and not self.resend_pending:
            previous = UNKNOWN  # the run that sent it died before the answer: it may be stored
        kind = "send"
        if previous == ACCEPTED:
            assert entry is not None
            changed = entry.digest is not None and entry.digest != digest
            if not changed or self.sender is None or self.sender.correct is None:
                self.tally.counts[SKIPPED_ACCEPTED] += 1
                return
            kind = "correct"
        elif previous == UNKNOWN:
            if self.sender is None or self.sender.resolve is None:
                self.tally.counts[SKIPPED_UNKNOWN] += 1
                self.tally.unknown.append(Unknown(key, record))
                return
            kind = "resolve"
        if self.sender is None or self.pool is None:
            self.tally.counts[WOULD_SEND] += 1
            return
        if self.stop is not None:
            return  # stopping: the record stays as it is for the next run
        # Marked before it leaves: a run killed from here on leaves a trace for the next one.
        self.journal.record(self.operation, key, PENDING, "", "", record)
        future = self.pool.submit(self._attempt, kind, payload)
        self.flying[future] = _Job(record, key, digest, previous, kind)
        self.keys.add(key)
        while len(self.flying) >= self.jobs:
            self._collect(wait(self.flying, return_when=FIRST_COMPLETED).done)

    def _attempt(self, kind: str, payload: Mapping[str, Any]) -> tuple[str, str, str, str, bool]:
        """On a pool thread: send, and say (status, code, info, counted as, unreachable)."""
        sender = self.sender
        assert sender is not None
        if kind == "resolve":
            assert sender.resolve is not None
            return resolve_unknown(sender.resolve, sender.send, payload)
        call = sender.correct if kind == "correct" else sender.send
        assert call is not None
        status, code, info, unreachable = send_once(call, payload)
        counted = CORRECTED if kind == "correct" and status == ACCEPTED else status
        return status, code, info, counted, unreachable

    def _collect(self, done: Iterable[Future[tuple[str, str, str, str, bool]]]) -> None:
        """Journal and count what came back (on the calling thread: SQLite is used by one)."""
        for future in done:
            job = self.flying.pop(future)
            self.keys.discard(job.key)
            try:
                status, code, info, counted, unreachable = future.result()
            except BaseException as error:  # noqa: BLE001 - stops the run, once all are in
                if isinstance(error, RUN_ERRORS):
                    # Refused before anything was stored (a login, a setting): as if never tried.
                    self.journal.forget(self.operation, job.key, job.previous)
                # Anything else (Ctrl+C while the request was out) leaves the `sending` mark:
                # the record may be stored, and the next run treats it so.
                if self.stop is None:
                    self.stop = error
                continue
            digest = job.digest if status == ACCEPTED else None
            self.journal.record(self.operation, job.key, status, code, info, job.record, digest)
            self.tally.counts[counted] += 1
            if status == UNKNOWN:
                self.tally.unknown.append(Unknown(job.key, job.record))
            self.unreachable = self.unreachable + 1 if unreachable else 0
            if self.unreachable >= self.max_unreachable and self.stop is None:
                self.stop = ServiceUnreachable(
                    f"連續 {self.unreachable} 筆無法連上服務，已停止；其餘紀錄未動，下次執行時再送 / "
                    f"{self.unreachable} records in a row could not reach the service; stopped, "
                    f"the rest are left for the next run ({info})"
                )
            self.on_result(job.record, status, info)

    def drain(self) -> None:
        """Wait for every record in flight and journal its outcome."""
        while self.flying:
            self._collect(wait(self.flying, return_when=FIRST_COMPLETED).done)

    def check_stop(self) -> None:
        """Raise what stops the run, once nothing is in flight any more."""
        if self.stop is not None:
            self.drain()
            stop, self.stop = self.stop, None
            raise stop

    def close(self) -> None:
        """Finish what is in flight (a Ctrl+C included), journal it, and end the pool."""
        try:
            self.drain()
        finally:
            if self.pool is not None:
                self.pool.shutdown(wait=True, cancel_futures=True)


def send_once(call: Send, payload: Any) -> tuple[str, str, str, bool]:
    """Send one record: (journal status, code, info, whether the service could not be reached).

    A run error (a refused login, a missing setting) is raised: it would fail every record.
    """
    try:
        result = call(payload)
    except OutcomeUnknownError as error:
        return UNKNOWN, "", str(error), False
    except ValidationError as error:
        return INVALID, "", str(error), False
    except RUN_ERRORS:
        raise
    except ConnectionFailedError as error:
        return FAILED, "", str(error), True
    except (TransportError, ScForHisError) as error:
        # Save raises OutcomeUnknownError itself when a request may have arrived; anything else
        # either never arrived or is safe to send again (Update and Delete are idempotent).
        return FAILED, "", str(error), False
    return (ACCEPTED if result.ok else REJECTED), str(result.code), str(result.info), False


def resolve_unknown(check: Send, send: Send, payload: Any) -> tuple[str, str, str, str, bool]:
    """Settle an unknown Save as `scforhis.errors` says: Update first, Save only if Update says N.

    Returns the journal's status, code and info, the name the run counts it under, and whether
    the service could not be reached.
    """
    try:
        answer = check(payload)
    except RUN_ERRORS:
        raise
    except ScForHisError as error:
        info = f"仍無法確認 still cannot check: {str(error).splitlines()[0]}"
        return UNKNOWN, "", info, UNKNOWN, isinstance(error, ConnectionFailedError)
    if answer.ok:
        info = f"已確認存在 confirmed stored (Update answered {answer.code}: {answer.info})"
        return ACCEPTED, str(answer.code), info, CONFIRMED, False
    # Update said N: no such visit, so the earlier Save was not stored and sending it is safe.
    status, code, info, unreachable = send_once(send, payload)
    return status, code, info, status, unreachable
