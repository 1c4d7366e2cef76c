"""Signup, login and the onboarding-seeds read: thin views over accounts.services/selectors."""

from __future__ import annotations

from django.contrib.auth.validators import UnicodeUsernameValidator
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from core.parsers import FormParser, JSONParser
from core.serializers import ErrorSerializer, RequestSerializer, StrictCharField
from core.throttling import ScopedSettingsRateThrottle

from .selectors import user_seeds_get
from .services import access_token_issue, user_authenticate, user_create


class TokenSerializer(serializers.Serializer):
    access_token = serializers.CharField()
    token_type = serializers.CharField(default="bearer")


class CredentialsSerializer(RequestSerializer):
    username = StrictCharField(min_length=3, max_length=50, validators=[UnicodeUsernameValidator()])
    password = StrictCharField(min_length=4, max_length=128, trim_whitespace=False)


class SignupApi(APIView):
    authentication_classes = []  # who is asking does not matter; a stale token must not block it
    throttle_classes = [ScopedSettingsRateThrottle]
    throttle_scope = "auth"

    @extend_schema(
        request=CredentialsSerializer,
        responses={201: TokenSerializer, 400: ErrorSerializer, 429: ErrorSerializer},
        summary="Create an account and get a bearer token",
        description="Username 3-50 characters (letters, digits and @.+-_), unique ignoring case. "
        "Password 4-128 characters and must also pass the server's password validators "
        "(at least 8 characters, not too common, not all digits, not like the username); "
        "the error says which rule failed.",
    )
    def post(self, request):
        data = CredentialsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = user_create(**data.validated_data)
        return Response(access_token_issue(user=user), status=status.HTTP_201_CREATED)


class LoginApi(APIView):
    parser_classes = [FormParser, JSONParser]
    authentication_classes = []  # as for signup: a client's expired token must not block a new login
    throttle_classes = [ScopedSettingsRateThrottle]
    throttle_scope = "auth"

    class InputSerializer(RequestSerializer):
        username = StrictCharField(max_length=150)
        password = StrictCharField(max_length=128, trim_whitespace=False)

    @extend_schema(
        request={
            "application/x-www-form-urlencoded": InputSerializer,
            "application/json": InputSerializer,
        },
        responses={200: TokenSerializer, 400: ErrorSerializer, 429: ErrorSerializer},
        summary="Log in (OAuth2 password form, or JSON)",
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = user_authenticate(**data.validated_data)
        return Response(access_token_issue(user=user))


class MySeedsApi(APIView):
    permission_classes = [IsAuthenticated]

    class OutputSerializer(serializers.Serializer):
        seeds = serializers.ListField(child=serializers.CharField(), allow_null=True)

    @extend_schema(responses={200: OutputSerializer, 401: ErrorSerializer}, summary="The user's onboarding seeds")
    def get(self, request):
        return Response({"seeds": user_seeds_get(user=request.user)})
