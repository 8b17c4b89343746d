"""IBANs as Stripe takes them for SEPA Direct Debit: checked, then kept only in parts.

An IBAN is its country, two check digits and the country's BBAN; it is valid when it has
the length the IBAN registry gives its country and passes the ISO 13616 mod-97 check.
Stripe keeps the bank and branch codes the BBAN starts with, the last four characters and a
fingerprint, never the number itself; so does the sandbox.
"""

from dataclasses import dataclass

from paydesk.sandbox.errors import InvalidRequestError


@dataclass(frozen=True, slots=True)
class BbanLayout:
    """Where a country's BBAN keeps the bank and branch codes, and how long its IBAN is."""

    length: int
    bank: slice
    branch: slice | None = None


def _layout(
    length: int, bank: tuple[int, int], branch: tuple[int, int] | None = None
) -> BbanLayout:
    return BbanLayout(length, slice(*bank), slice(*branch) if branch else None)


# The SEPA countries, as the IBAN registry (SWIFT, release 99) lays their BBANs out.
SEPA_COUNTRIES: dict[str, BbanLayout] = {
    "AD": _layout(24, (0, 4), (4, 8)),
    "AT": _layout(20, (0, 5)),
    "BE": _layout(16, (0, 3)),
    "BG": _layout(22, (0, 4), (4, 8)),
    "CH": _layout(21, (0, 5)),
    "CY": _layout(28, (0, 3), (3, 8)),
    "CZ": _layout(24, (0, 4)),
    "DE": _layout(22, (0, 8)),
    "DK": _layout(18, (0, 4)),
    "EE": _layout(20, (0, 2)),
    "ES": _layout(24, (0, 4), (4, 8)),
    "FI": _layout(18, (0, 3)),
    "FR": _layout(27, (0, 5), (5, 10)),
    "GB": _layout(22, (0, 4), (4, 10)),
    "GI": _layout(23, (0, 4)),
    "GR": _layout(27, (0, 3), (3, 7)),
    "HR": _layout(21, (0, 7)),
    "HU": _layout(28, (0, 3), (3, 7)),
    "IE": _layout(22, (0, 4), (4, 10)),
    "IS": _layout(26, (0, 4)),
    "IT": _layout(27, (1, 6), (6, 11)),
    "LI": _layout(21, (0, 5)),
    "LT": _layout(20, (0, 5)),
    "LU": _layout(20, (0, 3)),
    "LV": _layout(21, (0, 4)),
    "MC": _layout(27, (0, 5), (5, 10)),
    "MT": _layout(31, (0, 4), (4, 9)),
    "NL": _layout(18, (0, 4)),
    "NO": _layout(15, (0, 4)),
    "PL": _layout(28, (0, 8)),
    "PT": _layout(25, (0, 4), (4, 8)),
    "RO": _layout(24, (0, 4)),
    "SE": _layout(24, (0, 3)),
    "SI": _layout(19, (0, 2), (2, 5)),
    "SK": _layout(24, (0, 4)),
    "SM": _layout(27, (1, 6), (6, 11)),
    "VA": _layout(22, (0, 3)),
}

# Stripe's code for an IBAN it cannot take, with the messages its own IBAN fields show.
INVALID_IBAN = "invalid_bank_account_iban"
_INVALID_MESSAGE = "The IBAN you entered is invalid."


@dataclass(frozen=True, slots=True)
class IbanParts:
    """What Stripe keeps of an IBAN, and the normalized number to fingerprint."""

    number: str
    country: str
    bank_code: str
    branch_code: str
    last4: str


def normalized(raw: str) -> str:
    """The IBAN without the spaces people write it with, in capitals."""
    return "".join(raw.split()).upper()


def parse_iban(raw: str, param: str) -> IbanParts:
    """The parts of a valid IBAN; refuses, with Stripe's code, one that is not."""
    number = normalized(raw)
    country = number[:2]
    if not (number.isascii() and number.isalnum() and country.isalpha()):
        raise _invalid(_INVALID_MESSAGE, param)
    layout = SEPA_COUNTRIES.get(country)
    if layout is None:
        raise _invalid(
            f'The IBAN you entered is invalid, "{country}" is not a supported country code.',
            param,
        )
    if len(number) != layout.length or not checksum_valid(number):
        raise _invalid(_INVALID_MESSAGE, param)
    return parts_of(number)


def parts_of(number: str) -> IbanParts:
    """The parts of a normalized IBAN from a SEPA country, valid or not (Stripe's test ones
    are valid, but their table is taken as it is)."""
    layout = SEPA_COUNTRIES.get(number[:2])
    bban = number[4:]
    bank = bban[layout.bank] if layout else ""
    branch = bban[layout.branch] if layout and layout.branch else ""
    return IbanParts(number, number[:2], bank, branch, number[-4:])


def checksum_valid(number: str) -> bool:
    """ISO 13616: the country and check digits moved to the end, letters as 10-35, mod 97."""
    moved = number[4:] + number[:4]
    digits = "".join(str(int(char, 36)) for char in moved)
    return int(digits) % 97 == 1


def _invalid(message: str, param: str) -> InvalidRequestError:
    return InvalidRequestError(message, code=INVALID_IBAN, param=param)
