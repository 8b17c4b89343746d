"""The Stripe sandbox and paydesk as separate processes on 127.0.0.1, for benchmarks.

`Stack` migrates a database (a fresh temporary SQLite file unless a URL is given), creates a
shop key in it, starts `paydesk sandbox` and `paydesk serve` on free loopback ports, waits
until both answer, and stops them (gracefully, then by force) when the `with` block ends,
whether it ends normally, on an error or on Ctrl-C. Optionally serve gets webhook signing
secrets and a choice about its in-process worker, and the sandbox may be left out (Stripe's
address then points at a closed loopback port: nothing may call it). `start_workers` adds
`paydesk worker` processes with serve's environment, stopped first when the block ends.

`fresh_database` gives a benchmark a PostgreSQL database of its own for one run: created on
the server a URL names, dropped afterwards.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import aiohttp
from sqlalchemy.engine import make_url

from paydesk.demo_sinks import MailSink

HOST = "127.0.0.1"
BENCH_DIR = Path(__file__).resolve().parent
PAYDESK = Path(sys.executable).with_name("paydesk")
STARTUP_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 10.0
# The sandbox takes any sk_test_ key; benchmarks that call it directly use this one too.
SECRET_KEY = "sk_test_paydesk_bench"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def prepare_database(database_url: str) -> str:
    """Migrate the database and return a new shop API key stored in it."""
    from paydesk.composition import build
    from paydesk.config import Settings
    from paydesk.migrate import upgrade

    upgrade(database_url)

    async def create() -> str:
        services = build(Settings(database_url=database_url))
        try:
            plaintext, _ = await services.auth.create_key("bench")
            return plaintext
        finally:
            await services.close()

    return asyncio.run(create())


@contextmanager
def fresh_database(url: str | None) -> Iterator[str | None]:
    """For a PostgreSQL `url`, a new empty database `paydesk_bench_<random>` on the server it
    names (the database it names is only connected to, to create and drop the new one),
    dropped when the block ends; any other `url` (None: Stack's temporary SQLite file) as it
    is."""
    if url is None or not url.startswith("postgres"):
        yield url
        return
    import asyncpg

    server = make_url(url)
    admin_dsn = server.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"paydesk_bench_{secrets.token_hex(4)}"

    async def execute(statement: str) -> None:
        connection = await asyncpg.connect(admin_dsn, timeout=10)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(execute(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(drivername="postgresql+asyncpg", database=name).render_as_string(
            hide_password=False
        )
    finally:
        # FORCE: a process that was killed may still hold a connection.
        asyncio.run(execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@dataclass
class Process:
    name: str
    args: list[str]
    env: dict[str, str]
    log_path: Path
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("wb") as log:
            # A session of its own: Ctrl-C reaches the benchmark, which stops us in order.
            self.popen = subprocess.Popen(
                self.args,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        if self.popen is None:
            raise RuntimeError(f"{self.name} has not been started")
        return self.popen.pid

    def exited(self) -> int | None:
        return None if self.popen is None else self.popen.poll()

    def signal(self, signum: int) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.send_signal(signum)

    def stop(self) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        self.popen.send_signal(signal.SIGINT)
        try:
            self.popen.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(STOP_TIMEOUT_SECONDS)

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


@dataclass
class Stack:
    """`with Stack() as stack:` gives `stack.paydesk_url`, `stack.shop_key` and the processes."""

    database_url: str | None = None
    profile_output: Path | None = None
    webhook_secrets: tuple[str, ...] = ()
    # PAYDESK_WORKER_IN_PROCESS for serve; None leaves serve's default.
    worker_in_process: bool | None = None
    with_sandbox: bool = True
    sandbox_latency_ms: int = 0  # paydesk sandbox --latency-ms
    serve_workers: int = 1  # paydesk serve --workers
    workdir: Path = field(init=False)
    shop_key: str = field(init=False, default="")
    url: str = field(init=False, default="")  # the database serve uses
    sandbox: Process = field(init=False)
    paydesk: Process = field(init=False)
    sandbox_url: str = field(init=False, default="")
    paydesk_url: str = field(init=False, default="")
    mailbox: MailSink = field(init=False)
    env: dict[str, str] = field(init=False, default_factory=dict)  # serve's
    workers: list[Process] = field(init=False, default_factory=list)

    def __enter__(self) -> Stack:
        self.workdir = Path(tempfile.mkdtemp(prefix="paydesk-bench-"))
        try:
            self._start()
        except BaseException:
            self._cleanup(failed=True)
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._cleanup(failed=exc_type is not None and not issubclass(exc_type, KeyboardInterrupt))

    def _start(self) -> None:
        url = self.database_url or f"sqlite+aiosqlite:///{self.workdir / 'paydesk.db'}"
        self.url = url
        self.shop_key = prepare_database(url)
        sandbox_port, paydesk_port = free_port(), free_port()
        self.sandbox_url = f"http://{HOST}:{sandbox_port}"
        self.paydesk_url = f"http://{HOST}:{paydesk_port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PAYDESK_", "STRIPE_"))}
        # Receipts really go out, to a mailbox on loopback, as they would in production.
        self.mailbox = MailSink(self.workdir / "mail")
        self.mailbox.start()
        env.update(
            PAYDESK_DATABASE_URL=url,
            STRIPE_SECRET_KEY=SECRET_KEY,
            STRIPE_API_BASE=self.sandbox_url,
            PAYDESK_SMTP_PORT=str(self.mailbox.port),
            PYTHONUNBUFFERED="1",
        )
        if self.webhook_secrets:
            env["STRIPE_WEBHOOK_SECRET"] = ",".join(self.webhook_secrets)
        if self.worker_in_process is not None:
            env["PAYDESK_WORKER_IN_PROCESS"] = "1" if self.worker_in_process else "0"
        self.env = env
        listen = ["--host", HOST]
        latency = ["--latency-ms", str(self.sandbox_latency_ms)] if self.sandbox_latency_ms else []
        self.sandbox = Process(
            "sandbox",
            [str(PAYDESK), "sandbox", *listen, "--port", str(sandbox_port), *latency],
            env,
            self.workdir / "sandbox.log",
        )
        serve = ["serve", *listen, "--port", str(paydesk_port)]
        if self.serve_workers > 1:
            serve += ["--workers", str(self.serve_workers)]
        if self.profile_output is None:
            server_args = [str(PAYDESK), *serve]
        else:
            wrapper = BENCH_DIR / "profiled_serve.py"
            server_args = [sys.executable, str(wrapper), str(self.profile_output), *serve]
        self.paydesk = Process("paydesk", server_args, env, self.workdir / "paydesk.log")
        if self.with_sandbox:
            self.sandbox.start()
        self.paydesk.start()
        asyncio.run(self._wait_until_up())

    async def _wait_until_up(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        checks = []
        if self.with_sandbox:
            checks.append((self.sandbox, f"{self.sandbox_url}/v1/payment_intents"))
        checks.append((self.paydesk, f"{self.paydesk_url}/healthz"))
        timeout = aiohttp.ClientTimeout(total=2)
        async with aiohttp.ClientSession(timeout=timeout) as client:
            for process, url in checks:
                while True:
                    code = process.exited()
                    if code is not None:
                        raise RuntimeError(f"{process.name} exited with {code}")
                    try:
                        async with client.get(url) as response:
                            await response.read()
                            # The sandbox answers 401 without a key: it is up all the same.
                            if process is self.sandbox or response.status == 200:
                                break
                    except (aiohttp.ClientError, TimeoutError):
                        pass
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"{process.name} did not answer on {url}")
                    await asyncio.sleep(0.05)

    def start_workers(self, count: int, *, profile_output: Path | None = None) -> list[Process]:
        """Spawns `count` `paydesk worker` processes with serve's environment and returns
        them without waiting for them to be ready. With `profile_output` the first runs
        under cProfile (profiled_serve.py: SIGUSR1 starts it, SIGUSR2 writes it)."""
        started: list[Process] = []
        for _ in range(count):
            index = len(self.workers) + 1
            if profile_output is not None and not started:
                wrapper = BENCH_DIR / "profiled_serve.py"
                args = [sys.executable, str(wrapper), str(profile_output), "worker"]
            else:
                args = [str(PAYDESK), "worker"]
            worker = Process(
                f"worker {index}", args, self.env, self.workdir / f"worker-{index}.log"
            )
            self.workers.append(worker)
            started.append(worker)
        for worker in started:
            worker.start()
        return started

    def _cleanup(self, *, failed: bool) -> None:
        # Every worker is told at once, so they finish their units of work side by side.
        for worker in self.workers:
            worker.signal(signal.SIGINT)
        processes = [*self.workers, getattr(self, "paydesk", None), getattr(self, "sandbox", None)]
        for process in processes:
            if process is not None:
                process.stop()
        mailbox = getattr(self, "mailbox", None)
        if mailbox is not None:
            mailbox.stop()
        if failed:
            for process in processes:
                if process is not None and (tail := process.log_tail()):
                    print(f"--- last lines of the {process.name} log ---", file=sys.stderr)
                    print(tail, file=sys.stderr)
        shutil.rmtree(self.workdir, ignore_errors=True)
