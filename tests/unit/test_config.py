from __future__ import annotations

import pytest

from paydesk.config import SANDBOX_SECRET_KEY, Settings
from paydesk.errors import ConfigurationError


def test_defaults_need_a_key_or_a_sandbox_outside_the_demo() -> None:
    with pytest.raises(ConfigurationError, match="STRIPE_SECRET_KEY is not set"):
        Settings.from_env({})
    assert Settings.from_env({}, demo=True).stripe_secret_key == SANDBOX_SECRET_KEY
    sandboxed = Settings.from_env({"STRIPE_API_BASE": "http://127.0.0.1:12111/"})
    assert sandboxed.uses_sandbox
    assert sandboxed.stripe_api_base == "http://127.0.0.1:12111"


@pytest.mark.parametrize(
    ("env", "complaint"),
    [
        (
            {"STRIPE_SECRET_KEY": "sk_live_abc", "STRIPE_API_BASE": "http://127.0.0.1:12111"},
            "live Stripe key",
        ),
        ({"STRIPE_SECRET_KEY": "pk_test_abc"}, "never a publishable key"),
        ({"STRIPE_SECRET_KEY": "sk_test_a", "STRIPE_WEBHOOK_SECRET": "oops"}, "whsec_"),
        ({"STRIPE_SECRET_KEY": "sk_test_a", "PAYDESK_DATABASE_URL": "mysql://x"}, "SQLite"),
        ({"STRIPE_SECRET_KEY": "sk_test_a", "PAYDESK_STRIPE_MAX_RETRIES": "two"}, "whole number"),
        ({"STRIPE_SECRET_KEY": "sk_test_a", "STRIPE_API_BASE": "ftp://x"}, "http"),
    ],
)
def test_bad_configuration_is_one_clear_sentence(env: dict[str, str], complaint: str) -> None:
    with pytest.raises(ConfigurationError, match=complaint) as caught:
        Settings.from_env(env)
    assert str(caught.value).count(". ") <= 1


def test_several_webhook_secrets_for_rotation() -> None:
    settings = Settings.from_env(
        {"STRIPE_SECRET_KEY": "sk_live_x", "STRIPE_WEBHOOK_SECRET": "whsec_a, whsec_b"}
    )
    assert settings.stripe_webhook_secrets == ("whsec_a", "whsec_b")
    assert settings.livemode
