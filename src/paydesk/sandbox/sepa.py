"""Stripe's SEPA Direct Debit test IBANs: what each does once a payment is confirmed with it.

The table is Stripe's (docs.stripe.com/payments/sepa-debit/accept-a-payment, "Test IBANs",
the same as docs.stripe.com/testing#sepa-direct-debit): eight IBANs in each of 19 countries,
each with its test PaymentMethod token. Every other valid IBAN succeeds.

A debit is `processing` from its confirmation until it settles. Stripe's test mode settles
the plain IBANs within moments and the "delayed" ones after at least three minutes; the
sandbox waits 60 seconds of its clock for the first (so the processing step can be seen, and
a test can move the clock past it: `POST /_sandbox/clock/advance`) and 180 for the second.
The IBANs Stripe says fail with a code (the limits, insufficient funds) fail the same way,
when the debit settles; those Stripe only says fail get `generic_could_not_process`, the code
of its failure table for a failure it cannot name. Each `failure_message` is the explanation
that table gives for the code (docs.stripe.com/payments/sepa-debit#failed-payments).
"""

from dataclasses import dataclass
from enum import StrEnum


class DebitOutcome(StrEnum):
    SUCCEED = "succeed"
    FAIL = "fail"
    # Succeeds, and the customer's bank disputes it (Disputes.open_later).
    DISPUTE = "dispute"


# Seconds of the sandbox's clock before a debit settles, and before a refund of one does.
SETTLE_SECONDS = 60.0
DELAYED_SETTLE_SECONDS = 180.0
REFUND_SETTLE_SECONDS = 60.0
# The reason of the dispute the disputed IBANs open: Stripe's reason for a bank debit the
# customer's bank reports as not authorized.
DISPUTE_REASON = "debit_not_authorized"

GENERIC_FAILURE = "generic_could_not_process"
FAILURE_MESSAGES: dict[str, str] = {
    GENERIC_FAILURE: "Stripe can't identify a particular reason for the payment failure.",
    "insufficient_funds": (
        "The payment process can't be completed because your customer's bank account lacks "
        "the necessary funds."
    ),
    "charge_exceeds_source_limit": (
        "The payment amount causes the account to exceed its weekly payment volume limit."
    ),
    "charge_exceeds_weekly_limit": (
        "The payment amount exceeds the account's transaction volume limit."
    ),
}


@dataclass(frozen=True, slots=True)
class SepaBehaviour:
    outcome: DebitOutcome = DebitOutcome.SUCCEED
    # Settles after at least three minutes instead of a moment.
    delayed: bool = False
    failure_code: str | None = None

    @property
    def settle_seconds(self) -> float:
        return DELAYED_SETTLE_SECONDS if self.delayed else SETTLE_SECONDS

    @property
    def failure_message(self) -> str | None:
        return FAILURE_MESSAGES[self.failure_code] if self.failure_code else None


SUCCEEDS = SepaBehaviour()

# The columns of Stripe's table, each with its token's name and what it does.
_KINDS: tuple[tuple[str, SepaBehaviour], ...] = (
    ("success", SUCCEEDS),
    ("successDelayed", SepaBehaviour(delayed=True)),
    ("failed", SepaBehaviour(DebitOutcome.FAIL, failure_code=GENERIC_FAILURE)),
    ("failedDelayed", SepaBehaviour(DebitOutcome.FAIL, True, GENERIC_FAILURE)),
    ("disputed", SepaBehaviour(DebitOutcome.DISPUTE)),
    (
        "exceedsWeeklyVolumeLimit",
        SepaBehaviour(DebitOutcome.FAIL, failure_code="charge_exceeds_source_limit"),
    ),
    (
        "exceedsWeeklyTransactionLimit",
        SepaBehaviour(DebitOutcome.FAIL, failure_code="charge_exceeds_weekly_limit"),
    ),
    ("insufficientFunds", SepaBehaviour(DebitOutcome.FAIL, failure_code="insufficient_funds")),
)

# Stripe's rows, in the order of _KINDS.
_TEST_IBANS: dict[str, tuple[str, ...]] = {
    "at": (
        "AT611904300234573201",
        "AT321904300235473204",
        "AT861904300235473202",
        "AT051904300235473205",
        "AT591904300235473203",
        "AT981904300000343434",
        "AT601904300000121212",
        "AT981904300002222227",
    ),
    "be": (
        "BE62510007547061",
        "BE78510007547064",
        "BE68539007547034",
        "BE51510007547065",
        "BE08510007547063",
        "BE90510000343434",
        "BE52510000121212",
        "BE90510002222227",
    ),
    "hr": (
        "HR7624020064583467589",
        "HR6323600002337876649",
        "HR2725000096983499248",
        "HR6723600004878117427",
        "HR8724840081455523553",
        "HR7424020060000343434",
        "HR3624020060000121212",
        "HR7424020060002222227",
    ),
    "ee": (
        "EE382200221020145685",
        "EE222200221020145682",
        "EE762200221020145680",
        "EE922200221020145683",
        "EE492200221020145681",
        "EE672200000000343434",
        "EE292200000000121212",
        "EE672200000002222227",
    ),
    "fi": (
        "FI2112345600000785",
        "FI3712345600000788",
        "FI9112345600000786",
        "FI1012345600000789",
        "FI6412345600000787",
        "FI6712345600343434",
        "FI2912345600121212",
        "FI6712345602222227",
    ),
    "fr": (
        "FR1420041010050500013M02606",
        "FR3020041010050500013M02609",
        "FR8420041010050500013M02607",
        "FR7920041010050500013M02600",
        "FR5720041010050500013M02608",
        "FR9720041010050000000343434",
        "FR5920041010050000000121212",
        "FR9720041010050000002222227",
    ),
    "de": (
        "DE89370400440532013000",
        "DE08370400440532013003",
        "DE62370400440532013001",
        "DE78370400440532013004",
        "DE35370400440532013002",
        "DE65370400440000343434",
        "DE27370400440000121212",
        "DE65370400440002222227",
    ),
    "gi": (
        "GI60MPFS599327643783385",
        "GI08RRNW626436291644533",
        "GI41SAFA461293238477751",
        "GI50LROG772261344693297",
        "GI26KJBC361883934534696",
        "GI14NWBK000000000343434",
        "GI73NWBK000000000121212",
        "GI14NWBK000000002222227",
    ),
    "ie": (
        "IE29AIBK93115212345678",
        "IE24AIBK93115212345671",
        "IE02AIBK93115212345679",
        "IE94AIBK93115212345672",
        "IE51AIBK93115212345670",
        "IE10AIBK93115200343434",
        "IE69AIBK93115200121212",
        "IE10AIBK93115202222227",
    ),
    "li": (
        "LI0508800636123378777",
        "LI4408800387787111369",
        "LI1208800143823175626",
        "LI4908800356441975566",
        "LI7708800125525347723",
        "LI2408800000000343434",
        "LI8308800000000121212",
        "LI2408800000002222227",
    ),
    "lt": (
        "LT121000011101001000",
        "LT281000011101001003",
        "LT821000011101001001",
        "LT981000011101001004",
        "LT551000011101001002",
        "LT591000000000343434",
        "LT211000000000121212",
        "LT591000000002222227",
    ),
    "lu": (
        "LU280019400644750000",
        "LU440019400644750003",
        "LU980019400644750001",
        "LU170019400644750004",
        "LU710019400644750002",
        "LU900010000000343434",
        "LU520010000000121212",
        "LU900010000002222227",
    ),
    # Stripe lists NL55RABO0300065267 twice, as delayed success and as insufficient funds;
    # the number does the first, the token pm_insufficientFunds_nl the second.
    "nl": (
        "NL39RABO0300065264",
        "NL55RABO0300065267",
        "NL91ABNA0417164300",
        "NL28RABO0300065268",
        "NL82RABO0300065266",
        "NL27RABO0000343434",
        "NL86RABO0000121212",
        "NL55RABO0300065267",
    ),
    # Likewise NO0586010343434, for both limits: the number exceeds the volume limit.
    "no": (
        "NO9386011117947",
        "NO8886011117940",
        "NO6686011117948",
        "NO6186011117941",
        "NO3986011117949",
        "NO0586010343434",
        "NO0586010343434",
        "NO0586012222227",
    ),
    "pt": (
        "PT50000201231234567890154",
        "PT66000201231234567890157",
        "PT23000201231234567890155",
        "PT39000201231234567890158",
        "PT93000201231234567890156",
        "PT05000201230000000343434",
        "PT64000201230000000121212",
        "PT05000201230000002222227",
    ),
    "es": (
        "ES0700120345030000067890",
        "ES2300120345030000067893",
        "ES9121000418450200051332",
        "ES9300120345030000067894",
        "ES5000120345030000067892",
        "ES1700120345000000343434",
        "ES7600120345000000121212",
        "ES1700120345000002222227",
    ),
    "se": (
        "SE3550000000054910000003",
        "SE5150000000054910000006",
        "SE0850000000054910000004",
        "SE2450000000054910000007",
        "SE7850000000054910000005",
        "SE2850000000000000343434",
        "SE8750000000000000121212",
        "SE2850000000000002222227",
    ),
    "ch": (
        "CH9300762011623852957",
        "CH8656663438253651553",
        "CH5362200119938136497",
        "CH1843597160341964438",
        "CH1260378413965193069",
        "CH1800762000000343434",
        "CH7700762000000121212",
        "CH1800762000002222227",
    ),
    "gb": (
        "GB82WEST12345698765432",
        "GB98WEST12345698765435",
        "GB55WEST12345698765433",
        "GB71WEST12345698765436",
        "GB28WEST12345698765434",
        "GB70WEST12345600343434",
        "GB32WEST12345600121212",
        "GB70WEST12345602222227",
    ),
}


def _behaviours() -> dict[str, SepaBehaviour]:
    table: dict[str, SepaBehaviour] = {}
    for ibans in _TEST_IBANS.values():
        for iban, (_, behaviour) in zip(ibans, _KINDS, strict=True):
            table.setdefault(iban, behaviour)
    return table


def _tokens() -> dict[str, tuple[str, SepaBehaviour]]:
    return {
        f"pm_{kind}_{country}": (iban, behaviour)
        for country, ibans in _TEST_IBANS.items()
        for iban, (kind, behaviour) in zip(ibans, _KINDS, strict=True)
    }


# What each test IBAN does; add a row to give a number a new behaviour.
SEPA_BEHAVIOURS: dict[str, SepaBehaviour] = _behaviours()

# Stripe's test PaymentMethod tokens (`pm_success_de`, `pm_failedDelayed_at`, ...), usable
# as `payment_method` directly: the IBAN each stands for and what it does.
TEST_PAYMENT_METHODS: dict[str, tuple[str, SepaBehaviour]] = _tokens()


def behaviour_for_iban(number: str) -> SepaBehaviour:
    """What a normalized IBAN does: its row of Stripe's table, else it succeeds."""
    return SEPA_BEHAVIOURS.get(number, SUCCEEDS)
