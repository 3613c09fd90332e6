//! The `dealergate` command line: `serve` (default), `migrate`, `seed`, `admin`, `policies`,
//! `keys`, `config`, `openapi`, `healthcheck`.

mod admin;
mod database;
mod dev;
mod probe;

use std::path::PathBuf;

use anyhow::bail;
use clap::{Parser, Subcommand};
use database::{create_database_if_missing, migrate, seed};

use crate::{
    auth::keys,
    config::{Profile, Settings},
    oidc::keys::{IdAlg, generate_pem as generate_id_pem},
    startup::Application,
    telemetry,
};

#[derive(Debug, Parser)]
#[command(
    name = "dealergate",
    version,
    about = "Identity, sessions and tenancy for dealership platforms"
)]
pub struct Cli {
    /// Configuration file (default: $DEALERGATE_CONFIG, then ./dealergate.toml if present).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API (the default). In `dev` it first migrates the database and seeds the demo data.
    Serve,
    /// Apply, roll back or list schema migrations (connect as the schema owner).
    Migrate {
        #[command(subcommand)]
        action: MigrateAction,
    },
    /// Load the demo data from the seed folder (idempotent; refused in `prod`).
    Seed {
        /// Dev only: drop the database and create it afresh with the demo data (refused for a
        /// database the demo seed did not write).
        #[arg(long)]
        reset: bool,
    },
    /// Development helpers (refused in `prod` and on a database the demo seed did not write).
    Dev {
        #[command(subcommand)]
        action: DevAction,
    },
    /// Print the effective configuration, secrets redacted.
    Config,
    /// Print the OpenAPI document.
    Openapi,
    /// Manage users from the operator's shell (the first admin of a production install).
    Admin {
        #[command(subcommand)]
        action: AdminAction,
    },
    /// Exit 0 if this host's server answers `/healthz` (the container's HEALTHCHECK).
    Healthcheck,
    /// Check an authorization policy folder.
    Policies {
        #[command(subcommand)]
        action: PoliciesAction,
    },
    /// Manage signing keys: the access tokens' and the ID tokens'.
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminAction {
    /// Create a user unless one with the email exists (then nothing changes). The password is
    /// read from `--password-file`, or from standard input — never from an argument.
    CreateUser(NewAccount),
    /// Remove every second factor and recovery code of the user signing in with `--email` and
    /// end their sessions (audited, the user is mailed): how an admin who lost every factor
    /// gets back in, since no admin may reset another admin's.
    ResetMfa {
        #[arg(long)]
        email: String,
    },
}

/// The fields of `admin create-user`, as typed.
#[derive(Debug, clap::Args)]
pub struct NewAccount {
    #[arg(long)]
    email: String,
    #[arg(long, default_value = "admin")]
    role: String,
    /// The dealership (id or name) for roles other than admin.
    #[arg(long)]
    dealership: Option<String>,
    #[arg(long, default_value = "Platform")]
    first_name: String,
    #[arg(long, default_value = "Admin")]
    last_name: String,
    /// A file holding the password (e.g. a mounted Secret); default: standard input.
    #[arg(long, value_name = "FILE")]
    password_file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum DevAction {
    /// Print the current code of a user's authenticator app (the demo admin's, say), as the
    /// app would show it.
    Totp { email: String },
}

#[derive(Debug, Subcommand)]
pub enum PoliciesAction {
    /// Validate `model.conf` and `policy.csv` and run `tests.csv`; prints each problem and exits
    /// non-zero if there is any (for platform teams' CI).
    Check {
        /// The policy folder.
        #[arg(default_value = "policies")]
        dir: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysAction {
    /// Write a new key pair, the private key with mode 0600: by default the access tokens'
    /// Ed25519 key (`signing.pem`, `signing.pub.pem`); with `--alg ES256` or `RS256`, or with
    /// `--id-token`, an ID-token key (`id-es256.pem`, `id-rs256.pem`, `id-eddsa.pem` and their
    /// `.pub.pem`).
    Generate {
        /// Folder to write into; existing files are never overwritten.
        #[arg(long, default_value = "keys")]
        out: PathBuf,
        /// ES256 (P-256), RS256 (RSA, 2048 bits) or EdDSA (Ed25519).
        #[arg(long, default_value = "EdDSA", value_parser = parse_alg)]
        alg: IdAlg,
        /// An ID-token key (`oidc.eddsa_key_file`) rather than the access tokens' key; ES256
        /// and RS256 keys are ID-token keys anyway.
        #[arg(long)]
        id_token: bool,
    },
}

fn parse_alg(name: &str) -> Result<IdAlg, String> {
    IdAlg::parse(name).ok_or_else(|| format!("{name}: one of ES256, RS256, EdDSA"))
}

#[derive(Debug, Subcommand)]
pub enum MigrateAction {
    /// Apply every pending migration.
    Up,
    /// Roll back the newest migrations.
    Down {
        /// How many to roll back.
        #[arg(short = 'n', long, default_value_t = 1)]
        steps: u32,
    },
    /// List migrations and whether each is applied.
    Status,
}

/// Parses nothing, runs everything: the body of `main`.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let command = cli.command.unwrap_or(Command::Serve);
    match &command {
        Command::Openapi => {
            println!("{}", crate::http::api_service().spec());
            return Ok(());
        }
        Command::Keys {
            action: KeysAction::Generate { out, alg, id_token },
        } => {
            generate_keys(out, *alg, *id_token)?;
            return Ok(());
        }
        Command::Policies {
            action: PoliciesAction::Check { dir },
        } => {
            let problems = crate::authz::check_dir(dir).await;
            for problem in &problems {
                println!("FAIL {problem}");
            }
            if !problems.is_empty() {
                bail!("{} problem(s) in {}", problems.len(), dir.display());
            }
            println!("ok: {} is valid and its tests.csv passes", dir.display());
            return Ok(());
        }
        _ => {}
    }
    let settings = Settings::load(cli.config)?;
    if let Command::Config = command {
        print!("{}", settings.to_redacted_toml());
        return Ok(());
    }
    // flushes the queued log lines when `run` returns
    let _log = telemetry::init(&settings);
    // before `serve` seeds or `admin create-user` hashes, so they use the configured workers
    crate::auth::password::configure(&settings.auth.hashing)?;
    match command {
        Command::Serve => serve(settings).await,
        Command::Migrate { action } => migrate(&settings, action).await,
        Command::Seed { reset: false } => seed(&settings).await,
        Command::Seed { reset: true } => dev::reset(&settings).await,
        Command::Dev {
            action: DevAction::Totp { email },
        } => dev::totp(&settings, &email).await,
        Command::Admin { action } => admin::run(&settings, action).await,
        Command::Healthcheck => probe::healthcheck(&settings).await,
        Command::Config | Command::Openapi | Command::Keys { .. } | Command::Policies { .. } => {
            Ok(())
        }
    }
}

/// `keys generate`: the pair, and the settings that use it.
fn generate_keys(out: &std::path::Path, alg: IdAlg, id_token: bool) -> anyhow::Result<()> {
    if alg == IdAlg::EdDSA && !id_token {
        let (private, public) = keys::write_key_pair(out)?;
        println!("wrote {} and {}", private.display(), public.display());
        println!(
            "sign with it:   DEALERGATE_AUTH__SIGNING_KEY_FILE={}",
            private.display()
        );
        println!(
            "after rotating, keep verifying old tokens with auth.verification_key_files = [\"{}\"]",
            public.display()
        );
        return Ok(());
    }
    let name = alg.as_str().to_ascii_lowercase();
    let (private, public) =
        keys::write_pem_pair(out, &format!("id-{name}"), || generate_id_pem(alg))?;
    println!("wrote {} and {}", private.display(), public.display());
    println!(
        "sign ID tokens with it:   DEALERGATE_OIDC__{}_KEY_FILE={}",
        name.to_ascii_uppercase(),
        private.display()
    );
    println!(
        "after rotating, keep verifying old tokens with oidc.verification_key_files = [\"{}\"]",
        public.display()
    );
    Ok(())
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    if settings.profile == Profile::Dev {
        // the two-command start: a fresh machine with PostgreSQL gets a working server
        create_database_if_missing(settings.database.url.expose()).await?;
        migrate(&settings, MigrateAction::Up).await?;
        seed(&settings).await?;
    }
    Application::build(settings)
        .await?
        .run_until_stopped()
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_subcommand_means_serve() {
        let cli = Cli::parse_from(["dealergate"]);
        assert!(cli.command.is_none());
        let cli = Cli::parse_from(["dealergate", "migrate", "down", "-n", "2"]);
        assert!(matches!(
            cli.command,
            Some(Command::Migrate {
                action: MigrateAction::Down { steps: 2 }
            })
        ));
    }

    #[test]
    fn keys_generate_makes_the_access_token_key_unless_told_an_algorithm() {
        let alg_of = |args: &[&str]| match Cli::try_parse_from(args).map(|cli| cli.command) {
            Ok(Some(Command::Keys {
                action: KeysAction::Generate { alg, id_token, .. },
            })) => Some((alg, id_token)),
            _ => None,
        };
        assert_eq!(
            alg_of(&["dealergate", "keys", "generate"]),
            Some((IdAlg::EdDSA, false))
        );
        assert_eq!(
            alg_of(&["dealergate", "keys", "generate", "--alg", "ES256"]),
            Some((IdAlg::ES256, false))
        );
        assert_eq!(
            alg_of(&["dealergate", "keys", "generate", "--alg", "HS256"]),
            None
        );
    }
}
