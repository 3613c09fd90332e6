//! The keys as configured: files of every kind, rotation, the published JWKs, wrong files.

use std::{
    path::{Path, PathBuf},
    sync::OnceLock,
};

use jsonwebtoken::{Validation, jwk::ThumbprintHash};

use super::{AUD, Claims, claims_for, expect, refused};
use crate::{
    config::{OidcSettings, Profile, Settings},
    error::AppError,
    oidc::keys::{IdAlg, IdKeys, decode_header, generate_pem, material::Key},
};

/// Two RSA pairs, made once: RSA key generation is the slow part of these tests.
fn rsa_pems() -> &'static [(String, String); 2] {
    static PEMS: OnceLock<[(String, String); 2]> = OnceLock::new();
    PEMS.get_or_init(|| [0, 1].map(|_| generate_pem(IdAlg::RS256).unwrap()))
}

fn pem_pair(alg: IdAlg, which: usize) -> (String, String) {
    match alg {
        IdAlg::RS256 => rsa_pems()[which].clone(),
        _ => generate_pem(alg).unwrap(),
    }
}

/// A folder of key files, removed at the end of the test.
struct Dir(PathBuf);

impl Dir {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("dg-id-keys-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn settings(profile: Profile, configure: impl FnOnce(&mut OidcSettings)) -> Settings {
    let mut settings = Settings {
        profile,
        ..Settings::default()
    };
    configure(&mut settings.oidc);
    settings
}

/// Prod keys of every algorithm from files in `dir` (pair `which`), and their public PEMs.
fn configured(dir: &Dir, which: usize, retired: Vec<PathBuf>) -> (IdKeys, Vec<String>) {
    let mut publics = Vec::new();
    let mut file = |alg: IdAlg| {
        let (private, public) = pem_pair(alg, which);
        publics.push(public);
        Some(dir.write(&format!("{}-{which}.pem", alg.as_str()), &private))
    };
    let settings = settings(Profile::Prod, |oidc| {
        oidc.es256_key_file = file(IdAlg::ES256);
        oidc.rs256_key_file = file(IdAlg::RS256);
        oidc.eddsa_key_file = file(IdAlg::EdDSA);
        oidc.verification_key_files = retired;
    });
    (IdKeys::from_settings(&settings).unwrap(), publics)
}

#[test]
fn a_retired_key_still_verifies_after_rotation() {
    let dir = Dir::new();
    let (old, old_publics) = configured(&dir, 0, Vec::new());
    let issued: Vec<String> = IdAlg::ALL
        .iter()
        .map(|&alg| old.sign(alg, "JWT", &claims_for(60)).unwrap())
        .collect();
    let retired = old_publics
        .iter()
        .enumerate()
        .map(|(i, pem)| dir.write(&format!("retired-{i}.pub.pem"), pem))
        .collect();
    let (rotated, _) = configured(&dir, 1, retired);
    let (forgetful, _) = configured(&dir, 1, Vec::new());
    for (alg, token) in IdAlg::ALL.iter().zip(&issued) {
        assert!(
            rotated.verify::<Claims>(token, &expect()).is_ok(),
            "{alg:?}"
        );
        assert!(refused(forgetful.verify::<Claims>(token, &expect())));
        let fresh = rotated.sign(*alg, "JWT", &claims_for(60)).unwrap();
        assert_ne!(
            decode_header(&fresh).unwrap().kid,
            decode_header(token).unwrap().kid
        );
    }
    assert_eq!(
        rotated.jwks().len(),
        6,
        "three current keys and three retired"
    );
    assert_eq!(rotated.algs(), IdAlg::ALL);
}

#[test]
fn the_jwks_publishes_each_key_once_with_its_own_members() {
    let dir = Dir::new();
    let (old, old_publics) = configured(&dir, 0, Vec::new());
    let mut retired: Vec<PathBuf> = old_publics
        .iter()
        .enumerate()
        .map(|(i, pem)| dir.write(&format!("retired-{i}.pub.pem"), pem))
        .collect();
    retired.push(retired[0].clone());
    let (keys, _) = configured(&dir, 1, retired);
    let jwks = keys.jwks();
    let kids: std::collections::HashSet<&str> = jwks.iter().map(|k| k.kid.as_str()).collect();
    assert_eq!(
        (jwks.len(), kids.len()),
        (6, 6),
        "a key listed twice is published once"
    );
    for (jwk, set) in jwks.iter().zip([&keys, &keys, &keys, &old, &old, &old]) {
        let value = serde_json::to_value(jwk).unwrap();
        let mut members: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        members.sort();
        let expected = match jwk.kty.as_str() {
            "EC" => vec!["alg", "crv", "kid", "kty", "use", "x", "y"],
            "RSA" => vec!["alg", "e", "kid", "kty", "n", "use"],
            _ => vec!["alg", "crv", "kid", "kty", "use", "x"],
        };
        assert_eq!(members, expected, "{value}");
        // a relying party's reading of it: the same kid, and it verifies what the key signed
        let parsed: jsonwebtoken::jwk::Jwk = serde_json::from_value(value).unwrap();
        if let Ok(thumbprint) = parsed.thumbprint(ThumbprintHash::SHA256) {
            assert_eq!(thumbprint, jwk.kid, "RFC 7638");
        }
        let alg = IdAlg::parse(&jwk.alg).unwrap();
        let token = set.sign(alg, "JWT", &claims_for(60)).unwrap();
        let mut validation = Validation::new(alg.algorithm());
        validation.set_audience(&[AUD]);
        let key = jsonwebtoken::DecodingKey::from_jwk(&parsed).unwrap();
        jsonwebtoken::decode::<Claims>(&token, &key, &validation).unwrap();
    }
}

#[test]
fn prod_offers_only_the_algorithms_it_has_keys_for() {
    let dir = Dir::new();
    let es256 = dir.write("es256.pem", &generate_pem(IdAlg::ES256).unwrap().0);
    let keys = IdKeys::from_settings(&settings(Profile::Prod, |oidc| {
        oidc.es256_key_file = Some(es256);
    }))
    .unwrap();
    assert_eq!(keys.algs(), [IdAlg::ES256]);
    assert_eq!(keys.jwks().len(), 1);
    assert!(matches!(
        keys.sign(IdAlg::RS256, "JWT", &claims_for(60)),
        Err(AppError::Internal(_))
    ));
    let off = IdKeys::from_settings(&settings(Profile::Dev, |oidc| oidc.enabled = false)).unwrap();
    assert!(off.algs().is_empty() && off.jwks().is_empty());
}

#[test]
fn keys_of_the_wrong_kind_or_size_are_refused() {
    use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
    let dir = Dir::new();
    let ed25519 = dir.write("ed.pem", &generate_pem(IdAlg::EdDSA).unwrap().0);
    let refuses = |configure: &dyn Fn(&mut OidcSettings)| {
        IdKeys::from_settings(&settings(Profile::Prod, configure)).is_err()
    };
    assert!(refuses(&|oidc| oidc.es256_key_file = Some(ed25519.clone())));
    assert!(refuses(&|oidc| oidc.rs256_key_file = Some(ed25519.clone())));
    let short = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 1024).unwrap();
    let short_private = dir.write("short.pem", &short.to_pkcs8_pem(LineEnding::LF).unwrap());
    let short_public = short
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    let short_public = dir.write("short.pub.pem", &short_public);
    assert!(refuses(
        &|oidc| oidc.rs256_key_file = Some(short_private.clone())
    ));
    assert!(refuses(
        &|oidc| oidc.verification_key_files = vec![short_public.clone()]
    ));
    assert!(refuses(
        &|oidc| oidc.verification_key_files = vec![ed25519.clone()]
    ));
    assert!(refuses(&|oidc| {
        oidc.verification_key_files = vec![Path::new("/nonexistent.pem").into()]
    }));
    // the access tokens' own key, as an ID-token key
    let mut shared = settings(Profile::Prod, |oidc| {
        oidc.eddsa_key_file = Some(ed25519.clone())
    });
    shared.auth.signing_key_file = Some(ed25519.clone());
    assert!(IdKeys::from_settings(&shared).is_err());
}

#[test]
fn a_written_id_key_pair_loads_and_is_never_overwritten() {
    let dir = Dir::new();
    let generate = || generate_pem(IdAlg::ES256);
    let write = || crate::auth::keys::write_pem_pair(&dir.0, "id-es256", generate);
    let (private, public) = write().unwrap();
    assert!(write().is_err());
    let key = Key::load(IdAlg::ES256, &private).unwrap();
    let retired = Key::retired(&std::fs::read_to_string(&public).unwrap()).unwrap();
    assert_eq!(key.jwk.kid, retired.jwk.kid);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&private).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
