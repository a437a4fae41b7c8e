"""Aggregation benchmark: evaluations.stats against crowd-kit, on real and synthetic data.

    python3 dev.py bench aggregation                 # 3 interleaved rounds, medians reported
    python3 dev.py bench aggregation --rounds 5
    python3 dev.py bench aggregation --only ds,bt    # some methods only (mv, ds, bt)

crowd-kit is never a dependency of the service: it lives in its own venv, bench/.envs/crowd-kit,
made once with `python3 -m venv` and a pinned crowd-kit from the package index, and it runs
bench/peers/crowdkit_worker.py. Our side runs this script in a child process of the project's
venv. Each fit is one fresh process, given its data as files in a temporary folder; it times
the fit alone (building crowd-kit's DataFrame or loading our arrays is outside the timing) and
reads its own resident memory before the fit and at its peak (VmHWM, reset just before). The
two sides alternate, ours then crowd-kit's, task by task and round by round.

Tasks: majority vote and Dawid–Skene on the four crowd_labels sets of shared/data (accuracy on
the items with a true label) and on 1,000,000 synthetic labels (1,000 workers, 4 classes, drawn
from known confusion matrices; accuracy against the generating truth); Bradley–Terry on the
7,040 PRD human votes (ranking, Spearman with the published human order) and on a synthetic
tournament of 50 players and 100,000 comparisons (Spearman and error against the true
strengths), with iterations and the log-likelihood the scores reach. Before each round it waits
until no other benchmark and no pytest runs. Results go to bench/results/aggregation.json and
the table in bench/README.md.
"""

from __future__ import annotations

import argparse
import csv
import gc
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = ROOT / ".." / "shared" / "data"
PEER_ENV = ROOT / "bench" / ".envs" / "crowd-kit"
PEER_PYTHON = PEER_ENV / "bin" / "python"
PEER_SCRIPT = ROOT / "bench" / "peers" / "crowdkit_worker.py"
CROWDKIT = "crowd-kit==1.4.2"
ROUNDS = 3
OTHERS = ("bench/(claims|export|import_tasks).py", "pytest")  # pgrep -f patterns to wait for

CROWD_SETS = {  # folder: name in the papers
    "d_jn-product": "D_Product",
    "d_sentiment": "D_PosSent",
    "s4_Relevance": "S_Rel",
    "s5_AdultContent": "S_Adult",
}
SYNTHETIC_LABELS = {"items": 200_000, "per_item": 5, "workers": 1_000, "classes": 4, "seed": 2026}
SYNTHETIC_TOURNAMENT = {"players": 50, "comparisons": 100_000, "seed": 2026}
DS_OPTIONS = {"max_iter": 100, "tol": 1e-5}  # crowd-kit's defaults, and ours
BT_OPTIONS = {"max_iter": 10_000, "tol": 1e-10}
# The PRD paper's human ranking: gpt-4 > claude > vicuna > gpt-3.5 ≈ bard (as ranks, 1 = best).
PUBLISHED_ORDER = {"gpt4": 1.0, "claude": 2.0, "vicuna-13b": 3.0, "gpt35": 4.5, "bard": 4.5}


# Data ------------------------------------------------------------------------------------------


def crowd_set(folder: str) -> dict[str, Any]:
    """A crowd_labels set as index arrays, every row kept, with the truth per item (-1: none)."""
    path = DATA / "crowd_labels" / folder
    with (path / "answer.csv").open(newline="") as handle:
        rows = list(csv.reader(handle))[1:]
    with (path / "truth.csv").open(newline="") as handle:
        truth = {row[0]: int(row[1]) for row in list(csv.reader(handle))[1:]}
    names, items = np.unique([row[0] for row in rows], return_inverse=True)
    people, workers = np.unique([row[1] for row in rows], return_inverse=True)
    labels = np.array([int(row[2]) for row in rows])
    return {
        "items": items,
        "workers": workers,
        "labels": labels,
        "n_items": names.size,
        "n_workers": people.size,
        "n_classes": int(labels.max()) + 1,
        "truth": np.array([truth.get(name, -1) for name in names]),
    }


def synthetic_labels() -> dict[str, Any]:
    """Labels drawn from known confusion matrices: each worker's accuracy uniform in
    [0.3, 0.95], their errors spread by a Dirichlet(1) draw, 5 different workers per item."""
    size = SYNTHETIC_LABELS
    rng = np.random.default_rng(size["seed"])
    n_items, n_workers, n_classes = size["items"], size["workers"], size["classes"]
    truth = rng.integers(0, n_classes, size=n_items)
    accuracy = rng.uniform(0.3, 0.95, size=n_workers)
    errors = rng.dirichlet(np.ones(n_classes - 1), size=(n_workers, n_classes))
    confusion = np.empty((n_workers, n_classes, n_classes))
    for k in range(n_classes):
        others = [c for c in range(n_classes) if c != k]
        confusion[:, k, k] = accuracy
        confusion[:, k, others] = errors[:, k] * (1 - accuracy)[:, None]
    items = np.repeat(np.arange(n_items), size["per_item"])
    start = rng.integers(0, n_workers, size=n_items)
    workers = ((start[:, None] + np.arange(size["per_item"])) % n_workers).ravel()
    drawn = rng.random(items.size)[:, None] > confusion[workers, truth[items]].cumsum(axis=1)
    return {
        "items": items,
        "workers": workers,
        "labels": np.minimum(drawn.sum(axis=1), n_classes - 1),
        "n_items": n_items,
        "n_workers": n_workers,
        "n_classes": n_classes,
        "truth": truth,
    }


def human_votes() -> dict[str, Any]:
    """The PRD votes: `winner` is model_1, model_2 or tie (score 1, 2, 3)."""
    with (DATA / "preferences" / "human_votes_long.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    names = sorted({row["model_1"] for row in rows} | {row["model_2"] for row in rows})
    index = {name: n for n, name in enumerate(names)}
    first = np.array([index[row["model_1"]] for row in rows])
    second = np.array([index[row["model_2"]] for row in rows])
    second_won = np.array([row["winner"] == "model_2" for row in rows])
    return {
        "winners": np.where(second_won, second, first),
        "losers": np.where(second_won, first, second),
        "ties": np.array([row["winner"] == "tie" for row in rows]),
        "n_players": len(names),
        "names": names,
    }


def synthetic_tournament() -> dict[str, Any]:
    """Random pairs, outcomes drawn from log-strengths ~ N(0, 1); no ties."""
    size = SYNTHETIC_TOURNAMENT
    rng = np.random.default_rng(size["seed"])
    n, count = size["players"], size["comparisons"]
    truth = rng.normal(0.0, 1.0, size=n)
    first = rng.integers(0, n, size=count)
    second = (first + rng.integers(1, n, size=count)) % n
    first_won = rng.random(count) < 1 / (1 + np.exp(truth[second] - truth[first]))
    return {
        "winners": np.where(first_won, first, second),
        "losers": np.where(first_won, second, first),
        "ties": np.zeros(count, dtype=bool),
        "n_players": n,
        "truth": truth,
    }


def tasks(folder: Path, only: set[str]) -> list[dict[str, Any]]:
    """Write each task's arrays to `folder`; return what the parent needs to score results."""
    found = []
    label_sets = [(CROWD_SETS[name], crowd_set(name)) for name in CROWD_SETS]
    label_sets.append(("synthetic 1M", synthetic_labels()))
    for name, data in label_sets:
        for method, options in (("mv", {}), ("ds", DS_OPTIONS)):
            if method not in only:
                continue
            path = folder / f"{method}-{name.replace(' ', '_')}.npz"
            arrays = {key: data[key] for key in ("items", "workers", "labels")}
            np.savez(
                path,
                **arrays,
                n_items=data["n_items"],
                n_workers=data["n_workers"],
                n_classes=data["n_classes"],
                options=json.dumps(options),
            )
            found.append(
                {
                    "name": name,
                    "method": method,
                    "path": path,
                    "truth": data["truth"],
                    "size": {
                        "labels": int(data["labels"].size),
                        "items": int(data["n_items"]),
                        "workers": int(data["n_workers"]),
                        "classes": int(data["n_classes"]),
                        "items_with_truth": int((data["truth"] >= 0).sum()),
                    },
                }
            )
    if "bt" in only:
        for name, make in (
            ("PRD human votes", human_votes),
            ("synthetic 50×100k", synthetic_tournament),
        ):
            data = make()
            path = folder / f"bt-{len(found)}.npz"
            np.savez(
                path,
                winners=data["winners"],
                losers=data["losers"],
                ties=data["ties"],
                n_players=data["n_players"],
                options=json.dumps(BT_OPTIONS),
            )
            found.append(
                {
                    "name": name,
                    "method": "bt",
                    "path": path,
                    "data": data,
                    "size": {
                        "comparisons": int(data["winners"].size),
                        "ties": int(data["ties"].sum()),
                        "players": int(data["n_players"]),
                    },
                }
            )
    return found


# The fit in a child process ---------------------------------------------------------------------


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


def child(task_path: Path, method: str, out: Path) -> None:
    """Our side of one fit, in its own process: the mirror of bench/peers/crowdkit_worker.py."""
    from evaluations.stats import bradley_terry, dawid_skene, majority_vote

    task = np.load(task_path)
    options = json.loads(str(task["options"]))
    arrays = {key: task[key] for key in task.files if key != "options"}
    gc.collect()
    before = rss_kib()
    reset_peak()
    started = time.perf_counter()
    if method == "mv":
        result: Any = majority_vote(
            arrays["items"],
            arrays["labels"],
            n_items=int(arrays["n_items"]),
            n_classes=int(arrays["n_classes"]),
        )
    elif method == "ds":
        result = dawid_skene(
            arrays["items"],
            arrays["workers"],
            arrays["labels"],
            n_items=int(arrays["n_items"]),
            n_workers=int(arrays["n_workers"]),
            n_classes=int(arrays["n_classes"]),
            **options,
        )
    else:
        result = bradley_terry(
            arrays["winners"],
            arrays["losers"],
            int(arrays["n_players"]),
            arrays["ties"],
            **options,
        )
    seconds = time.perf_counter() - started
    record: dict[str, Any] = {
        "seconds": seconds,
        "rss_before_kib": before,
        "rss_peak_kib": rss_kib("VmHWM"),
        "ru_maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }
    if method in ("ds", "bt"):
        record["iterations"] = result.iterations
        record["converged"] = result.converged
    np.save(out.with_suffix(".npy"), result.scores if method == "bt" else result.labels)
    out.with_suffix(".json").write_text(json.dumps(record))


def run_one(side: str, task: dict[str, Any], out: Path) -> dict[str, Any]:
    if side == "ours":
        command = [sys.executable, __file__, "--child", str(task["path"]), task["method"], str(out)]
    else:
        command = [str(PEER_PYTHON), str(PEER_SCRIPT), str(task["path"]), task["method"], str(out)]
    try:
        subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True)  # noqa: S603
    except subprocess.CalledProcessError as error:
        print(error.stdout, error.stderr, sep="\n", file=sys.stderr)
        raise
    record = json.loads(out.with_suffix(".json").read_text())
    record["output"] = np.load(out.with_suffix(".npy"))
    return record


# Scores -----------------------------------------------------------------------------------------


def bt_log_likelihood(scores: np.ndarray, data: dict[str, Any]) -> float:
    """Mean log-likelihood per comparison of log-strengths, a tie counting ½ each way."""
    gap = scores[data["winners"]] - scores[data["losers"]]
    won = -np.logaddexp(0.0, -gap)
    lost = -np.logaddexp(0.0, gap)
    return float(np.where(data["ties"], (won + lost) / 2, won).mean())


def spearman(first: np.ndarray, second: np.ndarray) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(first, second).statistic)


def score(task: dict[str, Any], output: np.ndarray) -> dict[str, Any]:
    """What a result is worth: accuracy for labels; for scores, order, Spearman, likelihood."""
    if task["method"] != "bt":
        truth = task["truth"]
        known = truth >= 0
        return {"accuracy": float((output[known] == truth[known]).mean())}
    data = task["data"]
    found: dict[str, Any] = {"log_likelihood": bt_log_likelihood(output, data)}
    if "names" in data:
        names = data["names"]
        chosen = [names.index(name) for name in PUBLISHED_ORDER]
        found["spearman"] = spearman(-output[chosen], np.array(list(PUBLISHED_ORDER.values())))
        found["order"] = [names[i] for i in np.argsort(-output, kind="stable")]
    else:
        truth = data["truth"]
        found["spearman"] = spearman(output, truth)
        found["rmse_vs_truth"] = float(
            np.sqrt(((output - output.mean() - (truth - truth.mean())) ** 2).mean())
        )
    return found


# Running ----------------------------------------------------------------------------------------


def others_running() -> list[str]:
    found = []
    for pattern in OTHERS:
        result = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True)  # noqa: S603, S607
        found += [f"{pattern}: {pid}" for pid in result.stdout.split()]
    return found


def wait_for_quiet() -> float:
    """Wait until no other benchmark and no pytest runs; return the seconds waited."""
    started = time.monotonic()
    while busy := others_running():
        print(f"bench: waiting for {', '.join(busy)}", flush=True)
        time.sleep(15)
    return time.monotonic() - started


def cpu_busy(seconds: float = 1.0) -> float:
    """The share of the machine's CPU time that was busy over `seconds` (others' work too)."""

    def sample() -> tuple[int, int]:
        with open("/proc/stat") as stat:
            values = [int(value) for value in stat.readline().split()[1:]]
        idle = values[3] + values[4]  # idle, iowait
        return sum(values) - idle, sum(values)

    busy_before, total_before = sample()
    time.sleep(seconds)
    busy_after, total_after = sample()
    return (busy_after - busy_before) / max(1, total_after - total_before)


def ensure_peer_env() -> dict[str, str]:
    """crowd-kit's own venv, made once and reused; returns the versions installed there."""
    if not PEER_PYTHON.exists():
        print(f"bench: creating {PEER_ENV.relative_to(ROOT)}", flush=True)
        subprocess.run(["python3", "-m", "venv", str(PEER_ENV)], check=True)  # noqa: S603, S607
    wanted = CROWDKIT.split("==")[1]
    probe = [
        str(PEER_PYTHON),
        "-c",
        "from importlib.metadata import version as v; print(v('crowd-kit'))",
    ]
    installed = subprocess.run(probe, capture_output=True, text=True)  # noqa: S603
    if installed.stdout.strip() != wanted:
        print(f"bench: installing {CROWDKIT} into {PEER_ENV.relative_to(ROOT)}", flush=True)
        subprocess.run(  # noqa: S603
            [
                str(PEER_PYTHON),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                CROWDKIT,
            ],
            check=True,
        )
    versions = subprocess.run(  # noqa: S603
        [
            str(PEER_PYTHON),
            "-c",
            "import json, platform; from importlib.metadata import version as v; print(json.dumps("
            "{n: v(n) for n in ('crowd-kit', 'numpy', 'pandas', 'scipy')}"
            " | {'python': platform.python_version()}))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(versions.stdout)


def machine() -> dict[str, Any]:
    memory = 0.0
    try:
        with open("/proc/meminfo") as handle:
            memory = int(handle.readline().split()[1]) / 1024 / 1024
    except OSError:
        pass
    return {
        "arch": platform.machine(),
        "cores": os.cpu_count(),
        "memory_gib": round(memory),
        "system": platform.system(),
        "python": platform.python_version(),
        "numpy": version("numpy"),
        "scipy": version("scipy"),
    }


def median_of(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def summarise(task: dict[str, Any], runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    row: dict[str, Any] = {"name": task["name"], "method": task["method"], "size": task["size"]}
    for side, records in runs.items():
        first = records[0]["output"]
        stable = all(np.array_equal(record["output"], first) for record in records)
        row[side] = {
            "fit_ms": round(median_of(records, "seconds") * 1000, 2),
            "fit_ms_each": [round(record["seconds"] * 1000, 2) for record in records],
            "peak_mib": round(median_of(records, "rss_peak_kib") / 1024, 1),
            "growth_mib": round(
                statistics.median(r["rss_peak_kib"] - r["rss_before_kib"] for r in records) / 1024,
                1,
            ),
            "same_output_every_round": stable,
            **({"iterations": records[0]["iterations"]} if "iterations" in records[0] else {}),
            **({"converged": records[0]["converged"]} if "converged" in records[0] else {}),
            **score(task, first),
        }
    return row


def ratio(row: dict[str, Any], key: str) -> float | None:
    ours, theirs = row["ours"].get(key), row["crowd-kit"].get(key)
    if ours is None or not theirs:
        return None
    return ours / theirs


def losses(rows: list[dict[str, Any]]) -> list[str]:
    """Each figure where we do worse than crowd-kit, in words."""
    found = []
    names = {"mv": "majority vote", "ds": "Dawid–Skene", "bt": "Bradley–Terry"}
    for row in rows:
        ours, theirs = row["ours"], row["crowd-kit"]
        label = f"{names[row['method']]} on {row['name']}"
        for key, worse, text in (
            ("fit_ms", ours["fit_ms"] > theirs["fit_ms"], "slower"),
            ("peak_mib", ours["peak_mib"] > theirs["peak_mib"], "more peak memory"),
            ("accuracy", ours.get("accuracy", 1) < theirs.get("accuracy", 0), "less accurate"),
            ("spearman", ours.get("spearman", 1) < theirs.get("spearman", 0), "lower Spearman"),
        ):
            if worse:
                found.append(f"{label}: {text} ({key} {ours[key]} vs {theirs[key]})")
    return found


def fmt_ratio(value: float | None) -> str:
    return "–" if value is None else f"{value:.3g}"


def both(row: dict[str, Any], key: str, spec: str, *, with_ratio: bool = True) -> str:
    """ "ours / crowd-kit (ratio)" for one figure of a row."""
    ours, theirs = row["ours"].get(key), row["crowd-kit"].get(key)
    if ours is None or theirs is None:
        return "–"
    text = f"{ours:{spec}} / {theirs:{spec}}"
    return f"{text} ({fmt_ratio(ratio(row, key))})" if with_ratio else text


def write(record: dict[str, Any]) -> None:
    (ROOT / "bench" / "results" / "aggregation.json").write_text(
        json.dumps(record, indent=2) + "\n"
    )
    ours_machine, peer = record["machine"], record["crowd_kit_env"]
    names = {"mv": "majority vote", "ds": "Dawid–Skene", "bt": "Bradley–Terry"}
    lines = [
        f"Measured {record['date']} on {ours_machine['arch']}, {ours_machine['cores']} cores, "
        f"{ours_machine['memory_gib']} GiB, {ours_machine['system']}; ours: Python "
        f"{ours_machine['python']}, numpy {ours_machine['numpy']}, scipy {ours_machine['scipy']}; "
        f"crowd-kit {peer['crowd-kit']} (Python {peer['python']}, numpy {peer['numpy']}, pandas "
        f"{peer['pandas']}, scipy {peer['scipy']}) in its own venv. {record['rounds']} rounds, "
        f"ours and crowd-kit alternating, each fit in a fresh process; medians. Fit ms is the fit "
        f"alone; peak MiB is the process's resident set at its peak during the fit (interpreter "
        f"and libraries included; pandas makes crowd-kit's start higher), growth what the fit "
        f"added to it. Ratios are ours ÷ crowd-kit. Accuracy is on the items with a true label "
        f"(synthetic: the generating truth). Dawid–Skene: at most {DS_OPTIONS['max_iter']} "
        f"iterations, tol {DS_OPTIONS['tol']:g}, both sides. Bradley–Terry: at most "
        f"{BT_OPTIONS['max_iter']:,} iterations, tol {BT_OPTIONS['tol']:g}, both sides; crowd-kit "
        f"gets a tie as one win each way and every other vote twice (the same likelihood).",
        "",
        "| data set | labels | method | accuracy ours / crowd-kit (ratio) | fit ms ours / "
        "crowd-kit (ratio) | iterations ours / crowd-kit | peak MiB ours / crowd-kit (ratio) "
        "| growth MiB ours / crowd-kit |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in record["rows"]:
        if row["method"] == "bt":
            continue
        lines.append(
            f"| {row['name']} | {row['size']['labels']:,} | {names[row['method']]} "
            f"| {both(row, 'accuracy', '.4f')} | {both(row, 'fit_ms', ',.1f')} "
            f"| {both(row, 'iterations', 'd', with_ratio=False)} "
            f"| {both(row, 'peak_mib', '.1f')} "
            f"| {both(row, 'growth_mib', '.1f', with_ratio=False)} |"
        )
    lines += [
        "",
        "| data set | comparisons | fit ms ours / crowd-kit (ratio) | iterations ours / "
        "crowd-kit | converged (ours) | Spearman ours / crowd-kit | log-likelihood per comparison "
        "ours / crowd-kit | RMSE vs true strengths ours / crowd-kit | peak MiB ours / crowd-kit "
        "(ratio) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    orders = []
    # A strict order that agrees with the published one scores this (its tie cannot be matched).
    best = spearman(np.arange(5.0), np.array(list(PUBLISHED_ORDER.values())))
    for row in record["rows"]:
        if row["method"] != "bt":
            continue
        ours, theirs = row["ours"], row["crowd-kit"]
        lines.append(
            f"| {row['name']} | {row['size']['comparisons']:,} | {both(row, 'fit_ms', ',.1f')} "
            f"| {both(row, 'iterations', 'd', with_ratio=False)} | {ours['converged']} "
            f"| {both(row, 'spearman', '.3f', with_ratio=False)} "
            f"| {both(row, 'log_likelihood', '.6f', with_ratio=False)} "
            f"| {both(row, 'rmse_vs_truth', '.4f', with_ratio=False)} "
            f"| {both(row, 'peak_mib', '.1f')} |"
        )
        if "order" in ours:
            orders.append(
                f"{row['name']}, order ours: {' > '.join(ours['order'])}; crowd-kit: "
                f"{' > '.join(theirs['order'])}. Spearman is against the published human order "
                f"gpt-4 > claude > vicuna > gpt-3.5 ≈ bard (its tie makes {best:.3f} "
                f"the best possible)."
            )
    lines += ["", *orders]
    found = record["losses"]
    lines += [
        "",
        "Where we do worse than crowd-kit: " + ("; ".join(found) if found else "nowhere") + ".",
    ]
    table = "\n".join(lines)
    readme = ROOT / "bench" / "README.md"
    text = readme.read_text()
    start, end = "<!-- aggregation:start -->", "<!-- aggregation:end -->"
    before, _, rest = text.partition(start)
    _, _, after = rest.partition(end)
    readme.write_text(f"{before}{start}\n{table}\n{end}{after}")
    print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="interleaved rounds (≥ 3)")
    parser.add_argument(
        "--only",
        type=lambda text: set(text.split(",")),
        default={"mv", "ds", "bt"},
        help="methods to run: any of mv,ds,bt",
    )
    parser.add_argument(
        "--child", nargs=3, metavar=("TASK", "METHOD", "OUT"), help=argparse.SUPPRESS
    )
    options = parser.parse_args()
    if options.child:
        child(Path(options.child[0]), options.child[1], Path(options.child[2]))
        return
    if not (DATA / "crowd_labels").is_dir():
        parser.error(f"the data sets are not at {DATA.resolve()} (shared/data beside the repo)")

    started = time.monotonic()
    peer = ensure_peer_env()
    with tempfile.TemporaryDirectory(prefix="bench-aggregation-") as folder:
        work = tasks(Path(folder), options.only)
        runs: list[dict[str, list[dict[str, Any]]]] = [{"ours": [], "crowd-kit": []} for _ in work]
        waited, busy = 0.0, []
        for round_number in range(options.rounds):
            waited += wait_for_quiet()
            busy.append(round(cpu_busy(), 2))
            for n, task in enumerate(work):
                for side in ("ours", "crowd-kit"):
                    out = Path(folder) / f"out-{n}-{side}-{round_number}"
                    record = run_one(side, task, out)
                    runs[n][side].append(record)
                    print(
                        f"bench: round {round_number + 1} {task['method']} {task['name']} "
                        f"{side}: {record['seconds'] * 1000:,.1f} ms, peak "
                        f"{record['rss_peak_kib'] / 1024:.0f} MiB",
                        flush=True,
                    )
        rows = [summarise(task, run) for task, run in zip(work, runs, strict=True)]
    record = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "crowd_kit_env": peer,
        "rounds": options.rounds,
        "cpu_busy_before_rounds": busy,
        "seconds_waited_for_others": round(waited),
        "synthetic_labels": SYNTHETIC_LABELS,
        "synthetic_tournament": SYNTHETIC_TOURNAMENT,
        "dawid_skene_options": DS_OPTIONS,
        "bradley_terry_options": BT_OPTIONS,
        "rows": rows,
    }
    for row in rows:
        for key in ("accuracy", "fit_ms", "peak_mib", "spearman", "log_likelihood"):
            if key in row["ours"]:
                row[f"ratio_{key}"] = ratio(row, key)
    record["losses"] = losses(rows)
    write(record)
    print(f"bench: done in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
