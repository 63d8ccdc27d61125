"""The generated request models and code lists, value conversion, settings and environment
variables, and what reprs show; checked against the spec's model, not a retyped table."""

from __future__ import annotations

import dataclasses
import ssl
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

import certifi
import httpx
import pytest

import scforhis
from codegen.model import Field
from codegen.naming import pascal_case
from scforhis.client import wire
from tests.client_support import (
    ACCOUNT,
    BASE_URL,
    PASSWORD,
    PATIENT_ID,
    TOKEN,
    Service,
    manual_record,
    settings,
)
from tests.conftest import spec_model

SPEC = spec_model()


# -- code lists -----------------------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(SPEC.enums))
def test_every_enum_is_a_str_enum_with_both_labels(key: str) -> None:
    enum = SPEC.enums[key]
    cls = getattr(scforhis, pascal_case(key))
    assert issubclass(cls, StrEnum) and cls.__name__ in scforhis.__all__
    for member, value in zip(cls, enum.values, strict=True):
        assert member == value.code and str(member) == value.code
        assert (member.label, member.label_en) == (value.label, value.label_en)


def test_enum_members_read_well() -> None:
    assert scforhis.SmokeFirst.WITHIN_5_MINUTES.label == "5 分鐘以內"
    assert scforhis.CureType("2") is scforhis.CureType.EDUCATION
    assert scforhis.CureType.EDUCATION.label_en == "cessation education"


# -- models ---------------------------------------------------------------------------------

MODELS = {
    "GetSCDataB": scforhis.GetSCDataBRequest,
    "Save": scforhis.SaveRequest,
    "Update": scforhis.UpdateRequest,
    "Delete": scforhis.DeleteRequest,
}


def test_twin_models_share_fields_but_stay_distinct() -> None:
    # Update has Save's fields; its model shares them through a private base, yet an
    # UpdateRequest is no SaveRequest, and each writes and shows itself as its own operation.
    assert not issubclass(scforhis.UpdateRequest, scforhis.SaveRequest)
    assert scforhis.operations.UPDATE.fields is scforhis.operations.SAVE.fields
    saved = _visit(scforhis.SaveRequest)
    updated = _visit(scforhis.UpdateRequest)
    assert updated.to_wire() == saved.to_wire()
    assert repr(updated) == repr(saved).replace("SaveRequest(", "UpdateRequest(", 1)
    assert "A12****789" in repr(updated) and PASSWORD not in repr(updated)


@pytest.mark.parametrize("operation", sorted(MODELS))
def test_models_have_the_spec_fields_except_the_token(operation: str) -> None:
    fields = {f.name: f for f in dataclasses.fields(MODELS[operation])}
    expected = [f.python_name for f in SPEC.operation(operation).fields if f.python_name != "token"]
    assert list(fields) == expected
    settings_names = {f.name for f in dataclasses.fields(scforhis.Settings)}
    for field in SPEC.operation(operation).fields:
        if field.python_name == "token":
            continue
        has_default = fields[field.python_name].default is None
        assert has_default == (not field.always_required or field.python_name in settings_names)


def _sample(field: Field) -> tuple[Any, str]:
    """A Python value for a field and the text it must become, by the field's format."""
    fmt = field.format
    if field.enum is not None:
        return scforhis.CureType.EDUCATION, "2"
    assert fmt is not None
    if fmt.kind == "date":
        return date(2022, 10, 3), "2022/10/03" if fmt.calendar == "gregorian" else "111/10/03"
    if fmt.kind == "integer":
        return (date(2022, 10, 3), "111") if fmt.calendar == "roc" else (7, "7")
    if fmt.kind == "decimal":
        return 170.50, "170.5"
    if fmt.kind == "list":
        item = SPEC.formats[fmt.item or ""]
        return ([1.5, 20], "1.5,20") if item.kind == "decimal" else (["B1", "B2"], "B1,B2")
    if fmt.key == "boolean":
        return False, "false"
    return "x", "x"


@pytest.mark.parametrize("operation", ["GetSCDataB", "Save", "Delete"])
def test_every_field_converts_by_its_format(operation: str) -> None:
    op = SPEC.operation(operation)
    spec_op = scforhis.operations.OPERATIONS[operation]
    for field in op.fields:
        value, text = _sample(field)
        assert spec_op.field(field.wire).convert(value) == text, field.key


@pytest.mark.parametrize(
    ("converter", "value", "expected"),
    [
        (wire.gregorian_date, datetime(2022, 10, 3, 9, 30), "2022/10/03"),
        (wire.roc_date, date(1961, 1, 1), "50/01/01"),
        (wire.roc_date, date(2020, 8, 10), "109/08/10"),
        (wire.roc_year, 111, "111"),
        (wire.integer, True, True),
        (wire.integer, "07", "07"),
        (wire.decimal, 50.0, "50"),
        (wire.decimal, Decimal("65.50"), "65.5"),
        (wire.decimal, 1e-7, "0.0000001"),
        (wire.decimal, float("nan"), "nan"),
        (wire.boolean, True, "true"),
        (wire.boolean, "TRUE", "TRUE"),
        (wire.code_list, ("B022538129",), "B022538129"),
        (wire.code_list, [1, 2], [1, 2]),
        (wire.text, scforhis.CaseKind.PREGNANT, "2"),
        (wire.text, 5, 5),
    ],
)
def test_converters(converter: Any, value: Any, expected: Any) -> None:
    result = converter(value)
    if isinstance(expected, str) and expected == "nan":
        assert result != result  # NaN passes through, for the validator to refuse
    else:
        assert result == expected and type(result) is type(expected)


def _visit(model: Any) -> Any:
    """The manual's Save example as `model`."""
    return model(
        account=ACCOUNT,
        password=PASSWORD,
        id=PATIENT_ID,
        birthday=date(1961, 1, 1),
        func_date=date(2022, 10, 3),
        prsn_id="A198765435",
        cure_stage=2,
        examyear=111,
        smoke_day_num=11,
        cure_week=1,
        week_tot=2,
        case_source="1",
        cure_type="1",
        case_kind="0",
        ref_dept="0",
    )


def test_model_repr_masks_ids_and_hides_secrets() -> None:
    shown = repr(_visit(scforhis.SaveRequest))
    assert ACCOUNT not in shown and PASSWORD not in shown
    assert PATIENT_ID not in shown and "A198765435" not in shown
    assert "id='A12****789'" in shown and "prsn_id='A19****435'" in shown
    assert "account=******" in shown and "memo" not in shown


# -- settings -------------------------------------------------------------------------------

ENVIRONMENT = {
    "SCFORHIS_QUERY_URL": "https://query.test/api",
    "SCFORHIS_UPLOAD_URL": "https://upload.test/api",
    "SCFORHIS_ACCOUNT": ACCOUNT,
    "SCFORHIS_PASSWORD": PASSWORD,
    "SCFORHIS_HOSP_ID": "3501200000",
    "SCFORHIS_HOSP_SEQ_NO": "01",
    "SCFORHIS_TIMEOUT": "12.5",
    "SCFORHIS_VERIFY": "true",
    "SCFORHIS_TOKEN_MAX_AGE": "300",
    "SCFORHIS_RETRIES": "4",
    "SCFORHIS_RETRY_BACKOFF": "0.25",
}


def test_every_setting_comes_from_its_environment_variable() -> None:
    client = scforhis.Client(env=ENVIRONMENT)
    s = client.settings
    assert (s.query_url, s.upload_url) == ("https://query.test/api", "https://upload.test/api")
    assert (s.account, s.password, s.hosp_id, s.hosp_seq_no) == (
        ACCOUNT,
        PASSWORD,
        "3501200000",
        "01",
    )
    assert (s.timeout, s.verify, s.token_max_age) == (12.5, True, 300.0)
    assert s.retry == scforhis.RetryPolicy(retries=4, backoff=0.25)
    client.close()


def test_the_service_url_variables_are_the_specs() -> None:
    expected = {s.key: s.env for s in SPEC.services}
    assert expected == scforhis.operations.SERVICE_ENV


def test_arguments_win_over_the_environment() -> None:
    client = scforhis.Client(env=ENVIRONMENT, hosp_seq_no="02", timeout=3)
    assert (client.settings.hosp_seq_no, client.settings.timeout) == ("02", 3)


@pytest.mark.parametrize(
    "env",
    [
        {"SCFORHIS_BASE_URL": "https://both.test/api"},
        {"SCFORHIS_QUERY_URL": "https://both.test/api"},
        {"SCFORHIS_UPLOAD_URL": "https://both.test/api"},
    ],
)
def test_one_url_serves_both_services(env: dict[str, str]) -> None:
    s = scforhis.Client(env=env).settings
    assert s.url("query", "GetTokenID") == "https://both.test/api/GetTokenID"
    assert s.url("upload", "Save") == "https://both.test/api/Save"


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"SCFORHIS_BASE_URL": "https://x.test", "SCFORHIS_TIMEOUT": "soon"},
        {"SCFORHIS_BASE_URL": "https://x.test", "SCFORHIS_VERIFY": "maybe"},
        {"SCFORHIS_BASE_URL": "https://x.test", "SCFORHIS_TIMEOUT": "0"},
    ],
)
def test_bad_settings_raise_configuration_error(env: dict[str, str]) -> None:
    with pytest.raises(scforhis.ConfigurationError):
        scforhis.Client(env=env)


def test_tls_verification_is_on_by_default_and_takes_a_ca_bundle() -> None:
    assert scforhis.Client(base_url=BASE_URL, env={}).settings.ssl_verify() is True
    bundle = {"SCFORHIS_BASE_URL": BASE_URL, "SCFORHIS_CA_BUNDLE": certifi.where()}
    context = scforhis.Client(env=bundle).settings.ssl_verify()
    assert isinstance(context, ssl.SSLContext) and context.verify_mode == ssl.CERT_REQUIRED
    off = scforhis.Client(env={"SCFORHIS_BASE_URL": BASE_URL, "SCFORHIS_VERIFY": "false"})
    assert off.settings.ssl_verify() is False
    with pytest.raises(scforhis.ConfigurationError):
        scforhis.Client(base_url=BASE_URL, verify="/no/such/bundle.pem", env={})


@pytest.mark.parametrize(
    "url",
    [
        "http://hpa.example.gov.tw/api",
        "http://10.0.0.5/api",
        "ftp://hpa.test/api",
        "https://user:pw@hpa.test/api",
        "hpa.test/api",
    ],
)
def test_unsafe_urls_are_refused(url: str) -> None:
    with pytest.raises(scforhis.ConfigurationError) as caught:
        scforhis.Client(base_url=url, env={})
    assert "pw@" not in str(caught.value)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8000/api", "http://localhost:5000", "http://[::1]:8080/api"]
)
def test_plain_http_is_allowed_to_loopback(url: str) -> None:
    assert scforhis.Client(base_url=url, env={}).settings.query_url == url


def test_settings_and_keywords_do_not_mix() -> None:
    s = scforhis.Client(base_url=BASE_URL, env={}).settings
    assert scforhis.Client(s).settings is s
    with pytest.raises(scforhis.ConfigurationError):
        scforhis.Client(s, account="x")


def test_transport_and_http_client_do_not_mix() -> None:
    with pytest.raises(scforhis.ConfigurationError):
        scforhis.Client(
            transport=httpx.MockTransport(Service()), http_client=httpx.Client(), **settings()
        )


def test_an_injected_http_client_is_used_and_left_open() -> None:
    service = Service(Save=httpx.Response(200, json={"msG_CODE": "Y", "msG_INFO": "儲存成功"}))
    http = httpx.Client(transport=httpx.MockTransport(service))
    with scforhis.Client(http_client=http, **settings()) as client:
        assert client.save(manual_record()).ok
    assert not http.is_closed
    http.close()


def test_reprs_never_show_credentials_or_tokens() -> None:
    service = Service()
    with scforhis.Client(transport=httpx.MockTransport(service), **settings()) as client:
        token = client.get_token_id()
        shown = " ".join([repr(client), repr(client.settings), repr(token), str(token)])
    for secret in (ACCOUNT, PASSWORD, TOKEN):
        assert secret not in shown
    assert "password=******" in repr(client.settings)
