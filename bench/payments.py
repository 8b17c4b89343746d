"""Payments per second through paydesk, against the offline Stripe sandbox.

    .venv/bin/python bench/payments.py [--concurrency 16] [--payments 2000] [--warmup 100]

Starts `paydesk sandbox` and `paydesk serve` as separate processes on 127.0.0.1 with a fresh
SQLite database, creates the orders (not timed), then pays them with `pm_card_visa`
(`POST /api/payments`: a PaymentIntent created and confirmed in the sandbox) at a fixed
concurrency over keep-alive connections: first --warmup of them untimed, then --payments
timed, or as many as --max-seconds allows (the orders made for them are estimated from the
warm-up's rate, so that a slow server does not make the run long). On the same server and
at the same concurrency it measures `GET /healthz`, before and after the timed payments, as
the ceiling of this machine at this moment: on a shared machine the ratio of the two is
steadier than either number.

Exits 1 if any payment does not answer 200 with status "succeeded".
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import orjson

from profiling import print_profile
from stack import Stack

ITEMS = [{"sku": "BOOK-1", "name": "A book", "unit_amount": 2500, "quantity": 2}]
JSON = {"Content-Type": "application/json"}

# One request: returns None when the answer is the expected one, else what was wrong.
Request = Callable[[aiohttp.ClientSession], Awaitable[str | None]]


STRIPE_CALLS_PER_PAYMENT = 1  # create, confirmed by the same call


@dataclass
class Phase:
    name: str
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str | None = None

    @property
    def count(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.count / self.elapsed if self.elapsed else 0.0

    def percentile_ms(self, p: float) -> float:
        """Nearest-rank percentile, in milliseconds."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        rank = max(1, -(-len(ordered) * p // 100))
        return ordered[int(rank) - 1] * 1000

    def merged(self, other: Phase, name: str) -> Phase:
        return Phase(
            name,
            self.elapsed + other.elapsed,
            self.latencies + other.latencies,
            self.errors + other.errors,
            self.first_error or other.first_error,
        )


async def drive(
    client: aiohttp.ClientSession,
    name: str,
    requests: Iterator[Request],
    concurrency: int,
    deadline: float | None = None,
) -> Phase:
    """Run `requests` with `concurrency` workers, each one request at a time, until the
    iterator is exhausted or the deadline (time.perf_counter) has passed."""
    phase = Phase(name)

    async def worker() -> None:
        for request in requests:
            if deadline is not None and time.perf_counter() >= deadline:
                return
            started = time.perf_counter()
            try:
                problem = await request(client)
            except (aiohttp.ClientError, TimeoutError) as exc:
                problem = f"{type(exc).__name__}: {exc}"
            if problem is None:
                phase.latencies.append(time.perf_counter() - started)
            else:
                phase.errors += 1
                phase.first_error = phase.first_error or problem

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    phase.elapsed = time.perf_counter() - started
    return phase


def create_order(base: str, key: str, ids: list[str]) -> Request:
    body = orjson.dumps({"items": ITEMS, "currency": "usd", "customer_email": "c@example.com"})
    headers = {**JSON, "Authorization": f"Bearer {key}"}

    async def request(client: aiohttp.ClientSession) -> str | None:
        async with client.post(f"{base}/api/orders", data=body, headers=headers) as response:
            answer = await response.read()
        if response.status != 201:
            return f"order: HTTP {response.status}: {answer[:300]!r}"
        ids.append(orjson.loads(answer)["id"])
        return None

    return request


def pay(base: str, key: str, order_id: str) -> Request:
    body = orjson.dumps({"order_id": order_id, "payment_method": "pm_card_visa"})
    headers = {**JSON, "Authorization": f"Bearer {key}"}

    async def request(client: aiohttp.ClientSession) -> str | None:
        async with client.post(f"{base}/api/payments", data=body, headers=headers) as response:
            answer = await response.read()
        if response.status != 200:
            return f"payment: HTTP {response.status}: {answer[:300]!r}"
        status = orjson.loads(answer).get("status")
        return None if status == "succeeded" else f"payment: status {status!r}"

    return request


def healthz(base: str) -> Request:
    url = f"{base}/healthz"

    async def request(client: aiohttp.ClientSession) -> str | None:
        async with client.get(url) as response:
            await response.read()
        return None if response.status == 200 else f"healthz: HTTP {response.status}"

    return request


def forever(request: Request) -> Iterator[Request]:
    while True:
        yield request


def cpu_seconds(pid: int) -> tuple[float, float]:
    """CPU time (user + system) of a process's main thread and of its other threads,
    from /proc; zeros where /proc is not there."""
    main = others = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return main, others
    for tid in tasks:
        try:
            stat = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        seconds = (int(fields[11]) + int(fields[12])) / tick
        if int(tid) == pid:
            main += seconds
        else:
            others += seconds
    return main, others


def tree_cpu_seconds(pid: int) -> tuple[float, float]:
    """`cpu_seconds` of a process and of its children (the processes of
    `paydesk serve --workers N` under their supervisor), summed."""
    children: list[int] = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid:
            children.append(int(entry))
    samples = [cpu_seconds(p) for p in (pid, *children)]
    return sum(main for main, _ in samples), sum(others for _, others in samples)


@dataclass
class Report:
    command: str
    concurrency: int
    orders: Phase
    warmup: Phase
    payments: Phase
    healthz_before: Phase
    healthz_after: Phase
    cpu: dict[str, tuple[float, float]]
    requested: int = 0
    profile: Path | None = None
    sandbox_latency_ms: int = 0
    serve_workers: int = 1

    @property
    def errors(self) -> int:
        return self.warmup.errors + self.payments.errors

    def print(self) -> None:
        ceiling = self.healthz_before.merged(self.healthz_after, "healthz")
        p = self.payments
        done = p.count + p.errors
        capped = f" (of {self.requested}: --max-seconds)" if done < self.requested else ""
        rows = [
            ("payments/s", f"{p.rate:,.1f}", f"{p.count} payments in {p.elapsed:.2f} s{capped}"),
            ("payment p50 ms", f"{p.percentile_ms(50):.1f}", ""),
            ("payment p90 ms", f"{p.percentile_ms(90):.1f}", ""),
            ("payment p99 ms", f"{p.percentile_ms(99):.1f}", ""),
            ("payment max ms", f"{p.percentile_ms(100):.1f}", ""),
            ("payment errors", str(p.errors + self.warmup.errors), "warm-up included"),
            (
                "healthz req/s",
                f"{ceiling.rate:,.0f}",
                f"before {self.healthz_before.rate:,.0f}, after {self.healthz_after.rate:,.0f}",
            ),
            ("healthz p50 ms", f"{ceiling.percentile_ms(50):.2f}", ""),
            ("healthz p99 ms", f"{ceiling.percentile_ms(99):.2f}", ""),
            ("payments/healthz", f"{p.rate / ceiling.rate:.4f}" if ceiling.rate else "n/a", ""),
        ]
        if self.sandbox_latency_ms:
            # Each payment waits for its Stripe call (create and confirm in one): with that
            # many payments in flight, no server can do better than this.
            bound = self.concurrency / (STRIPE_CALLS_PER_PAYMENT * self.sandbox_latency_ms / 1000)
            rows.append(
                (
                    "Stripe-bound payments/s",
                    f"{bound:,.1f}",
                    f"concurrency / ({STRIPE_CALLS_PER_PAYMENT} calls x "
                    f"{self.sandbox_latency_ms} ms); measured {p.rate / bound:.3f} of it "
                    f"(target >= 0.8)",
                )
            )
        if p.count:
            for name, (main, others) in self.cpu.items():
                rows.append(
                    (
                        f"{name} CPU ms/pay",
                        f"{(main + others) * 1000 / p.count:.2f}",
                        f"main thread {main * 1000 / p.count:.2f}, "
                        f"other threads {others * 1000 / p.count:.2f}",
                    )
                )
        width = max(len(r[0]) for r in rows)
        value_width = max(len(r[1]) for r in rows)
        print()
        print(
            f"paydesk payments, concurrency {self.concurrency}, {os.cpu_count()} CPUs, "
            f"serve --workers {self.serve_workers}, Stripe latency {self.sandbox_latency_ms} ms"
        )
        for label, value, note in rows:
            print(f"  {label:<{width}}  {value:>{value_width}}  {note}".rstrip())
        print(f"  orders created (not timed): {self.orders.count} in {self.orders.elapsed:.2f} s")
        if self.profile is not None:
            print("  (server under cProfile: the rates above are not representative)")
        print(f"  command: {self.command}")
        for phase in (self.orders, self.warmup, self.payments, ceiling):
            if phase.first_error:
                print(f"  first {phase.name} error: {phase.first_error}")


async def run(args: argparse.Namespace, stack: Stack) -> Report:
    base, key, concurrency = stack.paydesk_url, stack.shop_key, args.concurrency
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as client:
        order_ids: list[str] = []

        async def create_orders(count: int) -> Phase:
            make_order = create_order(base, key, order_ids)
            phase = await drive(client, "order", (make_order for _ in range(count)), concurrency)
            if phase.errors:
                raise RuntimeError(f"could not create the orders: {phase.first_error}")
            return phase

        async def ceiling(name: str) -> Phase:
            check = healthz(base)
            await drive(client, name, forever(check), concurrency, time.perf_counter() + 0.5)
            end = time.perf_counter() + args.healthz_seconds
            return await drive(client, name, forever(check), concurrency, end)

        orders = await create_orders(args.warmup)
        warm = (pay(base, key, order_id) for order_id in order_ids)
        warmup = await drive(client, "warm-up payment", warm, concurrency)
        # Only as many orders as the time cap can use, from the warm-up's rate, with a margin.
        needed = args.payments
        if warmup.rate:
            needed = min(needed, int(warmup.rate * args.max_seconds * 1.5) + concurrency)
        orders = orders.merged(await create_orders(needed), "order")
        healthz_before = await ceiling("healthz")
        timed = (pay(base, key, order_id) for order_id in order_ids[args.warmup :])
        pids = {
            "paydesk": stack.paydesk.pid,
            "sandbox": stack.sandbox.pid,
            "client": os.getpid(),
        }
        cpu_before = {name: tree_cpu_seconds(pid) for name, pid in pids.items()}
        if args.profile:
            stack.paydesk.signal(signal.SIGUSR1)
        deadline = time.perf_counter() + args.max_seconds
        payments = await drive(client, "payment", timed, concurrency, deadline)
        if args.profile:
            stack.paydesk.signal(signal.SIGUSR2)
        cpu_after = {name: tree_cpu_seconds(pid) for name, pid in pids.items()}
        healthz_after = await ceiling("healthz")
    cpu = {
        name: (cpu_after[name][0] - cpu_before[name][0], cpu_after[name][1] - cpu_before[name][1])
        for name in pids
    }
    return Report(
        command=shlex.join([Path(sys.executable).name, *sys.argv]),
        concurrency=concurrency,
        orders=orders,
        warmup=warmup,
        payments=payments,
        healthz_before=healthz_before,
        healthz_after=healthz_after,
        cpu=cpu,
        requested=args.payments,
        profile=args.profile,
        sandbox_latency_ms=args.sandbox_latency_ms,
        serve_workers=args.serve_workers,
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight")
    parser.add_argument("--payments", type=int, default=2000, help="timed payments")
    parser.add_argument("--warmup", type=int, default=100, help="untimed payments first")
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=25.0,
        help="stop the timed payments after this long even if fewer than --payments were made",
    )
    parser.add_argument(
        "--healthz-seconds",
        type=float,
        default=3.0,
        help="length of each GET /healthz measurement (one before, one after the payments)",
    )
    parser.add_argument(
        "--sandbox-latency-ms",
        type=int,
        default=0,
        help="every Stripe API call answers this much later (paydesk sandbox --latency-ms)",
    )
    parser.add_argument(
        "--serve-workers",
        type=int,
        default=1,
        help="paydesk serve --workers N (PostgreSQL only above 1)",
    )
    parser.add_argument(
        "--database-url",
        help="a database to use instead of a fresh SQLite file "
        "(e.g. postgresql+asyncpg://user@127.0.0.1/paydesk_bench); it is migrated first",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="FILE.prof",
        help="run paydesk serve under cProfile during the timed payments, "
        "write the stats there and print the top entries",
    )
    args = parser.parse_args(argv)
    if min(args.concurrency, args.payments, args.max_seconds, args.healthz_seconds) <= 0:
        parser.error("--concurrency, --payments and the durations must be positive")
    if args.sandbox_latency_ms < 0 or args.serve_workers < 1:
        parser.error("--sandbox-latency-ms must not be negative, --serve-workers at least 1")
    if args.warmup < 0:
        parser.error("--warmup must not be negative")
    return args


def main() -> int:
    args = parse_args()
    if args.profile is not None:
        args.profile = args.profile.resolve()
        args.profile.unlink(missing_ok=True)
    try:
        with Stack(
            database_url=args.database_url,
            profile_output=args.profile,
            sandbox_latency_ms=args.sandbox_latency_ms,
            serve_workers=args.serve_workers,
        ) as stack:
            report = asyncio.run(run(args, stack))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except RuntimeError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    report.print()
    if args.profile is not None:
        count = report.payments.count
        print_profile(
            args.profile,
            count,
            unit="payment",
            during=f"the {count} timed payments",
            cumulative=True,
        )
    return 1 if report.errors else 0


if __name__ == "__main__":
    sys.exit(main())
