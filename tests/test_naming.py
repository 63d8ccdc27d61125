"""ASP.NET's camelCase policy, as domain-facts.md describes it, gives the manual's wire names."""

from __future__ import annotations

import pytest

from codegen.naming import aspnet_camel_case, snake_case


@pytest.mark.parametrize(
    ("prop", "wire"),
    [
        ("HOSP_ID", "hosP_ID"),
        ("SMOKE_YEAR", "smokE_YEAR"),
        ("MEMO2", "memO2"),
        ("MEMO", "memo"),
        ("MSG_CODE", "msG_CODE"),
        ("REF_DEPT", "reF_DEPT"),
        ("TOKENID", "tokenid"),
        ("HEIGHT", "height"),
        ("CO_CHECK", "cO_CHECK"),
        ("ID", "id"),
        ("ACCOUNT", "account"),
        ("Co_CHECK", "co_CHECK"),
        ("Msg_CODE", "msg_CODE"),
        ("isBooking", "isBooking"),
        ("", ""),
    ],
)
def test_camel_case_matches_the_manual(prop: str, wire: str) -> None:
    assert aspnet_camel_case(prop) == wire


def test_snake_case() -> None:
    assert snake_case("HOSP_ID") == "hosp_id"
    assert snake_case("isBooking") == "is_booking"


def test_every_body_field_in_the_manuals_examples_has_its_derived_name(spec) -> None:  # type: ignore[no-untyped-def]
    # The Save example (corrected) uses exactly the wire names the policy derives.
    save = spec.operation("Save")
    assert set(save.examples[0].request) == {f.wire for f in save.fields}
