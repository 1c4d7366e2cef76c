"""OpenAPI generation (drf-spectacular) fitted to how our views are written."""

from __future__ import annotations

from drf_spectacular import openapi
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.utils import OpenApiResponse


class AutoSchema(openapi.AutoSchema):
    """Names a view's nested serializer after the view: ``HealthApi.OutputSerializer`` becomes the
    component ``HealthOutput``. Every view in our style has its own ``InputSerializer`` /
    ``OutputSerializer``; by class name alone they would all collide into one component.

    Two more things the views need not repeat, so the schema lists every answer actually sent:

    * A view with ``public_endpoint = True`` answers everyone alike: its operation has no
      ``security`` requirement, so Swagger UI shows no padlock (it draws one for the optional
      ``[{jwtAuth: []}, {}]`` too). A token sent there is still checked: a bad one is a 401.
    * Every operation may answer 401 (a bad token, wherever tokens are read) and 503 (no model,
      or ``database_unavailable``); both are added with the error shape where a view did not
      declare them.
    """

    def get_serializer_name(self, serializer, direction) -> str:
        owner, _, name = type(serializer).__qualname__.rpartition(".")
        return owner.removesuffix("Api") + name if owner else name

    def get_auth(self):
        auths = super().get_auth()
        return [] if getattr(self.view, "public_endpoint", False) else auths

    def _get_response_bodies(self, direction="response"):
        # Not get_response_serializers: @extend_schema(responses=...) replaces that method.
        from .serializers import ErrorSerializer

        responses = super()._get_response_bodies(direction)
        added = {}
        if self.view.get_authenticators():
            added["401"] = "A bearer token was sent but is invalid or expired."
        added["503"] = "The database is unavailable (code database_unavailable, with Retry-After)."
        for code, description in added.items():
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    OpenApiResponse(ErrorSerializer, description=description), code, direction=direction
                )
        return responses


class BearerAuthenticationScheme(SimpleJWTScheme):
    """Documents ``core.authentication.BearerAuthentication`` as the bearer JWT scheme it is."""

    target_class = "core.authentication.BearerAuthentication"
