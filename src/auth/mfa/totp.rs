//! RFC 6238 codes as authenticator apps make them (SHA-1, 6 digits, 30-second steps), through
//! `totp-rs`; a code of the step before or after is accepted for clock skew. Which step a code
//! matched is returned, so the caller can accept each step once (RFC 6238 §5.2).

use totp_rs::{Algorithm, Builder, Totp};

/// Bytes of a new secret: 160 bits, as RFC 4226 recommends.
pub const SECRET_LEN: usize = 20;
pub const STEP_SECS: u64 = 30;

pub fn generate_secret() -> Vec<u8> {
    rand::random::<[u8; SECRET_LEN]>().to_vec()
}

fn totp(secret: &[u8], issuer: &str, account: &str) -> Option<Totp> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(STEP_SECS)
        .with_secret(secret.to_vec())
        .with_issuer(Some(issuer))
        // `:` separates issuer and account in the URI label
        .with_account_name(account.replace(':', "_"))
        .build()
        .ok()
}

/// What enrolment shows: the `otpauth://` URI (for the QR code) and the secret in base32 (for
/// typing in).
pub fn provisioning(secret: &[u8], issuer: &str, account: &str) -> Option<(String, String)> {
    let totp = totp(secret, issuer, account)?;
    Some((totp.to_url().ok()?, totp.secret().to_base32()))
}

/// The time step `code` is valid for at `unix_secs` (this step or an adjacent one), if any.
pub fn matching_step(secret: &[u8], code: &str, unix_secs: u64) -> Option<u64> {
    totp(secret, "dealergate", "user")?.check(code, unix_secs)
}

/// The bytes of a secret written in base32 (as apps show it); `None` if it is not base32.
pub fn secret_from_base32(base32: &str) -> Option<Vec<u8>> {
    let secret = totp_rs::Secret::try_from_base32(base32).ok()?;
    Some(secret.as_bytes().to_vec())
}

/// The code an app shows for `secret` at `unix_secs` (the dev command that stands in for one).
pub fn code_at(secret: &[u8], unix_secs: u64) -> Option<String> {
    Some(
        totp(secret, "dealergate", "user")?
            .generate(unix_secs)
            .to_string(),
    )
}

/// Whether `code` has the shape of a code: exactly six ASCII digits.
pub fn well_formed(code: &str) -> bool {
    code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit())
}

/// The QR code of `uri`, as an SVG document.
pub fn qr_svg(uri: &str) -> Option<String> {
    let code = qrcode::QrCode::new(uri.as_bytes()).ok()?;
    Some(
        code.render::<qrcode::render::svg::Color>()
            .min_dimensions(200, 200)
            .build(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1, truncated to six digits.
    #[test]
    fn codes_follow_rfc_6238_and_adjacent_steps_only() {
        let secret = b"12345678901234567890";
        assert_eq!(matching_step(secret, "287082", 59), Some(1));
        assert_eq!(
            matching_step(secret, "005924", 1_234_567_890),
            Some(41_152_263)
        );
        // the step's code is accepted one step early or late, not two
        assert_eq!(matching_step(secret, "287082", 59 + 30), Some(1));
        assert_eq!(matching_step(secret, "287082", 59 + 60), None);
        assert!(well_formed("012345") && !well_formed("12345") && !well_formed("12a456"));
        let (uri, base32) = provisioning(secret, "dealergate", "a@b.com").unwrap();
        assert!(uri.starts_with("otpauth://totp/"), "{uri}");
        assert!(uri.contains(&format!("secret={base32}")), "{uri}");
        assert!(qr_svg(&uri).unwrap().contains("<svg"));
    }
}
