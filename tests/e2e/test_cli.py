from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.fixtures.paydesk import Paydesk


def paydesk(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("STRIPE_", "PAYDESK_"))}
    return subprocess.run(
        [sys.executable, "-m", "paydesk.cli", *args],
        env={**clean, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def paydesk_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return paydesk(*args, env=env, cwd=Path.cwd())


def test_bad_configuration_stops_serve_with_one_sentence(tmp_path: Path) -> None:
    ran = paydesk(
        "serve",
        env={"STRIPE_SECRET_KEY": "sk_live_x", "STRIPE_API_BASE": "http://127.0.0.1:9"},
        cwd=tmp_path,
    )
    assert ran.returncode == 2
    assert "A live Stripe key (sk_live_…) is pointed at a sandbox" in ran.stderr
    assert "Traceback" not in ran.stderr
    ran = paydesk("serve", env={}, cwd=tmp_path)
    assert ran.returncode == 2
    assert "STRIPE_SECRET_KEY is not set" in ran.stderr


def test_db_upgrade_and_keys_create(tmp_path: Path) -> None:
    env = {"PAYDESK_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'p.db'}"}
    assert paydesk("db", "upgrade", env=env, cwd=tmp_path).returncode == 0
    created = paydesk("keys", "create", "--name", "web shop", env=env, cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    assert created.stdout.startswith("pd_sk_")


def test_a_plain_sqlite_url_works(tmp_path: Path) -> None:
    env = {"PAYDESK_DATABASE_URL": f"sqlite:///{tmp_path / 'plain.db'}"}
    upgraded = paydesk("db", "upgrade", env=env, cwd=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    assert paydesk("keys", "create", env=env, cwd=tmp_path).stdout.startswith("pd_sk_")


async def test_keys_are_listed_and_a_revoked_key_is_refused_at_once(paydesk: Paydesk) -> None:
    """The server is another process than the command: the key is refused there at once."""
    env = {"PAYDESK_DATABASE_URL": paydesk.db.engine.url.render_as_string(hide_password=False)}
    async with paydesk.client() as shop:
        assert (await shop.get("/api/payments")).status_code == 200
        listed = paydesk_cli("keys", "list", env=env)
        assert listed.returncode == 0, listed.stderr
        prefix = paydesk.shop_key[:12]
        [line] = [line for line in listed.stdout.splitlines() if line.startswith(prefix)]
        assert "e2e" in line
        assert "live" in line
        assert "last used 20" in line  # the request above was recorded
        revoked = paydesk_cli("keys", "revoke", prefix, env=env)
        assert revoked.returncode == 0, revoked.stderr
        refused = await shop.get("/api/payments")
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "invalid_credentials"
    assert "revoked" in paydesk_cli("keys", "list", env=env).stdout
    again = paydesk_cli("keys", "revoke", prefix, env=env)
    assert again.returncode == 1
    assert "No live key starts with" in again.stderr
