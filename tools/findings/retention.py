"""Run-history retention: the occurrence rows of old runs are deleted, the runs themselves stay.

Every run stores one `finding_occurrences` row per finding it reported; kept forever, they made the
store grow by about a megabyte per re-audit of a large tree (and, until findings migration 7 dropped
an index no query used, `finish_run` slower with history). So, per audited root, after each run is
recorded (in `finish_run`'s transaction):

- the newest `keep` finished runs keep their findings (SECAUDIT_RUNS_KEPT; 0 keeps everything);
- so do the newest whole-tree audit (kind `audit`, no `paths` or diff restriction, succeeded or
  partial: a session of one-file hook runs never prunes the last full audit) and the newest
  succeeded or partial run of any scope (what `latest_run` answers, e.g. `baseline adopt`);
- so does every run that finished in the last `GRACE` (ten minutes): whoever recorded it is about
  to read its findings (the audit's first page, a hook's stop decision), and a concurrent writer
  pruning it in between would hand them a partial list, or none;
- any other run is pruned: its occurrence rows go, except each finding's occurrence in its
  `last_seen_run` (every listing of the current state joins on it), and so do its skip rows; its
  `audit_runs` row stays (status, counts, coverage, notes) with `pruned_at` set, so the history
  stays listable and a request for its findings is refused clearly (`RunPruned`).

Triage, the baseline and fixes are keyed by fingerprint or finding, never by a run's occurrences;
tasks name the run they were filed from but read findings' current state. Nothing they need goes.

At most `PRUNE_BATCH` runs are pruned per call, so one call never does unbounded work: the backlog
of a store that kept everything drains over the next runs (each one pruning up to PRUNE_BATCH - 1
more than it adds).
"""

from __future__ import annotations

import datetime as dt
import sqlite3

from secaudit.tools.errors import NotFound
from secaudit.tools.timefmt import iso_ms, parse_time

__all__ = [
    "DEFAULT_RUNS_KEPT",
    "GRACE",
    "PRUNE_BATCH",
    "RUNS_KEPT_SETTING",
    "RunPruned",
    "prune_runs",
    "pruned_message",
]

DEFAULT_RUNS_KEPT = 100
PRUNE_BATCH = 4
GRACE = dt.timedelta(minutes=10)
# Named in messages only: the edge (server/settings.py) reads it, never this package.
RUNS_KEPT_SETTING = "SECAUDIT_RUNS_KEPT"

_FINISHED_OK = ("succeeded", "partial")


class RunPruned(NotFound):
    """The run's findings were deleted by the run-history retention; the run record remains."""

    code = "run_pruned"


def pruned_message(run_id: int, newest: int | None, keep: int) -> str:
    kept = f"keeps the findings of the newest {keep} runs of each root" if keep else "now keeps every run"
    instead = (
        f"use a newer run (run {newest} is the newest of this root; list_runs, CLI: secaudit findings "
        "runs, shows which runs are pruned)"
        if newest is not None and newest != run_id
        else "audit again for a run with its findings"
    )
    return (
        f"the findings of run {run_id} were pruned by the run-history retention ({RUNS_KEPT_SETTING} "
        f"{kept}, and the newest full audit); {instead}, or raise {RUNS_KEPT_SETTING} (0 keeps every "
        "run) to keep more runs from now on. The run's record (status, counts, coverage) is still "
        "there: get_run"
    )


def prune_runs(
    conn: sqlite3.Connection, root: str, *, keep: int, current: int, now: str, batch: int = PRUNE_BATCH
) -> list[int]:
    """Prune up to `batch` runs of `root` beyond what the policy keeps (module docstring), in the
    caller's transaction; `current` (the run just recorded) is never pruned. The ids pruned."""
    if keep <= 0 or batch <= 0:
        return []
    # Only runs not pruned yet (a partial index): the window is bounded by `keep`, not by history.
    # Runs still running are neither counted nor pruned; the slack covers them and the protected.
    rows = conn.execute(
        "SELECT id, status, kind = 'audit' AND paths IS NULL, finished_at FROM audit_runs"
        " WHERE root = ? AND pruned_at IS NULL ORDER BY id DESC LIMIT ?",
        (root, keep + batch + 8),
    ).fetchall()
    recent = iso_ms(parse_time(now) - GRACE)  # the stored times' own shape: compared as text
    finished = 0
    full_seen = ok_seen = False
    victims: list[int] = []
    for run_id, status, whole_tree, finished_at in rows:
        if status == "running":
            continue
        finished += 1
        protected = run_id == current or (finished_at is not None and str(finished_at) > recent)
        if status in _FINISHED_OK:
            if not ok_seen:
                ok_seen = protected = True
            if whole_tree and not full_seen:
                full_seen = protected = True
        if finished > keep and not protected:
            victims.append(int(run_id))
            if len(victims) >= batch:
                break
    for run_id in victims:
        # A finding's occurrence in its last_seen_run is the one every current-state query joins.
        conn.execute(
            "DELETE FROM finding_occurrences WHERE run_id = ? AND NOT EXISTS (SELECT 1 FROM findings f"
            " WHERE f.id = finding_occurrences.finding_id AND f.last_seen_run = finding_occurrences.run_id)",
            (run_id,),
        )
        conn.execute("DELETE FROM audit_run_skips WHERE run_id = ?", (run_id,))
        conn.execute("UPDATE audit_runs SET pruned_at = ? WHERE id = ?", (now, run_id))
    return victims
