"""Bearer-token authentication: simplejwt's, with the edges a client can reach made explicit.

How it differs from simplejwt's own class, so that a bearer token either identifies a user or is
a clear 401 (never silently anonymous, never a 500):

* The scheme is matched without regard to case (RFC 7235); our login answers ``token_type:
  "bearer"`` and clients echo it back. simplejwt matches it exactly and treats ``bearer <token>``
  as no credentials at all, so the endpoints where signing in is optional answered as if for an
  anonymous user, ignoring that user's likes and seeds.
* A correctly signed token with malformed claims (a user id that is not a number, an ``exp``
  beyond what a datetime holds) is an invalid token, not an exception from the database or from
  datetime arithmetic.

Other schemes (``Basic``, ...) are not ours and are ignored, as simplejwt does: a reverse proxy
that uses HTTP Basic auth forwards that header, and it must not lock everyone out.
"""

from __future__ import annotations

import re

from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import AUTH_HEADER_TYPE_BYTES, JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.settings import api_settings

_SCHEMES = {scheme.lower() for scheme in AUTH_HEADER_TYPE_BYTES}
_USER_ID = re.compile(r"[1-9][0-9]{0,17}")  # a primary key as simplejwt writes it (a decimal string)


class BearerAuthentication(JWTAuthentication):
    def get_raw_token(self, header: bytes) -> bytes | None:
        parts = header.split()
        if not parts or parts[0].lower() not in _SCHEMES:
            return None
        if len(parts) != 2:
            raise AuthenticationFailed(
                "The Authorization header must be 'Bearer <access token>'.", code="bad_authorization_header"
            )
        return parts[1]

    def get_validated_token(self, raw_token: bytes):
        try:
            return super().get_validated_token(raw_token)
        except (OverflowError, OSError, ValueError, TypeError):
            # PyJWT and simplejwt turn numbers in the time claims into ints and datetimes unguarded
            # (datetime.fromtimestamp raises OSError for some out-of-range values, OverflowError
            # for others).
            raise InvalidToken("Token has a malformed time claim.") from None

    def get_user(self, validated_token):
        user_id = validated_token.get(api_settings.USER_ID_CLAIM)
        if isinstance(user_id, bool) or not (
            (isinstance(user_id, int) and 0 < user_id < 2**63)
            or (isinstance(user_id, str) and _USER_ID.fullmatch(user_id))
        ):
            raise InvalidToken("Token contained no recognizable user identification")
        return super().get_user(validated_token)
