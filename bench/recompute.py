"""Recompute benchmark: the whole priority recompute of a workspace against the cost of writing alone.

    python bench/recompute.py --workspace big          # a workspace built by seed_demo --scale 100000

Measured side by side on the same rows, alternating, `--rounds` times (median reported):
- recompute: the recompute task run in-process (load every input, evaluate the scoring model, rank,
  write scores, ranks and breakdowns), forced so it runs even when nothing changed;
- update: one `QuerySet.update()` writing an expression into the priority column of the same open
  opportunities — the cost of writing those rows alone, the floor for any recompute.
The last line is `recompute_vs_update_ratio=<median recompute / median update>`."""

import argparse
import statistics
import time

from _django import setup

setup()

from django.db import connection, transaction  # noqa: E402
from django.db.models import F, Value  # noqa: E402
from django.db.models.functions import Coalesce  # noqa: E402
from django.utils import timezone  # noqa: E402

from atlas.models import Workspace  # noqa: E402
from opportunities import recompute, scoring  # noqa: E402
from opportunities.models import Opportunity, RecomputeRun  # noqa: E402
from opportunities.tasks import recompute_priorities  # noqa: E402


def time_recompute(workspace: Workspace) -> float:
    started = time.perf_counter()
    recompute_priorities.apply(kwargs={"workspace_id": workspace.pk, "trigger": RecomputeRun.Trigger.MANUAL})
    return time.perf_counter() - started


def time_update(workspace: Workspace) -> float:
    started = time.perf_counter()
    with transaction.atomic():
        Opportunity.objects.filter(workspace=workspace).open().update(
            priority=Coalesce(F("priority"), Value(0.0)) + Value(1.0)
        )
    return time.perf_counter() - started


def phases(workspace: Workspace) -> dict[str, float]:
    """Where a recompute spends its time (one extra run, outside the task and its run record)."""
    out: dict[str, float] = {}
    with transaction.atomic():
        started = time.perf_counter()
        _, spec = recompute.load_spec(workspace.pk)
        evaluator = scoring.compile_model(spec)
        cols = recompute.load_columns(workspace.pk, spec)
        out["load"] = time.perf_counter() - started
        started = time.perf_counter()
        scores = recompute.score_columns(cols, evaluator)
        out["evaluate+rank"] = time.perf_counter() - started
        started = time.perf_counter()
        out["rows written"] = recompute.write_columns(workspace.pk, cols, scores, timezone.now())
        out["write"] = time.perf_counter() - started
        started = time.perf_counter()
    out["commit"] = time.perf_counter() - started
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", required=True, help="slug of the workspace to recompute")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    workspace = Workspace.objects.get(slug=args.workspace)
    count = Opportunity.objects.filter(workspace=workspace).open().count()
    print(f"database: {connection.vendor}; workspace {workspace.slug}: {count} open opportunities")
    time_recompute(workspace)  # warm-up: caches, and the first run installs the model if missing
    recompute_times, update_times = [], []
    for round_number in range(1, args.rounds + 1):
        update_times.append(time_update(workspace))
        recompute_times.append(time_recompute(workspace))
        print(f"round {round_number}: recompute {recompute_times[-1]:.3f} s, update {update_times[-1]:.3f} s")
    Opportunity.objects.filter(workspace=workspace).open().update(priority=F("priority") + 1.0)
    for name, value in phases(workspace).items():
        print(
            f"recompute phase {name}: {value:.3f} s"
            if isinstance(value, float)
            else f"recompute {name}: {value}"
        )
    recompute_median = statistics.median(recompute_times)
    update_median = statistics.median(update_times)
    print(f"recompute median: {recompute_median:.3f} s ({count / recompute_median:,.0f} opportunities/s)")
    print(f"update median: {update_median:.3f} s")
    print(f"recompute_vs_update_ratio={recompute_median / update_median:.2f}")


if __name__ == "__main__":
    main()
