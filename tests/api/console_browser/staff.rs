//! A principal's staff pages in the browser: deactivating an agent and resetting a manager's
//! second factor (each in the audit page and the database), another dealership's user typed
//! into the address bar (the not-found page), and a person in two dealerships who sees a
//! staff list only where their role there allows it.

use crate::helpers::{
    END_PA_MANAGER_NORTH, MM_AGENT, PA_AGENT, PA_MANAGER, PA_MANAGER_NORTH, PA_PRINCIPAL, TestApp,
    count, exec, mfa, spawn_app,
};

use super::{Browser, confirm, sign_in, sign_in_with_code, step_up_if_asked};

async fn n(app: &TestApp, sql: &str) -> i64 {
    count(&app.db.owner().await, sql).await
}

#[tokio::test]
async fn console_browser_a_principal_deactivates_an_agent_and_resets_a_managers_factor_both_audited()
 {
    let app = spawn_app().await;
    // Mark works at Premium Auto alone here: a person's factors in several dealerships are
    // their own to manage ("This person manages their own sign-in.")
    exec(&app.db.owner().await, END_PA_MANAGER_NORTH).await;
    let principal = app
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await;
    let own = mfa::enrol(&app, &principal.access, PA_PRINCIPAL.password).await;
    let manager = app.login_ok(PA_MANAGER.email, PA_MANAGER.password).await;
    mfa::enrol(&app, &manager.access, PA_MANAGER.password).await;
    let b = Browser::open(&app).await;
    sign_in_with_code(&b, PA_PRINCIPAL.email, PA_PRINCIPAL.password, &own.app).await;

    b.open_page("/console/staff", "Staff").await;
    b.expect_text(PA_AGENT.email).await;
    b.check_a11y("staff list").await;
    b.screenshot("staff-list.png").await;

    // the agent: deactivated
    b.goto(&format!("/console/staff/{}", PA_AGENT.id)).await;
    b.check_a11y("a user's page").await;
    b.screenshot("user-page.png").await;
    b.press("Deactivate").await;
    b.wait_for_text("Inactive").await;
    let inactive = format!(
        "SELECT count(*) AS n FROM memberships WHERE id = '{}' AND NOT is_active",
        PA_AGENT.id
    );
    assert_eq!(n(&app, &inactive).await, 1, "the agent is inactive");

    // the manager: second factor reset (a sensitive action: the step-up prompt if asked)
    b.goto(&format!("/console/staff/{}", PA_MANAGER.id)).await;
    confirm(&b, "Reset second factor", "Reset second factor").await;
    if step_up_if_asked(&b, &own.app).await {
        confirm(&b, "Reset second factor", "Reset second factor").await;
    }
    b.check_a11y("a user's page after a reset").await;
    let factors = format!(
        "SELECT count(*) AS n FROM mfa_factors f JOIN memberships m ON m.person_id = f.person_id \
         WHERE m.id = '{}'",
        PA_MANAGER.id
    );
    assert_eq!(n(&app, &factors).await, 0, "the manager's app is gone");

    b.open_page("/console/audit", "Audit log").await;
    b.expect_text("mfa.reset").await;
    b.expect_text("user.updated").await;
    b.check_a11y("audit log").await;
    b.screenshot("audit.png").await;
    for (action, target) in [("user.updated", PA_AGENT.id), ("mfa.reset", PA_MANAGER.id)] {
        let sql = format!(
            "SELECT count(*) AS n FROM audit_events WHERE action = '{action}' AND target_id = '{target}'"
        );
        assert_eq!(n(&app, &sql).await, 1, "{action} audited");
    }
    b.close().await;
}

#[tokio::test]
async fn console_browser_a_principal_typing_another_dealerships_user_url_gets_the_not_found_page() {
    let app = spawn_app().await;
    let b = Browser::open(&app).await;
    sign_in(&b, PA_PRINCIPAL.email, PA_PRINCIPAL.password).await;
    b.goto(&format!("/console/staff/{}", PA_AGENT.id)).await;
    b.expect_text(PA_AGENT.email).await;
    b.goto(&format!("/console/staff/{}", MM_AGENT.id)).await;
    b.expect_page("Not found").await;
    assert!(
        !b.shows(MM_AGENT.email).await,
        "nothing of the other tenant"
    );
    b.check_a11y("not found").await;
    b.close().await;
}

#[tokio::test]
async fn console_browser_a_person_in_two_dealerships_sees_a_staff_list_only_where_their_role_allows()
 {
    let app = spawn_app().await;
    // Mark is an agent at Premium Auto North: no staff list there
    exec(
        &app.db.owner().await,
        &format!("UPDATE memberships SET role = 'agent' WHERE id = '{PA_MANAGER_NORTH}'"),
    )
    .await;
    let b = Browser::open(&app).await;
    sign_in(&b, PA_MANAGER.email, PA_MANAGER.password).await;
    b.press("Premium Auto —").await;
    b.open_page("/console/staff", "Staff").await;
    b.expect_text(PA_AGENT.email).await;
    b.check_a11y("staff list (manager)").await;

    b.choose("Dealership", "Premium Auto North — Agent").await;
    b.press("Switch").await;
    b.expect_text("You are now working in Premium Auto North.")
        .await;
    assert!(
        b.client
            .find(fantoccini::Locator::Css("nav a[href='/console/staff']"))
            .await
            .is_err(),
        "no Staff in an agent's menu"
    );
    b.goto("/console/staff").await;
    b.expect_page("Not allowed").await;
    assert!(!b.shows(PA_AGENT.email).await, "{}", b.text().await);
    b.close().await;
}

#[tokio::test]
async fn console_browser_a_principal_sees_custom_roles_and_the_dealership_profile() {
    let app = spawn_app().await;
    let b = Browser::open(&app).await;
    sign_in(&b, PA_PRINCIPAL.email, PA_PRINCIPAL.password).await;
    b.open_page("/console/roles", "Custom roles").await;
    b.check_a11y("custom roles").await;
    b.screenshot("custom-roles.png").await;
    b.open_page("/console/dealership", "Premium Auto").await;
    b.check_a11y("dealership profile").await;
    b.screenshot("dealership.png").await;
    b.close().await;
}
