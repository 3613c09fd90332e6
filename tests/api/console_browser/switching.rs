//! A person with two memberships (Mark: manager at Premium Auto and at Premium Auto North)
//! picks a dealership after signing in, then switches with the top bar's switcher; the top
//! bar always says where they work.

use crate::helpers::{PA_MANAGER, spawn_app};

use super::{Browser, sign_in};

#[tokio::test]
async fn console_browser_a_person_in_two_dealerships_picks_one_then_switches_in_the_top_bar() {
    let app = spawn_app().await;
    let b = Browser::open(&app).await;
    sign_in(&b, PA_MANAGER.email, PA_MANAGER.password).await;

    assert_eq!(b.path().await, "/console/pick", "{}", b.text().await);
    b.expect_page("Choose a dealership").await;
    b.check_a11y("dealership picker").await;
    b.screenshot("dealership-picker.png").await;
    b.press("Premium Auto North — Manager").await;
    b.expect_page("Overview").await;
    b.expect_text("You are now working in Premium Auto North.")
        .await;
    let who = b.text_of("header .who").await;
    assert!(who.ends_with("Premium Auto North"), "top bar: {who}");
    b.check_a11y("overview with the switcher").await;
    b.screenshot("switcher.png").await;

    b.choose("Dealership", "Premium Auto — Manager").await;
    b.press("Switch").await;
    b.expect_text("You are now working in Premium Auto.").await;
    let who = b.text_of("header .who").await;
    assert!(
        who.ends_with("· Premium Auto"),
        "top bar after switching back: {who}"
    );
    b.close().await;
}
