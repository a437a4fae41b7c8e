"""The corpus: hostile programs, each with what escaping would mean and how it is caught.

Every program starts with `PRELUDE` and reports anything it got away with as a line starting
`ESCAPED:` (on stdout and stderr). That self-report is one detector; the test adds its own
checks from the host side, for every run whatever the attack:

- `ESCAPED`, the parent's planted secret, the settings' SECRET_KEY, the canary's text or the
  database URL never appear in the output;
- the listeners the test opens on the host (TCP and UDP on every address, an abstract Unix
  socket) see no connection and no packet;
- the canary folder outside the sandbox is unchanged, and no file named with the run's marker
  appears on the host (/tmp, /usr, /dev/shm);
- no process survives the run: none of any sandbox user id, none carrying the run's marker;
- the runner returns a result (it did not crash), within the time limit and a grace, with the
  outcome listed in `expect`, output within its cap and free of NUL;
- a plain program runs normally right after.

Placeholders, filled by `render()`: @MARKER@ (unique per run), @PORT@ and @UDP_PORT@ (the host's
listeners), @ABSTRACT@ (the host's abstract socket name), @HOST_IP@, @HOST_PID@ (the runner's
pid), @CANARY_DIR@ and @CANARY_FILE@ (outside the sandbox, readable by anyone on the host),
@ROOT@ (the project), @SECRET_NAME@ (the planted variable's name, not its value), and the run's
limits @MEMORY_BYTES@, @FILE_BYTES@, @DISK_BYTES@, @PROCESSES@, @OPEN_FILES@.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from common.sandbox import Outcome

PRELUDE = r'''
import os, sys
MARKER = "@MARKER@"
LOOP = "import time\nwhile True:\n    time.sleep(0.05)\n"


def show(text):
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.write(str(text) + "\n")
            stream.flush()
        except Exception:
            pass


def escaped(what):
    show("ESCAPED: " + str(what))


def attempt(what, action):
    """Try something the sandbox must refuse; succeeding is an escape."""
    try:
        result = action()
    except BaseException as error:
        show("blocked: %s (%s: %s)" % (what, type(error).__name__, error))
        return None
    escaped(what)
    return result


def daemon(code=LOOP):
    """Turn this process into one that would run for ever, findable by MARKER."""
    os.execve("/usr/bin/python3", ["python3", "-c", code, MARKER], {"CORPUS_MARKER": MARKER})
'''


@dataclass(frozen=True)
class Attack:
    name: str
    escape: str  # what would count as escaping, for this attack
    detect: str  # how the test tells, beyond the checks every run gets
    source: str
    expect: frozenset[Outcome]  # what the result must report
    short: dict[str, float | int] = field(default_factory=dict)  # limits in the short corpus
    runs: int = 1  # runs in a row (what one leaves, the next must not find)


def render(attack: Attack, values: dict[str, object]) -> str:
    """The attack's program with its placeholders filled."""
    text = PRELUDE + attack.source
    for key, value in values.items():
        text = text.replace(f"@{key}@", str(value))
    return text


def _attack(name: str, escape: str, detect: str, source: str, *expect: Outcome, **kw) -> Attack:
    return Attack(name, escape, detect, source, frozenset(expect), **kw)


SLEEPY = {"wall_seconds": 1.5}  # stopped by the clock: the short corpus needs little of it


ATTACKS: list[Attack] = [
    # Time and CPU
    _attack(
        "endless_loop",
        "runs on past its CPU limit",
        "the outcome is cpu_limit, within the time limit",
        "while True:\n    pass\n",
        Outcome.CPU_LIMIT,
        Outcome.TIMEOUT,  # on a busy machine the clock may run out first
    ),
    _attack(
        "sleep_past_the_limit",
        "is still running, or lets the run hang, after the wall-clock limit",
        "the outcome is timeout, within the limit and a grace",
        "import time\ntime.sleep(3600)\nescaped('slept through the time limit')\n",
        Outcome.TIMEOUT,
        short=SLEEPY,
    ),
    _attack(
        "ignore_sigxcpu",
        "ignores the soft CPU limit's signal and keeps computing",
        "the hard limit kills it: outcome cpu_limit",
        "import signal\nsignal.signal(signal.SIGXCPU, signal.SIG_IGN)\nwhile True:\n    pass\n",
        Outcome.CPU_LIMIT,
        Outcome.TIMEOUT,  # on a busy machine the clock may run out first
    ),
    _attack(
        "ignore_sigterm_and_friends",
        "ignores SIGTERM, SIGHUP, SIGINT, SIGQUIT, SIGUSR1 and outlives the time limit",
        "outcome timeout (the runner sends SIGKILL); nothing survives",
        "import signal, time\n"
        "for number in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGQUIT,"
        " signal.SIGUSR1):\n"
        "    signal.signal(number, signal.SIG_IGN)\n"
        "time.sleep(3600)\n",
        Outcome.TIMEOUT,
        short=SLEEPY,
    ),
    _attack(
        "spinning_threads",
        "gets more CPU than its limit by spreading over threads",
        "the CPU limit counts every thread: outcome cpu_limit",
        "import threading\n"
        "def spin():\n    while True:\n        pass\n"
        "started = 0\n"
        "try:\n"
        "    for _ in range(8):\n"
        "        threading.Thread(target=spin, daemon=True).start()\n"
        "        started += 1\n"
        "except RuntimeError as error:  # each thread's stack and malloc arena count as memory\n"
        "    show('thread %d refused: %s' % (started + 1, error))\n"
        "spin()\n",
        Outcome.CPU_LIMIT,
        Outcome.TIMEOUT,  # on a busy machine the clock may run out first
    ),
    _attack(
        "thread_flood",
        "starts more threads than the process limit",
        "self-report: more threads than @PROCESSES@; outcome error (it exits 3)",
        "import threading, time\n"
        "count = 0\n"
        "try:\n"
        "    while count <= @PROCESSES@:\n"
        "        threading.Thread(target=time.sleep, args=(3600,), daemon=True).start()\n"
        "        count += 1\n"
        "    escaped('%d threads, past the process limit' % count)\n"
        "except RuntimeError as error:\n"
        "    show('threads refused after %d: %s' % (count, error))\n"
        "raise SystemExit(3)\n",
        Outcome.ERROR,
    ),
    # Processes
    _attack(
        "fork_bomb",
        "a copy outlives the run, or the machine cannot start the next run",
        "no process of the sandbox user ids after the run; the next run works",
        "while True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n",
        Outcome.TIMEOUT,
        Outcome.CPU_LIMIT,
        short={"wall_seconds": 2.0},
    ),
    _attack(
        "double_fork_daemon",
        "a double-forked daemon in its own session is still alive after the run",
        "the /proc scan finds no process with the run's marker; the program itself ends ok",
        "import time\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        "        daemon()\n"
        "    os._exit(0)\n"
        "os.wait()\n"
        "time.sleep(0.3)\n"
        "show('left a daemon behind')\n",
        Outcome.OK,
    ),
    _attack(
        "daemon_in_disguise",
        "a daemon that ignores signals and renames itself 'kworker/0:1' outlives the run",
        "the /proc scan finds no process with the run's marker (it is in the daemon's argv)",
        "import time\n"
        "DISGUISED = ('import ctypes, signal, time\\n'\n"
        "    'for n in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):\\n'\n"
        "    '    signal.signal(n, signal.SIG_IGN)\\n'\n"
        "    'ctypes.CDLL(None).prctl(15, b\"kworker/0:1\", 0, 0, 0)\\n'\n"
        "    'while True:\\n    time.sleep(0.05)\\n')\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        "        daemon(DISGUISED)\n"
        "    os._exit(0)\n"
        "time.sleep(3600)\n",
        Outcome.TIMEOUT,
        short=SLEEPY,
    ),
    _attack(
        "spinning_orphans_in_new_sessions",
        "children in sessions and process groups of their own escape the group kill",
        "no process with the marker or a sandbox user id survives; outcome cpu_limit or timeout",
        "for _ in range(3):\n"
        "    if os.fork() == 0:\n"
        "        os.setsid()\n"
        "        daemon('while True:\\n    pass\\n')\n"
        "while True:\n    pass\n",
        Outcome.CPU_LIMIT,
        Outcome.TIMEOUT,
    ),
    _attack(
        "exit_leaving_children",
        "children keep running after the program's main process exits",
        "the /proc scan finds no marker after the run; outcome ok",
        "for _ in range(3):\n"
        "    if os.fork() == 0:\n"
        "        daemon()\n"
        "show('main process leaves now')\n",
        Outcome.OK,
    ),
    _attack(
        "kill_the_parent",
        "kills the runner (the worker) or the sandbox's own supervisor and so loses the result",
        "SIGKILL to its parent, pid 1 and the runner's pid: the runner lives and gets a result",
        "import signal, time\n"
        "for pid in (os.getppid(), 1, @HOST_PID@):\n"
        "    try:\n"
        "        os.kill(pid, signal.SIGKILL)\n"
        "        show('sent SIGKILL to %d' % pid)\n"
        "    except OSError as error:\n"
        "        show('kill %d refused: %s' % (pid, error))\n"
        "time.sleep(0.3)\n"
        "show('still here')\n",
        Outcome.OK,
    ),
    _attack(
        "kill_everything",
        "kill(-1) or killpg reaches processes outside the sandbox",
        "the runner lives; the program kills itself: outcome killed",
        "import signal\n"
        "try:\n"
        "    os.kill(-1, signal.SIGKILL)\n"
        "except OSError as error:\n"
        "    show('kill(-1) found no one: %s' % error)\n"
        "os.killpg(0, signal.SIGKILL)\n",
        Outcome.KILLED,
    ),
    _attack(
        "ptrace_attach",
        "attaches to a process outside the sandbox, or gains capabilities through its init",
        "self-report: ptrace of the runner's pid succeeds, or pid 1 holds capabilities; "
        "stopping its own init hangs the run until the time limit",
        "import ctypes\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "if libc.ptrace(16, @HOST_PID@, 0, 0) == 0:\n"
        "    escaped('ptrace attached to the runner')\n"
        "capabilities = [line for line in open('/proc/1/status') if line.startswith('CapEff')]\n"
        "if capabilities and capabilities[0].split()[1].strip('0'):\n"
        "    escaped('the sandbox init holds capabilities: ' + capabilities[0])\n"
        "libc.ptrace(16, 1, 0, 0)\n",
        Outcome.TIMEOUT,
        short=SLEEPY,
    ),
    _attack(
        "zombie_farm",
        "unreaped children pile up past the process limit or outlive the run",
        "forks stop at the process limit; nothing of the run is left afterwards",
        "import time\n"
        "count = 0\n"
        "while count < 10000:\n"
        "    try:\n"
        "        if os.fork() == 0:\n"
        "            os._exit(0)\n"
        "        count += 1\n"
        "    except OSError:\n"
        "        break\n"
        "if count > @PROCESSES@:\n"
        "    escaped('%d children at once, past the process limit' % count)\n"
        "time.sleep(3600)\n",
        Outcome.TIMEOUT,
        short=SLEEPY,
    ),
    # Memory
    _attack(
        "memory_bomb",
        "gets 8 GiB in one allocation",
        "self-report after the allocation; outcome memory_limit",
        "hog = bytearray(8 * 1024 ** 3)\nescaped('allocated 8 GiB')\n",
        Outcome.MEMORY_LIMIT,
    ),
    _attack(
        "memory_creep",
        "allocates past the memory limit one MiB at a time",
        "self-report: more than @MEMORY_BYTES@ bytes held; outcome memory_limit",
        "hog = []\n"
        "try:\n"
        "    while True:\n"
        "        hog.append(bytearray(1024 * 1024))\n"
        "except MemoryError:\n"
        "    held = len(hog) * 1024 * 1024\n"
        "    hog.clear()\n"
        "    if held > @MEMORY_BYTES@:\n"
        "        escaped('held %d MiB' % (held >> 20))\n"
        "    raise\n",
        Outcome.MEMORY_LIMIT,
    ),
    _attack(
        "mmap_huge",
        "maps 8 GiB of anonymous memory",
        "self-report after the mapping; outcome memory_limit",
        "import mmap\nregion = mmap.mmap(-1, 8 * 1024 ** 3)\nescaped('mapped 8 GiB')\n",
        Outcome.MEMORY_LIMIT,
    ),
    _attack(
        "fork_and_allocate",
        "a child process gets more memory than the per-process limit",
        "self-report of each child's allocation (the limit is per process: a run may hold "
        "processes x memory_bytes in all, see common/sandbox.py)",
        "children = []\n"
        "for _ in range(4):\n"
        "    pid = os.fork()\n"
        "    if pid == 0:\n"
        "        held = []\n"
        "        try:\n"
        "            while True:\n"
        "                held.append(bytearray(4 * 1024 * 1024))\n"
        "        except MemoryError:\n"
        "            pass\n"
        "        if len(held) * 4 * 1024 * 1024 > @MEMORY_BYTES@:\n"
        "            escaped('a child held %d MiB' % (len(held) * 4))\n"
        "        os._exit(0)\n"
        "    children.append(pid)\n"
        "for pid in children:\n"
        "    os.waitpid(pid, 0)\n"
        "show('each child stopped at its own limit')\n",
        Outcome.OK,
    ),
    _attack(
        "stack_overflow",
        "overflows the C stack and takes the runner down with it",
        "the runner gets a result: the program dies of its own signal (killed), or, on a slow "
        "machine, reaches its CPU limit first (building a million nested lists takes a while)",
        "sys.setrecursionlimit(10 ** 8)\n"
        "nested = []\n"
        "for _ in range(10 ** 6):\n"
        "    nested = [nested]\n"
        "repr(nested)\n",
        Outcome.KILLED,
        Outcome.CPU_LIMIT,
    ),
    _attack(
        "segfault",
        "a segmentation fault in the program crashes the runner",
        "the runner gets a result: outcome killed",
        "import ctypes\nctypes.string_at(0)\n",
        Outcome.KILLED,
    ),
    _attack(
        "abort_with_core_dump",
        "an abort writes a core file (of the sandbox's memory) somewhere",
        "a child aborts first and the parent looks for core files; outcome killed",
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    os.abort()\n"
        "os.waitpid(pid, 0)\n"
        "cores = [name for name in os.listdir('.') if name.startswith('core')]\n"
        "if cores:\n"
        "    escaped('core files written: %s' % cores)\n"
        "os.abort()\n",
        Outcome.KILLED,
    ),
    # Files and disk
    _attack(
        "huge_file",
        "writes one file past the file size limit",
        "self-report of the bytes written; outcome output_limit",
        "written = 0\n"
        "try:\n"
        "    with open('big', 'wb') as handle:\n"
        "        while True:\n"
        "            handle.write(b'x' * 65536)\n"
        "            handle.flush()\n"
        "            written += 65536\n"
        "finally:\n"
        "    if written > @FILE_BYTES@:\n"
        "        escaped('wrote %d bytes to one file' % written)\n",
        Outcome.OUTPUT_LIMIT,
    ),
    _attack(
        "disk_fill",
        "fills the disk with many files each under the file size limit",
        "self-report: more than @DISK_BYTES@ bytes in the folder; outcome output_limit",
        "chunk = b'x' * (@FILE_BYTES@ // 2)\n"
        "written = 0\n"
        "for number in range(100000):\n"
        "    with open('fill-%d' % number, 'wb') as handle:\n"
        "        handle.write(chunk)\n"
        "    written += len(chunk)\n"
        "    if written > @DISK_BYTES@:\n"
        "        escaped('wrote %d KiB into the folder' % (written >> 10))\n"
        "        break\n",
        Outcome.OUTPUT_LIMIT,
    ),
    _attack(
        "memory_file_systems",
        "writes into /dev or /dev/shm, file systems in memory outside the folder's size limit",
        "self-report: any write there succeeds",
        "for place in ('/dev/shm/@MARKER@', '/dev/@MARKER@', '/dev/mqueue/@MARKER@',"
        " '/run/@MARKER@'):\n"
        "    attempt('write ' + place, lambda: open(place, 'w').write('x'))\n",
        Outcome.OK,
    ),
    _attack(
        "inode_flood",
        "empty files (no bytes, so no size limit) outlive the run",
        "the second run must not find the first's files; outcome cpu_limit or output_limit",
        "if os.path.exists('empty-0'):\n"
        "    escaped('found the empty files of an earlier run')\n"
        "made = 0\n"
        "try:\n"
        "    while True:\n"
        "        open('empty-%d' % made, 'w').close()\n"
        "        made += 1\n"
        "finally:\n"
        "    show('%d empty files' % made)\n",
        Outcome.CPU_LIMIT,
        Outcome.OUTPUT_LIMIT,
        Outcome.TIMEOUT,
        runs=2,
    ),
    _attack(
        "write_outside",
        "creates or changes a file outside the work folder",
        "self-report, and the host has no file named with the marker in /, /usr, /tmp",
        "for place in ('/@MARKER@', '/usr/@MARKER@', '/usr/lib/@MARKER@', '/tmp/@MARKER@',"
        " '/var/tmp/@MARKER@', '/etc/@MARKER@', '/sys/@MARKER@', '/proc/sys/kernel/hostname',"
        " '/proc/sysrq-trigger', '/usr/bin/python3'):\n"
        "    attempt('write ' + place, lambda: open(place, 'a').write('x'))\n"
        "attempt('make /usr/bin/evil', lambda: os.mkdir('/usr/bin/@MARKER@'))\n",
        Outcome.OK,
    ),
    _attack(
        "persist_between_runs",
        "something written by one run is there for the next (in the folder, /tmp, /dev/shm)",
        "run twice: the second run must find nothing",
        "for folder in ('/sandbox', '/tmp', '/var/tmp', '/dev/shm', '/dev', '/usr'):\n"
        "    path = folder + '/evalmarket-corpus-persist'\n"
        "    if os.path.exists(path):\n"
        "        escaped('found what an earlier run left in ' + path)\n"
        "    try:\n"
        "        with open(path, 'w') as handle:\n"
        "            handle.write('left by an earlier run')\n"
        "    except OSError:\n"
        "        pass\n",
        Outcome.OK,
        runs=2,
    ),
    _attack(
        "symlinks_to_host_secrets",
        "reads a host file through a symlink planted in the work folder",
        "self-report of any read; the canary's text never appears in the output",
        "for number, target in enumerate(('@CANARY_FILE@', '/etc/shadow', '/etc/passwd',"
        " '@ROOT@/.env', '@ROOT@/config/settings/test.py', '/proc/1/root/etc/shadow')):\n"
        "    link = 'link-%d' % number\n"
        "    os.symlink(target, link)\n"
        "    attempt('read ' + target + ' through a symlink', lambda: show(open(link).read()))\n",
        Outcome.OK,
    ),
    _attack(
        "symlink_cleanup_trap",
        "the runner's clean-up follows symlinks planted in the folder and deletes host files",
        "the canary folder outside is unchanged after the run",
        "os.symlink('@CANARY_DIR@', 'canary-dir')\n"
        "os.symlink('@CANARY_FILE@', 'canary-file')\n"
        "os.symlink('/', 'root')\n"
        "os.mkdir('deep')\n"
        "os.symlink('@CANARY_DIR@', 'deep/work')\n"
        "os.symlink('loop', 'loop')\n"
        "for name in ('stdout', 'stderr', 'work', '..work'):\n"
        "    os.symlink('@CANARY_DIR@', name)\n",
        Outcome.OK,
    ),
    _attack(
        "hard_links_out",
        "hard-links a host file into the folder (to keep or change it)",
        "self-report: any link succeeds",
        "for target in ('/usr/bin/python3', '@CANARY_FILE@', '/proc/self/exe'):\n"
        "    attempt('hard link to ' + target,"
        " lambda: os.link(target, 'hard-' + os.path.basename(target)))\n",
        Outcome.OK,
    ),
    _attack(
        "nested_user_namespace",
        "makes a user namespace of its own, where it may mount file systems (of any size)",
        "self-report: unshare(CLONE_NEWUSER) succeeds",
        "import ctypes\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "if libc.unshare(0x10000000 | 0x00020000) == 0:\n"
        "    escaped('made a user and mount namespace')\n"
        "    uid, gid = os.getuid(), os.getgid()\n"
        "    open('/proc/self/setgroups', 'w').write('deny')\n"
        "    open('/proc/self/uid_map', 'w').write('0 %d 1' % uid)\n"
        "    open('/proc/self/gid_map', 'w').write('0 %d 1' % gid)\n"
        "    os.mkdir('big')\n"
        "    if libc.mount(b'tmpfs', b'big', b'tmpfs', 0, b'size=8g') == 0:\n"
        "        escaped('mounted an 8 GiB file system')\n"
        "else:\n"
        "    show('unshare refused: ' + os.strerror(ctypes.get_errno()))\n",
        Outcome.OK,
    ),
    _attack(
        "proc_root_and_chroot",
        "climbs out of the sandbox's root through /proc links or chroot",
        "self-report: a host file read, or chroot allowed",
        "for path in ('/proc/1/root/etc/passwd', '/proc/self/root/../etc/passwd',"
        " '/proc/1/cwd/../../etc/passwd', '/proc/self/cwd/../etc/passwd'):\n"
        "    attempt('read ' + path, lambda: open(path).read())\n"
        "attempt('chroot', lambda: os.chroot('/sandbox'))\n"
        "attempt('list /proc/1/root/work', lambda: os.listdir('/proc/1/root/work'))\n",
        Outcome.OK,
    ),
    _attack(
        "setuid_programs",
        "gains root through a setuid program (su, sudo, mount, passwd)",
        "self-report: any of them prints uid 0 or mounts",
        "import subprocess\n"
        "for command in (['/usr/bin/sudo', '-n', 'id', '-u'], ['/usr/bin/su', '-c', 'id -u'],"
        " ['/usr/bin/mount', '-t', 'tmpfs', 'none', '/sandbox'],"
        " ['/usr/bin/newgrp', 'root']):\n"
        "    try:\n"
        "        done = subprocess.run(command, capture_output=True, text=True, timeout=1,"
        " stdin=subprocess.DEVNULL)\n"
        "    except (OSError, subprocess.SubprocessError) as error:\n"
        "        show('%s: %s' % (command[0], error))\n"
        "        continue\n"
        "    if done.returncode == 0 and done.stdout.strip() in ('0', ''):\n"
        "        escaped('%s succeeded: %r' % (command, done.stdout))\n"
        "    show('%s exited %d' % (command[0], done.returncode))\n",
        Outcome.OK,
    ),
    _attack(
        "raise_limits",
        "raises its own hard resource limits",
        "self-report: setrlimit to unlimited succeeds for any limit",
        "import resource\n"
        "for name in ('RLIMIT_CPU', 'RLIMIT_AS', 'RLIMIT_FSIZE', 'RLIMIT_NPROC',"
        " 'RLIMIT_NOFILE', 'RLIMIT_CORE'):\n"
        "    number = getattr(resource, name)\n"
        "    attempt('raise ' + name, lambda: resource.setrlimit(number,"
        " (resource.RLIM_INFINITY, resource.RLIM_INFINITY)))\n",
        Outcome.OK,
    ),
    _attack(
        "open_files",
        "holds more files open than the limit",
        "self-report: more than @OPEN_FILES@ open",
        "handles = []\n"
        "try:\n"
        "    while len(handles) <= @OPEN_FILES@:\n"
        "        handles.append(open('/dev/null'))\n"
        "    escaped('%d files open' % len(handles))\n"
        "except OSError as error:\n"
        "    show('%d open, then %s' % (len(handles), error))\n",
        Outcome.OK,
    ),
    # Network
    _attack(
        "connect_database",
        "reaches PostgreSQL over TCP or its Unix socket",
        "self-report: a connection succeeds",
        "import socket\n"
        "for address in (('127.0.0.1', 5432), ('localhost', 5432), ('::1', 5432),"
        " ('@HOST_IP@', 5432)):\n"
        "    attempt('PostgreSQL at %s' % (address,),"
        " lambda: socket.create_connection(address, timeout=1).close())\n"
        "for path in ('/var/run/postgresql/.s.PGSQL.5432', '/run/postgresql/.s.PGSQL.5432',"
        " '/tmp/.s.PGSQL.5432'):\n"
        "    unix = socket.socket(socket.AF_UNIX)\n"
        "    unix.settimeout(1)\n"
        "    attempt('PostgreSQL at ' + path, lambda: unix.connect(path))\n",
        Outcome.OK,
    ),
    _attack(
        "connect_redis",
        "reaches Redis (the Celery broker) and talks to it",
        "self-report: a connection succeeds",
        "import socket\n"
        "for address in (('127.0.0.1', 6379), ('@HOST_IP@', 6379)):\n"
        "    def ping():\n"
        "        connection = socket.create_connection(address, timeout=1)\n"
        "        connection.sendall(b'PING\\r\\n')\n"
        "        return connection.recv(64)\n"
        "    attempt('Redis at %s' % (address,), ping)\n"
        "for path in ('/var/run/redis/redis-server.sock', '/run/redis/redis.sock'):\n"
        "    unix = socket.socket(socket.AF_UNIX)\n"
        "    unix.settimeout(1)\n"
        "    attempt('Redis at ' + path, lambda: unix.connect(path))\n",
        Outcome.OK,
    ),
    _attack(
        "cloud_metadata",
        "reaches the cloud metadata address (credentials of the machine)",
        "self-report: a connection to 169.254.169.254 or fd00:ec2::254 succeeds",
        "import socket\n"
        "for address in (('169.254.169.254', 80), ('fd00:ec2::254', 80),"
        " ('169.254.170.2', 80)):\n"
        "    def get():\n"
        "        connection = socket.create_connection(address, timeout=1)\n"
        "        connection.sendall(b'GET /latest/meta-data/ HTTP/1.0\\r\\n\\r\\n')\n"
        "        return connection.recv(256)\n"
        "    attempt('metadata at %s' % (address,), get)\n",
        Outcome.OK,
    ),
    _attack(
        "host_listeners",
        "reaches a service listening on the host, by any address or an abstract Unix socket",
        "the test's TCP, UDP and abstract listeners on the host see nothing",
        "import socket\n"
        "for host in ('127.0.0.1', '@HOST_IP@', '0.0.0.0'):\n"
        "    attempt('TCP to %s' % host,"
        " lambda: socket.create_connection((host, @PORT@), timeout=1).close())\n"
        "for host in ('127.0.0.1', '@HOST_IP@'):\n"
        "    try:\n"
        "        socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(MARKER.encode(),"
        " (host, @UDP_PORT@))\n"
        "    except OSError as error:\n"
        "        show('UDP to %s: %s' % (host, error))\n"
        "abstract = socket.socket(socket.AF_UNIX)\n"
        "abstract.settimeout(1)\n"
        "attempt('the host abstract socket', lambda: abstract.connect('\\0@ABSTRACT@'))\n",
        Outcome.OK,
    ),
    _attack(
        "outside_world",
        "resolves names or sends packets beyond the machine (exfiltration)",
        "self-report: name resolution, an outside connection, a raw or packet socket works",
        "import socket\n"
        "attempt('resolve example.org', lambda: socket.getaddrinfo('example.org', 443))\n"
        "attempt('TCP to 1.1.1.1', lambda: socket.create_connection(('1.1.1.1', 443), timeout=1))\n"
        "attempt('UDP to 8.8.8.8:53',"
        " lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x', ('8.8.8.8', 53)))\n"
        "attempt('raw socket',"
        " lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP))\n"
        "attempt('packet socket', lambda: socket.socket(socket.AF_PACKET, socket.SOCK_RAW))\n",
        Outcome.OK,
    ),
    # Secrets
    _attack(
        "environment_secrets",
        "reads the worker's environment (its secrets), its own or through /proc",
        "the value the test planted in its own environment (@SECRET_NAME@), the database URL "
        "and SECRET_KEY never appear in the output; every environment is printed",
        "show('environment: %r' % dict(os.environ))\n"
        "for pid in os.listdir('/proc'):\n"
        "    if pid.isdigit():\n"
        "        for what in ('environ', 'cmdline'):\n"
        "            try:\n"
        "                show('%s %s: %r' % (pid, what, open('/proc/%s/%s' % (pid, what),"
        " 'rb').read()))\n"
        "            except OSError as error:\n"
        "                show('%s %s: %s' % (pid, what, error))\n"
        "for name in ('@SECRET_NAME@', 'DATABASE_URL', 'DJANGO_SECRET_KEY', 'CELERY_BROKER_URL'):\n"
        "    if name in os.environ:\n"
        "        escaped('sees ' + name)\n",
        Outcome.OK,
    ),
    _attack(
        "settings_and_secret_key",
        "reads the project's settings, .env or SECRET_KEY",
        "self-report of any read or import; SECRET_KEY never appears in the output",
        "import sys\n"
        "sys.path.insert(0, '@ROOT@')\n"
        "attempt('import the settings', lambda: __import__('config.settings.test'))\n"
        "for path in ('@ROOT@/config/settings/test.py', '@ROOT@/config/settings/base.py',"
        " '@ROOT@/.env', '@ROOT@/manage.py'):\n"
        "    attempt('read ' + path, lambda: show(open(path).read()[:4000]))\n"
        "attempt('list /work', lambda: os.listdir('/work'))\n"
        "attempt('list @ROOT@', lambda: os.listdir('@ROOT@'))\n",
        Outcome.OK,
    ),
    _attack(
        "host_files",
        "reads host files: passwords, keys, logs, the canary",
        "self-report of any read; the canary's text never appears in the output",
        "for path in ('/etc/shadow', '/etc/passwd', '/etc/hostname', '/root/.ssh/id_rsa',"
        " '/root/.bash_history', '/var/lib/postgresql', '/var/log/syslog', '/home', '/boot',"
        " '@CANARY_FILE@', '/sys/class/net'):\n"
        "    attempt('read ' + path, lambda: show(os.listdir(path) if os.path.isdir(path)"
        " else open(path, 'rb').read(400)))\n",
        Outcome.OK,
    ),
    _attack(
        "other_processes",
        "sees the host's processes (the worker, the database, Redis)",
        "self-report: a process outside the sandbox is in view, or more than 5 processes",
        "seen = 0\n"
        "for pid in os.listdir('/proc'):\n"
        "    if not pid.isdigit():\n"
        "        continue\n"
        "    seen += 1\n"
        "    try:\n"
        "        command = open('/proc/%s/cmdline' % pid, 'rb').read()\n"
        "    except OSError:\n"
        "        continue\n"
        "    for word in (b'pytest', b'celery', b'postgres', b'redis', b'manage.py'):\n"
        "        if word in command:\n"
        "            escaped('sees %s: %r' % (pid, command[:100]))\n"
        "if seen > 5:\n"
        "    escaped('%d processes in view' % seen)\n"
        "show('%d processes in view' % seen)\n",
        Outcome.OK,
    ),
    # Output
    _attack(
        "stdout_flood",
        "floods the runner with megabytes of output",
        "the result holds at most output_bytes of it, truncated; outcome output_limit",
        "while True:\n    sys.stdout.write('x' * 65536)\n",
        Outcome.OUTPUT_LIMIT,
    ),
    _attack(
        "stderr_flood",
        "floods the error stream",
        "the result holds at most output_bytes of it, truncated; outcome output_limit",
        "while True:\n    sys.stderr.write('y' * 65536)\n",
        Outcome.OUTPUT_LIMIT,
    ),
    _attack(
        "nul_and_garbage_output",
        "output that cannot be stored (NUL, invalid UTF-8) breaks the worker that keeps it",
        "no NUL reaches the result; through the worker, the answer is scored all the same",
        "sys.stdout.buffer.write(b'\\x00\\xff\\xfe' * 1000 + b'\\n')\n"
        "sys.stderr.buffer.write(b'\\x00 bad \\xc3\\x28 bytes \\xed\\xa0\\x80\\n')\n"
        "sys.stdout.flush()\n"
        "sys.stderr.flush()\n"
        "raise SystemExit(3)\n",
        Outcome.ERROR,
    ),
]
