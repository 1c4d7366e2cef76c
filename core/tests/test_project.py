"""Project-wide behaviour: JSON errors everywhere, the OpenAPI schema, the admin."""

from __future__ import annotations

import pytest
import yaml
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_unknown_paths_answer_json_404(api):
    response = api.get("/no/such/thing")
    assert response.status_code == 404
    assert response.json() == {"detail": "No such endpoint.", "code": "not_found"}


def test_every_named_route_resolves_to_itself():
    """No pattern shadows another: the API's patterns are tried before the pages' (for speed), so
    a page path that equalled an API path would silently become unreachable."""
    from django.urls import get_resolver, resolve, reverse

    routes = get_resolver().reverse_dict.items()
    names = [name for name, forms in routes if isinstance(name, str) and not forms[0][0][1]]  # no URL arguments
    assert {"health", "recommendations-cold-start", "home", "login", "auth-login"} <= set(names)
    for name in names:
        assert resolve(reverse(name)).url_name == name, name


def test_wrong_method_is_a_json_405(api):
    response = api.delete("/catalog/search")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


def test_trailing_slash_paths_are_not_served(api):
    assert api.get("/health/").status_code == 404


def test_schema_is_valid_openapi_and_documents_every_endpoint(api):
    from drf_spectacular.validation import validate_schema

    response = api.get("/api/schema")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    validate_schema(schema)  # raises on anything that is not valid OpenAPI 3
    paths = set(schema["paths"])
    assert {
        "/health",
        "/auth/signup",
        "/auth/login",
        "/me/seeds",
        "/likes",
        "/likes/toggle",
        "/catalog/search",
        "/search",
        "/cover",
    } <= paths


def test_schema_generates_without_warnings(tmp_path):
    """drf-spectacular only warns about, e.g., two views' serializers sharing one component name,
    which documents one endpoint with another's shapes; here any warning fails."""
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))


def test_each_endpoint_documents_its_own_response_shape(api):
    schema = yaml.safe_load(api.get("/api/schema").content)
    components = schema["components"]["schemas"]

    def response_fields(path: str, method: str) -> set[str]:
        ref = schema["paths"][path][method]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        return set(components[ref.rsplit("/", 1)[1]]["properties"])

    assert response_fields("/health", "get") >= {"status", "songs_indexed", "model_version"}
    assert response_fields("/cover", "get") == {"cover_url"}
    assert response_fields("/likes", "get") == {"likes"}
    assert response_fields("/likes/toggle", "post") == {"liked"}
    assert response_fields("/me/seeds", "get") == {"seeds"}


def test_swagger_ui_is_served_without_a_cdn(api):
    response = api.get("/api/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "cdn.jsdelivr" not in html
    assert "unpkg.com" not in html
    assert "swagger-ui" in html


def test_swagger_ui_answers_other_methods_with_405_not_a_server_error(api):
    for method in ("options", "post", "put", "delete"):
        assert getattr(api, method)("/api/docs").status_code == 405, method


def test_admin_pages_load_for_staff(client, django_user_model, publish_songs, make_user):
    publish_songs([("Artist A", "One", 1)])
    fan = make_user()
    from likes.services import like_toggle

    like_toggle(user=fan, song_id="Artist A - One")
    staff = django_user_model.objects.create_superuser("admin", password="admin-pass-123")
    client.force_login(staff)
    for path in (
        "/admin/",
        "/admin/accounts/user/",
        f"/admin/accounts/user/{fan.pk}/change/",
        "/admin/likes/like/",
        f"/admin/likes/like/?user__id__exact={fan.pk}",
        "/admin/likes/like/?q=Artist",
        "/admin/catalog/song/",
        "/admin/catalog/song/?q=one",
        "/admin/autocomplete/?app_label=likes&model_name=like&field_name=song&term=one",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
    assert "Artist A - One" in client.get(f"/admin/likes/like/?user__id__exact={fan.pk}").content.decode()
