"""One crowd-kit fit, for bench/aggregation.py; run by the python of crowd-kit's own venv.

    bench/.envs/crowd-kit/bin/python bench/peers/crowdkit_worker.py TASK.npz METHOD OUT

Reads the task's arrays (as bench/aggregation.py wrote them), builds the DataFrame crowd-kit
takes (outside the timing), fits METHOD (mv, ds or bt) and writes OUT.json (seconds of the fit,
resident memory before it and at its peak, iterations, versions) and OUT.npy (per item labels,
-1 where none, or per player log-scores). It imports nothing from the service, which never
depends on crowd-kit.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from crowdkit.aggregation import BradleyTerry, DawidSkene, MajorityVote


def rss_kib(field: str = "VmRSS") -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def reset_peak() -> None:
    """Start VmHWM (the peak resident set) afresh, so it tells the fit's own peak."""
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
    except OSError:
        pass  # then VmHWM keeps the process's earlier peak, an upper bound


def labels_frame(task: Any) -> pd.DataFrame:
    return pd.DataFrame({"task": task["items"], "worker": task["workers"], "label": task["labels"]})


def comparisons_frame(task: Any) -> pd.DataFrame:
    """left, right, label (the winner). crowd-kit's Bradley–Terry has no ties: a tie becomes one
    win each way and every decisive comparison is given twice, which is the same likelihood
    (times two) as our ½ win each way, so both fit the same model."""
    winners, losers, ties = task["winners"], task["losers"], task["ties"].astype(bool)
    decisive = ~ties
    left = np.concatenate([winners[decisive], winners[decisive], winners[ties], losers[ties]])
    right = np.concatenate([losers[decisive], losers[decisive], losers[ties], winners[ties]])
    return pd.DataFrame({"left": left, "right": right, "label": left})


def fit(method: str, frame: pd.DataFrame, options: dict[str, Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    if method == "mv":
        model = MajorityVote().fit(frame)
    elif method == "ds":
        model = DawidSkene(n_iter=options["max_iter"], tol=options["tol"]).fit(frame)
    else:
        model = BradleyTerry(n_iter=options["max_iter"], tol=options["tol"]).fit(frame)
    return model, time.perf_counter() - started


def bt_iterations(frame: pd.DataFrame, scores: pd.Series, options: dict[str, Any]) -> int:
    """crowd-kit records no iteration count for Bradley–Terry: the fewest `n_iter` that give
    the same scores as the full fit is the number of rounds it ran."""
    for rounds in range(1, 101):
        again = BradleyTerry(n_iter=rounds, tol=options["tol"]).fit(frame).scores_
        if np.array_equal(again.to_numpy(), scores.to_numpy()):
            return rounds
    return options["max_iter"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("task", type=Path)
    parser.add_argument("method", choices=["mv", "ds", "bt"])
    parser.add_argument("out", type=Path)
    arguments = parser.parse_args()
    task = np.load(arguments.task)
    options = json.loads(str(task["options"]))
    frame = comparisons_frame(task) if arguments.method == "bt" else labels_frame(task)
    gc.collect()
    before = rss_kib()
    reset_peak()
    model, seconds = fit(arguments.method, frame, options)
    peak = rss_kib("VmHWM")
    record: dict[str, Any] = {
        "seconds": seconds,
        "rss_before_kib": before,
        "rss_peak_kib": peak,
        "ru_maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "versions": {name: version(name) for name in ("crowd-kit", "numpy", "pandas", "scipy")},
    }
    if arguments.method == "bt":
        scores = model.scores_
        logs = np.log(np.clip(scores.to_numpy(dtype=float), 1e-300, None))
        output = np.full(int(task["n_players"]), np.nan)
        output[scores.index.to_numpy(dtype=int)] = logs - logs.mean()
        record["iterations"] = bt_iterations(frame, scores, options)
    else:
        labels = model.labels_
        output = np.full(int(task["n_items"]), -1, dtype=np.int64)
        output[labels.index.to_numpy(dtype=int)] = labels.to_numpy(dtype=np.int64)
        if arguments.method == "ds":
            record["iterations"] = len(model.loss_history_)
    np.save(arguments.out.with_suffix(".npy"), output)
    arguments.out.with_suffix(".json").write_text(json.dumps(record))


if __name__ == "__main__":
    main()
