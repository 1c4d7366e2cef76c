"""Every API answer is JSON; a client that accepts only something else gets DRF's 406, as JSON.
The fast negotiation path decides exactly as DRF's own rules would."""

from __future__ import annotations

import itertools

import pytest
from django.http import Http404
from drf_spectacular.renderers import OpenApiJsonRenderer, OpenApiYamlRenderer
from rest_framework import exceptions
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer, TemplateHTMLRenderer
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.test import APIRequestFactory

from core.negotiation import FirstRendererWhenAnyWill

SEARCH = "/catalog/search"  # q missing: a 400 that needs no model

ACCEPTS = [
    None,
    "",
    "*/*",
    " */*",
    "*/*;q=0.1",
    "application/json",
    "application/json; indent=4",
    "application/json;q=0.9, text/html",
    "application/*",
    "text/html",
    "application/yaml",
    "application/vnd.oai.openapi",
]
RENDERER_SETS = [
    [JSONRenderer],  # every API view
    [OpenApiYamlRenderer, OpenApiJsonRenderer],  # the schema view
    [JSONRenderer, BrowsableAPIRenderer],
    [TemplateHTMLRenderer, JSONRenderer],
]
FORMATS = [None, "json", "yaml", "openapi", "xml"]


def _decision(negotiation, renderer_classes, method: str, accept, format_param, format_suffix):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    query = {} if format_param is None else {"format": format_param}
    request = Request(getattr(APIRequestFactory(), method)("/x", query, **headers))
    try:
        renderer, media_type = negotiation.select_renderer(request, [cls() for cls in renderer_classes], format_suffix)
    except (exceptions.NotAcceptable, Http404) as refusal:
        return type(refusal).__name__
    return type(renderer).__name__, media_type


@pytest.mark.parametrize("renderer_classes", RENDERER_SETS, ids=lambda classes: "+".join(c.__name__ for c in classes))
def test_the_fast_path_decides_as_drf_does(renderer_classes):
    for method, accept, format_param, format_suffix in itertools.product(
        ("get", "head", "options"), ACCEPTS, FORMATS, (None, "json")
    ):
        case = (method, accept, format_param, format_suffix)
        ours = _decision(FirstRendererWhenAnyWill(), renderer_classes, *case)
        drf = _decision(DefaultContentNegotiation(), renderer_classes, *case)
        assert ours == drf, case


def test_the_api_negotiates_with_the_fast_path():
    assert api_settings.DEFAULT_CONTENT_NEGOTIATION_CLASS is FirstRendererWhenAnyWill


@pytest.mark.django_db
@pytest.mark.parametrize("accept", [None, "*/*", "application/json", "text/html, application/json;q=0.9"])
def test_json_is_served_to_a_client_that_accepts_it(api, accept):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    response = api.get(SEARCH, **headers)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "invalid"


@pytest.mark.django_db
@pytest.mark.parametrize("accept", ["text/html", ""])
def test_a_client_that_accepts_nothing_we_render_gets_a_json_406(api, accept):
    response = api.get(SEARCH, HTTP_ACCEPT=accept)
    assert response.status_code == 406
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "not_acceptable"


@pytest.mark.django_db
def test_the_format_parameter_still_chooses_the_renderer(api):
    assert api.get(SEARCH, {"format": "json"}).status_code == 400  # the JSON renderer: on to validation
    unknown = api.get(SEARCH, {"format": "xml"})
    assert unknown.status_code == 404  # no renderer has that format (DRF's rule)
    assert unknown["Content-Type"] == "application/json"
