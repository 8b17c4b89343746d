"""The banks behind iDEAL and Bancontact, as the charges Stripe's test mode makes name them.

iDEAL's `ideal[bank]` is one of the values of Stripe's API reference (the docs' "Bank
reference" table, docs.stripe.com/payments/ideal/accept-a-payment, lists the common ones),
each with the bank's BIC. A charge paid through a bank's page shows what Stripe's test mode
shows there (docs.stripe.com/payments/ideal/save-during-payment and
docs.stripe.com/payments/bancontact/save-during-payment, "Handle the redirect manually"):
for iDEAL the chosen bank, its BIC, `iban_last4` "****" and the holder's name in capitals;
for Bancontact the test bank VAN DE PUT & CO of Stripe's test IBAN BE62510007547061.
"""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class IdealBank:
    name: str
    bic: str


IDEAL_BANKS: dict[str, IdealBank] = {
    "abn_amro": IdealBank("ABN AMRO", "ABNANL2A"),
    "adyen": IdealBank("Adyen", "ADYBNL2A"),
    "asn_bank": IdealBank("ASN Bank", "ASNBNL21"),
    "bunq": IdealBank("Bunq", "BUNQNL2A"),
    "buut": IdealBank("Buut", "BUUTNL2A"),
    "finom": IdealBank("Finom", "FNOMNL22"),
    "handelsbanken": IdealBank("Handelsbanken", "HANDNL2A"),
    "ing": IdealBank("ING", "INGBNL2A"),
    "knab": IdealBank("Knab", "KNABNL2H"),
    "mollie": IdealBank("Mollie", "MLLENL2A"),
    "moneyou": IdealBank("Moneyou", "MOYONL21"),
    "n26": IdealBank("N26", "NTSBDEB1"),
    "nn": IdealBank("Nationale-Nederlanden", "NNBANL2G"),
    "rabobank": IdealBank("Rabobank", "RABONL2U"),
    "regiobank": IdealBank("RegioBank", "RBRBNL21"),
    "revolut": IdealBank("Revolut", "REVOLT21"),
    "sns_bank": IdealBank("SNS Bank (De Volksbank)", "SNSBNL2A"),
    "triodos_bank": IdealBank("Triodos Bank", "TRIONL2U"),
    "van_lanschot": IdealBank("Van Lanschot", "FVLBNL22"),
    "yoursafe": IdealBank("Yoursafe", "BITSNL2A"),
}

IDEAL_IBAN_LAST4 = "****"


@dataclass(frozen=True, slots=True)
class BancontactAccount:
    bank_code: str
    bank_name: str
    bic: str
    iban_last4: str


BANCONTACT_TEST_ACCOUNT = BancontactAccount("VAPE", "VAN DE PUT & CO", "VAPEBE22", "7061")
BANCONTACT_LANGUAGES = ("de", "en", "fr", "nl")


def bank_label(method_type: str, bank: str | None) -> str:
    """The bank a redirect page says the customer is at."""
    if method_type == "ideal":
        known = IDEAL_BANKS.get(bank or "")
        return f"iDEAL · {known.name}" if known else "iDEAL"
    return f"Bancontact · {BANCONTACT_TEST_ACCOUNT.bank_name}"
