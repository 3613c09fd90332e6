//! The throttle around every password check: a locked account or address gets 429, a failure
//! is counted, audited and delayed, and a signed-in user's current password is checked the same
//! way before a sensitive change.

use uuid::Uuid;

use super::{count_login, login_event, name_record};
use crate::{
    auth::{password, principal::scope_of, throttle},
    domain::{Email, SignInName},
    error::AppError,
    scope::{Caller, RequestMeta},
    service::audit,
    state::AppState,
    tenancy::{Scope, TenantTx},
};

/// Checks the signed-in user's current password before a sensitive change, as a login checks
/// one ([`Attempt::check_password`]): locked → 429; wrong → counted, and 422 naming
/// `current_password`.
pub async fn verify_current_password(
    state: &AppState,
    caller: &Caller,
    email: &Email,
    current: String,
    hash: String,
) -> Result<(), AppError> {
    // counted under the email, as a login by email is: a guess here costs what a guess there does
    let name = SignInName::Email(email.clone());
    let attempt = Attempt {
        state,
        name: &name,
        counted_as: &name,
        dealership_id: caller.dealership_id,
        group_id: caller.group_id,
        user_id: Some(caller.user_id),
        meta: &caller.meta,
    };
    match attempt
        .check_password(current, Some(hash), "wrong_current_password")
        .await
    {
        Err(AppError::BadCredentials(_)) => {
            Err(AppError::field("current_password", "is not correct"))
        }
        answer => answer,
    }
}

/// Checks the password of the person signing in as `name` (`None`: nobody does) outside a
/// sign-in — accepting an invitation — exactly as a login checks it: the same throttle, the
/// same uniform 401 for an unknown name and a wrong password. A failure is recorded in
/// `dealership_id` (where the person is about to join).
pub async fn verify_password_of(
    state: &AppState,
    name: &SignInName,
    (person, dealership_id): (Option<(Uuid, String)>, Option<Uuid>),
    password: String,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    let (person_id, hash) = person.unzip();
    let attempt = Attempt {
        state,
        name,
        counted_as: name,
        dealership_id,
        group_id: None,
        user_id: person_id,
        meta,
    };
    attempt
        .check_password(password, hash, "bad_credentials")
        .await
}

/// Seconds until the name or IP is unlocked, asked again (its own short transaction).
async fn locked_now(
    state: &AppState,
    name: &SignInName,
    ip: Option<&str>,
) -> Result<Option<u64>, AppError> {
    let tx = state.db.begin_reading(Scope::Anonymous).await?;
    let locked = throttle::locked_for(&tx, name, ip).await?;
    tx.commit().await?;
    Ok(locked)
}

/// One password check: the name it was made as, the account it is for (as far as it is
/// known) and where it came from.
pub(super) struct Attempt<'a> {
    pub state: &'a AppState,
    /// The name the attempt was made as (its answer and audit event say it).
    pub name: &'a SignInName,
    /// The name its failures count under: the person's email when the person is known, so a
    /// person's email and phone share one lockout; else the name as sent.
    pub counted_as: &'a SignInName,
    /// Where it is recorded: the membership's dealership, or its group.
    pub dealership_id: Option<Uuid>,
    pub group_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub meta: &'a RequestMeta,
}

impl Attempt<'_> {
    /// The one password check, for a sign-in and a re-authentication alike: refused at once
    /// while the name or the address is locked; otherwise `password` is hashed against `hash`
    /// (a dummy hash for an unknown account, which never matches) and then judged with the
    /// name's and the address's other checks one at a time ([`throttle::one_at_a_time`]): the
    /// lock asked again and a wrong password counted before its answer leaves. So guesses sent
    /// all at once are answered exactly as the same guesses sent one after another. A wrong
    /// password is [`Attempt::bad_credentials`], after the progressive delay.
    pub async fn check_password(
        &self,
        password: String,
        hash: Option<String>,
        reason: &str,
    ) -> Result<(), AppError> {
        let ip = self.meta.ip.as_deref();
        if let Some(retry_after_secs) = locked_now(self.state, self.counted_as, ip).await? {
            return Err(self.refuse_locked(retry_after_secs).await);
        }
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| self.state.auth.dummy_hash.clone());
        let matches = password::verify(password, hash).await? && known;

        // this replica's checks of the name and address wait here, without a connection
        let turn = self
            .state
            .auth
            .turns
            .take(&throttle::turn_keys(self.counted_as, ip))
            .await?;
        let tx = self
            .state
            .db
            .begin(scope_of(self.dealership_id, self.group_id))
            .await?;
        throttle::one_at_a_time(&tx, self.counted_as, ip).await?;
        if let Some(retry_after_secs) = throttle::locked_for(&tx, self.counted_as, ip).await? {
            return Err(self.locked_in(tx, retry_after_secs).await);
        }
        if matches {
            return tx.commit().await;
        }
        let failures = self.record_failure_in(&tx, "login.failed", reason).await?;
        tx.commit().await?;
        // counted: the next check may be judged while this one waits out its delay
        drop(turn);
        let lockout = &self.state.settings.auth.lockout;
        tokio::time::sleep(throttle::delay(lockout, failures)).await;
        Err(self.bad_credentials())
    }

    /// The one refusal of every failed password check, in the words of the name it was made
    /// as: the same for an unknown name, a wrong password and an account that may not sign in.
    pub fn bad_credentials(&self) -> AppError {
        AppError::BadCredentials(match self.name {
            SignInName::Email(_) => "email or password",
            SignInName::Phone(_) => "phone number or password",
        })
    }

    /// Audits a locked attempt and gives the 429 every locked attempt gets.
    pub async fn refuse_locked(&self, retry_after_secs: u64) -> AppError {
        match self
            .state
            .db
            .begin(scope_of(self.dealership_id, self.group_id))
            .await
        {
            Ok(tx) => self.locked_in(tx, retry_after_secs).await,
            Err(err) => err,
        }
    }

    /// [`Self::refuse_locked`], audited in `tx` (committed here).
    async fn locked_in(&self, tx: TenantTx, retry_after_secs: u64) -> AppError {
        count_login("locked", self.name);
        let recorded = async {
            audit::record(&tx, self.meta, self.event("login.locked")).await?;
            tx.commit().await
        };
        match recorded.await {
            Ok(()) => AppError::RateLimited { retry_after_secs },
            Err(err) => err,
        }
    }

    /// Counts and audits a failed attempt, waits the progressive delay, and gives the one
    /// answer every failure gets.
    pub async fn failed(&self, reason: &str) -> AppError {
        let lockout = &self.state.settings.auth.lockout;
        let recorded = async {
            let tx = self
                .state
                .db
                .begin(scope_of(self.dealership_id, self.group_id))
                .await?;
            let failures = self.record_failure_in(&tx, "login.failed", reason).await?;
            tx.commit().await?;
            Ok::<_, AppError>(failures)
        };
        match recorded.await {
            Ok(failures) => {
                tokio::time::sleep(throttle::delay(lockout, failures)).await;
                self.bad_credentials()
            }
            Err(err) => err,
        }
    }

    /// Counts the failure in `tx` and audits it as `action` with its `reason`; the name's
    /// failures in the window.
    pub async fn record_failure_in(
        &self,
        tx: &TenantTx,
        action: &'static str,
        reason: &str,
    ) -> Result<u32, AppError> {
        let lockout = &self.state.settings.auth.lockout;
        let ip = self.meta.ip.as_deref();
        let failures = throttle::record_failure(tx, lockout, self.counted_as, ip).await?;
        let mut event = self.event(action);
        let mut changes = name_record(self.name);
        changes["reason"] = reason.into();
        event.changes = Some(changes);
        audit::record(tx, self.meta, event).await?;
        count_login("failure", self.name);
        Ok(failures)
    }

    fn event(&self, action: &'static str) -> audit::Event {
        login_event(action, self.dealership_id, self.user_id, self.name, None)
    }
}
