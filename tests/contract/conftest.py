"""Fixtures of the contract test: localstripe in its own process, and one client per backend."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import stripe
from tests.contract.backends import LOCALSTRIPE, SANDBOX, Backend

from paydesk.sandbox import SandboxServer

HOST = "127.0.0.1"
API_KEY = "sk_test_contract"
START_TIMEOUT = 15.0

# localstripe is GPL: it only ever runs in a child process, never inside paydesk or pytest.
# Its own CLI binds every interface and pickles its store to a shared file after each
# write, so the child binds 127.0.0.1 on a port of the kernel's choosing, keeps its store
# in memory, prints the port, and serves until it is terminated.
LOCALSTRIPE_MAIN = """
import socket
import sys

from aiohttp import web
from localstripe import resources
from localstripe.server import app

resources.Store.dump_to_disk = lambda self: None
sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
sock.bind((sys.argv[1], 0))
print(sock.getsockname()[1], flush=True)
web.run_app(app, sock=sock, print=None, access_log=None)
"""


@dataclass(frozen=True)
class LocalStripe:
    """A running localstripe server."""

    url: str


def _wait_until_answering(url: str, proc: subprocess.Popen[str], log: Path) -> None:
    request = urllib.request.Request(
        f"{url}/v1/payment_intents?limit=1", headers={"Authorization": f"Bearer {API_KEY}"}
    )
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if proc.poll() is not None:
            pytest.fail(f"localstripe exited with {proc.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(request, timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"localstripe did not answer on {url}:\n{log.read_text()}")
        time.sleep(0.05)


@pytest.fixture(scope="session")
def localstripe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStripe]:
    """localstripe serving on 127.0.0.1, in a separate process, for the whole session."""
    log = tmp_path_factory.mktemp("localstripe") / "stderr.log"
    with (
        log.open("w") as stderr,
        subprocess.Popen(
            [sys.executable, "-c", LOCALSTRIPE_MAIN, HOST],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        ) as proc,
    ):
        try:
            assert proc.stdout is not None
            port = int(proc.stdout.readline().strip() or 0)
            if not port:
                proc.wait(timeout=START_TIMEOUT)
                pytest.fail(f"localstripe did not start:\n{log.read_text()}")
            url = f"http://{HOST}:{port}"
            _wait_until_answering(url, proc, log)
            yield LocalStripe(url=url)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="session")
def localstripe_client(localstripe: LocalStripe) -> Iterator[stripe.StripeClient]:
    """The official SDK aimed at localstripe, built like the sandbox's `stripe_client`."""
    http_client = stripe.RequestsClient()
    try:
        yield stripe.StripeClient(
            API_KEY,
            base_addresses={"api": localstripe.url},
            max_network_retries=0,
            http_client=http_client,
        )
    finally:
        http_client.close()


@pytest.fixture
def sandbox_backend(sandbox: SandboxServer, stripe_client: stripe.StripeClient) -> Backend:
    """paydesk's sandbox, through the `stripe_client` of tests/fixtures/sandbox.py."""
    return Backend(SANDBOX, sandbox.url, stripe_client)


@pytest.fixture
def localstripe_backend(
    localstripe: LocalStripe, localstripe_client: stripe.StripeClient
) -> Backend:
    return Backend(LOCALSTRIPE, localstripe.url, localstripe_client)


@pytest.fixture(params=[SANDBOX, LOCALSTRIPE])
def backend(request: pytest.FixtureRequest) -> Backend:
    """Each contract scenario runs once on paydesk's sandbox and once on localstripe."""
    value: Backend = request.getfixturevalue(f"{request.param}_backend")
    return value
