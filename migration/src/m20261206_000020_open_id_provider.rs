//! dealergate as an OpenID Connect provider (issue 25): the client registry, authorization
//! codes, consents, and refresh families bound to a client.
//!
//! The registry (`oauth_clients`, `oauth_client_secrets`) is a platform table: system admins
//! manage it in platform scope. Everything the OpenID endpoints need before any tenant is known
//! goes through narrow `SECURITY DEFINER` functions, as sign-in and refresh do: the client
//! (`oauth_client`), a code (`oauth_code_issue`, `oauth_code_redeem`), a person's consents
//! (`oauth_consent*`) and the families of a person or a client (`oauth_client_sessions_revoke`).
//!
//! A code's exchange opens a refresh family (a `sessions` row) of the chosen membership in the
//! browser's sign-in, stamped with the client (`sessions.client_id`): its access tokens die
//! with the family, the sign-in's logout ends it with the others, and `/auth/refresh` refuses
//! it (only its client refreshes it, at `/oauth2/token`). `authenticated_at` keeps the sign-in's
//! authentication time for a family opened later (an OpenID `auth_time` must not move), and
//! `client_scopes` what the person granted that client.

use sea_orm_migration::prelude::*;

use crate::{DEFINER_ROLE, PLATFORM_ROLE, RUNTIME_ROLE, execute};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261206_000020_open_id_provider"
    }
}

fn up_sql() -> String {
    format!(
        r#"
CREATE TABLE oauth_clients (
    id                        uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name                      text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    -- confidential clients authenticate with a secret; public ones (SPAs, native apps) with
    -- PKCE alone
    confidential              boolean NOT NULL,
    -- the platform's own apps: no consent, and their access tokens are the API's own
    first_party               boolean NOT NULL DEFAULT false,
    redirect_uris             text[] NOT NULL CHECK (cardinality(redirect_uris) BETWEEN 1 AND 20),
    post_logout_redirect_uris text[] NOT NULL DEFAULT '{{}}',
    scopes                    text[] NOT NULL,
    id_token_alg              text NOT NULL DEFAULT 'ES256'
                              CHECK (id_token_alg IN ('ES256', 'RS256', 'EdDSA')),
    -- who may use it: NULL for both, anyone; otherwise a membership of one of these
    -- dealerships, or of (a dealership of) one of these groups
    dealership_ids            uuid[],
    group_ids                 uuid[],
    is_active                 boolean NOT NULL DEFAULT true,
    created_at                timestamptz NOT NULL DEFAULT now(),
    updated_at                timestamptz NOT NULL DEFAULT now()
);

-- SHA-256 of 256-bit random secrets (no argon2: nothing to stretch); a rotated secret stays
-- valid until expires_at (the overlap)
CREATE TABLE oauth_client_secrets (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    client_id   uuid NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    secret_hash bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz
);
CREATE INDEX oauth_client_secrets_client ON oauth_client_secrets (client_id);

-- single-use, about a minute long; found by the SHA-256 of the code
CREATE TABLE oauth_codes (
    code_hash      bytea PRIMARY KEY,
    client_id      uuid NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    redirect_uri   text NOT NULL,
    code_challenge text,
    nonce          text,
    scopes         text[] NOT NULL,
    sign_in_id     uuid NOT NULL,
    -- the membership the person chose
    user_id        uuid NOT NULL,
    auth_time      timestamptz NOT NULL,
    amr            text[] NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz NOT NULL,
    used_at        timestamptz,
    -- the family its first exchange opened: a second exchange revokes it
    session_id     uuid
);
CREATE INDEX oauth_codes_expiry ON oauth_codes (expires_at);

CREATE TABLE oauth_consents (
    person_id  uuid NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    client_id  uuid NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    scopes     text[] NOT NULL,
    granted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (person_id, client_id)
);

ALTER TABLE sessions ADD COLUMN client_id uuid;
ALTER TABLE sessions ADD COLUMN authenticated_at timestamptz;
ALTER TABLE sessions ADD COLUMN client_scopes text[];
CREATE INDEX sessions_client_idx ON sessions (client_id, user_id) WHERE client_id IS NOT NULL;

GRANT SELECT, INSERT, UPDATE, DELETE ON oauth_clients, oauth_client_secrets TO {PLATFORM_ROLE};
GRANT SELECT, DELETE ON oauth_codes, oauth_consents TO {PLATFORM_ROLE};
GRANT SELECT ON oauth_clients, oauth_client_secrets TO {DEFINER_ROLE};
GRANT SELECT, INSERT, UPDATE ON oauth_codes TO {DEFINER_ROLE};
GRANT SELECT, INSERT, UPDATE, DELETE ON oauth_consents TO {DEFINER_ROLE};
{policies}
-- the client as the OpenID endpoints need it, with the hashes of its live secrets
CREATE FUNCTION oauth_client(p_id uuid)
RETURNS TABLE (id uuid, name text, confidential boolean, first_party boolean,
               redirect_uris text[], post_logout_redirect_uris text[], scopes text[],
               id_token_alg text, dealership_ids uuid[], group_ids uuid[], is_active boolean,
               secret_hashes bytea[])
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT c.id, c.name, c.confidential, c.first_party, c.redirect_uris,
           c.post_logout_redirect_uris, c.scopes, c.id_token_alg, c.dealership_ids, c.group_ids,
           c.is_active,
           coalesce((SELECT array_agg(s.secret_hash ORDER BY s.created_at DESC)
                     FROM public.oauth_client_secrets s
                     WHERE s.client_id = c.id AND (s.expires_at IS NULL OR s.expires_at > now())),
                    '{{}}')
    FROM public.oauth_clients c WHERE c.id = p_id
$$;

-- which of these memberships may use the client (its dealership and group restrictions)
CREATE FUNCTION oauth_client_allows(p_client uuid, p_users uuid[])
RETURNS SETOF uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT m.id
    FROM public.oauth_clients c
    CROSS JOIN public.memberships m
    LEFT JOIN public.dealerships d ON d.id = m.dealership_id
    WHERE c.id = p_client AND m.id = ANY (p_users)
      AND ((c.dealership_ids IS NULL AND c.group_ids IS NULL)
           OR m.dealership_id = ANY (coalesce(c.dealership_ids, '{{}}'))
           OR coalesce(m.group_id, d.group_id) = ANY (coalesce(c.group_ids, '{{}}')))
$$;

CREATE FUNCTION oauth_code_issue(p_hash bytea, p_client uuid, p_redirect_uri text,
    p_challenge text, p_nonce text, p_scopes text[], p_sign_in uuid, p_user uuid,
    p_auth_time timestamptz, p_amr text[], p_ttl_secs integer)
RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    INSERT INTO public.oauth_codes (code_hash, client_id, redirect_uri, code_challenge, nonce,
        scopes, sign_in_id, user_id, auth_time, amr, expires_at)
    VALUES (p_hash, p_client, p_redirect_uri, p_challenge, p_nonce, p_scopes, p_sign_in,
        p_user, p_auth_time, p_amr, now() + make_interval(secs => p_ttl_secs))
$$;

-- spends a code: the first call records the family its exchange opens (p_session) and
-- answers first_use; any later call answers the family of the first, to be revoked
CREATE FUNCTION oauth_code_redeem(p_hash bytea, p_session uuid)
RETURNS TABLE (client_id uuid, redirect_uri text, code_challenge text, nonce text,
               scopes text[], sign_in_id uuid, user_id uuid, dealership_id uuid, group_id uuid,
               auth_time timestamptz, amr text[], expired boolean, first_use boolean,
               session_id uuid, sign_in_live boolean)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    WITH old AS (
        SELECT c.code_hash, c.used_at, c.session_id
        FROM public.oauth_codes c WHERE c.code_hash = p_hash FOR UPDATE
    ), spent AS (
        UPDATE public.oauth_codes c
        SET used_at = coalesce(c.used_at, now()), session_id = coalesce(c.session_id, p_session)
        FROM old WHERE c.code_hash = old.code_hash
        RETURNING c.*, old.used_at IS NULL AS first_use
    )
    SELECT s.client_id, s.redirect_uri, s.code_challenge, s.nonce, s.scopes, s.sign_in_id,
           s.user_id, m.dealership_id, m.group_id, s.auth_time, s.amr, s.expires_at <= now(),
           s.first_use, s.session_id,
           EXISTS (SELECT 1 FROM public.sessions f
                   WHERE f.sign_in_id = s.sign_in_id AND f.revoked_at IS NULL
                     AND f.expires_at > now() AND f.absolute_expires_at > now())
    FROM spent s JOIN public.memberships m ON m.id = s.user_id
$$;

-- whether some active client registered a redirect URI on this origin (CORS of the token
-- endpoint: a browser app may call it from where it receives its codes)
CREATE FUNCTION oauth_origin_registered(p_origin text)
RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT EXISTS (
        SELECT 1 FROM public.oauth_clients c, unnest(c.redirect_uris) AS u(uri)
        WHERE c.is_active AND (u.uri = p_origin OR starts_with(u.uri, p_origin || '/')))
$$;

CREATE FUNCTION oauth_consent_scopes(p_person uuid, p_client uuid)
RETURNS text[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT scopes FROM public.oauth_consents WHERE person_id = p_person AND client_id = p_client
$$;

CREATE FUNCTION oauth_consent_grant(p_person uuid, p_client uuid, p_scopes text[])
RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    INSERT INTO public.oauth_consents (person_id, client_id, scopes) VALUES (p_person, p_client, p_scopes)
    ON CONFLICT (person_id, client_id) DO UPDATE
    SET scopes = ARRAY(SELECT DISTINCT unnest(public.oauth_consents.scopes || EXCLUDED.scopes)
                       ORDER BY 1),
        granted_at = now()
$$;

CREATE FUNCTION oauth_consents_of(p_person uuid)
RETURNS TABLE (client_id uuid, name text, scopes text[], granted_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT c.client_id, k.name, c.scopes, c.granted_at
    FROM public.oauth_consents c JOIN public.oauth_clients k ON k.id = c.client_id
    WHERE c.person_id = p_person ORDER BY k.name, c.client_id
$$;

CREATE FUNCTION oauth_consent_revoke(p_person uuid, p_client uuid)
RETURNS boolean
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    WITH gone AS (
        DELETE FROM public.oauth_consents WHERE person_id = p_person AND client_id = p_client
        RETURNING 1)
    SELECT EXISTS (SELECT 1 FROM gone)
$$;

-- ends the live families of a client (of one person, or of everyone: p_person NULL), in every
-- dealership; returns them, for the revocation notices
CREATE FUNCTION oauth_client_sessions_revoke(p_client uuid, p_person uuid, p_reason text)
RETURNS SETOF uuid
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    UPDATE public.sessions s SET revoked_at = now(), revoked_reason = p_reason
    FROM public.memberships m
    WHERE s.client_id = p_client AND s.revoked_at IS NULL AND m.id = s.user_id
      AND (p_person IS NULL OR m.person_id = p_person)
    RETURNING s.id
$$;

DROP FUNCTION auth_refresh_lookup(uuid);
CREATE FUNCTION auth_refresh_lookup(p_session_id uuid)
RETURNS TABLE (session_id uuid, user_id uuid, dealership_id uuid, group_id uuid,
               client_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT s.id, s.user_id, s.dealership_id, m.group_id, s.client_id
    FROM public.sessions s LEFT JOIN public.memberships m ON m.id = s.user_id
    WHERE s.id = p_session_id
$$;
{functions}
"#,
        policies = policies(),
        functions = own_and_grant(),
    )
}

const TABLES: [&str; 4] = [
    "oauth_clients",
    "oauth_client_secrets",
    "oauth_codes",
    "oauth_consents",
];

const FUNCTIONS: [&str; 10] = [
    "oauth_origin_registered(text)",
    "oauth_client(uuid)",
    "oauth_client_allows(uuid, uuid[])",
    "oauth_code_issue(bytea, uuid, text, text, text, text[], uuid, uuid, timestamptz, text[], integer)",
    "oauth_code_redeem(bytea, uuid)",
    "oauth_consent_scopes(uuid, uuid)",
    "oauth_consent_grant(uuid, uuid, text[])",
    "oauth_consents_of(uuid)",
    "oauth_consent_revoke(uuid, uuid)",
    "oauth_client_sessions_revoke(uuid, uuid, text)",
];

/// Platform scope manages the registry; the definer reads it and keeps codes and consents.
fn policies() -> String {
    TABLES
        .iter()
        .map(|table| {
            format!(
                "ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;\n\
                 ALTER TABLE {table} FORCE ROW LEVEL SECURITY;\n\
                 CREATE POLICY platform_scope ON {table} TO {PLATFORM_ROLE} \
                 USING (true) WITH CHECK (true);\n\
                 CREATE POLICY definer_lookup ON {table} TO {DEFINER_ROLE} \
                 USING (true) WITH CHECK (true);\n"
            )
        })
        .collect()
}

fn own_and_grant() -> String {
    FUNCTIONS
        .iter()
        .chain(["auth_refresh_lookup(uuid)"].iter())
        .map(|function| {
            format!(
                "ALTER FUNCTION {function} OWNER TO {DEFINER_ROLE};\n\
                 REVOKE ALL ON FUNCTION {function} FROM PUBLIC;\n\
                 GRANT EXECUTE ON FUNCTION {function} TO {RUNTIME_ROLE}, {PLATFORM_ROLE};\n"
            )
        })
        .collect()
}

fn down_sql() -> String {
    let functions: String = FUNCTIONS
        .iter()
        .map(|function| format!("DROP FUNCTION {function};\n"))
        .collect();
    format!(
        r#"
{functions}
DROP FUNCTION auth_refresh_lookup(uuid);
CREATE FUNCTION auth_refresh_lookup(p_session_id uuid)
RETURNS TABLE (session_id uuid, user_id uuid, dealership_id uuid, group_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT s.id, s.user_id, s.dealership_id, m.group_id
    FROM public.sessions s LEFT JOIN public.memberships m ON m.id = s.user_id
    WHERE s.id = p_session_id
$$;
ALTER FUNCTION auth_refresh_lookup(uuid) OWNER TO {DEFINER_ROLE};
REVOKE ALL ON FUNCTION auth_refresh_lookup(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_refresh_lookup(uuid) TO {RUNTIME_ROLE}, {PLATFORM_ROLE};
DROP INDEX sessions_client_idx;
ALTER TABLE sessions DROP COLUMN client_scopes;
ALTER TABLE sessions DROP COLUMN authenticated_at;
ALTER TABLE sessions DROP COLUMN client_id;
DROP TABLE oauth_consents;
DROP TABLE oauth_codes;
DROP TABLE oauth_client_secrets;
DROP TABLE oauth_clients;
"#
    )
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        execute(manager, &up_sql()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        execute(manager, &down_sql()).await
    }
}
