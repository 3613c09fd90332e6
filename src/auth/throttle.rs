//! Failed-login throttling per sign-in name and per client IP, shared by every replica through
//! PostgreSQL: a progressive delay, then 429 with `Retry-After` until the lock expires.
//! The name is counted as typed (normalised), never resolved to an account: an unknown email
//! or phone locks exactly like a known one, and the counters never link a phone to an email.
//! Password-reset requests are counted by the same counters under keys of their own
//! ([`Counter::PasswordReset`]), so a flood of reset mail locks like a flood of guesses; so are
//! open signups ([`Counter::Signup`]).

use std::time::Duration;

use sea_orm::{ConnectionTrait, DbBackend, FromQueryResult, Statement};

use crate::{
    config::LockoutSettings,
    domain::SignInName,
    error::AppError,
    tenancy::{Database, Scope, TenantTx},
};

const MAX_DELAY: Duration = Duration::from_secs(3);

/// What is being counted: failed logins, or password-reset requests (every one counts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    Login,
    PasswordReset,
    /// verification links asked for again by a signed-in user
    VerificationResend,
    /// email-change confirmations sent to one new address
    EmailChange,
    /// answers to a signed-in caller that an email or phone number belongs to an account
    /// (counted per caller, see `service::taken`)
    TakenName,
    /// signups without an invitation (every attempt counts)
    Signup,
    /// wrong second-factor codes, beside their count as failed logins: a password reset lifts
    /// the login lock, not this one (a mailbox is not the second factor)
    MfaCode,
    /// wrong secrets of an OpenID client at the token, revocation and introspection endpoints
    ClientSecret,
}

impl Counter {
    fn prefix(self) -> &'static str {
        match self {
            Counter::Login => "",
            Counter::PasswordReset => "reset:",
            Counter::VerificationResend => "verify:",
            Counter::EmailChange => "email-change:",
            Counter::TakenName => "taken:",
            Counter::Signup => "signup:",
            Counter::MfaCode => "mfa:",
            Counter::ClientSecret => "client-secret:",
        }
    }

    fn keys(self, name: &SignInName, ip: Option<&str>) -> (String, Option<String>) {
        self.keys_of(Who::Name(name), ip)
    }

    fn keys_of(self, who: Who, ip: Option<&str>) -> (String, Option<String>) {
        let prefix = self.prefix();
        let who = match who {
            Who::Name(name) => account_key(name),
            Who::User(id) => format!("user:{id}"),
            Who::Invitation(id) => format!("invitation:{id}"),
            Who::Client(id) => format!("client:{id}@{}", ip.map_or(String::new(), ip_key)),
        };
        (
            format!("{prefix}{who}"),
            ip.map(|ip| format!("{prefix}{}", ip_key(ip))),
        )
    }
}

/// Whose events a counter counts (besides the client's IP): a sign-in name as typed, a
/// signed-in caller, or an invitation.
#[derive(Debug, Clone, Copy)]
pub enum Who<'a> {
    Name(&'a SignInName),
    User(uuid::Uuid),
    Invitation(uuid::Uuid),
    /// An OpenID client, by its id, as seen from the request's address: its `client_id` is
    /// public, so counting it alone would let anyone lock an app out; its 256-bit secret leaves
    /// nothing to guess anyway.
    Client(uuid::Uuid),
}

impl Counter {}

/// Emails keep the keys they always had; an E.164 number has no `@`, so it cannot meet one.
fn account_key(name: &SignInName) -> String {
    match name {
        SignInName::Email(email) => format!("account:{email}"),
        SignInName::Phone(phone) => format!("account:phone:{phone}"),
    }
}

/// An IPv6 client controls its whole /64, so that is what is counted.
fn ip_key(ip: &str) -> String {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!("ip:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        _ => format!("ip:{ip}"),
    }
}

#[derive(FromQueryResult)]
struct Locked {
    retry_after_secs: i32,
}

/// Seconds until the name and the IP are both unlocked; `None` if neither is locked.
pub async fn locked_for(
    tx: &TenantTx,
    name: &SignInName,
    ip: Option<&str>,
) -> Result<Option<u64>, AppError> {
    locked_counting(tx, Counter::Login, Who::Name(name), ip).await
}

/// [`locked_for`] for any [`Counter`] and any [`Who`].
pub async fn locked_counting(
    tx: &TenantTx,
    counter: Counter,
    who: Who<'_>,
    ip: Option<&str>,
) -> Result<Option<u64>, AppError> {
    locked_keys(tx, counter.keys_of(who, ip)).await
}

async fn locked_keys(
    tx: &TenantTx,
    (account, ip): (String, Option<String>),
) -> Result<Option<u64>, AppError> {
    let mut keys = vec![account];
    keys.extend(ip);
    let locks = Locked::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT retry_after_secs FROM auth_throttle_locked($1)",
        [keys.into()],
    ))
    .all(tx)
    .await?;
    Ok(locks.iter().map(|l| l.retry_after_secs.max(1) as u64).max())
}

/// Takes the login throttle's locks of the name and of the IP in `tx`, waiting for them, held
/// until `tx` ends: the password checks of one name or one address are then judged one at a
/// time, each seeing every failure counted before it. Always the name first, then the IP, so
/// two checks never wait for each other crosswise. Within a replica the checks already waited
/// their turn (`auth::turns`), so only another replica's check of the same key waits here.
pub async fn one_at_a_time(
    tx: &TenantTx,
    name: &SignInName,
    ip: Option<&str>,
) -> Result<(), AppError> {
    tx.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) \
         FROM unnest($1::text[]) WITH ORDINALITY AS keys(k, n) ORDER BY n",
        [turn_keys(name, ip).into()],
    ))
    .await?;
    Ok(())
}

/// The keys a password check of `name` from `ip` waits its turn under: the name, then the IP.
pub fn turn_keys(name: &SignInName, ip: Option<&str>) -> Vec<String> {
    let (account, ip) = Counter::Login.keys(name, ip);
    let mut keys = vec![format!("throttle:{account}")];
    keys.extend(ip.map(|ip| format!("throttle:{ip}")));
    keys
}

/// Counts one event of `counter` for the IP and for `who`, each only while it is not locked,
/// checked and counted in one statement per key (`auth_throttle_take`): of any number of
/// events at once, exactly as many pass as one after another would. The seconds until the
/// first locked key (the IP, then `who`) is unlocked, or `None` when both counted it.
pub async fn take(
    tx: &TenantTx,
    counter: Counter,
    lockout: &LockoutSettings,
    who: Who<'_>,
    ip: Option<&str>,
) -> Result<Option<u64>, AppError> {
    take_keys(tx, lockout, counter.keys_of(who, ip)).await
}

/// [`take`] in a short transaction of its own: `429` past the limit, the event counted otherwise.
pub async fn take_now(
    db: &Database,
    counter: Counter,
    lockout: &LockoutSettings,
    who: Who<'_>,
    ip: Option<&str>,
) -> Result<(), AppError> {
    let tx = db.begin(Scope::Anonymous).await?;
    if let Some(retry_after_secs) = take(&tx, counter, lockout, who, ip).await? {
        return Err(AppError::RateLimited { retry_after_secs });
    }
    tx.commit().await
}

/// The window of every quota ([`take_quota`]): an hour. The purge keeps counters this long.
pub const QUOTA_WINDOW_SECS: u64 = 3600;

/// Counts one event of a quota `key` (not a sign-in name: e.g. a dealership's invitations)
/// unless `max` were counted within the hour; the seconds until it takes events again.
pub async fn take_quota(tx: &TenantTx, key: &str, max: u32) -> Result<Option<u64>, AppError> {
    let window = QUOTA_WINDOW_SECS as i32;
    take_one(tx, format!("quota:{key}"), max, window, window).await
}

async fn take_keys(
    tx: &TenantTx,
    lockout: &LockoutSettings,
    (account, ip): (String, Option<String>),
) -> Result<Option<u64>, AppError> {
    let window = lockout.window_secs.min(i32::MAX as u64) as i32;
    let lock = lockout.lock_secs.min(i32::MAX as u64) as i32;
    let keys = ip
        .map(|ip| (ip, lockout.ip_max_failures))
        .into_iter()
        .chain([(account, lockout.account_max_failures)]);
    for (key, max) in keys {
        if let Some(retry_after_secs) = take_one(tx, key, max, window, lock).await? {
            return Ok(Some(retry_after_secs));
        }
    }
    Ok(None)
}

async fn take_one(
    tx: &TenantTx,
    key: String,
    max: u32,
    window_secs: i32,
    lock_secs: i32,
) -> Result<Option<u64>, AppError> {
    let row = tx
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT auth_throttle_take($1, $2, $3, $4) AS retry_after_secs",
            [
                key.into(),
                (max as i32).into(),
                window_secs.into(),
                lock_secs.into(),
            ],
        ))
        .await?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("auth_throttle_take: no row")))?;
    let retry_after_secs = row.try_get::<Option<i32>>("", "retry_after_secs")?;
    Ok(retry_after_secs.map(|secs| secs.max(1) as u64))
}

/// Counts a failure for the name and the IP; returns the name's failures in the window.
pub async fn record_failure(
    tx: &TenantTx,
    lockout: &LockoutSettings,
    name: &SignInName,
    ip: Option<&str>,
) -> Result<u32, AppError> {
    record(tx, Counter::Login, lockout, name, ip).await
}

/// Counts one event of `counter` for the name and the IP; returns the name's count.
pub async fn record(
    tx: &TenantTx,
    counter: Counter,
    lockout: &LockoutSettings,
    name: &SignInName,
    ip: Option<&str>,
) -> Result<u32, AppError> {
    record_of(tx, counter, lockout, Who::Name(name), ip).await
}

/// [`record`] for any [`Who`].
pub async fn record_of(
    tx: &TenantTx,
    counter: Counter,
    lockout: &LockoutSettings,
    who: Who<'_>,
    ip: Option<&str>,
) -> Result<u32, AppError> {
    let (account, ip) = counter.keys_of(who, ip);
    let window = lockout.window_secs.min(i32::MAX as u64) as i32;
    let lock = lockout.lock_secs.min(i32::MAX as u64) as i32;
    let fail = |key: String, max: u32| {
        Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT auth_throttle_fail($1, $2, $3, $4) AS failures",
            [key.into(), (max as i32).into(), window.into(), lock.into()],
        )
    };
    if let Some(ip) = ip {
        tx.execute_raw(fail(ip, lockout.ip_max_failures)).await?;
    }
    let row = tx
        .query_one_raw(fail(account, lockout.account_max_failures))
        .await?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("auth_throttle_fail returned no row")))?;
    Ok(row.try_get::<i32>("", "failures")?.max(0) as u32)
}

/// A successful login clears the count of each of the account's names (not the IP's: one good
/// password must not unlock guessing at other accounts).
pub async fn reset(tx: &TenantTx, names: &[SignInName]) -> Result<(), AppError> {
    reset_counting(tx, Counter::Login, names).await
}

/// [`reset`] for any [`Counter`].
pub async fn reset_counting(
    tx: &TenantTx,
    counter: Counter,
    names: &[SignInName],
) -> Result<(), AppError> {
    for name in names {
        tx.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT auth_throttle_reset($1)",
            [counter.keys(name, None).0.into()],
        ))
        .await?;
    }
    Ok(())
}

/// How long to wait before answering the `failures`-th failure: nothing at first, then
/// doubling from 250 ms, capped.
pub fn delay(lockout: &LockoutSettings, failures: u32) -> Duration {
    match failures.checked_sub(lockout.delay_after) {
        None | Some(0) => Duration::ZERO,
        Some(n) => (Duration::from_millis(250) * 2u32.saturating_pow(n.min(8) - 1)).min(MAX_DELAY),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_are_counted_by_their_64_prefix() {
        assert_eq!(
            ip_key("2001:db8:1:2:aaaa::1"),
            ip_key("2001:db8:1:2:bbbb::7")
        );
        assert_ne!(ip_key("2001:db8:1:2::1"), ip_key("2001:db8:1:3::1"));
        assert_eq!(ip_key("203.0.113.9"), "ip:203.0.113.9");
    }

    #[test]
    fn phones_and_emails_are_counted_apart_and_emails_keep_their_keys() {
        use crate::domain::{Email, Phone};
        let email = SignInName::Email(Email::parse("A@Example.com").expect("email"));
        let phone = SignInName::Phone(Phone::parse("+1 (312) 555-0101").expect("phone"));
        assert_eq!(account_key(&email), "account:a@example.com");
        assert_eq!(account_key(&phone), "account:phone:+13125550101");
        let spelled = SignInName::Phone(Phone::parse("+1.312.555.0101").expect("phone"));
        assert_eq!(
            account_key(&spelled),
            account_key(&phone),
            "one number, one counter"
        );
    }

    #[test]
    fn reset_requests_have_counters_of_their_own() {
        let email: SignInName = crate::domain::Email::parse("a@example.com")
            .expect("email")
            .into();
        let login = Counter::Login.keys(&email, Some("203.0.113.9"));
        let reset = Counter::PasswordReset.keys(&email, Some("203.0.113.9"));
        assert_eq!(login.0, "account:a@example.com");
        assert_eq!(reset.0, "reset:account:a@example.com");
        assert_eq!(reset.1.as_deref(), Some("reset:ip:203.0.113.9"));
        let signup = Counter::Signup.keys(&email, Some("203.0.113.9"));
        assert_eq!(signup.0, "signup:account:a@example.com");
        assert_eq!(signup.1.as_deref(), Some("signup:ip:203.0.113.9"));
    }

    #[test]
    fn the_delay_grows_after_the_free_attempts_and_is_capped() {
        let lockout = LockoutSettings {
            delay_after: 2,
            ..LockoutSettings::default()
        };
        let delays: Vec<_> = (1..=8).map(|f| delay(&lockout, f).as_millis()).collect();
        assert_eq!(delays, [0, 0, 250, 500, 1000, 2000, 3000, 3000]);
    }
}
