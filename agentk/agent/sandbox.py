"""Run untrusted Python (the agent's own code actions) in a confined child process.

:func:`run_code` never raises for what the code does: a crash, a limit hit or a timeout come back as an
:class:`ExecutionResult`. The child gets:

* **resource limits** set before ``exec`` (``RLIMIT_CPU``, ``RLIMIT_AS``, ``RLIMIT_FSIZE``; ``RLIMIT_NPROC``
  where the kernel applies it) and a wall-clock timeout that kills its whole process group;
* **a process cap** through a ``pids`` cgroup when this process may create one (the kernel never applies
  ``RLIMIT_NPROC`` to root, so a fork bomb started by root is only stopped by a cgroup);
* **an environment allow-list**: ``PATH``, ``LANG``, ``HOME``/``TMPDIR`` pointing into the workspace, a
  few thread-count variables, and the names passed in ``env_allow``; names that look like secrets
  (``KAGGLE_*``, ``*_API_KEY``, ``*_TOKEN``, ...) are dropped even when allowed;
* **no network, no writes outside its workspace, its own pid namespace** where user namespaces work
  (``unshare --user --map-root-user --net --mount --pid``): inside, every mount but the workspace is
  remounted read-only, then every capability is dropped, so the code can neither write elsewhere nor
  undo the read-only view.

Which of these the machine allowed is probed once (:func:`isolation`); anything that could not be
enforced is named in :attr:`ExecutionResult.limitations`, never dropped silently. This module imports
only the standard library: it is also the child's entry point (``python sandbox.py --child ...``).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_OUTPUT_LIMIT = 64_000  # characters of stdout/stderr kept (head and tail) in the result
_BASE_ENV = ("PATH", "LANG", "LC_ALL", "TZ")
_THREADS_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
# Names never passed to the child, whatever env_allow says.
_SECRET_NAME = re.compile(
    r"^(KAGGLE_.*|AGENTK_API_TOKEN|AWS_.*|.*_API_KEY|.*_TOKEN|.*SECRET.*|.*PASSWORD.*|.*_KEY|.*CREDENTIALS.*)$",
    re.IGNORECASE,
)
_UNSHARE_FULL = ("--user", "--map-root-user", "--net", "--mount", "--pid", "--fork", "--kill-child", "--mount-proc")
_UNSHARE_NET = ("--user", "--map-root-user", "--net", "--pid", "--fork", "--kill-child")


@dataclass(frozen=True)
class ExecutionResult:
    """What running a piece of code produced.

    Attributes:
        stdout: what it printed (long output keeps its head and tail).
        stderr: what it wrote to standard error.
        exc_type: the exception's class name when the code raised (``None`` when it ran to the end).
        exc_message: the exception's message.
        traceback: the formatted traceback, frames of the user's code only.
        seconds: wall-clock time of the child.
        killed_by: the limit that stopped it: ``timeout``, ``cpu``, ``memory``, ``file_size``, ``procs``
            or ``signal`` (killed by something else); ``None`` when it was not stopped.
        exit_code: the child's exit status (negative: the signal that ended it).
        limitations: what this machine did not let the sandbox enforce (``network``, ``filesystem``,
            ``pid_namespace``, ``procs``).
    """

    stdout: str
    stderr: str
    exc_type: str | None
    exc_message: str | None
    traceback: str | None
    seconds: float
    killed_by: str | None
    exit_code: int | None = None
    limitations: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """The code ran to its end without an exception and without hitting a limit."""
        return self.exc_type is None and self.killed_by is None and self.exit_code == 0

    def summary(self, chars: int = 2000) -> str:
        """A short text for an LLM or the journal: the error, or the tail of the output."""
        if self.killed_by:
            head = f"stopped by the {self.killed_by} limit after {self.seconds:.1f}s"
        elif self.exc_type:
            head = f"{self.exc_type}: {self.exc_message}"
        else:
            head = f"ok in {self.seconds:.1f}s"
        body = self.traceback if self.exc_type and self.traceback else self.stdout
        return (head + "\n" + (body or "")[-chars:]).strip()


@dataclass(frozen=True)
class Isolation:
    """What this machine lets the sandbox enforce (probed once per process by :func:`isolation`)."""

    unshare: tuple[str, ...] = ()  # arguments of unshare(1), empty when namespaces are unavailable
    network: bool = False  # the child has no network
    filesystem: bool = False  # the child cannot write outside its workspace
    pid_namespace: bool = False  # the child's descendants die with it
    cgroup: Path | None = None  # a pids cgroup folder under which per-run cgroups can be made
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def limitations(self) -> tuple[str, ...]:
        missing = [
            name
            for name, ok in (
                ("network", self.network),
                ("filesystem", self.filesystem),
                ("pid_namespace", self.pid_namespace),
            )
            if not ok
        ]
        if self.cgroup is None and os.geteuid() == 0:
            missing.append("procs")  # RLIMIT_NPROC does not apply to root
        return tuple(missing)


def run_code(
    code: str,
    *,
    workspace: Path | str,
    timeout_s: float = 60.0,
    cpu_s: float | None = None,
    memory_mb: int = 2048,
    max_file_mb: int = 256,
    max_procs: int = 32,
    env_allow: Iterable[str] = (),
    env: Mapping[str, str] | None = None,
    python: str | None = None,
) -> ExecutionResult:
    """Run ``code`` as a Python program in ``workspace`` under the limits; never raises for the code's faults.

    Args:
        code: Python source, run as ``__main__`` with the workspace as current directory.
        workspace: the only folder the child may write (created if missing).
        timeout_s: wall-clock limit; the whole process group (and pid namespace) is killed after it.
        cpu_s: CPU-seconds limit (default: the wall-clock limit).
        memory_mb: address-space limit of each process, in MiB.
        max_file_mb: largest file the child may write, in MiB (its captured output counts too).
        max_procs: most processes and threads at once.
        env_allow: names of parent environment variables to pass on (secret-looking names never pass).
        env: extra variables to set in the child (secret-looking names are refused the same way).
        python: the interpreter (default: this one).

    Raises:
        ValueError: ``env`` names a secret-looking variable (a programming error, not the code's fault).
    """
    ws = Path(workspace).resolve()
    ws.mkdir(parents=True, exist_ok=True)
    iso = isolation()
    child_env = _child_env(ws, env_allow, env)
    cpu = max(1, int(cpu_s if cpu_s is not None else timeout_s + 0.999))
    private = Path(tempfile.mkdtemp(prefix="agentk-sandbox-"))
    cgroup = _make_cgroup(iso.cgroup, max_procs)
    limitations = list(iso.limitations)
    if iso.cgroup is not None and cgroup is None:
        limitations.append("procs")
    try:
        code_file = private / "code.py"
        code_file.write_text(code, encoding="utf-8")
        with (
            code_file.open("rb") as stdin,
            (private / "stdout").open("wb") as out,
            (private / "stderr").open("wb") as err,
            (private / "result.json").open("wb") as res,
        ):
            argv = [
                *(["unshare", *iso.unshare] if iso.unshare else []),
                python or sys.executable,
                "-s",
                str(Path(__file__).resolve()),
                "--child",
                str(ws),
                str(res.fileno()),
                "1" if iso.filesystem else "0",
            ]
            nproc = max_procs + (0 if os.geteuid() == 0 else _count_own_processes())
            preexec = functools.partial(_limit_child, cpu, memory_mb, max_file_mb, nproc, cgroup)
            start = time.monotonic()
            try:
                proc = subprocess.Popen(
                    argv,
                    stdin=stdin,
                    stdout=out,
                    stderr=err,
                    cwd=ws,
                    env=child_env,
                    start_new_session=True,
                    pass_fds=(res.fileno(),),
                    preexec_fn=preexec,
                )
            except (OSError, subprocess.SubprocessError) as exc:
                return ExecutionResult("", "", type(exc).__name__, str(exc), None, 0.0, None, None, tuple(limitations))
            status, cpu_used, timed_out = _wait(proc.pid, start + timeout_s)
            proc.returncode = os.waitstatus_to_exitcode(status)
            seconds = time.monotonic() - start
            procs_hit = _cleanup_cgroup(cgroup)
        report = _read_report(private / "result.json")
        stdout = _clip(_read_text(private / "stdout"))
        stderr = _clip(_read_text(private / "stderr"))
    finally:
        shutil.rmtree(private, ignore_errors=True)
    exc_type = report.get("exc_type")
    killed_by = _killed_by(
        timed_out, bool(report.get("finished")), report.get("errno"), exc_type, procs_hit, cpu_used >= cpu - 0.1
    )
    return ExecutionResult(
        stdout=stdout,
        stderr=stderr,
        exc_type=exc_type,
        exc_message=report.get("exc_message"),
        traceback=report.get("traceback"),
        seconds=seconds,
        killed_by=killed_by,
        exit_code=proc.returncode,
        limitations=tuple(limitations),
    )


def is_secret_name(name: str) -> bool:
    """Whether an environment variable's name looks like a credential (never passed to the child)."""
    return bool(_SECRET_NAME.match(name))


# -- the parent side ---------------------------------------------------------------------------------


def _child_env(ws: Path, allow: Iterable[str], extra: Mapping[str, str] | None) -> dict[str, str]:
    names = [*_BASE_ENV, *allow]
    env = {n: os.environ[n] for n in names if n in os.environ and not is_secret_name(n)}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env.setdefault("LANG", "C.UTF-8")
    tmp = ws / ".tmp"
    tmp.mkdir(exist_ok=True)
    env |= {"HOME": str(ws), "TMPDIR": str(tmp), "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1"}
    env |= {k: v for k, v in _THREADS_ENV.items() if k not in env}
    for key, value in (extra or {}).items():
        if is_secret_name(key):
            raise ValueError(f"refusing to pass {key!r} to sandboxed code: it looks like a secret")
        env[key] = value
    return env


def _limit_child(cpu: int, memory_mb: int, max_file_mb: int, nproc: int, cgroup: Path | None) -> None:
    """Runs in the forked child before exec: only async-signal-safe-ish work (setrlimit, a write)."""
    if cgroup is not None:
        fd = os.open(cgroup / "cgroup.procs", os.O_WRONLY)
        try:
            os.write(fd, str(os.getpid()).encode())
        finally:
            os.close(fd)
    # The soft CPU limit sends SIGXCPU; the hard one a second later SIGKILL, in case SIGXCPU is caught.
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    memory = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    size = max_file_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _count_own_processes() -> int:
    """Processes of this user now: RLIMIT_NPROC counts them too, so the child's cap comes on top."""
    uid, count = os.getuid(), 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if entry.stat().st_uid == uid:
                    count += 1
    return count


def _make_cgroup(parent: Path | None, max_procs: int) -> Path | None:
    if parent is None:
        return None
    path = parent / f"agentk-sandbox-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        path.mkdir()
        (path / "pids.max").write_text(str(max_procs))
    except OSError:
        with contextlib.suppress(OSError):
            path.rmdir()
        return None
    return path


def _cleanup_cgroup(path: Path | None) -> bool:
    """Kill whatever is left in the run's cgroup, remove it, and say whether the process cap was hit."""
    if path is None:
        return False
    hit = False
    with contextlib.suppress(OSError, ValueError):
        events = (path / "pids.events").read_text()
        hit = any(line.split()[-1] != "0" for line in events.splitlines() if line.startswith("max"))
    for _ in range(200):
        try:
            pids = [int(p) for p in (path / "cgroup.procs").read_text().split()]
        except OSError:
            break
        if not pids:
            break
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.01)
    with contextlib.suppress(OSError):
        path.rmdir()
    return hit


def _wait(pid: int, deadline: float) -> tuple[int, float, bool]:
    """Wait for the child until ``deadline``, then kill its group; return (status, CPU seconds, timed out).

    ``wait4`` rather than ``Popen.wait``: its resource usage includes the grandchild that ran the code
    (``unshare`` waits for it), which tells a CPU-limit kill apart from other kills; unshare's own exit
    status does not carry the grandchild's signal.
    """
    timed_out, pause = False, 0.002
    while True:
        found, status, usage = os.wait4(pid, os.WNOHANG)
        if found:
            break
        if time.monotonic() >= deadline:
            timed_out = True
            _kill_group(pid)
            found, status, usage = os.wait4(pid, 0)
            break
        time.sleep(pause)
        pause = min(pause * 2, 0.05)
    _kill_group(pid)  # what the code left running in the background goes too
    return status, usage.ru_utime + usage.ru_stime, timed_out


def _killed_by(
    timed_out: bool, reported: bool, errno_: int | None, exc_type: str | None, procs_hit: bool, cpu_spent: bool
) -> str | None:
    if timed_out:
        return "timeout"
    if exc_type == "MemoryError":
        return "memory"
    if errno_ == errno.EFBIG:  # Python ignores SIGXFSZ, so the write fails with "File too large"
        return "file_size"
    if reported:
        # fork() fails with EAGAIN at the cap (pids cgroup or RLIMIT_NPROC); threads with RuntimeError.
        forked_out = exc_type == "BlockingIOError" and errno_ == errno.EAGAIN
        return "procs" if forked_out or (procs_hit and exc_type in {"OSError", "RuntimeError"}) else None
    # No report: the child was killed before it could write one.
    if cpu_spent:
        return "cpu"
    return "procs" if procs_hit else "signal"


def _read_report(path: Path) -> dict[str, Any]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return raw if isinstance(raw, dict) else {}


def _read_text(path: Path) -> str:
    try:
        with path.open("rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            if size <= 4 * _OUTPUT_LIMIT:
                fh.seek(0)
                return fh.read().decode("utf-8", errors="replace")
            fh.seek(0)
            head = fh.read(_OUTPUT_LIMIT)
            fh.seek(size - _OUTPUT_LIMIT)
            tail = fh.read()
            return (head + b"\n...[output cut]...\n" + tail).decode("utf-8", errors="replace")
    except OSError:
        return ""


def _clip(text: str) -> str:
    if len(text) <= _OUTPUT_LIMIT:
        return text
    half = _OUTPUT_LIMIT // 2
    return text[:half] + "\n...[output cut]...\n" + text[-half:]


@functools.cache
def isolation() -> Isolation:
    """Probe once what this machine lets the sandbox enforce (namespaces, read-only view, pids cgroup)."""
    notes: list[str] = []
    cgroup = _pids_cgroup_root()
    if cgroup is None:
        notes.append("no writable pids cgroup: the process cap relies on RLIMIT_NPROC")
    if shutil.which("unshare") is None:
        notes.append("unshare(1) not found: no network, filesystem or pid isolation")
        return Isolation(cgroup=cgroup, notes=tuple(notes))
    for args, confine in ((_UNSHARE_FULL, True), (_UNSHARE_NET, False)):
        found = _probe(args, confine)
        if found is not None:
            network, filesystem = found
            if not filesystem:
                notes.append("no mount namespace: writes outside the workspace are not prevented")
            return Isolation(args, network, filesystem, True, cgroup, tuple(notes))
        notes.append(f"unshare {' '.join(args)} failed here")
    return Isolation(cgroup=cgroup, notes=tuple(notes))


_PROBE = """
import errno, os, socket, sys
s = socket.socket()
s.settimeout(1)
try:
    s.connect(("127.0.0.1", 9))
    net = False
except OSError as exc:
    net = exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EACCES, errno.EPERM)
try:
    open(sys.argv[1], "w").close()
    fs = False
except OSError:
    fs = True
open("inside", "w").close()
print(int(net), int(fs))
"""


def _probe(args: Sequence[str], confine: bool) -> tuple[bool, bool] | None:
    with tempfile.TemporaryDirectory(prefix="agentk-probe-") as tmp:
        ws, outside = Path(tmp) / "ws", Path(tmp) / "outside"
        ws.mkdir()
        fd, _ = tempfile.mkstemp(dir=tmp)
        argv = [
            "unshare",
            *args,
            sys.executable,
            "-s",
            str(Path(__file__).resolve()),
            "--child",
            str(ws),
            str(fd),
            "1" if confine else "0",
            str(outside),
        ]
        try:
            done = subprocess.run(
                argv,
                input=_PROBE.encode(),
                capture_output=True,
                cwd=ws,
                env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(ws)},
                pass_fds=(fd,),
                timeout=30,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        finally:
            os.close(fd)
        words = done.stdout.decode(errors="replace").split()
        if done.returncode != 0 or len(words) != 2 or not (ws / "inside").exists():
            return None
        return words[0] == "1", words[1] == "1" and not outside.exists()


def _pids_cgroup_root() -> Path | None:
    """A folder of the pids controller (v1 or v2) where this process may create child cgroups."""
    try:
        cgroups = Path("/proc/self/cgroup").read_text().splitlines()
        mounts = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return None
    candidates: list[Path] = []
    for line in mounts:
        left, _, right = line.partition(" - ")
        fstype, _, opts = [*right.split(), "", "", ""][:3]
        mount_point = Path(left.split()[4])
        if fstype == "cgroup" and "pids" in opts.split(","):
            rel = next((c.split(":", 2)[2] for c in cgroups if "pids" in c.split(":")[1].split(",")), None)
            if rel is not None:
                candidates.append(mount_point / rel.lstrip("/"))
        elif fstype == "cgroup2":
            rel = next((c.split(":", 2)[2] for c in cgroups if c.startswith("0::")), None)
            controllers = mount_point / rel.lstrip("/") / "cgroup.subtree_control" if rel is not None else None
            if controllers is not None and "pids" in _read_or_empty(controllers).split():
                candidates.append(controllers.parent)
    for path in candidates:
        probe = path / f"agentk-probe-{os.getpid()}"
        try:
            probe.mkdir()
            ok = (probe / "pids.max").exists()
            probe.rmdir()
        except OSError:
            continue
        if ok:
            return path
    return None


def _read_or_empty(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


# -- the child side (runs as ``python sandbox.py --child WORKSPACE RESULT_FD CONFINE``) ---------------

_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 1, 2, 4, 8
_MS_REMOUNT, _MS_NOATIME, _MS_NODIRATIME, _MS_BIND = 32, 1024, 2048, 4096
_MS_REC, _MS_PRIVATE, _MS_RELATIME, _MS_STRICTATIME = 16384, 1 << 18, 1 << 21, 1 << 24
_MOUNT_FLAGS = {
    "nosuid": _MS_NOSUID,
    "nodev": _MS_NODEV,
    "noexec": _MS_NOEXEC,
    "noatime": _MS_NOATIME,
    "nodiratime": _MS_NODIRATIME,
    "relatime": _MS_RELATIME,
}


def _confine(workspace: str) -> None:
    """Inside fresh user+mount namespaces: everything but the workspace read-only, then no capabilities.

    Mounts copied from the parent namespace keep their locked flags, so each remount repeats them. Dropping
    every capability afterwards (bounding set and effective set) means the code cannot remount anything
    read-write again; a nested namespace it might create gets locked copies of these read-only mounts.
    """
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_void_p]

    def mount(source: str | None, target: str, flags: int) -> None:
        if libc.mount(source.encode() if source else None, target.encode(), None, flags, None) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"mount {target}: {os.strerror(err)}")

    mount(None, "/", _MS_REC | _MS_PRIVATE)
    mount(workspace, workspace, _MS_BIND | _MS_REC)
    with open("/proc/self/mountinfo") as fh:
        entries = [line.split() for line in fh]
    for fields in entries:
        target = fields[4].replace("\\040", " ")
        if target == workspace or target.startswith(workspace.rstrip("/") + "/"):
            continue
        opts = fields[5].split(",")
        flags = _MS_REMOUNT | _MS_BIND | _MS_RDONLY
        flags |= sum(bit for name, bit in _MOUNT_FLAGS.items() if name in opts)
        if not {"noatime", "relatime"} & set(opts):
            flags |= _MS_STRICTATIME
        try:
            mount(None, target, flags)
        except OSError:
            if not target.startswith(("/proc", "/sys")):  # pseudo filesystems: nothing to write to
                raise
    PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 24, 38
    for cap in range(64):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            break
    libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]

    data = (Data * 2)()
    if libc.capset(ctypes.byref(Header(0x20080522, 0)), data) != 0:
        raise OSError(ctypes.get_errno(), "capset failed")


def _child_main(argv: list[str]) -> int:
    """The child: confine itself, run the code from stdin as ``__main__``, report the outcome on a file."""
    workspace, result_fd, confine = argv[0], int(argv[1]), argv[2] == "1"
    sys.argv = ["<sandbox>", *argv[3:]]
    sys.path[0] = workspace  # not this module's folder
    if confine:
        try:
            _confine(workspace)
        except OSError as exc:
            print(f"agentk sandbox: could not confine the child: {exc}", file=sys.stderr)
            return 125
    os.chdir(workspace)
    code = sys.stdin.read()
    sys.stdin.close()
    sys.stdin = open(os.devnull)  # noqa: SIM115 - the code may read stdin and should see it empty
    import builtins
    import linecache
    import traceback

    linecache.cache["<sandbox>"] = (len(code), None, code.splitlines(True), "<sandbox>")
    report: dict[str, Any] = {"finished": True}  # the parent reads a missing report as "killed"
    status = 0
    main_pid = os.getpid()
    try:
        exec(compile(code, "<sandbox>", "exec"), {"__name__": "__main__", "__builtins__": builtins})
    except SystemExit as exc:
        if exc.code not in (None, 0):
            report |= {"exc_type": "SystemExit", "exc_message": str(exc.code), "traceback": None}
            status = exc.code if isinstance(exc.code, int) else 1
    except BaseException as exc:
        tb = exc.__traceback__.tb_next if exc.__traceback__ is not None else None  # drop this frame
        report |= {
            "exc_type": type(exc).__name__,
            "exc_message": str(exc),
            "traceback": "".join(traceback.format_exception(type(exc), exc, tb)),
            "errno": getattr(exc, "errno", None),
        }
        status = 1
    with contextlib.suppress(BaseException):
        sys.stdout.flush()
        sys.stderr.flush()
    if os.getpid() != main_pid:  # a process the code forked: only the main one reports
        os._exit(status)
    with os.fdopen(result_fd, "w", encoding="utf-8") as fh:
        json.dump(report, fh)
    return status


if __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1] == "--child":
    sys.exit(_child_main(sys.argv[2:]))
