"""Bearer-token authentication: simplejwt's, with the edges a client can reach made explicit.

Three ways it is stricter than simplejwt's own class, all so that a request is either a user or
a clear 401, never silently anonymous and never a 500:

* The scheme is matched without regard to case (RFC 7235); our login answers ``token_type:
  "bearer"`` and clients echo it back.
* An ``Authorization`` header with any other scheme is a 401. simplejwt would treat it as no
  header at all, and the endpoints where signing in is optional would then answer as if for an
  anonymous user, ignoring that user's likes and seeds.
* A correctly signed token with malformed claims (a user id that is not a number, an ``exp``
  beyond what a datetime holds) is an invalid token, not an exception from the database or from
  datetime arithmetic.
"""

from __future__ import annotations

import re

from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.settings import api_settings

_USER_ID = re.compile(r"[1-9][0-9]{0,17}")  # a primary key as simplejwt writes it (a decimal string)


class BearerAuthentication(JWTAuthentication):
    def get_raw_token(self, header: bytes) -> bytes | None:
        parts = header.split()
        if not parts:
            return None
        if parts[0].lower() != b"bearer" or len(parts) != 2:
            raise AuthenticationFailed(
                "The Authorization header must be 'Bearer <access token>'.", code="bad_authorization_header"
            )
        return parts[1]

    def get_validated_token(self, raw_token: bytes):
        try:
            return super().get_validated_token(raw_token)
        except (OverflowError, ValueError, TypeError):
            # PyJWT and simplejwt turn numbers in the claims into ints and datetimes unguarded.
            raise InvalidToken("Token has a malformed time claim.") from None

    def get_user(self, validated_token):
        user_id = validated_token.get(api_settings.USER_ID_CLAIM)
        if isinstance(user_id, bool) or not (
            (isinstance(user_id, int) and 0 < user_id < 2**63)
            or (isinstance(user_id, str) and _USER_ID.fullmatch(user_id))
        ):
            raise InvalidToken("Token contained no recognizable user identification")
        return super().get_user(validated_token)
