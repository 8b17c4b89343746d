"""Fixtures shared by every test layer live in tests/fixtures/; this file only wires them in."""

pytest_plugins = [
    "tests.fixtures.database",
    "tests.fixtures.paydesk",
    "tests.fixtures.sandbox",
    "tests.fixtures.smtp",
    "tests.fixtures.tcp_proxy",
]
