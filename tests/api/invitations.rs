//! Invitations: staff invite an address into a dealership with a role (at most their own rank,
//! only into their own dealership unless admin); the mailed link signs up once, even for ten
//! requests at once; not after expiry, revocation or a resend, not into a suspended
//! dealership, not while the address belongs to a live user. Tenants never see each other's.

use std::time::Duration;

use dealergate::testing::Scope;
use futures_util::future::join_all;
use reqwest::Method;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::helpers::{
    ADMIN, END_PA_MANAGER_NORTH, METRO_MOTORS, MM_PRINCIPAL, PA_AGENT, PA_MANAGER, PA_PRINCIPAL,
    PREMIUM_AUTO, TestApp, TestDb, count, error_of, exec,
    smtp::{SmtpServer, mailing_app},
};

const INVITATIONS: &str = "/api/v1/invitations";
const SIGNUP: &str = "/api/v1/auth/signup";
const INVITEE: &str = "nora.new@premiumauto.com";
const PASSWORD: &str = "a long enough passphrase";

struct Mailbox {
    app: TestApp,
    smtp: SmtpServer,
}

async fn spawn() -> Mailbox {
    let (app, smtp) = mailing_app(|_| {}).await;
    Mailbox { app, smtp }
}

impl Mailbox {
    async fn token_of(&self, email: &str) -> String {
        self.app.login_ok(email, password_of(email)).await.access
    }

    async fn invite(&self, as_email: &str, body: Value) -> reqwest::Response {
        let token = self.token_of(as_email).await;
        self.app
            .send_as(Method::POST, INVITATIONS, &token, body)
            .await
    }

    /// `as_email` invites `body`; the created invitation and the token of its `nth` message.
    async fn invited(&self, as_email: &str, body: Value, nth: usize) -> (Value, String) {
        let resp = self.invite(as_email, body.clone()).await;
        assert_eq!(resp.status(), 201, "{body}");
        let created: Value = resp.json().await.unwrap();
        let to = created["email"].as_str().unwrap();
        let mails = self.smtp.wait_for(to, nth, Duration::from_secs(10)).await;
        (created, mails[nth - 1].token())
    }

    async fn signup(&self, token: &str) -> reqwest::Response {
        self.app
            .post_json(
                SIGNUP,
                json!({"invitation_token": token, "password": PASSWORD,
                       "first_name": "Nora", "last_name": "Newman"}),
            )
            .await
    }
}

fn password_of(email: &str) -> &'static str {
    crate::helpers::DEMO_USERS
        .iter()
        .find(|d| d.email == email)
        .map(|d| d.password)
        .or((email == ADMIN.email).then_some(ADMIN.password))
        .expect("a demo user")
}

fn agent_invitation() -> Value {
    json!({"email": INVITEE, "role": "agent", "first_name": "Nora"})
}

#[tokio::test]
async fn a_principal_invites_and_the_invitee_signs_up_once_into_that_dealership_and_role() {
    let mailbox = spawn().await;
    let app = &mailbox.app;
    let (created, token) = mailbox
        .invited(PA_PRINCIPAL.email, agent_invitation(), 1)
        .await;
    assert_eq!(created["status"], "pending");
    assert_eq!(created["dealership_id"], PREMIUM_AUTO.to_string());
    assert!(created.get("token").is_none(), "the token is only mailed");
    let mail = &mailbox
        .smtp
        .wait_for(INVITEE, 1, Duration::from_secs(10))
        .await[0];
    assert_eq!(
        mail.header("Subject").as_deref(),
        Some("You are invited to join Premium Auto")
    );
    assert!(
        mail.text()
            .contains("https://app.example.test/console/accept-invitation?token=")
    );

    let resp = mailbox.signup(&token).await;
    assert_eq!(resp.status(), 201);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let body: Value = resp.json().await.unwrap();
    let user = &body["user"];
    assert_eq!(
        (user["email"].as_str(), user["role"].as_str()),
        (Some(INVITEE), Some("agent"))
    );
    assert_eq!(user["dealership_id"], PREMIUM_AUTO.to_string());
    assert_eq!(user["email_verified"], true);
    assert_eq!(user["first_name"], "Nora");
    let me = app
        .get_as("/api/v1/auth/me", body["access_token"].as_str().unwrap())
        .await;
    assert_eq!(me.status(), 200);
    app.login_ok(INVITEE, PASSWORD).await;

    let again = error_of(mailbox.signup(&token).await, 422).await;
    assert_eq!(again["details"][0]["field"], "invitation_token");
    let principal = mailbox.token_of(PA_PRINCIPAL.email).await;
    let listed: Vec<Value> = app
        .get_as(&format!("{INVITATIONS}?status=accepted"), &principal)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["accepted_user_id"], user["id"]);
    let owner = app.db.owner().await;
    let invitation = created["id"].as_str().unwrap();
    let user_id = user["id"].as_str().unwrap();
    for (action, target, actor) in [
        (
            "invitation.created",
            invitation,
            PA_PRINCIPAL.id.to_string(),
        ),
        ("invitation.accepted", invitation, user_id.to_owned()),
        ("user.created", user_id, user_id.to_owned()),
    ] {
        let audited = format!("SELECT count(*) AS n FROM audit_events WHERE action = '{action}'");
        assert_eq!(count(&owner, &audited).await, 1, "{action}");
        let exact = format!(
            "SELECT count(*) AS n FROM audit_events WHERE action = '{action}' \
             AND target_id = '{target}' AND actor_id = '{actor}' \
             AND dealership_id = '{PREMIUM_AUTO}'"
        );
        assert_eq!(
            count(&owner, &exact).await,
            1,
            "{action} of {target} by {actor}"
        );
    }
}

#[tokio::test]
async fn ten_simultaneous_signups_with_one_token_give_exactly_one_201() {
    let mailbox = spawn().await;
    let (_, token) = mailbox
        .invited(PA_PRINCIPAL.email, agent_invitation(), 1)
        .await;
    let answers = join_all((0..10).map(|_| mailbox.signup(&token))).await;
    let statuses: Vec<u16> = answers.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    // the others found the invitation taken (422), or were past the per-invitation limit (429)
    assert!(
        statuses.iter().all(|s| [201, 422, 429].contains(s)),
        "{statuses:?}"
    );
    let owner = mailbox.app.db.owner().await;
    let users = format!("SELECT count(*) AS n FROM users WHERE email = '{INVITEE}'");
    assert_eq!(count(&owner, &users).await, 1);
}

#[tokio::test]
async fn expiry_revocation_and_a_resend_each_end_a_link() {
    let mailbox = spawn().await;
    let app = &mailbox.app;
    let owner = app.db.owner().await;
    let principal = mailbox.token_of(PA_PRINCIPAL.email).await;

    let (created, first) = mailbox
        .invited(PA_PRINCIPAL.email, agent_invitation(), 1)
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    exec(
        &owner,
        "UPDATE invitations SET expires_at = now() - interval '1 second'",
    )
    .await;
    error_of(mailbox.signup(&first).await, 422).await;
    let expired: Vec<Value> = app
        .get_as(&format!("{INVITATIONS}?status=expired"), &principal)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(expired.len(), 1);

    let resend = format!("{INVITATIONS}/{id}/resend");
    let resent = app.post_as(&resend, &principal).await;
    assert_eq!(resent.status(), 200);
    assert_eq!(resent.json::<Value>().await.unwrap()["status"], "pending");
    let second = mailbox
        .smtp
        .wait_for(INVITEE, 2, Duration::from_secs(10))
        .await[1]
        .token();
    let third = {
        assert_eq!(app.post_as(&resend, &principal).await.status(), 200);
        mailbox
            .smtp
            .wait_for(INVITEE, 3, Duration::from_secs(10))
            .await[2]
            .token()
    };
    error_of(mailbox.signup(&second).await, 422).await;

    let revoke = app
        .as_user(Method::DELETE, &format!("{INVITATIONS}/{id}"), &principal)
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), 204);
    error_of(mailbox.signup(&third).await, 422).await;
    let twice = app
        .as_user(Method::DELETE, &format!("{INVITATIONS}/{id}"), &principal)
        .send()
        .await
        .unwrap();
    error_of(twice, 409).await;
    error_of(app.post_as(&resend, &principal).await, 409).await;
    let users = format!("SELECT count(*) AS n FROM users WHERE email = '{INVITEE}'");
    assert_eq!(count(&owner, &users).await, 0);
}

#[tokio::test]
async fn escalation_attempts_are_refused_and_change_nothing() {
    let mailbox = spawn().await;
    let app = &mailbox.app;
    let owner = app.db.owner().await;
    let invitations = "SELECT count(*) AS n FROM invitations";
    for (caller, body, status) in [
        // a principal inviting an admin, or above their dealership
        (
            PA_PRINCIPAL.email,
            json!({"email": INVITEE, "role": "admin"}),
            403,
        ),
        (
            PA_PRINCIPAL.email,
            json!({"email": INVITEE, "role": "agent", "dealership_id": METRO_MOTORS}),
            404,
        ),
        // managers and agents invite nobody
        (PA_MANAGER.email, agent_invitation(), 403),
        (PA_AGENT.email, agent_invitation(), 403),
    ] {
        let resp = mailbox.invite(caller, body.clone()).await;
        error_of(resp, status).await;
        assert_eq!(count(&owner, invitations).await, 0, "{caller} {body}");
    }
    // up to their own rank, into their own dealership: allowed
    let (peer, _) = mailbox
        .invited(
            PA_PRINCIPAL.email,
            json!({"email": INVITEE, "role": "principal"}),
            1,
        )
        .await;
    assert_eq!(peer["role"], "principal");

    // another dealership's invitation is invisible: not listed, not revoked, not resent
    let (theirs, _) = mailbox
        .invited(
            ADMIN.email,
            json!({"email": "metro.hire@metromotors.com", "role": "agent",
                   "dealership_id": METRO_MOTORS}),
            1,
        )
        .await;
    let principal = mailbox.token_of(PA_PRINCIPAL.email).await;
    let listed: Vec<Value> = app
        .get_as(
            &format!("{INVITATIONS}?dealership_id={METRO_MOTORS}"),
            &principal,
        )
        .await
        .json()
        .await
        .unwrap();
    // asking for another dealership's shows only their own: the peer's invitation
    assert!(
        !listed.is_empty(),
        "the principal's own invitation is listed"
    );
    assert!(
        listed
            .iter()
            .all(|i| i["dealership_id"] == PREMIUM_AUTO.to_string()),
        "{listed:?}"
    );
    let ids: Vec<_> = listed.iter().map(|i| &i["id"]).collect();
    assert_eq!(ids, [&peer["id"]]);
    let id = theirs["id"].as_str().unwrap();
    let revoke = app
        .as_user(Method::DELETE, &format!("{INVITATIONS}/{id}"), &principal)
        .send()
        .await
        .unwrap();
    error_of(revoke, 404).await;
    error_of(
        app.post_as(&format!("{INVITATIONS}/{id}/resend"), &principal)
            .await,
        404,
    )
    .await;
    let metro = mailbox.token_of(MM_PRINCIPAL.email).await;
    let metro_listed: Vec<Value> = app.get_as(INVITATIONS, &metro).await.json().await.unwrap();
    assert_eq!(metro_listed.len(), 1, "Metro Motors sees its own only");
    assert_eq!(metro_listed[0]["id"], theirs["id"]);
}

#[tokio::test]
async fn a_taken_address_is_409_until_its_user_is_deleted_and_a_suspended_dealership_422() {
    let mailbox = spawn().await;
    let app = &mailbox.app;
    let owner = app.db.owner().await;
    let (_, token) = mailbox
        .invited(
            ADMIN.email,
            json!({"email": PA_MANAGER.email, "role": "agent", "dealership_id": METRO_MOTORS}),
            1,
        )
        .await;
    let taken = error_of(mailbox.signup(&token).await, 409).await;
    assert_eq!(taken["type"], "conflict");
    let principal = mailbox.token_of(PA_PRINCIPAL.email).await;
    // the person goes with their last membership: Mark's at Premium Auto North ends first
    exec(&owner, END_PA_MANAGER_NORTH).await;
    let deleted = app
        .as_user(
            Method::DELETE,
            &format!("/api/v1/users/{}", PA_MANAGER.id),
            &principal,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    exec(
        &owner,
        &format!("UPDATE dealerships SET is_active = false WHERE id = '{METRO_MOTORS}'"),
    )
    .await;
    error_of(mailbox.signup(&token).await, 422).await;
    exec(
        &owner,
        &format!("UPDATE dealerships SET is_active = true WHERE id = '{METRO_MOTORS}'"),
    )
    .await;
    let resp = mailbox.signup(&token).await;
    assert_eq!(resp.status(), 201, "usable again once the address is free");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["user"]["dealership_id"], METRO_MOTORS.to_string());
}

#[tokio::test]
async fn an_admin_invites_an_admin_who_belongs_to_no_dealership() {
    let mailbox = spawn().await;
    let (created, token) = mailbox
        .invited(
            ADMIN.email,
            json!({"email": "second.admin@example.com", "role": "admin"}),
            1,
        )
        .await;
    assert_eq!(created["dealership_id"], Value::Null);
    let bad = mailbox
        .invite(ADMIN.email, json!({"email": INVITEE, "role": "agent"}))
        .await;
    assert_eq!(
        error_of(bad, 422).await["details"][0]["field"],
        "dealership_id"
    );
    let resp = mailbox.signup(&token).await;
    assert_eq!(resp.status(), 201);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["user"]["role"], "admin");
    assert_eq!(body["user"]["dealership_id"], Value::Null);
}

#[tokio::test]
async fn malformed_signups_are_refused_and_a_weak_password_leaves_the_invitation_usable() {
    let mailbox = spawn().await;
    let app = &mailbox.app;
    let (_, token) = mailbox
        .invited(PA_PRINCIPAL.email, agent_invitation(), 1)
        .await;
    let weak = app
        .post_json(
            SIGNUP,
            json!({"invitation_token": token, "password": "short",
                   "first_name": "Nora", "last_name": "Newman"}),
        )
        .await;
    assert_eq!(error_of(weak, 422).await["details"][0]["field"], "password");
    for body in [
        json!({"invitation_token": "x", "password": PASSWORD, "first_name": "N", "last_name": "N"}),
        json!({"invitation_token": format!("{}.{}", uuid::Uuid::new_v4(), "A".repeat(43)),
               "password": PASSWORD, "first_name": "N", "last_name": "N"}),
        json!({"invitation_token": token, "password": PASSWORD, "first_name": "", "last_name": "N"}),
        json!({"invitation_token": token, "password": PASSWORD}),
        json!({"invitation_token": token, "password": PASSWORD, "first_name": "N",
               "last_name": "N", "phone": "call me"}),
    ] {
        let resp = app.post_json(SIGNUP, body.clone()).await;
        assert_eq!(resp.status(), 422, "{body}");
    }
    assert_eq!(mailbox.signup(&token).await.status(), 201);
}

#[tokio::test]
async fn a_dealership_sees_only_its_own_invitations_as_the_runtime_role() {
    let db = TestDb::new().await;
    let owner = db.owner().await;
    for (dealership, email) in [
        (PREMIUM_AUTO, "a@premiumauto.com"),
        (METRO_MOTORS, "b@metromotors.com"),
    ] {
        exec(
            &owner,
            &format!(
                "INSERT INTO invitations (id, dealership_id, email, role, token_id, token_hash, expires_at) \
                 VALUES (gen_random_uuid(), '{dealership}', '{email}', 'agent', gen_random_uuid(), \
                 '\\x00', now() + interval '1 day')"
            ),
        )
        .await;
    }
    let pool = db.login_pool(1).await;
    let tx = pool.begin(Scope::Dealership(PREMIUM_AUTO)).await.unwrap();
    let seen = count(&tx, "SELECT count(*) AS n FROM invitations").await;
    let theirs = tx
        .execute_unprepared(&format!(
            "UPDATE invitations SET revoked_at = now() WHERE dealership_id = '{METRO_MOTORS}'"
        ))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!((seen, theirs.rows_affected()), (1, 0));
    let tx = pool.begin(Scope::Anonymous).await.unwrap();
    assert_eq!(count(&tx, "SELECT count(*) AS n FROM invitations").await, 0);
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn an_expired_invitation_cannot_be_revived_beside_a_newer_one() {
    let mailbox = spawn().await;
    let app = &mailbox.app;
    let owner = app.db.owner().await;
    let principal = mailbox.token_of(PA_PRINCIPAL.email).await;
    let (old, _) = mailbox
        .invited(
            PA_PRINCIPAL.email,
            json!({"email": INVITEE, "role": "principal"}),
            1,
        )
        .await;
    exec(
        &owner,
        "UPDATE invitations SET expires_at = now() - interval '1 second'",
    )
    .await;
    let (_, newer) = mailbox
        .invited(PA_PRINCIPAL.email, agent_invitation(), 2)
        .await;
    let id = old["id"].as_str().unwrap();
    let revived = app
        .post_as(&format!("{INVITATIONS}/{id}/resend"), &principal)
        .await;
    error_of(revived, 409).await;
    let resp = mailbox.signup(&newer).await;
    assert_eq!(resp.status(), 201);
    assert_eq!(resp.json::<Value>().await.unwrap()["user"]["role"], "agent");
}

#[tokio::test]
async fn invitations_end_with_the_authority_of_whoever_sent_them() {
    let mailbox = spawn().await;
    let app = &mailbox.app;
    let principal = mailbox.token_of(PA_PRINCIPAL.email).await;
    let admin = mailbox.token_of(ADMIN.email).await;
    // each of two peer principals invites a principal; an admin then demotes one, deletes
    // the other: neither invitation may still make a principal
    let mut links = Vec::new();
    for (sender, invitee) in [
        (
            "demoted.sender@premiumauto.com",
            "first.invitee@premiumauto.com",
        ),
        (
            "deleted.sender@premiumauto.com",
            "second.invitee@premiumauto.com",
        ),
    ] {
        let peer = app
            .create_user(&principal, sender, PASSWORD, "principal")
            .await;
        let token = app.login_ok(sender, PASSWORD).await.access;
        let invited = app
            .send_as(
                Method::POST,
                INVITATIONS,
                &token,
                json!({"email": invitee, "role": "principal"}),
            )
            .await;
        assert_eq!(invited.status(), 201);
        let mail = mailbox
            .smtp
            .wait_for(invitee, 1, Duration::from_secs(10))
            .await;
        links.push((peer["id"].as_str().unwrap().to_owned(), mail[0].token()));
    }
    let (demoted, first) = &links[0];
    let resp = app
        .send_as(
            Method::PATCH,
            &format!("/api/v1/users/{demoted}"),
            &admin,
            json!({"role": "agent"}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let (deleted, second) = &links[1];
    let resp = app
        .as_user(Method::DELETE, &format!("/api/v1/users/{deleted}"), &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    error_of(mailbox.signup(first).await, 422).await;
    error_of(mailbox.signup(second).await, 422).await;
}

/// An invitation's answer to the inviter with what differs by nature (ids, times, the address)
/// left out.
fn shape_of(invitation: &Value) -> Value {
    let mut shape = invitation.clone();
    for key in ["id", "email", "created_at", "updated_at", "expires_at"] {
        shape[key] = Value::Null;
    }
    shape
}

#[tokio::test]
async fn an_invitation_to_an_existing_person_is_accepted_with_their_password() {
    let mailbox = spawn().await;
    let app = &mailbox.app;
    let into_metro = |email: &str| json!({"email": email, "role": "agent"});
    // the inviter cannot tell an address with an account from a new one
    let (fresh, _) = mailbox
        .invited(MM_PRINCIPAL.email, into_metro("nobody.yet@example.com"), 1)
        .await;
    let (existing, token) = mailbox
        .invited(MM_PRINCIPAL.email, into_metro(PA_AGENT.email), 1)
        .await;
    assert_eq!(shape_of(&fresh), shape_of(&existing));

    // the holder of the mailbox is told to accept with the account's password
    let taken = error_of(mailbox.signup(&token).await, 409).await;
    assert!(
        taken["message"]
            .as_str()
            .unwrap()
            .contains("/api/v1/auth/join")
    );
    let join = |password: &str| {
        app.post_json(
            "/api/v1/auth/join",
            json!({"invitation_token": token, "password": password}),
        )
    };
    error_of(join("not the password").await, 401).await;
    let joined = join(PA_AGENT.password).await;
    assert_eq!(joined.status(), 201);
    let body: Value = joined.json().await.unwrap();
    assert_eq!(body["user"]["dealership_id"], METRO_MOTORS.to_string());
    let mut places: Vec<&str> = body["user"]["memberships"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["dealership_name"].as_str().unwrap())
        .collect();
    places.sort();
    assert_eq!(places, ["Metro Motors", "Premium Auto"]);
    // once: the invitation is used
    error_of(join(PA_AGENT.password).await, 422).await;

    // Metro Motors lists its own membership of her; Premium Auto keeps its own
    for (principal, dealership) in [(&MM_PRINCIPAL, METRO_MOTORS), (&PA_PRINCIPAL, PREMIUM_AUTO)] {
        let token = mailbox.token_of(principal.email).await;
        let listed: Vec<Value> = app
            .get_as("/api/v1/users", &token)
            .await
            .json()
            .await
            .unwrap();
        let alice: Vec<&Value> = listed
            .iter()
            .filter(|u| u["email"] == PA_AGENT.email)
            .collect();
        assert_eq!(alice.len(), 1, "{dealership}");
        assert_eq!(alice[0]["dealership_id"], dealership.to_string());
    }
    // one password for both: signing in names the dealership
    let metro = app
        .post_json(
            "/api/v1/auth/login",
            json!({"email": PA_AGENT.email, "password": PA_AGENT.password,
                   "dealership_id": METRO_MOTORS}),
        )
        .await;
    assert_eq!(metro.status(), 200);
}

#[tokio::test]
async fn staff_adding_an_address_that_signs_in_elsewhere_invite_it_and_answer_alike() {
    let mailbox = spawn().await;
    let app = &mailbox.app;
    let principal = mailbox.token_of(PA_PRINCIPAL.email).await;
    let add = |email: &str| {
        app.send_as(
            Method::POST,
            "/api/v1/users",
            &principal,
            json!({"email": email, "password": "a fine passphrase", "first_name": "New",
                   "last_name": "Hire", "role": "agent"}),
        )
    };
    let fresh = add("brand.new@example.com").await;
    let elsewhere = add(crate::helpers::MM_AGENT.email).await;
    assert_eq!(
        (fresh.status().as_u16(), elsewhere.status().as_u16()),
        (201, 201)
    );
    let blank = |mut user: Value| {
        for key in ["id", "email", "created_at", "updated_at"] {
            user[key] = Value::Null;
        }
        user["memberships"][0]["user_id"] = Value::Null;
        user
    };
    let (fresh, elsewhere): (Value, Value) =
        (fresh.json().await.unwrap(), elsewhere.json().await.unwrap());
    let promised = elsewhere["id"].as_str().unwrap().to_owned();
    assert_eq!(blank(fresh), blank(elsewhere), "the same answer");

    // Adam's password was not set by Premium Auto: he accepts with his own, and becomes the
    // user the answer named
    let token = mailbox
        .smtp
        .wait_for(crate::helpers::MM_AGENT.email, 1, Duration::from_secs(10))
        .await[0]
        .token();
    let joined = app
        .post_json(
            "/api/v1/auth/join",
            json!({"invitation_token": token, "password": crate::helpers::MM_AGENT.password}),
        )
        .await;
    assert_eq!(joined.status(), 201);
    let seen = app
        .get_as(&format!("/api/v1/users/{promised}"), &principal)
        .await;
    assert_eq!(seen.status(), 200);
    app.login_ok(
        crate::helpers::MM_AGENT.email,
        crate::helpers::MM_AGENT.password,
    )
    .await;
}
