"""OpenAPI generation (drf-spectacular) fitted to how our views are written."""

from __future__ import annotations

from drf_spectacular import openapi
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme


class AutoSchema(openapi.AutoSchema):
    """Names a view's nested serializer after the view: ``HealthApi.OutputSerializer`` becomes the
    component ``HealthOutput``. Every view in our style has its own ``InputSerializer`` /
    ``OutputSerializer``; by class name alone they would all collide into one component."""

    def get_serializer_name(self, serializer, direction) -> str:
        owner, _, name = type(serializer).__qualname__.rpartition(".")
        return owner.removesuffix("Api") + name if owner else name


class BearerAuthenticationScheme(SimpleJWTScheme):
    """Documents ``core.authentication.BearerAuthentication`` as the bearer JWT scheme it is."""

    target_class = "core.authentication.BearerAuthentication"
