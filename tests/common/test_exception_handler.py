from rest_framework import exceptions

from common.api.exception_handler import exception_handler, flatten_errors
from common.errors import Conflict, InvalidInput


def test_flatten_errors_gives_dotted_paths_for_nested_input() -> None:
    data = {
        "email": ["Enter a valid e-mail address."],
        "degrees": [{}, {"field": ["This field is required."]}],
        "languages": {"non_field_errors": ["Listed twice."]},
    }
    assert flatten_errors(data) == {
        "email": ["Enter a valid e-mail address."],
        "degrees.1.field": ["This field is required."],
        "languages": ["Listed twice."],
    }


def test_validation_error_answers_in_the_one_shape() -> None:
    response = exception_handler(exceptions.ValidationError({"email": ["Bad."]}), {})
    assert response is not None
    assert response.status_code == 400
    assert response.data == {
        "detail": "Invalid input: email",
        "code": "invalid",
        "fields": {"email": ["Bad."]},
    }


def test_domain_error_keeps_its_status_code_and_fields() -> None:
    response = exception_handler(
        InvalidInput("No.", fields={"reason": ["Required."]}, code="x"), {}
    )
    assert response is not None
    assert (response.status_code, response.data) == (
        400,
        {"detail": "No.", "code": "x", "fields": {"reason": ["Required."]}},
    )
    conflict = exception_handler(Conflict("Busy."), {})
    assert conflict is not None
    assert (conflict.status_code, conflict.data["code"]) == (409, "conflict")


def test_other_api_errors_carry_drf_code() -> None:
    response = exception_handler(exceptions.NotAuthenticated(), {})
    assert response is not None
    assert response.status_code == 401
    assert response.data == {
        "detail": "Authentication credentials were not provided.",
        "code": "not_authenticated",
        "fields": {},
    }


def test_unexpected_errors_are_left_to_django() -> None:
    assert exception_handler(RuntimeError("boom"), {}) is None
