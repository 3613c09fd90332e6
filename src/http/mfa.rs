//! `/api/v1/auth/mfa`: the caller's second factors (enrol a TOTP app, confirm it, list, remove,
//! new recovery codes), the second step of a sign-in, and step-up before a sensitive change.

use chrono::{DateTime, Utc};
use poem::{Request, web::Data};
use poem_openapi::{ApiResponse, Object, OpenApi, param::Path, payload::Json};
use uuid::Uuid;

use super::{
    ApiTags,
    auth::{Issue, issue},
    dto::{Nullable, json_string, json_string_or_null},
    error::{ApiResult, set},
    fields::{self, Either},
    security::{BearerAuth, request_meta},
};
use crate::{
    auth::mfa::{recovery, totp},
    error::AppError,
    service::mfa::{Answer, enrol, store, verify},
    state::AppState,
};

/// A code from the authenticator app (`code`), or one of the recovery codes (`recovery_code`):
/// exactly one.
pub(crate) fn answer(
    app_code: Option<String>,
    recovery_code: Option<String>,
) -> Result<Answer, AppError> {
    match fields::either(
        ("code", app_code.as_deref()),
        ("recovery_code", recovery_code.as_deref()),
    )? {
        Either::First(raw) => code(raw).map(Answer::Code),
        Either::Second(code) if recovery::normalise(code).is_some() => {
            Ok(Answer::RecoveryCode(code.to_owned()))
        }
        Either::Second(_) => Err(AppError::field(
            "recovery_code",
            "is not a recovery code (xxxx-xxxx-xxxx)",
        )),
    }
}

/// A code from the authenticator app: six digits (spaces around them are dropped).
fn code(raw: &str) -> Result<String, AppError> {
    let code = raw.trim();
    if !totp::well_formed(code) {
        return Err(AppError::field(
            "code",
            "must be the 6 digits your authenticator app shows",
        ));
    }
    Ok(code.to_owned())
}

#[derive(Object)]
struct EnrolRequest {
    /// The caller's password, asked again.
    #[oai(deserialize_with = "json_string")]
    current_password: String,
}

#[derive(Object)]
struct ConfirmRequest {
    /// The 6-digit code the app shows for the new secret.
    #[oai(deserialize_with = "json_string")]
    code: String,
}

/// The password and a second factor: `code` or `recovery_code`, exactly one.
#[derive(Object)]
struct ProtectedRequest {
    #[oai(deserialize_with = "json_string")]
    current_password: String,
    #[oai(nullable, deserialize_with = "json_string_or_null")]
    code: Option<String>,
    #[oai(nullable, deserialize_with = "json_string_or_null")]
    recovery_code: Option<String>,
}

/// A second factor: `code` or `recovery_code`, exactly one.
#[derive(Object)]
struct FactorRequest {
    #[oai(nullable, deserialize_with = "json_string_or_null")]
    code: Option<String>,
    #[oai(nullable, deserialize_with = "json_string_or_null")]
    recovery_code: Option<String>,
}

#[derive(Object)]
struct VerifyRequest {
    /// From the `MfaChallenge` that `/auth/login` or `/auth/token` answered.
    #[oai(deserialize_with = "json_string")]
    mfa_token: String,
    #[oai(nullable, deserialize_with = "json_string_or_null")]
    code: Option<String>,
    #[oai(nullable, deserialize_with = "json_string_or_null")]
    recovery_code: Option<String>,
}

/// A factor, never its secret.
#[derive(Object)]
struct MfaFactor {
    id: Uuid,
    /// Always `totp`.
    kind: String,
    created_at: DateTime<Utc>,
    /// `null` while pending: it counts once its first code is confirmed.
    confirmed_at: Nullable<DateTime<Utc>>,
    last_used_at: Nullable<DateTime<Utc>>,
}

impl From<store::Factor> for MfaFactor {
    fn from(f: store::Factor) -> Self {
        Self {
            id: f.id,
            kind: f.kind,
            created_at: f.created_at,
            confirmed_at: f.confirmed_at.into(),
            last_used_at: f.last_used_at.into(),
        }
    }
}

#[derive(Object)]
struct MfaStatus {
    factors: Vec<MfaFactor>,
    recovery_codes_remaining: i64,
}

#[derive(Object)]
struct TotpEnrolment {
    /// Confirm at `POST /api/v1/auth/mfa/totp/{id}/confirm` within 15 minutes.
    id: Uuid,
    /// For authenticator apps (SHA-1, 6 digits, 30 s).
    otpauth_uri: String,
    /// The secret in base32, for typing in instead of scanning; shown only now.
    secret: String,
    /// The QR code of `otpauth_uri`, an SVG document.
    qr_svg: String,
}

/// A new access token for the same session (its refresh token unchanged).
#[derive(Object)]
struct AccessToken {
    access_token: String,
    /// Always `bearer`.
    token_type: String,
    expires_in: u64,
}

#[derive(Object)]
struct TotpConfirmed {
    factor: MfaFactor,
    /// Ten single-use codes for when the app is not at hand; shown only now.
    recovery_codes: Vec<String>,
    /// The session proved the factor just now: this token says so (`amr` has `otp`).
    token: AccessToken,
}

#[derive(Object)]
struct RecoveryCodes {
    /// Shown only now; every earlier code stopped working.
    recovery_codes: Vec<String>,
}

/// An answer holding secrets or tokens: it must not be cached.
#[derive(ApiResponse)]
enum Answered<T: poem_openapi::types::ToJSON + Send + Sync> {
    #[oai(status = 200)]
    Ok(Json<T>, #[oai(header = "Cache-Control")] String),
}

/// A new pending factor, holding its secret: it must not be cached.
#[derive(ApiResponse)]
enum Started {
    #[oai(status = 201)]
    Created(Json<TotpEnrolment>, #[oai(header = "Cache-Control")] String),
}

#[derive(ApiResponse)]
enum Done {
    #[oai(status = 204)]
    NoContent,
}

fn fresh(access_token: String, expires_in: u64) -> AccessToken {
    AccessToken {
        access_token,
        token_type: "bearer".into(),
        expires_in,
    }
}

pub struct MfaApi;

#[OpenApi(prefix_path = "/api/v1/auth/mfa", tag = "ApiTags::Auth")]
impl MfaApi {
    /// The caller's factors (no secrets) and how many recovery codes are left.
    ///
    /// **Permissions:** any signed-in user, for themselves (also while they must enrol).
    #[oai(path = "/", method = "get")]
    async fn status(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
    ) -> ApiResult<Json<MfaStatus>, set::Caller> {
        let status = enrol::status(&state, &me).await?;
        Ok(Json(MfaStatus {
            factors: status.factors.into_iter().map(Into::into).collect(),
            recovery_codes_remaining: status.recovery_codes_remaining,
        }))
    }

    /// Start enrolling an authenticator app: a new secret, as an `otpauth://` URI and its QR
    /// code. It counts once confirmed with its first code.
    ///
    /// **Permissions:** any signed-in user, for themselves, with their current password
    /// (throttled like a login).
    #[oai(path = "/totp", method = "post")]
    async fn enrol(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Json(body): Json<EnrolRequest>,
    ) -> ApiResult<Started, set::MfaChange> {
        let e = enrol::start(&state, &me, body.current_password).await?;
        let (id, otpauth_uri, secret, qr_svg) = (e.factor_id, e.otpauth_uri, e.secret, e.qr_svg);
        let enrolment = TotpEnrolment {
            id,
            otpauth_uri,
            secret,
            qr_svg,
        };
        Ok(Started::Created(Json(enrolment), "no-store".into()))
    }

    /// Confirm a pending app with its current code: it becomes active, and ten recovery codes
    /// (shown only now) replace any earlier ones.
    ///
    /// **Permissions:** any signed-in user, for their own pending factor.
    #[oai(path = "/totp/:id/confirm", method = "post")]
    async fn confirm(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Path(id): Path<Uuid>,
        Json(body): Json<ConfirmRequest>,
    ) -> ApiResult<Answered<TotpConfirmed>, set::MfaChange> {
        let c = enrol::confirm(&state, &me, id, code(&body.code)?).await?;
        let token = fresh(c.access_token, c.expires_in);
        let (factor, recovery_codes) = (c.factor.into(), c.recovery_codes);
        let confirmed = TotpConfirmed {
            factor,
            recovery_codes,
            token,
        };
        Ok(Answered::Ok(Json(confirmed), "no-store".into()))
    }

    /// Remove an app; with the last one go the recovery codes.
    ///
    /// **Permissions:** any signed-in user, for their own factor, with their current password
    /// and a code (from any of their apps) or a recovery code.
    #[oai(path = "/totp/:id", method = "delete")]
    async fn remove(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Path(id): Path<Uuid>,
        Json(body): Json<ProtectedRequest>,
    ) -> ApiResult<Done, set::MfaChange> {
        let proof = answer(body.code, body.recovery_code)?;
        enrol::remove(&state, &me, id, (body.current_password, proof)).await?;
        Ok(Done::NoContent)
    }

    /// Ten new recovery codes; every earlier one stops working.
    ///
    /// **Permissions:** any signed-in user with a factor, with their current password and a
    /// code or a recovery code.
    #[oai(path = "/recovery-codes", method = "post")]
    async fn recovery_codes(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Json(body): Json<ProtectedRequest>,
    ) -> ApiResult<Answered<RecoveryCodes>, set::MfaChange> {
        let proof = answer(body.code, body.recovery_code)?;
        let codes = enrol::regenerate_codes(&state, &me, (body.current_password, proof)).await?;
        let answer = RecoveryCodes {
            recovery_codes: codes,
        };
        Ok(Answered::Ok(Json(answer), "no-store".into()))
    }

    /// The second step of a sign-in: the `mfa_token` and a code (or a recovery code) for
    /// tokens whose `amr` is `["pwd", "otp"]`.
    ///
    /// **Permissions:** anyone holding a live `mfa_token`. Wrong codes count against the
    /// account's lockout like wrong passwords (429 with `Retry-After`); a code is accepted
    /// once, a recovery code once ever.
    #[oai(path = "/verify", method = "post")]
    async fn verify(
        &self,
        req: &Request,
        state: Data<&AppState>,
        Json(body): Json<VerifyRequest>,
    ) -> ApiResult<Issue, set::MfaVerify> {
        let proof = answer(body.code, body.recovery_code)?;
        let meta = request_meta(req, &state);
        let issued = verify::sign_in(&state, &body.mfa_token, proof, &meta).await?;
        Ok(issue(&state, issued))
    }

    /// Prove the second factor again before a sensitive change (`403 step_up_required`): a
    /// new access token for the same session says it was proven just now.
    ///
    /// **Permissions:** any signed-in user with a factor; wrong codes are counted and
    /// throttled.
    #[oai(path = "/step-up", method = "post")]
    async fn step_up(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Json(body): Json<FactorRequest>,
    ) -> ApiResult<Answered<AccessToken>, set::MfaChange> {
        let proof = answer(body.code, body.recovery_code)?;
        let access_token = verify::step_up(&state, &me, proof).await?;
        let token = fresh(access_token, state.settings.auth.access_token_ttl_secs);
        Ok(Answered::Ok(Json(token), "no-store".into()))
    }
}
