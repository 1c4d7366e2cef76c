"""Every API answer is JSON; a client that accepts only something else gets DRF's 406, as JSON."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

SEARCH = "/catalog/search"  # q missing: a 400 that needs no model


@pytest.mark.parametrize("accept", [None, "*/*", "application/json", "text/html, application/json;q=0.9"])
def test_json_is_served_to_a_client_that_accepts_it(api, accept):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    response = api.get(SEARCH, **headers)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "invalid"


def test_a_client_that_accepts_only_html_gets_a_json_406(api):
    response = api.get(SEARCH, HTTP_ACCEPT="text/html")
    assert response.status_code == 406
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "not_acceptable"


def test_the_format_parameter_still_chooses_the_renderer(api):
    assert api.get(SEARCH, {"format": "json"}).status_code == 400  # the JSON renderer: on to validation
    unknown = api.get(SEARCH, {"format": "xml"})
    assert unknown.status_code == 404  # no renderer has that format (DRF's rule)
    assert unknown["Content-Type"] == "application/json"
