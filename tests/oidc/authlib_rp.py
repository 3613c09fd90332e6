"""A relying party from another ecosystem: Python's Authlib against dealergate's OpenID provider.

Run by tests/api/oidc/authlib.rs with the virtualenv that tests/run.sh makes (tests/oidc/.venv,
authlib and requests). Arguments: ISSUER CLIENT_ID CLIENT_SECRET REDIRECT_URI.

1. Discovery at the issuer alone; prints {"authorize_url": ...} (PKCE S256, state, nonce) on
   one line of stdout.
2. Reads the redirect the browser was sent to (the callback URL with code, state and iss) from
   one line of stdin.
3. Exchanges the code (client_secret_basic, the PKCE verifier), validates the ID token with
   joserfc (Authlib's JOSE library) against the JWKS (ES256 only), checks iss, aud, exp,
   nonce and at_hash with Authlib's CodeIDToken, calls userinfo,
   refreshes, revokes the refresh token (RFC 7009), and tries the refresh token and the access
   token again; prints what it saw as one JSON line on stdout.

Any exception ends the script with a traceback on stderr and a non-zero status.
"""

import json
import os
import sys
from urllib.parse import parse_qs, urlparse

# the issuer is http://localhost:<port> in the tests: Authlib refuses plain HTTP without this
os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"

import requests  # noqa: E402
from authlib.common.security import generate_token  # noqa: E402
from authlib.integrations.requests_client import OAuth2Session  # noqa: E402
from authlib.integrations.base_client import OAuthError  # noqa: E402
from authlib.oidc.core import CodeIDToken  # noqa: E402
from joserfc import jwt  # noqa: E402  (Authlib's JOSE library since authlib.jose's deprecation)
from joserfc.jwk import KeySet  # noqa: E402

SCOPE = "openid profile email offline_access dealership"


def main():
    issuer, client_id, client_secret, redirect_uri = sys.argv[1:5]
    meta = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=10).json()
    assert meta["issuer"] == issuer, f"discovery names {meta['issuer']}, not {issuer}"
    assert "S256" in meta["code_challenge_methods_supported"], meta

    session = OAuth2Session(
        client_id,
        client_secret,
        scope=SCOPE,
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
        revocation_endpoint_auth_method="client_secret_basic",
    )
    verifier = generate_token(48)
    nonce = generate_token(24)
    url, state = session.create_authorization_url(
        meta["authorization_endpoint"], nonce=nonce, code_verifier=verifier
    )
    print(json.dumps({"authorize_url": url}), flush=True)

    callback = sys.stdin.readline().strip()
    returned = parse_qs(urlparse(callback).query)
    assert returned.get("iss") == [issuer], f"iss of the redirect: {returned.get('iss')}"
    token = session.fetch_token(
        meta["token_endpoint"],
        authorization_response=callback,
        state=state,
        code_verifier=verifier,
    )

    # the ID token: ES256 signature by a key of the JWKS (joserfc), then iss, aud, exp, iat,
    # nonce and at_hash (Authlib's CodeIDToken)
    keys = KeySet.import_key_set(requests.get(meta["jwks_uri"], timeout=10).json())
    verified = jwt.decode(token["id_token"], keys, algorithms=["ES256"])
    claims = CodeIDToken(
        verified.claims,
        verified.header,
        options={
            "iss": {"essential": True, "value": issuer},
            "aud": {"essential": True, "value": client_id},
        },
        params={"nonce": nonce, "access_token": token["access_token"]},
    )
    claims.validate()
    header = verified.header

    userinfo = session.get(meta["userinfo_endpoint"], timeout=10)
    userinfo.raise_for_status()
    info = userinfo.json()
    assert info["sub"] == claims["sub"], "userinfo is about another subject"

    refreshed = session.refresh_token(
        meta["token_endpoint"], refresh_token=token["refresh_token"]
    )
    assert refreshed["access_token"] != token["access_token"], "the refresh gave no new token"

    revoked = session.revoke_token(
        meta["revocation_endpoint"],
        token=refreshed["refresh_token"],
        token_type_hint="refresh_token",
    )

    try:
        session.refresh_token(meta["token_endpoint"], refresh_token=refreshed["refresh_token"])
        refresh_after_revoke = "accepted"
    except OAuthError as error:
        refresh_after_revoke = error.error
    after = requests.get(
        meta["userinfo_endpoint"],
        headers={"Authorization": f"Bearer {refreshed['access_token']}"},
        timeout=10,
    )

    print(
        json.dumps(
            {
                "id_token_alg": header["alg"],
                "id_token_kid": header.get("kid"),
                "sub": claims["sub"],
                "nonce": claims["nonce"] == nonce,
                "at_hash": "at_hash" in claims,
                "dealership_id": claims.get("dealership_id"),
                "userinfo_email": info.get("email"),
                "refreshed": True,
                "revocation_status": revoked.status_code,
                "refresh_after_revoke": refresh_after_revoke,
                "userinfo_after_revoke": after.status_code,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
