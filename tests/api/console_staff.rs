//! The console's staff and invitation pages: the directory at the caller's reach (searched,
//! filtered, paged, updated in place by htmx), a person's page and what a principal does there,
//! adding people and inviting them — each through the same services as `/api/v1/users` and
//! `/api/v1/invitations`, so each change is in the database and the audit log, and each form
//! shows the API's own field errors.

use std::time::Duration;

use reqwest::StatusCode;

use crate::helpers::{
    END_PA_MANAGER_NORTH, MM_AGENT, MM_MANAGER, MM_PRINCIPAL, PA_AGENT, PA_MANAGER, PA_OWNER,
    PA_PRINCIPAL, TestApp,
    console::{Console, Page},
    count, exec, mfa, spawn_app, spawn_app_with,
};

async fn n(app: &TestApp, sql: &str) -> i64 {
    count(&app.db.owner().await, sql).await
}

async fn principal(app: &TestApp) -> Console {
    Console::signed_in(app, PA_PRINCIPAL.email, PA_PRINCIPAL.password).await
}

fn person(id: impl std::fmt::Display) -> String {
    format!("/console/staff/{id}")
}

/// The first `/console/invitations/{id}/revoke` form's id on the page.
fn revoke_path(page: &Page) -> String {
    let at = page.body.find("/revoke\"").expect("a revoke form");
    let start = page.body[..at].rfind("/console/invitations/").unwrap();
    page.body[start..at + "/revoke".len()].to_owned()
}

#[tokio::test]
async fn console_staff_a_principal_sees_their_dealerships_people_only_and_search_and_role_narrow_it()
 {
    let app = spawn_app().await;
    let mut console = principal(&app).await;
    let page = console.get("/console/staff").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    for here in [PA_PRINCIPAL.email, PA_MANAGER.email, PA_AGENT.email] {
        assert!(page.shows(here), "{here}: {}", page.body);
    }
    for elsewhere in [MM_PRINCIPAL.email, MM_MANAGER.email, MM_AGENT.email] {
        assert!(!page.shows(elsewhere), "{elsewhere} is Metro's");
    }
    assert!(page.body.contains("hx-target=\"#staff-results\""));
    assert!(!page.body.contains("id=\"f-dealership\""), "one dealership");
    assert!(page.body.contains("href=\"/console/staff/new\""));
    assert!(
        page.body
            .contains(&format!("href=\"{}\"", person(PA_AGENT.id)))
    );

    let searched = console.get("/console/staff?q=AGENT%40premium").await;
    assert!(searched.shows(PA_AGENT.email), "{}", searched.body);
    assert!(!searched.shows(PA_MANAGER.email));
    let managers = console
        .get("/console/staff?role=manager&status=active")
        .await;
    assert!(managers.shows(PA_MANAGER.email), "{}", managers.body);
    assert!(!managers.shows(PA_AGENT.email) && !managers.shows(PA_PRINCIPAL.email));
    let inactive = console.get("/console/staff?status=inactive").await;
    assert!(inactive.shows("Nobody matches."), "{}", inactive.body);
    let unknown = console.get("/console/staff?role=owner").await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn console_staff_the_htmx_request_gets_the_results_without_the_frame() {
    let app = spawn_app().await;
    let mut console = principal(&app).await;
    let partial = console.get_partial("/console/staff?role=agent").await;
    assert_eq!(partial.status, StatusCode::OK);
    assert!(partial.body.contains("<table"), "{}", partial.body);
    assert!(partial.shows(PA_AGENT.email) && !partial.shows(PA_MANAGER.email));
    for frame in ["<html", "<nav class=\"side\"", "<h1>", "<form"] {
        assert!(!partial.body.contains(frame), "{frame} in {}", partial.body);
    }
}

#[tokio::test]
async fn console_staff_a_group_principal_sees_every_rooftop_with_a_dealership_column() {
    let app = spawn_app().await;
    let mut console = Console::signed_in(&app, PA_OWNER.email, PA_OWNER.password).await;
    let page = console.get("/console/staff").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.shows(PA_AGENT.email) && !page.shows(MM_AGENT.email));
    assert!(page.body.contains("<th scope=\"col\">Dealership</th>"));
    assert!(page.body.contains("id=\"f-dealership\""));
    assert!(page.shows("Premium Auto North"), "{}", page.body);
}

#[tokio::test]
async fn console_staff_another_dealerships_user_is_the_not_found_page() {
    let app = spawn_app().await;
    let mut console = principal(&app).await;
    let page = console.get(&person(MM_AGENT.id)).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(!page.shows(MM_AGENT.email) && !page.body.contains("Metro"));
    console.get("/console/staff").await;
    let posted = console
        .post(&format!("{}/active", person(MM_AGENT.id)), &[])
        .await;
    assert_eq!(posted.status, StatusCode::NOT_FOUND);
    assert_eq!(
        console.get("/console/staff/x1").await.status,
        StatusCode::NOT_FOUND
    );
    let own = console.get(&person(PA_AGENT.id)).await;
    assert_eq!(own.status, StatusCode::OK);
    assert!(own.shows(PA_AGENT.email) && own.shows("Premium Auto"));
}

#[tokio::test]
async fn console_staff_an_agent_is_refused_the_staff_list() {
    let app = spawn_app().await;
    let mut console = Console::signed_in(&app, PA_AGENT.email, PA_AGENT.password).await;
    let page = console.get("/console/staff").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(!page.shows(PA_MANAGER.email));
    let invitations = console.get("/console/invitations").await;
    assert_eq!(invitations.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn console_staff_a_bad_email_is_shown_beside_its_field_and_changes_nothing() {
    let app = spawn_app().await;
    let mut console = principal(&app).await;
    console.get(&person(PA_AGENT.id)).await;
    let edit = [
        ("first_name", "Changed"),
        ("last_name", "Agent"),
        ("email", "not an address"),
        ("phone", ""),
    ];
    let page = console
        .post(&format!("{}/edit", person(PA_AGENT.id)), &edit)
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("id=\"e-email\""), "{}", page.body);
    assert!(
        page.body.contains("value=\"not an address\""),
        "what was sent stays"
    );
    let changed = "SELECT count(*) AS n FROM people WHERE first_name = 'Changed'";
    assert_eq!(n(&app, changed).await, 0);

    let good = [
        ("first_name", "Andrea"),
        ("last_name", "Agent"),
        ("email", PA_AGENT.email),
        ("phone", ""),
    ];
    let saved = console
        .post(&format!("{}/edit", person(PA_AGENT.id)), &good)
        .await;
    assert_eq!(
        saved.location.as_deref(),
        Some(person(PA_AGENT.id).as_str())
    );
    assert!(console.follow(&saved).await.shows("Saved Andrea"));
}

#[tokio::test]
async fn console_staff_a_role_change_takes_the_chosen_role_and_an_unknown_one_is_shown_beside_the_field()
 {
    let app = spawn_app().await;
    let mut console = principal(&app).await;
    let page = console.get(&person(PA_AGENT.id)).await;
    assert!(
        page.body.contains("<option value=\"agent\" selected>"),
        "{}",
        page.body
    );
    let path = format!("{}/role", person(PA_AGENT.id));
    let unknown = console.post(&path, &[("role", "closer")]).await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unknown.body.contains("id=\"e-role\""), "{}", unknown.body);
    let promoted = console.post(&path, &[("role", "manager")]).await;
    assert_eq!(promoted.status, StatusCode::SEE_OTHER, "{}", promoted.body);
    let manager = format!(
        "SELECT count(*) AS n FROM memberships WHERE id = '{}' AND role = 'manager'",
        PA_AGENT.id
    );
    assert_eq!(n(&app, &manager).await, 1);
    assert!(console.follow(&promoted).await.shows("is now manager"));
}

#[tokio::test]
async fn console_staff_deactivating_flips_is_active_and_is_audited() {
    let app = spawn_app().await;
    let mut console = principal(&app).await;
    console.get(&person(PA_AGENT.id)).await;
    let done = console
        .post(&format!("{}/active", person(PA_AGENT.id)), &[])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location.as_deref(), Some(person(PA_AGENT.id).as_str()));
    let active = format!(
        "SELECT count(*) AS n FROM memberships WHERE id = '{}' AND is_active",
        PA_AGENT.id
    );
    assert_eq!(n(&app, &active).await, 0);
    let audited = format!(
        "SELECT count(*) AS n FROM audit_events WHERE action = 'user.updated' \
         AND target_id = '{}' AND actor_id = '{}'",
        PA_AGENT.id, PA_PRINCIPAL.id
    );
    assert_eq!(n(&app, &audited).await, 1);
    let page = console.follow(&done).await;
    assert!(page.shows("Deactivated"), "{}", page.body);
    assert!(page.body.contains(">Reactivate</button>"));
    // the principal cannot deactivate themself: the API's words, on their page
    let own = console
        .post(&format!("{}/active", person(PA_PRINCIPAL.id)), &[])
        .await;
    assert_eq!(own.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", own.body);
    assert!(own.shows("You cannot deactivate yourself."), "{}", own.body);
}

async fn enrolled_manager(app: &TestApp) -> mfa::Enrolled {
    let tokens = app.login_ok(PA_MANAGER.email, PA_MANAGER.password).await;
    mfa::enrol(app, &tokens.access, PA_MANAGER.password).await
}

fn factors_of_manager() -> String {
    format!(
        "SELECT count(*) AS n FROM mfa_factors WHERE person_id = '{}'",
        PA_MANAGER.id
    )
}

#[tokio::test]
async fn console_staff_resetting_a_second_factor_of_an_enrolled_manager_removes_it() {
    let app = spawn_app().await;
    enrolled_manager(&app).await;
    assert_eq!(n(&app, &factors_of_manager()).await, 1);
    let mut console = principal(&app).await;
    let page = console.get(&person(PA_MANAGER.id)).await;
    assert!(page.body.contains("<details class=\"confirm\">"));
    // Mark works at Premium Auto North too: his sign-in is not Premium Auto's to reset
    let refused = console
        .post(&format!("{}/second-factor", person(PA_MANAGER.id)), &[])
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    assert!(refused.shows("This person manages their own sign-in."));
    assert_eq!(n(&app, &factors_of_manager()).await, 1);
    exec(&app.db.owner().await, END_PA_MANAGER_NORTH).await;
    let done = console
        .post(&format!("{}/second-factor", person(PA_MANAGER.id)), &[])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(n(&app, &factors_of_manager()).await, 0);
    let audited = format!(
        "SELECT count(*) AS n FROM audit_events WHERE action = 'mfa.reset' AND target_id = '{}'",
        PA_MANAGER.id
    );
    assert_eq!(n(&app, &audited).await, 1);
    assert!(console.follow(&done).await.shows("Second factor reset"));
}

#[tokio::test]
async fn console_staff_resetting_a_second_factor_sends_a_principal_with_a_stale_code_to_step_up() {
    let app = spawn_app_with(|s| s.auth.mfa.step_up_max_age_secs = 1).await;
    enrolled_manager(&app).await;
    let tokens = app
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await;
    let own = mfa::enrol(&app, &tokens.access, PA_PRINCIPAL.password).await;
    let mut console = Console::new(&app);
    let step = console
        .sign_in(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await;
    let token = step
        .body
        .split("name=\"mfa_token\" value=\"")
        .nth(1)
        .unwrap();
    let token = token[..token.find('"').unwrap()].to_owned();
    let code = own.app.next_code().await;
    let signed_in = console
        .post(
            "/console/sign-in/code",
            &[("mfa_token", &token), ("code", &code)],
        )
        .await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.body
    );
    console.get(&person(PA_MANAGER.id)).await;
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let asked = console
        .post(&format!("{}/second-factor", person(PA_MANAGER.id)), &[])
        .await;
    assert_eq!(asked.status, StatusCode::SEE_OTHER);
    assert_eq!(asked.location.as_deref(), Some("/console/step-up"));
    assert_eq!(n(&app, &factors_of_manager()).await, 1, "nothing removed");
}

#[tokio::test]
async fn console_staff_a_new_person_is_created_and_an_address_known_elsewhere_is_invited() {
    let app = spawn_app().await;
    let mut console = principal(&app).await;
    let form = console.get("/console/staff/new").await;
    assert_eq!(form.status, StatusCode::OK);
    let person_of = |email, password| {
        [
            ("first_name", "Nora"),
            ("last_name", "Newman"),
            ("email", email),
            ("phone", ""),
            ("password", password),
            ("role", "agent"),
        ]
    };
    let refused = console
        .post(
            "/console/staff/new",
            &person_of("nora@premiumauto.com", "short"),
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.body.contains("id=\"e-password\""),
        "{}",
        refused.body
    );
    let passphrase = "a long enough passphrase";
    let new = person_of("nora@premiumauto.com", passphrase);
    let created = console.post("/console/staff/new", &new).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let made = "SELECT count(*) AS n FROM users WHERE email = 'nora@premiumauto.com' \
                AND dealership_id = '0193a5f0-0000-7000-8000-000000000001'";
    assert_eq!(n(&app, made).await, 1);
    assert!(console.follow(&created).await.shows("Added Nora Newman"));

    let known = person_of(MM_AGENT.email, passphrase);
    let invited = console.post("/console/staff/new", &known).await;
    assert_eq!(invited.location.as_deref(), Some("/console/invitations"));
    let pending = format!(
        "SELECT count(*) AS n FROM invitations WHERE email = '{}' AND revoked_at IS NULL",
        MM_AGENT.email
    );
    assert_eq!(n(&app, &pending).await, 1);
    assert!(console.follow(&invited).await.shows("signs in elsewhere"));
}

#[tokio::test]
async fn console_staff_inviting_creates_an_invitation_and_queues_its_mail_and_revoking_ends_it() {
    let app = spawn_app().await;
    let mut console = principal(&app).await;
    let page = console.get("/console/invitations").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let bad = [
        ("email", "nobody"),
        ("first_name", "Nora"),
        ("role", "agent"),
    ];
    let refused = console.post("/console/invitations", &bad).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("id=\"e-email\""), "{}", refused.body);

    let email = "new.hire@premiumauto.com";
    let invite = [("email", email), ("first_name", "Nora"), ("role", "agent")];
    let done = console.post("/console/invitations", &invite).await;
    assert_eq!(done.location.as_deref(), Some("/console/invitations"));
    let pending = format!(
        "SELECT count(*) AS n FROM invitations WHERE email = '{email}' \
         AND revoked_at IS NULL AND invited_by = '{}'",
        PA_PRINCIPAL.id
    );
    assert_eq!(n(&app, &pending).await, 1);
    let mailed = format!("SELECT count(*) AS n FROM mail_outbox WHERE recipient = '{email}'");
    assert_eq!(n(&app, &mailed).await, 1);
    let listed = console.follow(&done).await;
    assert!(listed.shows(&format!("Invited {email}")) && listed.shows(email));

    let revoked = console.post(&revoke_path(&listed), &[]).await;
    assert_eq!(revoked.location.as_deref(), Some("/console/invitations"));
    assert_eq!(n(&app, &pending).await, 0);
    let audited = "SELECT count(*) AS n FROM audit_events WHERE action = 'invitation.revoked'";
    assert_eq!(n(&app, audited).await, 1);
    let after = console.follow(&revoked).await;
    assert!(after.shows("Revoked the invitation") && after.shows("None pending."));
}
