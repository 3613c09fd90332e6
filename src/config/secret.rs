//! How is a secret kept out of logs and `dealergate config`? [`Secret`], redacted everywhere.

use std::fmt;

use serde::{Deserialize, Serialize, Serializer};

/// A value that never leaves the process by accident: `Debug`, `Display` and `Serialize`
/// all print `[redacted]`. Read it with [`Secret::expose`].
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    pub fn new(value: T) -> Self {
        Self(value)
    }

    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl<T> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl<T> Serialize for Secret<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str("[redacted]")
    }
}

#[cfg(test)]
// figment's Jail fixes the closures' error type to figment::Error, which clippy finds large
#[allow(clippy::result_large_err)]
mod tests {
    use figment::Jail;

    use crate::config::Settings;

    #[test]
    fn secrets_are_redacted_when_printed() {
        Jail::expect_with(|jail| {
            jail.set_env("DATABASE_URL", "postgres://app:hunter2@db/dealergate");
            let s = Settings::load(None).map_err(|e| e.to_string())?;
            assert!(!s.to_redacted_toml().contains("hunter2"));
            assert!(!format!("{s:?}").contains("hunter2"));
            assert!(s.to_redacted_toml().contains("[redacted]"));
            Ok(())
        });
    }
}
