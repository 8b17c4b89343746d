from __future__ import annotations

import logging

import orjson

from paydesk.logs import JsonFormatter, redact


def test_secrets_and_card_numbers_never_reach_a_log_line() -> None:
    line = (
        "key sk_test_51Habc and sk_live_XYZ, shop pd_sk_abc-DEF_1, token pd_ct_x-y, "
        "secret pi_123_secret_456, whsec_abc+/=, card 4242 4242 4242 4242 and 4000000000000002"
    )
    cleaned = redact(line)
    for secret in ["sk_test_51Habc", "sk_live_XYZ", "pd_sk_abc", "pd_ct_x", "pi_123_secret",
                   "whsec_abc", "4242 4242", "4000000000000002"]:  # fmt: skip
        assert secret not in cleaned
    assert cleaned.count("[redacted]") == 8


def test_log_lines_are_json() -> None:
    record = logging.LogRecord("paydesk", logging.INFO, __file__, 1, "paid %s", ("ord_1",), None)
    entry = orjson.loads(JsonFormatter().format(record))
    assert (entry["level"], entry["message"], entry["logger"]) == ("info", "paid ord_1", "paydesk")
