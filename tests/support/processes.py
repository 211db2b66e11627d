"""Child processes for tests: brokers, command-line tools and client programs.

Every wait here has a timeout, a broker's output goes to a log file whose tail is put into
any error about it, and a broker is stopped the way an operator would: SIGTERM, a grace
period for its controlled shutdown, then SIGKILL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

POLL_INTERVAL = 0.1


class ProcessFailed(RuntimeError):
    """A program exited with a status other than the expected one."""

    def __init__(self, argv: Sequence[str], returncode: int, stdout: bytes, stderr: bytes) -> None:
        self.argv = list(argv)
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        super().__init__(
            f"{argv[0]} exited with status {returncode}: {' '.join(argv)}\n"
            f"--- stderr (tail) ---\n{tail(stderr)}\n--- stdout (tail) ---\n{tail(stdout)}"
        )


class NotReady(RuntimeError):
    """A broker did not become ready in time, or exited while starting."""


def tail(output: bytes | str, lines: int = 40) -> str:
    """The last lines of a program's output, as text."""
    text = output.decode(errors="replace") if isinstance(output, bytes) else output
    return "\n".join(text.splitlines()[-lines:])


def log_tail(path: Path, lines: int = 40) -> str:
    """The last lines of a log file, or a note that there is none."""
    try:
        return tail(path.read_bytes(), lines)
    except FileNotFoundError:
        return f"(no log at {path})"


def run(
    argv: Sequence[str],
    *,
    timeout: float,
    input: bytes | None = None,
    env: Mapping[str, str] | None = None,
    ok_statuses: tuple[int, ...] = (0,),
) -> subprocess.CompletedProcess[bytes]:
    """Runs a program to completion, raising `ProcessFailed` on an unexpected status.

    On timeout the program is killed and `subprocess.TimeoutExpired` is raised, carrying
    whatever it had printed.
    """
    result = subprocess.run(
        list(argv),
        input=input if input is not None else b"",
        capture_output=True,
        timeout=timeout,
        env=dict(env) if env is not None else None,
        check=False,
    )
    if result.returncode not in ok_statuses:
        raise ProcessFailed(argv, result.returncode, result.stdout, result.stderr)
    return result


def start_logged(
    argv: Sequence[str], log_path: Path, *, env: Mapping[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Starts a long-running program with stdout and stderr going to `log_path`."""
    with log_path.open("ab") as log:
        # A session of its own keeps a Ctrl-C meant for pytest from reaching the broker
        # before the fixture stops it in order.
        return subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            start_new_session=True,
        )


def stop(process: subprocess.Popen[bytes], *, grace: float = 20.0) -> int:
    """Stops a program with SIGTERM, then SIGKILL after `grace` seconds; returns its status."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
    return process.wait(timeout=10.0)


def wait_until(
    ready: Callable[[], bool],
    *,
    timeout: float,
    what: str,
    process: subprocess.Popen[bytes] | None = None,
    log_path: Path | None = None,
) -> None:
    """Polls `ready()` until it is true; raises `NotReady` after `timeout` seconds or as
    soon as `process` exits, with the log's tail in the message."""
    deadline = time.monotonic() + timeout
    while not ready():
        if process is not None and process.poll() is not None:
            raise NotReady(
                f"{what}: process exited with status {process.returncode}\n"
                + (log_tail(log_path) if log_path else "")
            )
        if time.monotonic() > deadline:
            raise NotReady(
                f"{what}: not ready after {timeout:.0f} s\n"
                + (log_tail(log_path) if log_path else "")
            )
        time.sleep(POLL_INTERVAL)


def environment(**overrides: str) -> dict[str, str]:
    """This process's environment with some variables replaced."""
    env = dict(os.environ)
    env.update(overrides)
    return env


class NodeProcess:
    """What a test does to one server process, whoever's it is (Odradek's or Kafka's).

    Mixed into a node dataclass that has ``process``, ``host``, ``port``,
    ``controller_port``, ``roles`` and a ``log_file``, and that says how to
    :meth:`launch` it and when it is ready (:meth:`wait_ready`).
    """

    process: subprocess.Popen[bytes] | None
    roles: str
    host: str
    port: int | None
    controller_port: int | None

    @property
    def log_file(self) -> Path:
        raise NotImplementedError

    def launch(self) -> None:
        raise NotImplementedError

    def wait_ready(self, timeout: float) -> None:
        raise NotImplementedError

    @property
    def is_controller(self) -> bool:
        return "controller" in self.roles

    @property
    def is_broker(self) -> bool:
        return "broker" in self.roles

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def ready_port(self) -> int:
        """The port that says the node is up: the client listener's, else the controller's."""
        port = self.port if self.is_broker else self.controller_port
        assert port is not None
        return port

    @property
    def address(self) -> str:
        return f"{self.host}:{self.ready_port}"

    def log_tail(self, lines: int = 40) -> str:
        return log_tail(self.log_file, lines)

    def start(self, timeout: float = 60.0) -> None:
        self.launch()
        self.wait_ready(timeout)

    def stop(self, grace: float = 30.0) -> int:
        """SIGTERM, then SIGKILL after ``grace`` seconds; returns the exit status."""
        assert self.process is not None
        if self.process.poll() is None:
            # A paused process would never see the SIGTERM.
            self.process.send_signal(signal.SIGCONT)
        status = stop(self.process, grace=grace)
        self.process = None
        return status

    def kill(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        status = self.process.wait(timeout=10)
        self.process = None
        return status

    def pause(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)
