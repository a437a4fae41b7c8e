"""Run untrusted code: one confined process per run, nothing kept afterwards.

Each run gets:

- a fresh folder (`/sandbox`), a file system in memory of a fixed size (`disk_bytes`) holding
  the files it is given (read-only): the only writable place, gone with the run;
- a root file system of the host's `/usr` (read-only) and nothing else: no `/etc`, no `/home`,
  no project files, no `/tmp`; `/dev` holds the usual devices and is read-only;
- new namespaces (bubblewrap `--unshare-all`): no network (only a loopback with nothing on it),
  its own process table, no view of other processes' environment; no further user namespaces
  (in one, the code could mount file systems of its own, of any size);
- a stripped environment (PATH, HOME, LANG only);
- resource limits: CPU seconds, address space, size of any file written (output included),
  number of processes, open files, no core files;
- a wall-clock timeout, after which the whole process group is killed; bubblewrap's
  `--die-with-parent` and the PID namespace take every descendant with it;
- when the worker runs as root, an unprivileged user id of its own, claimed for the run from a
  pool of slots: the process limit then counts this run alone, nothing of root's is readable,
  and after the run every process left with that id is killed and waited for.

Confinement needs `bwrap` 0.8 or newer (Debian package `bubblewrap`; older ones lack
`--disable-userns`) and a Python readable by that user (`/usr/bin/python3` by default,
`SANDBOX_PYTHON`). `sandbox_check()` proves both work; callers must not run untrusted code when
it fails. tests/sandbox_corpus/ holds the hostile programs this is tested against.

Not bounded as a whole: memory. `memory_bytes` holds for each process, so a run may use up to
`processes` times that (and kernel memory for files in its folder) until its time is up.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import logging
import os
import resource
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from pathlib import Path

from django.conf import settings

logger = logging.getLogger(__name__)

MiB = 1024 * 1024
UID_SLOTS = 64


@dataclass(frozen=True)
class SandboxLimits:
    cpu_seconds: int = 2
    wall_seconds: float = 5.0
    memory_bytes: int = 256 * MiB
    file_bytes: int = 1 * MiB
    processes: int = 32
    open_files: int = 64
    output_bytes: int = 64 * 1024
    disk_bytes: int = 16 * MiB  # everything written into the folder, together


class Outcome(StrEnum):
    OK = "ok"
    ERROR = "error"
    TIMEOUT = "timeout"
    CPU_LIMIT = "cpu_limit"
    MEMORY_LIMIT = "memory_limit"
    OUTPUT_LIMIT = "output_limit"
    KILLED = "killed"
    UNAVAILABLE = "unavailable"


REASONS = {
    Outcome.OK: "Finished.",
    Outcome.ERROR: "Stopped with an error.",
    Outcome.TIMEOUT: "Ran past the time limit and was stopped.",
    Outcome.CPU_LIMIT: "Used more CPU time than allowed and was stopped.",
    Outcome.MEMORY_LIMIT: "Asked for more memory than allowed.",
    Outcome.OUTPUT_LIMIT: "Wrote more output or file data than allowed and was stopped.",
    Outcome.KILLED: "Was killed by a signal.",
    Outcome.UNAVAILABLE: "The sandbox is not available on this worker.",
}


@dataclass(frozen=True)
class SandboxResult:
    outcome: Outcome
    exit_code: int | None
    stdout: str
    stderr: str
    duration_seconds: float
    reason: str
    truncated: bool = False
    details: dict[str, object] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            "outcome": str(self.outcome),
            "exit_code": self.exit_code,
            "stdout": self.stdout,
            "stderr": self.stderr,
            "duration_seconds": round(self.duration_seconds, 3),
            "reason": self.reason,
            "truncated": self.truncated,
        }


def _bwrap() -> str:
    return getattr(settings, "SANDBOX_BWRAP", "") or shutil.which("bwrap") or ""


def sandbox_python() -> str:
    return getattr(settings, "SANDBOX_PYTHON", "") or "/usr/bin/python3"


def _root_binds() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    return args


def _limit(limits: SandboxLimits) -> None:
    """Set the resource limits in the child, before exec (inherited by bubblewrap's children)."""
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
    resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits.open_files, limits.open_files))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


@contextlib.contextmanager
def _run_uid() -> Iterator[int]:
    """Claim a user id no other sandbox run is using (a lock file per slot), for this run."""
    base = int(getattr(settings, "SANDBOX_UID_BASE", 200000))
    lock_dir = Path(tempfile.gettempdir())
    # Slots whose user id owns no process first: an earlier run's bubblewrap, left a zombie for
    # the host's init to reap in its time, would still count toward this run's process limit.
    owners = _process_owners()
    for slot in sorted(range(UID_SLOTS), key=lambda slot: base + slot in owners):
        handle = (lock_dir / f"evalmarket-sandbox-slot-{slot}.lock").open("a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        try:
            uid = base + slot
            _reap(uid)  # anything an interrupted earlier run left behind
            yield uid
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()
        return
    raise RuntimeError(f"All {UID_SLOTS} sandbox slots are busy.")


def _process_owners() -> set[int]:
    """User ids that own a process now, zombies included."""
    owners = set()
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                owners.add(entry.stat().st_uid)
    return owners


def _processes_of(uid: int) -> list[int]:
    """Live processes running as `uid`. Zombies are left out: they run nothing, and their
    parent (often the host's init, after bubblewrap's monitor exits) reaps them in its time."""
    pids = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            if entry.stat().st_uid != uid:
                continue
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                state = handle.read().rsplit(b")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if state != b"Z":
            pids.append(int(entry.name))
    return pids


def sandbox_leftovers() -> int:
    """Processes of any sandbox user id alive now (zero between runs)."""
    base = int(getattr(settings, "SANDBOX_UID_BASE", 200000))
    return sum(len(_processes_of(base + slot)) for slot in range(UID_SLOTS))


def _reap(uid: int, *, patience: float = 5.0) -> int:
    """Kill every process running as `uid` and wait until none is left; returns how many."""
    deadline = time.monotonic() + patience
    killed: set[int] = set()
    while pids := _processes_of(uid):
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            killed.add(pid)
        if time.monotonic() > deadline:
            logger.error("sandbox.processes_survived", extra={"uid": uid, "count": len(pids)})
            break
        time.sleep(0.02)
    return len(killed)


def _read_capped(path: Path, cap: int) -> tuple[str, bool]:
    with path.open("rb") as handle:
        data = handle.read(cap + 1)
    # NUL is no text, and PostgreSQL refuses it in the JSON that keeps the output.
    text = data[:cap].decode("utf-8", errors="replace").replace("\x00", "\ufffd")
    return text, len(data) > cap


# How Python reports a write past the file size limit (it ignores SIGXFSZ) or the folder's size.
FULL_ERRORS = ("[Errno 27] File too large", "[Errno 28] No space left on device")


def _classify(
    code: int | None, timed_out: bool, stderr: str, cpu_spent: bool, output_full: bool
) -> Outcome:
    if timed_out:
        return Outcome.TIMEOUT
    if code == 0:
        return Outcome.OK
    # bubblewrap reports a child killed by signal N as exit code 128 + N.
    number = (
        (code - 128) if code is not None and code > 128 else (-code if code and code < 0 else None)
    )
    # The soft CPU limit sends SIGXCPU; a program that ignores it meets the hard one (SIGKILL).
    if number == signal.SIGXCPU or (number == signal.SIGKILL and cpu_spent):
        return Outcome.CPU_LIMIT
    if number == signal.SIGXFSZ or output_full or any(error in stderr for error in FULL_ERRORS):
        return Outcome.OUTPUT_LIMIT
    if "MemoryError" in stderr or "[Errno 12] Cannot allocate memory" in stderr:
        return Outcome.MEMORY_LIMIT
    if number is not None:
        return Outcome.KILLED
    return Outcome.ERROR


def sandbox_run(
    *, command: list[str], files: dict[str, str], limits: SandboxLimits | None = None
) -> SandboxResult:
    """Run `command` inside the sandbox, in a folder holding `files`; the folder is then removed.

    `command` names programs by their path inside the sandbox (the host's /usr is there).
    """
    limits = limits or SandboxLimits()
    bwrap = _bwrap()
    if not bwrap:
        return SandboxResult(
            Outcome.UNAVAILABLE, None, "", "", 0.0, "bubblewrap (bwrap) is not installed."
        )
    if os.geteuid() == 0:
        with _run_uid() as uid:
            result = _run(bwrap=bwrap, command=command, files=files, limits=limits, uid=uid)
            survivors = _reap(uid)
        # Processes still present when the run ended were killed and waited for: none outlives it.
        return result if not survivors else _with_detail(result, reaped=survivors)
    return _run(bwrap=bwrap, command=command, files=files, limits=limits, uid=None)


def _with_detail(result: SandboxResult, **details: object) -> SandboxResult:
    return dataclasses.replace(result, details={**result.details, **details})


def _run(
    *, bwrap: str, command: list[str], files: dict[str, str], limits: SandboxLimits, uid: int | None
) -> SandboxResult:
    scratch = Path(tempfile.mkdtemp(prefix="evalmarket-sandbox-"))
    scratch.chmod(0o711)  # the sandbox user may pass through to its folder, not list this one
    try:
        workdir = scratch / "work"
        workdir.mkdir()
        for name, text in files.items():
            target = workdir / name
            if target.parent != workdir or name.startswith("."):
                raise ValueError(f"Sandbox file names are plain names, not paths: {name!r}")
            target.write_text(text, encoding="utf-8")
        if uid is not None:
            for path in (workdir, *workdir.iterdir()):
                os.chown(path, uid, uid)
        stdout_path, stderr_path = scratch / "stdout", scratch / "stderr"
        given: list[str] = []  # read-only: the code writes its own files, not these
        for name in files:
            given += ["--ro-bind", str(workdir / name), f"/sandbox/{name}"]
        argv = [
            bwrap,
            "--unshare-all",
            "--unshare-user",  # required by the next
            "--disable-userns",
            "--die-with-parent",
            "--new-session",
            "--clearenv",
            "--setenv", "PATH", "/usr/bin:/bin",
            "--setenv", "HOME", "/sandbox",
            "--setenv", "LANG", "C.UTF-8",
            "--setenv", "PYTHONDONTWRITEBYTECODE", "1",
            "--hostname", "sandbox",
            *_root_binds(),
            "--proc", "/proc",
            "--dev", "/dev",
            "--remount-ro", "/dev",  # bubblewrap makes it in memory, of no size limit
            "--size", str(limits.disk_bytes), "--tmpfs", "/sandbox",
            *given,
            "--chdir", "/sandbox",
            "--remount-ro", "/",
            "--",
            *command,
        ]  # fmt: skip
        started = time.monotonic()
        timed_out = False
        with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
            try:
                process = subprocess.Popen(  # noqa: S603 - fixed argv; the untrusted part is a file
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    env={"PATH": "/usr/bin:/bin"},
                    preexec_fn=lambda: _limit(limits),
                    start_new_session=True,
                    user=uid,
                    group=uid,
                    extra_groups=[] if uid is not None else None,
                )
            except (OSError, subprocess.SubprocessError) as error:
                # A bwrap that is gone or broken: nothing ran, and sandbox_check() says so.
                why = f"{REASONS[Outcome.UNAVAILABLE]} bubblewrap did not start: {error}"
                return SandboxResult(Outcome.UNAVAILABLE, None, "", "", 0.0, why)
            try:
                code: int | None = process.wait(timeout=limits.wall_seconds)
            except subprocess.TimeoutExpired:
                timed_out = True
                os.killpg(process.pid, signal.SIGKILL)
                code = process.wait()
        duration = time.monotonic() - started
        stdout, out_cut = _read_capped(stdout_path, limits.output_bytes)
        stderr, err_cut = _read_capped(stderr_path, limits.output_bytes)
        outcome = _classify(
            code,
            timed_out,
            stderr,
            cpu_spent=duration >= limits.cpu_seconds,
            output_full=max(stdout_path.stat().st_size, stderr_path.stat().st_size)
            >= limits.file_bytes,
        )
        return SandboxResult(
            outcome=outcome,
            exit_code=code,
            stdout=stdout,
            stderr=stderr,
            duration_seconds=duration,
            reason=REASONS[outcome],
            truncated=out_cut or err_cut,
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


PROBE = """
import ctypes, json, os, socket
found = {"uid": os.getuid(), "env": sorted(os.environ)}
found["nested_userns"] = ctypes.CDLL(None).unshare(0x10000000) == 0  # CLONE_NEWUSER
folder = os.statvfs(".")
found["folder_bytes"] = folder.f_blocks * folder.f_frsize
try:
    socket.create_connection(("127.0.0.1", 5432), timeout=1).close()
    found["network"] = "open"
except OSError:
    found["network"] = "closed"
for place in ("/probe-write", "/usr/probe-write", "/dev/probe-write"):
    try:
        open(place, "w").close()
        found[place] = "writable"
    except OSError:
        found[place] = "read-only"
open("own-file", "w").write("ok")
found["own_folder"] = "writable"
found["etc"] = os.path.exists("/etc/passwd")
found["processes"] = len([p for p in os.listdir("/proc") if p.isdigit()])
print(json.dumps(found))
"""


@cache
def sandbox_check() -> tuple[bool, str]:
    """Prove the confinement works on this machine: (True, "") or (False, why not).

    Cached per process; a worker calls it at start and refuses sandbox jobs when it fails.
    """
    if not Path(sandbox_python()).exists():
        return False, f"No Python for the sandbox at {sandbox_python()} (SANDBOX_PYTHON)."
    result = sandbox_run(
        command=[sandbox_python(), "-I", "-S", "probe.py"], files={"probe.py": PROBE}
    )
    if result.outcome != Outcome.OK:
        return (
            False,
            f"The sandbox probe did not run: {result.reason} {result.stderr[-500:]}".strip(),
        )
    try:
        found = json.loads(result.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return False, "The sandbox probe printed nothing readable."
    problems = []
    if found.get("network") != "closed":
        problems.append("the network is reachable")
    if any(found.get(place) != "read-only" for place in ("/probe-write", "/usr/probe-write")):
        problems.append("the file system outside the work folder is writable")
    if found.get("/dev/probe-write") != "read-only":
        problems.append("/dev is writable (it has no size limit)")
    folder_bytes = found.get("folder_bytes")
    if not isinstance(folder_bytes, int) or not 0 < folder_bytes <= SandboxLimits().disk_bytes:
        problems.append("the work folder has no size limit")
    if found.get("nested_userns") is not False:
        problems.append("the code can make user namespaces (and mount file systems in them)")
    if found.get("etc"):
        problems.append("host files (/etc) are visible")
    if set(found.get("env", [])) - {
        "PATH",
        "HOME",
        "LANG",
        "PYTHONDONTWRITEBYTECODE",
        "LC_CTYPE",
        "PWD",
    }:
        problems.append(f"the environment is not stripped: {found.get('env')}")
    if os.geteuid() == 0 and found.get("uid") == 0:
        problems.append("the code runs as root")
    if problems:
        return False, "Sandbox confinement is missing: " + "; ".join(problems) + "."
    logger.info("sandbox.check_passed")
    return True, ""
