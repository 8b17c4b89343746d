from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


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
