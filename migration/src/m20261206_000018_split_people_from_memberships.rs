//! One person, several dealerships (issue 22): what belongs to a human — names, sign-in names,
//! password, second factors, recovery codes, the verified flag and the credential generation —
//! moves from `users` to `people`, and `users` becomes `memberships`: a person's place in one
//! dealership (its role, whether it is active, who added it, its last sign-in).
//!
//! In place, nothing lost: every user becomes one person and one membership that **both keep the
//! user's id** (so `/users/{id}` links, tokens, sessions, factors sealed with the user's id as
//! associated data and recovery codes keyed by it all stay valid). A person's first membership
//! shares the person's id from now on too.
//!
//! Isolation: memberships stay tenant rows under forced RLS. People are not tenant rows: a
//! dealership reads a person only through one of its live memberships (the policy's `EXISTS`
//! reads `memberships`, which its own policy confines), so a deleted membership hides the person
//! at once. Factors and recovery codes belong to the person and are confined the same way.
//! `users` is a view (`security_invoker`: the caller's RLS applies to both tables) that shows a
//! membership as the API's `User` does. Writes go to the tables.
//!
//! A sign-in is a session of the person; each membership used in it has its own refresh family
//! (a `sessions` row of that membership's dealership) and `sign_in_id` ties the families of one
//! sign-in together (for every session before this migration: its own id).
//!
//! Down refuses while any person has more than one live or deleted membership.

use sea_orm_migration::prelude::*;

use crate::{DEFINER_ROLE, PLATFORM_ROLE, RUNTIME_ROLE, execute};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261206_000018_split_people_from_memberships"
    }
}

/// The person columns, as `users` had them.
const PERSON: &str = "email, password_hash, first_name, last_name, phone, token_version, \
                      email_verified_at, created_at, updated_at, deleted_at";

/// A person row is visible where one of its live memberships is (RLS on `memberships` confines
/// that to the caller's dealership).
const THROUGH_MEMBERSHIP: &str = "EXISTS (SELECT 1 FROM memberships m \
     WHERE m.person_id = {col} AND m.deleted_at IS NULL)";

fn through(col: &str) -> String {
    THROUGH_MEMBERSHIP.replace("{col}", col)
}

/// What a dealership may ask about a person beyond its own rows, each answered only for a
/// person with a membership in the asking dealership (`app.dealership_id`), or in platform
/// scope (the role the transaction switched to; a definer function keeps that setting).
pub(crate) const PERSON_FUNCTIONS: &str = r#"
CREATE FUNCTION person_in_scope(p_person uuid)
RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN nullif(current_setting('app.dealership_id', true), '') IS NULL
                THEN current_setting('role') = '{PLATFORM_ROLE}'
                ELSE EXISTS (SELECT 1 FROM public.memberships m
                             WHERE m.person_id = p_person AND m.deleted_at IS NULL
                               AND m.dealership_id =
                                   nullif(current_setting('app.dealership_id', true), '')::uuid)
           END
$$;

-- the person's live memberships in live dealerships, for the person's own answers
CREATE FUNCTION person_memberships(p_person uuid)
RETURNS TABLE (user_id uuid, dealership_id uuid, dealership_name text, role text,
               custom_role_id uuid, last_login timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT m.id, m.dealership_id, d.name, m.role, m.custom_role_id, m.last_login
    FROM public.memberships m LEFT JOIN public.dealerships d ON d.id = m.dealership_id
    WHERE m.person_id = p_person AND m.deleted_at IS NULL AND m.is_active
      AND (m.dealership_id IS NULL OR (d.is_active AND d.deleted_at IS NULL))
      AND public.person_in_scope(p_person)
    ORDER BY d.name NULLS FIRST, m.id
$$;

-- may a caller of rank p_rank, in the asking scope, change this person's credentials? Only
-- if every membership of the person that is not deleted (active or not) is in that scope and
-- ranks below p_rank. Yes or no, never which dealership says no.
CREATE FUNCTION person_managed_by(p_person uuid, p_rank integer)
RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT public.person_in_scope(p_person) AND NOT EXISTS (
        SELECT 1 FROM public.memberships m
        WHERE m.person_id = p_person AND m.deleted_at IS NULL
          AND ((nullif(current_setting('app.dealership_id', true), '')::uuid IS NOT NULL
                AND m.dealership_id IS DISTINCT FROM
                    nullif(current_setting('app.dealership_id', true), '')::uuid)
               OR CASE m.role WHEN 'admin' THEN 4 WHEN 'principal' THEN 3
                              WHEN 'manager' THEN 2 ELSE 1 END >= p_rank))
$$;

-- may a dealership add a membership of this person? Only of a person it just created (who
-- has no membership yet) or one whose invitation into that dealership it is accepting (in the
-- same transaction: accepted, not yet marked with the membership)
CREATE FUNCTION membership_may_be_added(p_person uuid, p_dealership uuid)
RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT NOT EXISTS (SELECT 1 FROM public.memberships m WHERE m.person_id = p_person)
        OR EXISTS (SELECT 1 FROM public.invitations i
                   JOIN public.people p ON lower(p.email) = lower(i.email)
                   WHERE p.id = p_person AND i.dealership_id IS NOT DISTINCT FROM p_dealership
                     AND i.accepted_at IS NOT NULL AND i.accepted_user_id IS NULL
                     AND i.revoked_at IS NULL)
$$;

-- how many memberships the person has that are not deleted, but p_except
CREATE FUNCTION person_other_memberships(p_person uuid, p_except uuid)
RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT count(*) FROM public.memberships m
    WHERE m.person_id = p_person AND m.deleted_at IS NULL AND m.id IS DISTINCT FROM p_except
      AND public.person_in_scope(p_person)
$$;

-- closing a person's account: is the person the last active principal of an active
-- dealership anywhere (then it may not close)?
CREATE FUNCTION person_is_last_principal(p_person uuid)
RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT public.person_in_scope(p_person) AND EXISTS (
        SELECT 1 FROM public.memberships m JOIN public.dealerships d ON d.id = m.dealership_id
        WHERE m.person_id = p_person AND m.role = 'principal' AND m.is_active
          AND m.deleted_at IS NULL AND d.is_active AND d.deleted_at IS NULL
          AND NOT EXISTS (SELECT 1 FROM public.memberships o
                          WHERE o.dealership_id = m.dealership_id AND o.id <> m.id
                            AND o.role = 'principal' AND o.is_active AND o.deleted_at IS NULL))
$$;

-- closing a person's account ends every membership; returns those it ended
CREATE FUNCTION person_close_memberships(p_person uuid)
RETURNS TABLE (user_id uuid, dealership_id uuid)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    UPDATE public.memberships m SET deleted_at = now(), is_active = false,
        custom_role_id = NULL, updated_at = now()
    WHERE m.person_id = p_person AND m.deleted_at IS NULL AND public.person_in_scope(p_person)
      AND NOT public.person_is_last_principal(p_person)
    RETURNING m.id, m.dealership_id
$$;

-- the person's sessions that can still be refreshed, in every dealership, newest first
CREATE FUNCTION person_sessions(p_person uuid)
RETURNS TABLE (id uuid, dealership_id uuid, dealership_name text, sign_in_id uuid,
               user_agent text, ip text, created_at timestamptz, last_used_at timestamptz,
               expires_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT s.id, s.dealership_id, d.name, s.sign_in_id, s.user_agent, s.ip, s.created_at,
           s.last_used_at, s.expires_at
    FROM public.sessions s
    JOIN public.memberships m ON m.id = s.user_id
    LEFT JOIN public.dealerships d ON d.id = s.dealership_id
    WHERE m.person_id = p_person AND s.revoked_at IS NULL AND s.expires_at > now()
      AND s.absolute_expires_at > now() AND public.person_in_scope(p_person)
    ORDER BY s.created_at DESC
$$;

-- ends one session of the person, whichever dealership it is in; whether it did
CREATE FUNCTION person_session_revoke(p_person uuid, p_session uuid, p_reason text)
RETURNS boolean
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    WITH ended AS (
        UPDATE public.sessions s SET revoked_at = now(), revoked_reason = p_reason
        WHERE s.id = p_session AND s.revoked_at IS NULL
          AND s.user_id IN (SELECT m.id FROM public.memberships m WHERE m.person_id = p_person)
          AND public.person_in_scope(p_person)
        RETURNING 1)
    SELECT EXISTS (SELECT 1 FROM ended)
$$;

-- an event about the person's credentials, copied from the asking dealership to every other
-- one where they are a member (as done by and to the membership there): each of them sees it,
-- no other does; only the credential events. `p_from` (the event's own dealership) counts
-- only in platform scope: a dealership's transaction shares from itself
CREATE FUNCTION person_audit_share(p_person uuid, p_from uuid, p_action text,
                                   p_changes jsonb, p_request_id text, p_ip text)
RETURNS integer
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    WITH shared AS (
        INSERT INTO public.audit_events (id, dealership_id, actor_id, action, target_type,
                                         target_id, request_id, ip, changes)
        SELECT gen_random_uuid(), m.dealership_id, m.id, p_action, 'user', m.id, p_request_id,
               p_ip, p_changes
        FROM public.memberships m
        WHERE m.person_id = p_person AND m.deleted_at IS NULL AND m.dealership_id IS NOT NULL
          AND m.dealership_id IS DISTINCT FROM
              coalesce(nullif(current_setting('app.dealership_id', true), '')::uuid, p_from)
          AND p_action IN ('user.password_changed', 'user.password_reset', 'user.email_changed',
                           'mfa.enrolled', 'mfa.factor_removed',
                           'mfa.recovery_codes_regenerated', 'mfa.reset')
          AND public.person_in_scope(p_person)
        RETURNING 1)
    SELECT count(*)::integer FROM shared
$$;

-- ends the person's refresh families in every dealership: those of one sign-in
-- (p_sign_in), or all but those of one (p_keep); returns the sessions ended
CREATE FUNCTION person_sessions_revoke(p_person uuid, p_sign_in uuid, p_keep uuid, p_reason text)
RETURNS TABLE (session_id uuid)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    UPDATE public.sessions s SET revoked_at = now(), revoked_reason = p_reason
    WHERE s.user_id IN (SELECT m.id FROM public.memberships m WHERE m.person_id = p_person)
      AND s.revoked_at IS NULL
      AND (p_sign_in IS NULL OR s.sign_in_id = p_sign_in)
      AND s.sign_in_id IS DISTINCT FROM p_keep
      AND public.person_in_scope(p_person)
    RETURNING s.id
$$;
"#;

fn person_function_grants() -> String {
    let functions = "person_in_scope(uuid), person_memberships(uuid), \
                     person_managed_by(uuid, integer), person_other_memberships(uuid, uuid), \
                     person_is_last_principal(uuid), person_close_memberships(uuid), \
                     person_sessions_revoke(uuid, uuid, uuid, text), person_sessions(uuid), \
                     person_session_revoke(uuid, uuid, text), membership_may_be_added(uuid, uuid), \
                     person_audit_share(uuid, uuid, text, jsonb, text, text)";
    format!(
        r#"
GRANT UPDATE (revoked_at, revoked_reason) ON sessions TO {DEFINER_ROLE};
CREATE POLICY definer_revokes ON sessions FOR UPDATE TO {DEFINER_ROLE} USING (true) WITH CHECK (true);
ALTER FUNCTION person_in_scope(uuid) OWNER TO {DEFINER_ROLE};
ALTER FUNCTION person_memberships(uuid) OWNER TO {DEFINER_ROLE};
ALTER FUNCTION person_managed_by(uuid, integer) OWNER TO {DEFINER_ROLE};
ALTER FUNCTION person_sessions_revoke(uuid, uuid, uuid, text) OWNER TO {DEFINER_ROLE};
ALTER FUNCTION person_other_memberships(uuid, uuid) OWNER TO {DEFINER_ROLE};
ALTER FUNCTION person_is_last_principal(uuid) OWNER TO {DEFINER_ROLE};
ALTER FUNCTION person_close_memberships(uuid) OWNER TO {DEFINER_ROLE};
ALTER FUNCTION person_sessions(uuid) OWNER TO {DEFINER_ROLE};
ALTER FUNCTION membership_may_be_added(uuid, uuid) OWNER TO {DEFINER_ROLE};
-- a tenant adds memberships only of people it creates or invited (even a compromised
-- application cannot attach someone else's person to its dealership and read them)
CREATE POLICY new_or_invited ON memberships AS RESTRICTIVE FOR INSERT TO {RUNTIME_ROLE}
    WITH CHECK (public.membership_may_be_added(person_id, dealership_id));
ALTER FUNCTION person_audit_share(uuid, uuid, text, jsonb, text, text) OWNER TO {DEFINER_ROLE};
GRANT INSERT ON audit_events TO {DEFINER_ROLE};
CREATE POLICY definer_shares ON audit_events FOR INSERT TO {DEFINER_ROLE} WITH CHECK (true);
ALTER FUNCTION person_session_revoke(uuid, uuid, text) OWNER TO {DEFINER_ROLE};
GRANT UPDATE (deleted_at, is_active, custom_role_id, updated_at) ON memberships TO {DEFINER_ROLE};
CREATE POLICY definer_closes ON memberships FOR UPDATE TO {DEFINER_ROLE} USING (true) WITH CHECK (true);
REVOKE ALL ON FUNCTION {functions} FROM PUBLIC;
GRANT EXECUTE ON FUNCTION {functions} TO {RUNTIME_ROLE}, {PLATFORM_ROLE}, {DEFINER_ROLE};
"#
    )
}

pub(crate) fn lookup(name: &str, matches: &str) -> String {
    format!(
        r#"
-- the person who signs in with this name, and each of their live memberships in a live
-- dealership (one row with no membership when there is none: the password is still checked);
-- the email, under which every failed sign-in of the person counts, by email or by phone
CREATE FUNCTION {name}(p_name text)
RETURNS TABLE (person_id uuid, email text, password_hash text, user_id uuid,
               dealership_id uuid, dealership_name text, role text, custom_role_id uuid,
               last_login timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT p.id, p.email, p.password_hash, m.id, m.dealership_id, m.dealership_name, m.role,
           m.custom_role_id, m.last_login
    FROM public.people p
    LEFT JOIN LATERAL (
        SELECT m.id, m.dealership_id, d.name AS dealership_name, m.role, m.custom_role_id,
               m.last_login
        FROM public.memberships m
        LEFT JOIN public.dealerships d ON d.id = m.dealership_id
        WHERE m.person_id = p.id AND m.deleted_at IS NULL AND m.is_active
          AND (m.dealership_id IS NULL OR (d.is_active AND d.deleted_at IS NULL))
    ) m ON true
    WHERE {matches} AND p.deleted_at IS NULL
    ORDER BY m.last_login DESC NULLS LAST, m.id
$$;
ALTER FUNCTION {name}(text) OWNER TO {DEFINER_ROLE};
REVOKE ALL ON FUNCTION {name}(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION {name}(text) TO {RUNTIME_ROLE}, {PLATFORM_ROLE};
"#
    )
}

fn up_sql() -> String {
    let people_policy = through("people.id");
    let factor_policy = |t: &str| through(&format!("{t}.person_id"));
    let (factors, codes) = (
        factor_policy("mfa_factors"),
        factor_policy("mfa_recovery_codes"),
    );
    let email_lookup = lookup("auth_login_lookup", "lower(p.email) = lower(p_name)");
    let phone_lookup = lookup("auth_phone_login_lookup", "p.phone = p_name");
    let person_grants = person_function_grants();
    let person_functions = PERSON_FUNCTIONS.replace("{PLATFORM_ROLE}", PLATFORM_ROLE);
    format!(
        r#"
-- every row below is rewritten once: the profile notices of the old trigger are not wanted
DROP TRIGGER users_notify_profile_change ON users;
DROP FUNCTION auth_login_lookup(text);
DROP FUNCTION auth_phone_login_lookup(text);

CREATE TABLE people (
    id                uuid PRIMARY KEY,
    email             text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    password_hash     text NOT NULL,
    first_name        text NOT NULL,
    last_name         text NOT NULL,
    phone             text,
    -- the credential generation: bumped by a password or email change and by closing the
    -- account; an access token carries it (`ver`) and dies when it moves
    token_version     integer NOT NULL DEFAULT 0,
    email_verified_at timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    deleted_at        timestamptz
);
INSERT INTO people (id, {PERSON}) SELECT id, {PERSON} FROM users;

ALTER TABLE users RENAME TO memberships;
ALTER TABLE memberships ADD COLUMN person_id uuid;
UPDATE memberships SET person_id = id;
ALTER TABLE memberships ALTER COLUMN person_id SET NOT NULL;
ALTER TABLE memberships ADD CONSTRAINT memberships_person_fkey
    FOREIGN KEY (person_id) REFERENCES people (id);
-- who added the membership (an inviter, a principal); null for those made before this
ALTER TABLE memberships ADD COLUMN added_by uuid REFERENCES memberships (id);
ALTER TABLE memberships DROP COLUMN email, DROP COLUMN password_hash, DROP COLUMN first_name,
    DROP COLUMN last_name, DROP COLUMN phone, DROP COLUMN token_version,
    DROP COLUMN email_verified_at;
-- one live membership per person and dealership (admins: one platform membership)
CREATE UNIQUE INDEX memberships_person_dealership_key ON memberships (person_id, dealership_id)
    NULLS NOT DISTINCT WHERE deleted_at IS NULL;
ALTER INDEX users_directory_idx RENAME TO memberships_directory_idx;
ALTER INDEX users_custom_role RENAME TO memberships_custom_role;
ALTER TABLE memberships RENAME CONSTRAINT users_admin_has_no_dealership
    TO memberships_admin_has_no_dealership;

-- sign-in names are the person's: unique among live people, case-insensitive
CREATE UNIQUE INDEX people_email_key ON people (lower(email)) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX people_phone_key ON people (phone)
    WHERE deleted_at IS NULL AND phone IS NOT NULL;

REVOKE ALL ON people FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE (email, password_hash, first_name, last_name, phone,
    token_version, email_verified_at, updated_at, deleted_at)
    ON people TO {RUNTIME_ROLE}, {PLATFORM_ROLE};
GRANT SELECT ON people TO {DEFINER_ROLE};
ALTER TABLE people ENABLE ROW LEVEL SECURITY;
ALTER TABLE people FORCE ROW LEVEL SECURITY;
CREATE POLICY through_membership ON people TO {RUNTIME_ROLE}
    USING ({people_policy}) WITH CHECK ({people_policy});
-- a new person is written just before their first membership, in the same transaction
CREATE POLICY new_person ON people FOR INSERT TO {RUNTIME_ROLE} WITH CHECK (true);
CREATE POLICY platform_scope ON people TO {PLATFORM_ROLE} USING (true) WITH CHECK (true);
CREATE POLICY definer_lookup ON people FOR SELECT TO {DEFINER_ROLE} USING (true);
GRANT UPDATE (person_id) ON memberships TO {PLATFORM_ROLE};

-- factors and recovery codes are the person's, wherever they sign in
ALTER TABLE mfa_factors DROP CONSTRAINT mfa_factors_user_id_fkey;
ALTER TABLE mfa_recovery_codes DROP CONSTRAINT mfa_recovery_codes_user_id_fkey;
DROP POLICY tenant_isolation ON mfa_factors;
DROP POLICY tenant_isolation ON mfa_recovery_codes;
DROP INDEX mfa_factors_user;
DROP INDEX mfa_recovery_codes_user;
ALTER TABLE mfa_factors RENAME COLUMN user_id TO person_id;
ALTER TABLE mfa_recovery_codes RENAME COLUMN user_id TO person_id;
ALTER TABLE mfa_factors DROP COLUMN dealership_id;
ALTER TABLE mfa_recovery_codes DROP COLUMN dealership_id;
ALTER TABLE mfa_factors ADD CONSTRAINT mfa_factors_person_fkey
    FOREIGN KEY (person_id) REFERENCES people (id);
ALTER TABLE mfa_recovery_codes ADD CONSTRAINT mfa_recovery_codes_person_fkey
    FOREIGN KEY (person_id) REFERENCES people (id);
CREATE INDEX mfa_factors_person ON mfa_factors (person_id);
CREATE INDEX mfa_recovery_codes_person ON mfa_recovery_codes (person_id, code_hash)
    WHERE used_at IS NULL;
CREATE POLICY through_membership ON mfa_factors TO {RUNTIME_ROLE}
    USING ({factors}) WITH CHECK ({factors});
CREATE POLICY through_membership ON mfa_recovery_codes TO {RUNTIME_ROLE}
    USING ({codes}) WITH CHECK ({codes});

-- the families of one sign-in
ALTER TABLE sessions ADD COLUMN sign_in_id uuid;
UPDATE sessions SET sign_in_id = id;
ALTER TABLE sessions ALTER COLUMN sign_in_id SET NOT NULL;
CREATE INDEX sessions_sign_in_idx ON sessions (sign_in_id);

-- a membership as the API's `User` shows it; the caller's RLS applies to both tables
CREATE VIEW users WITH (security_invoker = true) AS
SELECT m.id, m.dealership_id, m.person_id, p.email, p.password_hash, p.first_name, p.last_name,
       p.phone, m.role, m.custom_role_id, m.is_active, p.token_version, m.last_login,
       p.email_verified_at, m.created_at, greatest(m.updated_at, p.updated_at) AS updated_at,
       m.deleted_at, m.added_by, d.name AS dealership_name
FROM memberships m JOIN people p ON p.id = m.person_id
LEFT JOIN dealerships d ON d.id = m.dealership_id;
REVOKE ALL ON users FROM PUBLIC;
GRANT SELECT ON users TO {RUNTIME_ROLE}, {PLATFORM_ROLE};

-- an operator's (or a script's) INSERT or UPDATE of `users` still works: it goes to the tables,
-- as whoever runs it (SECURITY INVOKER: their RLS and grants apply to both). The application
-- writes the tables itself.
CREATE FUNCTION users_write()
RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.id := coalesce(NEW.id, gen_random_uuid());
        NEW.person_id := coalesce(NEW.person_id, NEW.id);
        INSERT INTO people (id, email, password_hash, first_name, last_name, phone,
                            token_version, email_verified_at)
        VALUES (NEW.person_id, NEW.email, NEW.password_hash, NEW.first_name, NEW.last_name,
                NEW.phone, coalesce(NEW.token_version, 0), NEW.email_verified_at)
        ON CONFLICT (id) DO NOTHING;
        INSERT INTO memberships (id, person_id, dealership_id, role, custom_role_id, is_active,
                                 added_by)
        VALUES (NEW.id, NEW.person_id, NEW.dealership_id, NEW.role, NEW.custom_role_id,
                coalesce(NEW.is_active, true), NEW.added_by);
        RETURN NEW;
    END IF;
    UPDATE people SET email = NEW.email, password_hash = NEW.password_hash,
        first_name = NEW.first_name, last_name = NEW.last_name, phone = NEW.phone,
        token_version = NEW.token_version, email_verified_at = NEW.email_verified_at,
        updated_at = now()
    WHERE id = OLD.person_id
      AND (email, password_hash, first_name, last_name, phone, token_version,
           email_verified_at) IS DISTINCT FROM
          (NEW.email, NEW.password_hash, NEW.first_name, NEW.last_name, NEW.phone,
           NEW.token_version, NEW.email_verified_at);
    UPDATE memberships SET dealership_id = NEW.dealership_id, role = NEW.role,
        custom_role_id = NEW.custom_role_id, is_active = NEW.is_active,
        last_login = NEW.last_login, deleted_at = NEW.deleted_at, updated_at = now()
    WHERE id = OLD.id
      AND (dealership_id, role, custom_role_id, is_active, last_login, deleted_at)
          IS DISTINCT FROM (NEW.dealership_id, NEW.role, NEW.custom_role_id, NEW.is_active,
                            NEW.last_login, NEW.deleted_at);
    RETURN NEW;
END
$$;
CREATE TRIGGER users_write INSTEAD OF INSERT OR UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION users_write();

{email_lookup}
{phone_lookup}
{person_functions}
{person_grants}
-- a changed membership or person: every replica drops what it caches of it (src/auth/sessions.rs)
CREATE FUNCTION memberships_notify_change()
RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- the person's cached profiles list every membership: all of them are stale
    PERFORM pg_notify('dealergate_revocations', 'profile:' || OLD.person_id);
    RETURN NULL;
END
$$;
CREATE FUNCTION people_notify_change()
RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM pg_notify('dealergate_revocations', 'profile:' || OLD.id);
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION memberships_notify_change(), people_notify_change() FROM PUBLIC;
CREATE TRIGGER memberships_notify_change AFTER UPDATE OR DELETE ON memberships
    FOR EACH ROW EXECUTE FUNCTION memberships_notify_change();
CREATE TRIGGER people_notify_change AFTER UPDATE OR DELETE ON people
    FOR EACH ROW EXECUTE FUNCTION people_notify_change();
DROP FUNCTION users_notify_profile_change();
"#
    )
}

fn down_sql() -> String {
    let old_lookup = |name: &str, matches: &str| {
        format!(
            r#"
CREATE FUNCTION {name}(p_name text)
RETURNS TABLE (user_id uuid, dealership_id uuid, password_hash text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT u.id, u.dealership_id, u.password_hash
    FROM public.users u
    WHERE {matches} AND u.deleted_at IS NULL
$$;
ALTER FUNCTION {name}(text) OWNER TO {DEFINER_ROLE};
REVOKE ALL ON FUNCTION {name}(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION {name}(text) TO {RUNTIME_ROLE}, {PLATFORM_ROLE};
"#
        )
    };
    let email_lookup = old_lookup("auth_login_lookup", "lower(u.email) = lower(p_name)");
    let phone_lookup = old_lookup("auth_phone_login_lookup", "u.phone = p_name");
    format!(
        r#"
DO $refuse$
BEGIN
    IF EXISTS (SELECT 1 FROM memberships GROUP BY person_id HAVING count(*) > 1) THEN
        RAISE EXCEPTION 'a person has more than one membership: merge or delete them first';
    END IF;
END
$refuse$;
DROP TRIGGER memberships_notify_change ON memberships;
DROP TRIGGER people_notify_change ON people;
DROP FUNCTION memberships_notify_change();
DROP FUNCTION people_notify_change();
DROP FUNCTION auth_login_lookup(text);
DROP FUNCTION auth_phone_login_lookup(text);
DROP FUNCTION person_memberships(uuid);
DROP FUNCTION person_managed_by(uuid, integer);
DROP FUNCTION person_other_memberships(uuid, uuid);
DROP FUNCTION person_is_last_principal(uuid);
DROP FUNCTION person_close_memberships(uuid);
DROP POLICY new_or_invited ON memberships;
DROP FUNCTION membership_may_be_added(uuid, uuid);
DROP FUNCTION person_sessions(uuid);
DROP FUNCTION person_audit_share(uuid, uuid, text, jsonb, text, text);
DROP POLICY definer_shares ON audit_events;
REVOKE INSERT ON audit_events FROM {DEFINER_ROLE};
DROP FUNCTION person_session_revoke(uuid, uuid, text);
DROP POLICY definer_closes ON memberships;
REVOKE UPDATE (deleted_at, is_active, custom_role_id, updated_at) ON memberships FROM {DEFINER_ROLE};
DROP FUNCTION person_in_scope(uuid);
DROP FUNCTION person_sessions_revoke(uuid, uuid, uuid, text);
DROP POLICY definer_revokes ON sessions;
REVOKE UPDATE (revoked_at, revoked_reason) ON sessions FROM {DEFINER_ROLE};
DROP TRIGGER users_write ON users;
DROP FUNCTION users_write();
DROP VIEW users;

DROP INDEX sessions_sign_in_idx;
ALTER TABLE sessions DROP COLUMN sign_in_id;

DROP POLICY through_membership ON mfa_factors;
DROP POLICY through_membership ON mfa_recovery_codes;
DROP POLICY through_membership ON people;
ALTER TABLE mfa_factors DROP CONSTRAINT mfa_factors_person_fkey;
ALTER TABLE mfa_recovery_codes DROP CONSTRAINT mfa_recovery_codes_person_fkey;
DROP INDEX mfa_factors_person;
DROP INDEX mfa_recovery_codes_person;
ALTER TABLE mfa_factors ADD COLUMN dealership_id uuid REFERENCES dealerships (id);
ALTER TABLE mfa_recovery_codes ADD COLUMN dealership_id uuid REFERENCES dealerships (id);
ALTER TABLE mfa_factors RENAME COLUMN person_id TO user_id;
ALTER TABLE mfa_recovery_codes RENAME COLUMN person_id TO user_id;

ALTER TABLE memberships ADD COLUMN email text, ADD COLUMN password_hash text,
    ADD COLUMN first_name text, ADD COLUMN last_name text, ADD COLUMN phone text,
    ADD COLUMN token_version integer NOT NULL DEFAULT 0, ADD COLUMN email_verified_at timestamptz;
UPDATE memberships m SET email = p.email, password_hash = p.password_hash,
    first_name = p.first_name, last_name = p.last_name, phone = p.phone,
    token_version = p.token_version, email_verified_at = p.email_verified_at,
    updated_at = greatest(m.updated_at, p.updated_at)
FROM people p WHERE p.id = m.person_id;
-- a membership whose id is not its person's (one added after the upgrade) keeps its own id:
-- factors and codes follow the membership
UPDATE mfa_factors f SET user_id = m.id, dealership_id = m.dealership_id
FROM memberships m WHERE m.person_id = f.user_id;
UPDATE mfa_recovery_codes c SET user_id = m.id, dealership_id = m.dealership_id
FROM memberships m WHERE m.person_id = c.user_id;
ALTER TABLE memberships ALTER COLUMN email SET NOT NULL,
    ALTER COLUMN password_hash SET NOT NULL, ALTER COLUMN first_name SET NOT NULL,
    ALTER COLUMN last_name SET NOT NULL,
    ADD CONSTRAINT users_email_check CHECK (length(email) BETWEEN 3 AND 254);
ALTER TABLE mfa_factors ADD CONSTRAINT mfa_factors_user_id_fkey
    FOREIGN KEY (user_id) REFERENCES memberships (id);
ALTER TABLE mfa_recovery_codes ADD CONSTRAINT mfa_recovery_codes_user_id_fkey
    FOREIGN KEY (user_id) REFERENCES memberships (id);
CREATE INDEX mfa_factors_user ON mfa_factors (dealership_id, user_id);
CREATE INDEX mfa_recovery_codes_user ON mfa_recovery_codes (dealership_id, user_id, code_hash)
    WHERE used_at IS NULL;
CREATE POLICY tenant_isolation ON mfa_factors TO {RUNTIME_ROLE}
    USING (dealership_id = (select nullif(current_setting('app.dealership_id', true), '')::uuid))
    WITH CHECK (dealership_id = (select nullif(current_setting('app.dealership_id', true), '')::uuid));
CREATE POLICY tenant_isolation ON mfa_recovery_codes TO {RUNTIME_ROLE}
    USING (dealership_id = (select nullif(current_setting('app.dealership_id', true), '')::uuid))
    WITH CHECK (dealership_id = (select nullif(current_setting('app.dealership_id', true), '')::uuid));

DROP INDEX memberships_person_dealership_key;
ALTER TABLE memberships DROP COLUMN added_by;
ALTER TABLE memberships DROP COLUMN person_id;
ALTER TABLE memberships RENAME CONSTRAINT memberships_admin_has_no_dealership
    TO users_admin_has_no_dealership;
ALTER INDEX memberships_directory_idx RENAME TO users_directory_idx;
ALTER INDEX memberships_custom_role RENAME TO users_custom_role;
ALTER TABLE memberships RENAME TO users;
DROP TABLE people;
CREATE UNIQUE INDEX users_email_key ON users (lower(email)) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX users_phone_key ON users (phone)
    WHERE deleted_at IS NULL AND phone IS NOT NULL;
GRANT UPDATE (email, password_hash, first_name, last_name, phone, token_version,
    email_verified_at) ON users TO {RUNTIME_ROLE}, {PLATFORM_ROLE};

{email_lookup}
{phone_lookup}

CREATE FUNCTION users_notify_profile_change()
RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM pg_notify('dealergate_revocations', 'profile:' || OLD.id);
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION users_notify_profile_change() FROM PUBLIC;
CREATE TRIGGER users_notify_profile_change
    AFTER UPDATE OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION users_notify_profile_change();
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
