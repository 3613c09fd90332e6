//! The tenant-isolation matrix: every route of the OpenAPI document × every role of both
//! dealerships (and the platform admin) × {a target in the caller's dealership, one in the
//! other dealership, the caller's own record}, with the status each must get — and no
//! cross-tenant read or write, in either direction. A route added without a row here fails the
//! test, and every route that needs a token refuses a caller without one.

use std::collections::{BTreeMap, BTreeSet};

use dealergate::domain::Role;
use reqwest::Method;
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{
    ADMIN, DEMO_USERS, DemoUser, METRO_MOTORS, PA_AGENT, PA_MANAGER, PA_PRINCIPAL, PREMIUM_AUTO,
    PREMIUM_GROUP, TestApp, count, error_of, exec, spawn_app,
};

/// Statuses for [own dealership, other dealership, own record]; `0`: not applicable.
type Expect = [u16; 3];

enum Kind {
    /// No token needed; covered by the auth and health tests.
    Public,
    /// Checked for every role.
    Matrix([Expect; 4]),
}

/// The callers, in the order of the expectations: admin, then Premium Auto's principal,
/// manager and agent.
fn callers() -> [&'static DemoUser; 4] {
    [&ADMIN, &PA_PRINCIPAL, &PA_MANAGER, &PA_AGENT]
}

fn table() -> Vec<(&'static str, &'static str, Kind)> {
    use Kind::*;
    vec![
        ("POST", "/api/v1/auth/login", Public),
        // the second step of a sign-in: the mfa_token is the credential (mfa.rs)
        ("POST", "/api/v1/auth/mfa/verify", Public),
        ("POST", "/api/v1/auth/token", Public),
        ("POST", "/api/v1/auth/refresh", Public),
        // anonymous by design; their tenant confinement is in mail_isolation.rs
        ("POST", "/api/v1/auth/password-reset", Public),
        ("POST", "/api/v1/auth/password-reset/confirm", Public),
        ("POST", "/api/v1/auth/verify-email", Public),
        ("POST", "/api/v1/auth/email/confirm", Public),
        // the token is the credential; signup.rs and invitations.rs test its confinement
        ("POST", "/api/v1/auth/signup", Public),
        // the token and the invited account's password; invitations.rs tests its confinement
        ("POST", "/api/v1/auth/join", Public),
        ("GET", "/.well-known/jwks.json", Public),
        ("GET", "/healthz", Public),
        ("GET", "/readyz", Public),
        // the caller's own account: only "own record" applies
        ("POST", "/api/v1/auth/logout", Matrix([[0, 0, 204]; 4])),
        // leaving a dealership: one's only membership is 422, none there 404; the manager
        // (in two dealerships) is not asked to leave his own, which later rows sign in to
        (
            "DELETE",
            "/api/v1/auth/memberships/{dealership_id}",
            Matrix([[404, 404, 0], [422, 404, 0], [0, 404, 0], [422, 404, 0]]),
        ),
        // into one's own memberships only: the admin has none in a dealership, nobody here one
        // in the other
        (
            "POST",
            "/api/v1/auth/switch",
            Matrix([[404, 404, 0], [200, 404, 0], [200, 404, 0], [200, 404, 0]]),
        ),
        ("POST", "/api/v1/auth/logout-all", Matrix([[0, 0, 204]; 4])),
        ("GET", "/api/v1/auth/me", Matrix([[0, 0, 200]; 4])),
        ("PATCH", "/api/v1/auth/me", Matrix([[0, 0, 200]; 4])),
        ("POST", "/api/v1/auth/password", Matrix([[0, 0, 204]; 4])),
        // a confirmation link to a new address; nothing changes until it is used
        ("POST", "/api/v1/auth/email", Matrix([[0, 0, 202]; 4])),
        // closing one's account: run as a stand-in of the caller's role and dealership (see
        // `stand_in`), never the demo caller, whom every later row signs in as
        ("DELETE", "/api/v1/auth/me", Matrix([[0, 0, 204]; 4])),
        // the demo callers are verified: nothing is sent, the same answer
        (
            "POST",
            "/api/v1/auth/verify-email/resend",
            Matrix([[0, 0, 202]; 4]),
        ),
        ("GET", "/api/v1/auth/sessions", Matrix([[0, 0, 200]; 4])),
        // consents are the caller's own only; nobody consented to the registered client here
        ("GET", "/api/v1/auth/consents", Matrix([[0, 0, 200]; 4])),
        (
            "DELETE",
            "/api/v1/auth/consents/{client_id}",
            Matrix([[0, 0, 404]; 4]),
        ),
        // the caller's own second factors; a factor of anyone else is not found, and a wrong
        // code (the demo callers have no app) is 422, counted like a wrong password
        ("GET", "/api/v1/auth/mfa", Matrix([[0, 0, 200]; 4])),
        ("POST", "/api/v1/auth/mfa/totp", Matrix([[0, 0, 201]; 4])),
        (
            "POST",
            "/api/v1/auth/mfa/totp/{id}/confirm",
            Matrix([[404, 404, 0]; 4]),
        ),
        (
            "DELETE",
            "/api/v1/auth/mfa/totp/{id}",
            Matrix([[0, 0, 422]; 4]),
        ),
        (
            "POST",
            "/api/v1/auth/mfa/recovery-codes",
            Matrix([[0, 0, 409]; 4]),
        ),
        ("POST", "/api/v1/auth/mfa/step-up", Matrix([[0, 0, 422]; 4])),
        // another user's session id is not found, whoever asks
        (
            "DELETE",
            "/api/v1/auth/sessions/{id}",
            Matrix([[404, 404, 204]; 4]),
        ),
        //                                          admin            principal        manager          agent
        (
            "GET",
            "/api/v1/users",
            Matrix([[200, 200, 0], [200, 200, 0], [200, 200, 0], [403, 403, 0]]),
        ),
        (
            "GET",
            "/api/v1/users/count",
            Matrix([[200, 200, 0], [200, 200, 0], [200, 200, 0], [403, 403, 0]]),
        ),
        (
            "POST",
            "/api/v1/users",
            Matrix([[201, 201, 0], [201, 404, 0], [403, 403, 0], [403, 403, 0]]),
        ),
        (
            "GET",
            "/api/v1/users/{id}",
            Matrix([
                [200, 200, 200],
                [200, 404, 200],
                [200, 404, 200],
                [404, 404, 200],
            ]),
        ),
        (
            "PATCH",
            "/api/v1/users/{id}",
            Matrix([
                [200, 200, 200],
                [200, 404, 200],
                [404, 404, 200],
                [404, 404, 200],
            ]),
        ),
        (
            "DELETE",
            "/api/v1/users/{id}",
            // managers and agents may delete only themselves (their own account closes
            // through DELETE /auth/me): others are out of their reach, themselves refused
            Matrix([
                [204, 204, 422],
                [204, 404, 422],
                [404, 404, 422],
                [404, 404, 422],
            ]),
        ),
        (
            "PATCH",
            "/api/v1/users/{id}/toggle-active",
            Matrix([
                [200, 200, 422],
                [200, 404, 422],
                [404, 404, 422],
                [404, 404, 422],
            ]),
        ),
        // admins merge two people (never an admin); nobody else, whoever the target
        (
            "POST",
            "/api/v1/users/{id}/merge",
            Matrix([
                [200, 200, 403],
                [403, 403, 403],
                [403, 403, 403],
                [403, 403, 403],
            ]),
        ),
        (
            "POST",
            "/api/v1/users/{id}/sessions/revoke",
            Matrix([
                [204, 204, 204],
                [204, 404, 204],
                [404, 404, 204],
                [404, 404, 204],
            ]),
        ),
        (
            "DELETE",
            "/api/v1/users/{id}/mfa",
            // support's reset: never on oneself (422); managers and agents reach only
            // themselves
            Matrix([
                [204, 204, 422],
                [204, 404, 422],
                [404, 404, 422],
                [404, 404, 422],
            ]),
        ),
        (
            "POST",
            "/api/v1/invitations",
            Matrix([[201, 201, 0], [201, 404, 0], [403, 403, 0], [403, 403, 0]]),
        ),
        (
            "GET",
            "/api/v1/invitations",
            Matrix([[200, 200, 0], [200, 200, 0], [403, 403, 0], [403, 403, 0]]),
        ),
        (
            "DELETE",
            "/api/v1/invitations/{id}",
            Matrix([[204, 204, 0], [204, 404, 0], [403, 403, 0], [403, 403, 0]]),
        ),
        (
            "POST",
            "/api/v1/invitations/{id}/resend",
            Matrix([[200, 200, 0], [200, 404, 0], [403, 403, 0], [403, 403, 0]]),
        ),
        (
            "POST",
            "/api/v1/roles",
            Matrix([[201, 201, 0], [201, 404, 0], [403, 403, 0], [403, 403, 0]]),
        ),
        (
            "GET",
            "/api/v1/roles",
            Matrix([[200, 200, 0], [200, 200, 0], [200, 200, 0], [403, 403, 0]]),
        ),
        (
            "GET",
            "/api/v1/roles/{id}",
            Matrix([[200, 200, 0], [200, 404, 0], [200, 404, 0], [403, 403, 0]]),
        ),
        (
            "PATCH",
            "/api/v1/roles/{id}",
            Matrix([[200, 200, 0], [200, 404, 0], [403, 403, 0], [403, 403, 0]]),
        ),
        (
            "DELETE",
            "/api/v1/roles/{id}",
            Matrix([[204, 204, 0], [204, 404, 0], [403, 403, 0], [403, 403, 0]]),
        ),
        ("GET", "/api/v1/dealerships", Matrix([[200, 0, 0]; 4])),
        (
            "POST",
            "/api/v1/dealerships",
            Matrix([[201, 0, 0], [403, 0, 0], [403, 0, 0], [403, 0, 0]]),
        ),
        (
            "GET",
            "/api/v1/dealerships/{id}",
            Matrix([[200, 200, 0], [200, 404, 0], [200, 404, 0], [200, 404, 0]]),
        ),
        (
            "PATCH",
            "/api/v1/dealerships/{id}",
            Matrix([[200, 200, 0], [200, 404, 0], [403, 403, 0], [403, 403, 0]]),
        ),
        (
            "DELETE",
            "/api/v1/dealerships/{id}",
            Matrix([[204, 204, 0], [403, 403, 0], [403, 403, 0], [403, 403, 0]]),
        ),
        // dealer groups are the platform's to arrange: admins only (group members' own reach is
        // in dealer_groups.rs); Premium Group is not empty, so it is not deleted, and no member
        // is removed (the target is a dealership user, not a group member)
        ("GET", "/api/v1/dealer-groups", platform_only(200)),
        ("POST", "/api/v1/dealer-groups", platform_only(201)),
        ("GET", "/api/v1/dealer-groups/{id}", platform_only(200)),
        ("PATCH", "/api/v1/dealer-groups/{id}", platform_only(200)),
        ("DELETE", "/api/v1/dealer-groups/{id}", platform_only(409)),
        (
            "PUT",
            "/api/v1/dealer-groups/{id}/dealerships/{dealership_id}",
            platform_only(204),
        ),
        (
            "DELETE",
            "/api/v1/dealer-groups/{id}/dealerships/{dealership_id}",
            platform_only(204),
        ),
        (
            "GET",
            "/api/v1/dealer-groups/{id}/members",
            platform_only(200),
        ),
        (
            "POST",
            "/api/v1/dealer-groups/{id}/members",
            platform_only(201),
        ),
        (
            "DELETE",
            "/api/v1/dealer-groups/{id}/members/{member_id}",
            platform_only(404),
        ),
        // the OpenID client registry is the platform's too (oauth_clients.rs); a client is made
        // for each request, so a deletion leaves the next row one of its own
        ("GET", "/api/v1/oauth-clients", platform_only(200)),
        ("POST", "/api/v1/oauth-clients", platform_only(201)),
        ("GET", "/api/v1/oauth-clients/{id}", platform_only(200)),
        ("PATCH", "/api/v1/oauth-clients/{id}", platform_only(200)),
        ("DELETE", "/api/v1/oauth-clients/{id}", platform_only(204)),
        (
            "POST",
            "/api/v1/oauth-clients/{id}/secret",
            platform_only(200),
        ),
        // service accounts (service_accounts.rs): a principal's dealership's, an admin's any;
        // one of the other dealership is 404 to a principal, and a principal's new one cannot
        // be placed there (404)
        (
            "GET",
            "/api/v1/service-accounts",
            Matrix([[200, 0, 0], [200, 0, 0], [403, 0, 0], [403, 0, 0]]),
        ),
        (
            "POST",
            "/api/v1/service-accounts",
            Matrix([[201, 201, 0], [201, 404, 0], [403, 403, 0], [403, 403, 0]]),
        ),
        ("GET", "/api/v1/service-accounts/{id}", machine_row(200)),
        ("DELETE", "/api/v1/service-accounts/{id}", machine_row(204)),
        (
            "POST",
            "/api/v1/service-accounts/{id}/keys",
            machine_row(200),
        ),
        (
            "DELETE",
            "/api/v1/service-accounts/{id}/keys/{key_id}",
            machine_row(200),
        ),
        // webhooks: a principal's own dealership's, an admin's anywhere (webhooks.rs); a
        // fresh endpoint and event in each dealership for every row
        ("GET", "/api/v1/webhooks", webhooks(200, 200)),
        ("POST", "/api/v1/webhooks", webhooks(201, 404)),
        ("GET", "/api/v1/webhooks/{id}", webhooks(200, 404)),
        ("PATCH", "/api/v1/webhooks/{id}", webhooks(200, 404)),
        ("DELETE", "/api/v1/webhooks/{id}", webhooks(204, 404)),
        ("POST", "/api/v1/webhooks/{id}/secret", webhooks(200, 404)),
        (
            "GET",
            "/api/v1/webhooks/{id}/deliveries",
            webhooks(200, 404),
        ),
        (
            "POST",
            "/api/v1/webhooks/{id}/events/{event_id}/redeliver",
            webhooks(202, 404),
        ),
        (
            "GET",
            "/api/v1/audit-events",
            Matrix([[200, 0, 0], [200, 0, 0], [403, 0, 0], [403, 0, 0]]),
        ),
        // NDJSON: the answer is checked line by line like a list
        (
            "GET",
            "/api/v1/audit-events/export",
            Matrix([[200, 0, 0], [200, 0, 0], [403, 0, 0], [403, 0, 0]]),
        ),
        // who has access: principals their dealership's, admins the platform's
        ("GET", "/api/v1/access-review", reviewers(200)),
        ("GET", "/api/v1/access-review/completions", reviewers(200)),
        ("POST", "/api/v1/access-review/completions", reviewers(201)),
        ("GET", "/api/v1/mfa-coverage", reviewers(200)),
        (
            "GET",
            "/api/v1/admin/policies",
            Matrix([[200, 0, 0], [403, 0, 0], [403, 0, 0], [403, 0, 0]]),
        ),
        (
            "POST",
            "/api/v1/admin/policies/reload",
            Matrix([[200, 0, 0], [403, 0, 0], [403, 0, 0], [403, 0, 0]]),
        ),
    ]
}

/// A review of who has access: `admin` and principals get `status` (each for their reach),
/// managers and agents 403; only "own dealership" applies.
fn reviewers(status: u16) -> Kind {
    Kind::Matrix([[status, 0, 0], [status, 0, 0], [403, 0, 0], [403, 0, 0]])
}

/// A platform route: `admin` gets `status`, everyone else 403; only "own dealership" applies.
/// A principal's own dealership (`other`: what they get for the other one); admins anywhere;
/// managers and agents never.
fn webhooks(own: u16, other: u16) -> Kind {
    Kind::Matrix([[own, own, 0], [own, other, 0], [403, 403, 0], [403, 403, 0]])
}

fn platform_only(status: u16) -> Kind {
    Kind::Matrix([[status, 0, 0], [403, 0, 0], [403, 0, 0], [403, 0, 0]])
}

/// A service account by id: the admin's `status` in both dealerships, a principal's in their
/// own (404 in the other), nobody else's.
fn machine_row(status: u16) -> Kind {
    Kind::Matrix([
        [status, status, 0],
        [status, 404, 0],
        [403, 403, 0],
        [403, 403, 0],
    ])
}

/// Metro Motors' principal, manager and agent: the same rows, aimed the other way.
fn metro_callers() -> Vec<&'static DemoUser> {
    DEMO_USERS
        .iter()
        .filter(|d| d.dealership == Some(METRO_MOTORS))
        .collect()
}

/// A caller, the dealership they belong to (Premium Auto for the admin), the other one, and
/// the expectations they get (those of their role).
struct Seat {
    demo: &'static DemoUser,
    home: Uuid,
    other: Uuid,
    row: usize,
}

fn seats() -> Vec<Seat> {
    let row = |d: &DemoUser| {
        ["admin", "principal", "manager", "agent"]
            .iter()
            .position(|r| *r == d.role.as_str())
            .expect("a known role")
    };
    let pa = callers().into_iter().map(|demo| Seat {
        demo,
        home: PREMIUM_AUTO,
        other: METRO_MOTORS,
        row: row(demo),
    });
    let mm = metro_callers().into_iter().map(|demo| Seat {
        demo,
        home: METRO_MOTORS,
        other: PREMIUM_AUTO,
        row: row(demo),
    });
    let seats: Vec<Seat> = pa.chain(mm).collect();
    assert_eq!(
        seats.len(),
        7,
        "the admin and both dealerships' three roles"
    );
    seats
}

/// Targets made fresh for each request, so no request depends on another's effects.
struct Targets {
    home_user: Uuid,
    other_user: Uuid,
    home_invitation: Uuid,
    other_invitation: Uuid,
    home_role: Uuid,
    other_role: Uuid,
    /// A factor of `home_user` and of `other_user` (pending for the confirm route).
    home_factor: Uuid,
    other_factor: Uuid,
    spare_dealership: Uuid,
    other_spare_dealership: Uuid,
    /// A confidential OpenID client (for the registry's routes only; nil otherwise).
    client: Uuid,
    /// A service account of each dealership and a key of each (for their routes only).
    home_machine: (Uuid, Uuid),
    other_machine: (Uuid, Uuid),
    /// A webhook endpoint and one of its events in each dealership (webhook routes only).
    webhooks: [(Uuid, Uuid); 2],
}

/// A service account of `dealership` (an agent's role, made by its first user) and a key.
async fn fresh_machine(app: &TestApp, dealership: Uuid) -> (Uuid, Uuid) {
    let (id, key) = (Uuid::now_v7(), Uuid::new_v4());
    exec(
        &app.db.owner().await,
        &format!(
            "INSERT INTO service_accounts (id, dealership_id, name, role, created_by) \
             VALUES ('{id}', '{dealership}', 'Target', 'agent', gen_random_uuid()); \
             INSERT INTO service_account_keys (id, service_account_id, dealership_id, \
                 secret_hash, expires_at) \
             VALUES ('{key}', '{id}', '{dealership}', sha256('x'), now() + interval '1 day')"
        ),
    )
    .await;
    (id, key)
}

async fn fresh_user(app: &TestApp, dealership: Uuid) -> Uuid {
    let id = Uuid::now_v7();
    exec(
        &app.db.owner().await,
        &format!(
            "INSERT INTO users (id, dealership_id, email, password_hash, first_name, last_name, role) \
             SELECT '{id}', '{dealership}', '{id}@example.com', password_hash, 'Target', 'User', 'agent' \
             FROM users WHERE email = 'agent@premiumauto.com'"
        ),
    )
    .await;
    id
}

/// A pending invitation to be an agent of `dealership`.
async fn fresh_invitation(app: &TestApp, dealership: Uuid) -> Uuid {
    let id = Uuid::now_v7();
    exec(
        &app.db.owner().await,
        &format!(
            "INSERT INTO invitations (id, dealership_id, email, role, token_id, token_hash, expires_at) \
             VALUES ('{id}', '{dealership}', '{id}@example.com', 'agent', gen_random_uuid(), '\\x00', \
                     now() + interval '1 day')"
        ),
    )
    .await;
    id
}

/// A custom role of `dealership` that nobody holds, named `target-<id>`.
async fn fresh_role(app: &TestApp, dealership: Uuid) -> Uuid {
    let id = Uuid::now_v7();
    exec(
        &app.db.owner().await,
        &format!(
            "INSERT INTO custom_roles (id, dealership_id, name, base_role) \
             VALUES ('{id}', '{dealership}', 'target-{}', 'agent')",
            id.simple()
        ),
    )
    .await;
    id
}

/// A TOTP factor of `user` in `dealership` (whose sealed secret no key opens), confirmed or
/// pending.
async fn fresh_factor(app: &TestApp, user: Uuid, dealership: Uuid, confirmed: bool) -> Uuid {
    let id = Uuid::now_v7();
    let confirmed_at = if confirmed { "now()" } else { "NULL" };
    exec(
        &app.db.owner().await,
        &format!(
            "INSERT INTO mfa_factors (id, person_id, kind, secret_sealed, confirmed_at) \
             VALUES ('{id}', (SELECT person_id FROM users WHERE id = '{user}' AND dealership_id = '{dealership}'), 'totp', '\\x00', {confirmed_at})"
        ),
    )
    .await;
    id
}

async fn fresh_client(app: &TestApp) -> Uuid {
    let id = Uuid::now_v7();
    exec(
        &app.db.owner().await,
        &format!(
            "INSERT INTO oauth_clients (id, name, confidential, redirect_uris, scopes) \
             VALUES ('{id}', 'Target', true, '{{https://target.example.com/cb}}', '{{openid}}')"
        ),
    )
    .await;
    id
}

/// An endpoint of `dealership` with one numbered event. The test server's sender is off
/// (tests/api/helpers), and its sealed secret opens with no key: nothing is ever sent.
async fn fresh_webhook(app: &TestApp, dealership: Uuid) -> (Uuid, Uuid) {
    let (id, event) = (Uuid::now_v7(), Uuid::now_v7());
    exec(
        &app.db.owner().await,
        &format!(
            "INSERT INTO webhook_endpoints (id, dealership_id, url, event_types, secret_sealed) \
             VALUES ('{id}', '{dealership}', 'https://hooks.example.com/in', '{{user.created}}', '\\x00'); \
             INSERT INTO webhook_events (id, endpoint_id, dealership_id, event_type, \
                 audit_event_id, payload, sequence, committed_at) \
             VALUES ('{event}', '{id}', '{dealership}', 'user.created', gen_random_uuid(), '{{}}', 1, now())"
        ),
    )
    .await;
    (id, event)
}

async fn fresh_dealership(app: &TestApp) -> Uuid {
    let id = Uuid::now_v7();
    exec(
        &app.db.owner().await,
        &format!("INSERT INTO dealerships (id, name) VALUES ('{id}', 'Spare {id}')"),
    )
    .await;
    id
}

/// A signed-in stand-in for the seat's demo user: the same role, dealership and password, a
/// fresh address. The rows that close the caller's account run as one, so the demo user (and
/// every row after it) lives on, and the demo principal or admin is still there: the stand-in
/// is never the last one and may go.
async fn stand_in(app: &TestApp, seat: &Seat) -> String {
    let id = Uuid::now_v7();
    let email = format!("stand-in-{id}@example.com");
    exec(
        &app.db.owner().await,
        &format!(
            "INSERT INTO users (id, dealership_id, email, password_hash, first_name, last_name, role) \
             SELECT '{id}', dealership_id, '{email}', password_hash, 'Stand', 'In', role \
             FROM users WHERE email = '{}' ORDER BY created_at LIMIT 1",
            seat.demo.email
        ),
    )
    .await;
    email
}

/// Fresh targets for a row of `template`; custom roles only for the roles routes (a dealership
/// keeps at most 100).
async fn targets(app: &TestApp, seat: &Seat, template: &str) -> Targets {
    let roles = template.starts_with("/api/v1/roles");
    let machines = template.starts_with("/api/v1/service-accounts");
    let role = |dealership| async move {
        match roles {
            true => fresh_role(app, dealership).await,
            false => Uuid::nil(),
        }
    };
    let (home_user, other_user) = (
        fresh_user(app, seat.home).await,
        fresh_user(app, seat.other).await,
    );
    let factors = template.contains("mfa");
    let confirmed = !template.ends_with("/confirm");
    let factor = |user, dealership| async move {
        match factors {
            true => fresh_factor(app, user, dealership, confirmed).await,
            false => Uuid::nil(),
        }
    };
    Targets {
        home_user,
        other_user,
        home_factor: factor(home_user, seat.home).await,
        other_factor: factor(other_user, seat.other).await,
        home_invitation: fresh_invitation(app, seat.home).await,
        other_invitation: fresh_invitation(app, seat.other).await,
        home_role: role(seat.home).await,
        other_role: role(seat.other).await,
        spare_dealership: fresh_dealership(app).await,
        other_spare_dealership: fresh_dealership(app).await,
        client: match template.starts_with("/api/v1/oauth-clients/") {
            true => fresh_client(app).await,
            false => Uuid::nil(),
        },
        home_machine: match machines {
            true => fresh_machine(app, seat.home).await,
            false => (Uuid::nil(), Uuid::nil()),
        },
        other_machine: match machines {
            true => fresh_machine(app, seat.other).await,
            false => (Uuid::nil(), Uuid::nil()),
        },
        webhooks: match template.starts_with("/api/v1/webhooks") {
            true => [
                fresh_webhook(app, seat.home).await,
                fresh_webhook(app, seat.other).await,
            ],
            false => [(Uuid::nil(), Uuid::nil()); 2],
        },
    }
}

/// Who is asking: a demo user, signed in.
struct Caller<'a> {
    seat: &'a Seat,
    id: Uuid,
    token: String,
}

/// The concrete request for `target` (0: own dealership, 1: other, 2: own record).
async fn request(
    app: &TestApp,
    method: &str,
    template: &str,
    caller: &Caller<'_>,
    t: &Targets,
    target: usize,
) -> (String, Option<Value>) {
    let (me, token, seat) = (caller.id, caller.token.as_str(), caller.seat);
    let admin = seat.demo.role == Role::Admin;
    let user_id = [t.home_user, t.other_user, me][target];
    let invitation_id = [t.home_invitation, t.other_invitation, t.home_invitation][target];
    let role_id = [t.home_role, t.other_role, t.home_role][target];
    let factor_id = [t.home_factor, t.other_factor, t.home_factor][target];
    let dealership_id = match (admin, template.starts_with("/api/v1/dealerships/"), method) {
        (true, true, "DELETE") => [t.spare_dealership, t.other_spare_dealership, me][target],
        _ => [seat.home, seat.other, seat.home][target],
    };
    let (spare, client) = (t.spare_dealership, t.client);
    let t_machines = (t.home_machine, t.other_machine);
    let path = match template {
        "/api/v1/auth/sessions/{id}" => {
            // a session of someone else in the caller's dealership, or in the other one
            let owner = match target {
                2 => None,
                _ => DEMO_USERS.iter().find(|d| {
                    d.dealership == Some([seat.home, seat.other][target])
                        && d.email != seat.demo.email
                }),
            };
            let owner_token = match owner {
                None => token.to_owned(),
                Some(d) => app.login_ok(d.email, d.password).await.access,
            };
            let sessions: Vec<Value> = app
                .get_as("/api/v1/auth/sessions", &owner_token)
                .await
                .json()
                .await
                .unwrap();
            let sid = sessions.iter().find(|s| s["current"] == true).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned();
            template.replace("{id}", &sid)
        }
        "/api/v1/auth/consents/{client_id}" => template.replace("{client_id}", &client.to_string()),
        t if t.starts_with("/api/v1/users/{id}") => template.replace("{id}", &user_id.to_string()),
        "/api/v1/auth/memberships/{dealership_id}" => template.replace(
            "{dealership_id}",
            &[seat.home, seat.other][target].to_string(),
        ),
        t if t.starts_with("/api/v1/auth/mfa/totp/{id}") => {
            template.replace("{id}", &factor_id.to_string())
        }
        t if t.starts_with("/api/v1/invitations/{id}") => {
            template.replace("{id}", &invitation_id.to_string())
        }
        t if t.starts_with("/api/v1/roles/{id}") => template.replace("{id}", &role_id.to_string()),
        t if t.starts_with("/api/v1/dealerships/{id}") => {
            template.replace("{id}", &dealership_id.to_string())
        }
        t if t.starts_with("/api/v1/oauth-clients/{id}") => {
            template.replace("{id}", &client.to_string())
        }
        t if t.starts_with("/api/v1/service-accounts/{id}") => {
            let (id, key) = [t_machines.0, t_machines.1, t_machines.0][target];
            template
                .replace("{id}", &id.to_string())
                .replace("{key_id}", &key.to_string())
        }
        w if w.starts_with("/api/v1/webhooks/{id}") => {
            let (webhook, event) = t.webhooks[target.min(1)];
            template
                .replace("{id}", &webhook.to_string())
                .replace("{event_id}", &event.to_string())
        }
        t if t.starts_with("/api/v1/dealer-groups/{id}") => template
            .replace("{id}", &PREMIUM_GROUP.to_string())
            .replace("{dealership_id}", &spare.to_string())
            .replace("{member_id}", &user_id.to_string()),
        "/api/v1/users" | "/api/v1/users/count" | "/api/v1/invitations" | "/api/v1/roles"
            if method == "GET" && target == 1 =>
        {
            format!("{template}?dealership_id={}", seat.other)
        }
        other => other.to_owned(),
    };
    let body = match (method, template) {
        ("PATCH", "/api/v1/auth/me") => Some(json!({"first_name": "Matrix"})),
        ("DELETE", "/api/v1/auth/me") => Some(json!({"current_password": seat.demo.password})),
        ("POST", "/api/v1/auth/password") => Some(
            json!({"current_password": seat.demo.password, "new_password": seat.demo.password}),
        ),
        ("POST", "/api/v1/auth/email") => Some(json!({
            "new_email": format!("{}@example.com", Uuid::now_v7()),
            "current_password": seat.demo.password,
        })),
        ("POST", "/api/v1/users") => Some(json!({
            "email": format!("{}@example.com", Uuid::now_v7()), "password": "a fine passphrase",
            "first_name": "New", "last_name": "Hire", "role": "agent",
            "dealership_id": ([seat.home, seat.other, seat.home][target]),
        })),
        ("PATCH", "/api/v1/users/{id}") => Some(json!({"first_name": "Edited"})),
        // the other target's person merges into this one's
        ("POST", "/api/v1/users/{id}/merge") => Some(json!({
            "from": ([t.other_user, t.home_user, t.other_user][target]),
        })),
        ("POST", "/api/v1/auth/switch") => Some(json!({
            "dealership_id": ([seat.home, seat.other, seat.home][target]),
        })),
        ("POST", "/api/v1/auth/mfa/totp") => Some(json!({"current_password": seat.demo.password})),
        ("POST", "/api/v1/auth/mfa/totp/{id}/confirm") | ("POST", "/api/v1/auth/mfa/step-up") => {
            Some(json!({"code": "123456"}))
        }
        ("DELETE", "/api/v1/auth/mfa/totp/{id}") | ("POST", "/api/v1/auth/mfa/recovery-codes") => {
            Some(json!({"current_password": seat.demo.password, "code": "123456"}))
        }
        ("POST", "/api/v1/invitations") => Some(json!({
            "email": format!("{}@example.com", Uuid::now_v7()), "role": "agent",
            "dealership_id": ([seat.home, seat.other, seat.home][target]),
        })),
        ("POST", "/api/v1/roles") => Some(json!({
            "name": format!("new-{}", Uuid::now_v7().simple()), "base_role": "agent",
            "permissions": [{"resource": "users", "action": "list", "scope": "dealership"}],
            "dealership_id": ([seat.home, seat.other, seat.home][target]),
        })),
        ("PATCH", "/api/v1/roles/{id}") => Some(json!({
            "name": format!("renamed-{}", Uuid::now_v7().simple()),
        })),
        ("POST", "/api/v1/dealerships") => Some(json!({"name": format!("New {}", Uuid::now_v7())})),
        ("POST", "/api/v1/dealer-groups") => {
            Some(json!({"name": format!("Group {}", Uuid::now_v7())}))
        }
        ("PATCH", "/api/v1/dealer-groups/{id}") => Some(json!({"name": "Premium Group"})),
        ("POST", "/api/v1/oauth-clients") => Some(json!({
            "name": "Matrix", "confidential": false, "scopes": ["openid"],
            "redirect_uris": ["https://matrix.example.com/cb"],
        })),
        ("PATCH", "/api/v1/oauth-clients/{id}") => Some(json!({"name": "Matrix"})),
        ("POST", "/api/v1/service-accounts") => Some(json!({
            "name": "Matrix", "role": "agent",
            "dealership_id": ([seat.home, seat.other, seat.home][target]),
        })),
        ("POST", "/api/v1/webhooks") => Some(json!({
            "url": "https://hooks.example.com/matrix", "event_types": ["user.created"],
            "dealership_id": ([seat.home, seat.other, seat.home][target]),
        })),
        ("PATCH", "/api/v1/webhooks/{id}") => Some(json!({"description": "Matrix"})),
        ("POST", "/api/v1/access-review/completions") => {
            Some(json!({"export_sha256": "ab".repeat(32), "note": "matrix"}))
        }
        ("POST", "/api/v1/dealer-groups/{id}/members") => {
            Some(json!({"user_id": user_id, "role": "group_manager"}))
        }
        // an address of its own for each request, so every write that lands can be told apart
        ("PATCH", "/api/v1/dealerships/{id}") => Some(json!({
            "address": format!("{} Matrix Road ({} of {})", Uuid::now_v7(), seat.demo.role, seat.home),
        })),
        _ => None,
    };
    (path, body)
}

/// What a non-admin may see in a successful answer: nothing of another dealership.
fn assert_no_foreign_rows(template: &str, home: Uuid, body: &Value) {
    let foreign = |item: &Value| {
        let of = |key: &str| item[key].as_str().and_then(|s| s.parse::<Uuid>().ok());
        match template {
            "/api/v1/dealerships" => of("id") != Some(home),
            _ => of("dealership_id") != Some(home),
        }
    };
    if let Some(items) = body.as_array()
        && matches!(
            template,
            "/api/v1/users"
                | "/api/v1/dealerships"
                | "/api/v1/audit-events"
                | "/api/v1/audit-events/export"
                | "/api/v1/invitations"
                | "/api/v1/roles"
                | "/api/v1/service-accounts"
                | "/api/v1/webhooks"
                | "/api/v1/access-review"
        )
    {
        // the export hands out events once every transaction below them has ended, which any
        // database of the cluster may hold back a moment (audit_export.rs waits for them)
        assert!(
            !items.is_empty() || template.ends_with("/export"),
            "{template}: the caller's own rows are listed"
        );
        assert!(
            !items.iter().any(foreign),
            "{template} leaked another dealership: {body}"
        );
    }
}

/// The live users a count or list answered for `target` must number: every user for the
/// admin without a filter, the other dealership's for the admin with it, and the caller's own
/// dealership's for everyone else, whatever they asked for.
async fn visible_users(app: &TestApp, seat: &Seat, target: usize) -> u64 {
    let condition = match (seat.demo.role == Role::Admin, target) {
        (true, 0) => "true".to_owned(),
        (true, _) => format!("dealership_id = '{}'", seat.other),
        (false, _) => format!("dealership_id = '{}'", seat.home),
    };
    let n = count(
        &app.db.owner().await,
        &format!("SELECT count(*) AS n FROM users WHERE deleted_at IS NULL AND {condition}"),
    )
    .await;
    u64::try_from(n).expect("a count")
}

async fn address_of(app: &TestApp, dealership: &str) -> Option<String> {
    app.db
        .owner()
        .await
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT address FROM dealerships WHERE id::text = $1",
            [dealership.into()],
        ))
        .await
        .unwrap()
        .and_then(|row| row.try_get::<Option<String>>("", "address").unwrap())
}

/// The routes of the OpenAPI document, each with whether it asks for a token.
async fn documented_routes(app: &TestApp) -> BTreeMap<(String, String), bool> {
    let spec: Value = app.get("/openapi.json").await.json().await.unwrap();
    spec["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object().unwrap().iter().map(move |(m, op)| {
                let protected = op["security"].as_array().is_some_and(|s| !s.is_empty());
                ((m.to_uppercase(), path.clone()), protected)
            })
        })
        .collect()
}

#[tokio::test]
async fn every_route_every_role_every_tenant_gets_its_status_and_nothing_crosses_tenants() {
    let app = spawn_app().await;
    let routes: BTreeSet<(String, String)> = documented_routes(&app).await.into_keys().collect();
    let table = table();
    let listed: BTreeSet<(String, String)> = table
        .iter()
        .map(|(m, p, _)| (m.to_string(), p.to_string()))
        .collect();
    let missing: Vec<_> = routes.difference(&listed).collect();
    assert!(
        missing.is_empty(),
        "routes without a row in the isolation matrix: {missing:?}"
    );
    let stale: Vec<_> = listed.difference(&routes).collect();
    assert!(
        stale.is_empty(),
        "rows for routes that do not exist: {stale:?}"
    );

    let seats = seats();
    let mut rows = 0;
    let mut failures = Vec::new();
    // users of the other dealership that only non-admins aimed at
    let mut untouchable = Vec::new();
    // and their custom roles and second factors
    let mut untouchable_roles = Vec::new();
    let mut untouchable_factors = Vec::new();
    // the last address written to each dealership through a PATCH that succeeded
    let mut addresses: BTreeMap<String, String> = BTreeMap::new();
    for (method, template, kind) in &table {
        let Kind::Matrix(expect) = kind else { continue };
        for seat in &seats {
            let expected = expect[seat.row];
            for (target, want) in expected.iter().enumerate().filter(|(_, w)| **w != 0) {
                let t = targets(&app, seat, template).await;
                let email = match (*method, *template) {
                    ("DELETE", "/api/v1/auth/me") => stand_in(&app, seat).await,
                    _ => seat.demo.email.to_owned(),
                };
                let tokens = app.login_ok(&email, seat.demo.password).await;
                let me = Caller {
                    seat,
                    id: tokens.body["user"]["id"].as_str().unwrap().parse().unwrap(),
                    token: tokens.access.clone(),
                };
                let (path, body) = request(&app, method, template, &me, &t, target).await;
                let dealership = path
                    .strip_prefix("/api/v1/dealerships/")
                    .filter(|_| *method == "PATCH")
                    .map(str::to_owned);
                let before = match &dealership {
                    Some(d) => address_of(&app, d).await,
                    None => None,
                };
                let mut req = app.as_user(
                    Method::from_bytes(method.as_bytes()).unwrap(),
                    &path,
                    &tokens.access,
                );
                if let Some(body) = &body {
                    req = req.json(body);
                }
                let resp = req.send().await.unwrap();
                let status = resp.status().as_u16();
                let total = resp
                    .headers()
                    .get("x-total-count")
                    .map(|v| v.to_str().unwrap().parse::<u64>().unwrap());
                let text = resp.text().await.unwrap();
                rows += 1;
                let role = seat.demo.role;
                let who = format!(
                    "{method} {path} as {role} of {} (target {target})",
                    seat.home
                );
                if status != *want {
                    failures.push(format!("{who}: {status}, want {want}: {text}"));
                    continue;
                }
                let answer = if template.ends_with("/export") && status == 200 {
                    let lines = text.lines().filter_map(|l| serde_json::from_str(l).ok());
                    Some(Value::Array(lines.collect()))
                } else {
                    serde_json::from_str::<Value>(&text).ok()
                };
                // a count or a list counts exactly what the caller may see
                if status == 200 && matches!(*template, "/api/v1/users/count" | "/api/v1/users") {
                    let visible = visible_users(&app, seat, target).await;
                    let counted = match *template {
                        "/api/v1/users/count" => answer.as_ref().and_then(|a| a["count"].as_u64()),
                        _ => total,
                    };
                    if counted != Some(visible) {
                        failures.push(format!("{who}: counted {counted:?}, {visible} visible"));
                    }
                }
                if let Some(d) = &dealership {
                    let after = address_of(&app, d).await;
                    let sent = body.as_ref().and_then(|b| b["address"].as_str());
                    if status == 200 {
                        if after.as_deref() != sent {
                            failures.push(format!("{who}: stored {after:?}, sent {sent:?}"));
                        }
                        addresses.insert(d.clone(), sent.unwrap_or_default().to_owned());
                    } else if after != before {
                        failures.push(format!(
                            "{who}: refused with {status} but the address changed from {before:?} to {after:?}"
                        ));
                    }
                }
                if role == Role::Admin {
                    if let (Some(a), 1, "/api/v1/users") = (&answer, target, *template) {
                        assert_no_foreign_rows(template, seat.other, a);
                    }
                } else {
                    if let Some(a) = &answer {
                        assert_no_foreign_rows(template, seat.home, a);
                    }
                    untouchable.push(t.other_user);
                    if !t.other_role.is_nil() {
                        untouchable_roles.push(t.other_role);
                    }
                    if !t.other_factor.is_nil() {
                        untouchable_factors.push(t.other_factor);
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {rows} rows failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(rows >= 280, "the matrix has {rows} rows");

    // no write by a dealership's user reached the other dealership
    let owner = app.db.owner().await;
    let ids = untouchable
        .iter()
        .map(|id| format!("'{id}'"))
        .collect::<Vec<_>>()
        .join(",");
    let changed = count(
        &owner,
        &format!(
            "SELECT count(*) AS n FROM users WHERE id IN ({ids}) \
             AND (updated_at <> created_at OR deleted_at IS NOT NULL OR NOT is_active OR first_name <> 'Target')"
        ),
    )
    .await;
    assert_eq!(
        changed, 0,
        "users of one dealership changed by the other's callers"
    );
    let roles = untouchable_roles
        .iter()
        .map(|id| format!("'{id}'"))
        .collect::<Vec<_>>()
        .join(",");
    let intact = count(
        &owner,
        &format!(
            "SELECT count(*) AS n FROM custom_roles WHERE id IN ({roles}) \
             AND name = 'target-' || replace(id::text, '-', '') AND updated_at = created_at"
        ),
    )
    .await;
    assert_eq!(
        intact,
        untouchable_roles.len() as i64,
        "custom roles of one dealership changed or deleted by the other's callers"
    );
    let factors = untouchable_factors
        .iter()
        .map(|id| format!("'{id}'"))
        .collect::<Vec<_>>()
        .join(",");
    let kept = count(
        &owner,
        &format!("SELECT count(*) AS n FROM mfa_factors WHERE id IN ({factors})"),
    )
    .await;
    assert_eq!(
        kept,
        untouchable_factors.len() as i64,
        "second factors of one dealership removed by the other's callers"
    );
    for home in [PREMIUM_AUTO, METRO_MOTORS] {
        let foreign_events = count(
            &owner,
            &format!(
                "SELECT count(*) AS n FROM audit_events e JOIN users u ON u.id = e.actor_id \
                 WHERE u.dealership_id = '{home}' AND e.dealership_id IS DISTINCT FROM '{home}'"
            ),
        )
        .await;
        assert_eq!(
            foreign_events, 0,
            "a change by a user of {home} landed outside it"
        );
    }
    let metro = count(&owner, &format!("SELECT count(*) AS n FROM dealerships WHERE id = '{METRO_MOTORS}' AND address LIKE '%Matrix%'")).await;
    assert_eq!(metro, 1, "only the admin's edit reached Metro Motors");
    for (dealership, address) in &addresses {
        assert_eq!(
            address_of(&app, dealership).await.as_deref(),
            Some(address.as_str()),
            "{dealership} holds the last address written by a permitted PATCH"
        );
    }
    assert!(
        addresses.contains_key(&METRO_MOTORS.to_string())
            && addresses.contains_key(&PREMIUM_AUTO.to_string()),
        "both dealerships were edited by someone allowed to: {addresses:?}"
    );
}

#[tokio::test]
async fn every_protected_route_refuses_a_caller_without_a_token_with_401() {
    let app = spawn_app().await;
    let routes = documented_routes(&app).await;
    // the document and the matrix agree on which routes need a token
    for (method, template, kind) in table() {
        let protected = *routes
            .get(&(method.to_owned(), template.to_owned()))
            .unwrap_or_else(|| panic!("{method} {template} is not in the document"));
        assert_eq!(
            protected,
            matches!(kind, Kind::Matrix(_)),
            "{method} {template}: the document says protected = {protected}"
        );
    }
    let mut swept = 0;
    for ((method, template), protected) in &routes {
        if !protected {
            continue;
        }
        let path = template.replace("{id}", &Uuid::now_v7().to_string());
        let mut req = app.client.request(
            Method::from_bytes(method.as_bytes()).unwrap(),
            app.url(&path),
        );
        if matches!(method.as_str(), "POST" | "PATCH") {
            req = req.json(&json!({}));
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 401, "{method} {path} without a token");
        let error = error_of(resp, 401).await;
        assert_eq!(error["type"], "unauthenticated", "{method} {path}: {error}");
        swept += 1;
    }
    assert!(swept >= 20, "{swept} protected routes swept");
}
