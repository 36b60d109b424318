"""Check characters of Chinese institution codes.

GB 32100-2015 (unified social credit code, 统一社会信用代码): 18 characters from a 31-character
alphabet (digits and capital letters without I, O, S, V, Z); the 18th is a check character over
the first 17 with weights 3^i mod 31.
GB 11714-1997 (organization code, 组织机构代码): characters 9–17 of the unified code; used here
only to generate demo codes that are valid under both standards.
"""

import re
import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def uscc_check_char(first17: str) -> str:
    """The GB 32100 check character for the first 17 characters of a code."""
    total = sum(USCC_ALPHABET.index(ch) * w for ch, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def org_code_check_char(first8: str) -> str:
    """The GB 11714 check character for the first 8 characters of an organization code."""
    total = sum(int(ch, 36) * w for ch, w in zip(first8, ORG_CODE_WEIGHTS, strict=True))
    value = 11 - total % 11
    return {10: "X", 11: "0"}.get(value, str(value))


def make_uscc(registry: str, region_code: str, org_body8: str) -> str:
    """Build a code valid under GB 32100 and GB 11714 (for demo data and tests)."""
    org_code = org_body8 + org_code_check_char(org_body8)
    first17 = registry + region_code + org_code
    return first17 + uscc_check_char(first17)


def validate_uscc(value: str) -> None:
    """Raise ValidationError unless value is a well-formed unified social credit code."""
    if len(value) != 18:
        raise ValidationError(
            _("A unified social credit code has 18 characters, this one has %(n)d."),
            code="length",
            params={"n": len(value)},
        )
    bad = sorted({ch for ch in value if ch not in USCC_ALPHABET})
    if bad:
        raise ValidationError(
            _("A unified social credit code may not contain %(chars)s."),
            code="charset",
            params={"chars": "".join(bad)},
        )
    expected = uscc_check_char(value[:17])
    if value[17] != expected:
        raise ValidationError(
            _("The check character of this unified social credit code is wrong (GB 32100): expected %(expected)s."),
            code="check_char",
            params={"expected": expected},
        )


# Standard codes of data items (数据元标识符): one data element has one code, so the spellings
# a keyboard or a spreadsheet can produce of it are one: full-width forms folded (NFKC),
# invisible format characters and spaces removed, letters in capitals.
STANDARD_CODE = re.compile(r"[A-Z0-9](?:[A-Z0-9._/:-]{0,62}[A-Z0-9])?")
_INVISIBLE = re.compile(r"[\s\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]+")


def standard_code(value) -> str:
    """The canonical spelling of a data item's standard code ('' for nothing)."""
    text = unicodedata.normalize("NFKC", str(value if value is not None else ""))
    return _INVISIBLE.sub("", text).upper()
