# dealergate container image: a cached Rust build, then a small non-root runtime.
#
#   docker build -t dealergate:0.1.0 .
#   docker run --rm -p 8000:8000 -e DATABASE_URL=... -e DEALERGATE_AUTH__SIGNING_KEY_FILE=... \
#     -e DEALERGATE_OIDC__ES256_KEY_FILE=... -e DEALERGATE_AUTH__REFRESH_TOKEN_SECRET=... \
#     -e DEALERGATE_AUTH__MFA__ENCRYPTION_KEY=... -e DEALERGATE_MAIL__SMTP_URL=... \
#     -e DEALERGATE_MAIL__PUBLIC_BASE_URL=https://... dealergate:0.1.0
#
# The same runtime around a binary built outside, without the Rust stage (CI builds this target
# with buildah around its own build: .ci/image.sh):
#
#   cargo build --release --locked
#   docker build --target runtime-prebuilt -t dealergate:0.1.0 .
#   (another build: --build-arg DEALERGATE_BINARY=target/<profile>/dealergate)
#
# The image runs the prod profile: it never migrates by itself (run `dealergate migrate up` as the
# schema owner first; the Helm chart does that in a pre-install/pre-upgrade Job) and refuses to
# start without a signing key, an ES256 ID-token key (unless oidc.enabled is off), a
# refresh-token secret, an MFA encryption key (the base64 of 32 random bytes, `openssl rand
# -base64 32`; keep it, it seals the TOTP secrets), an SMTP URL, the frontend's https address
# and a non-development DATABASE_URL (a NOINHERIT login role, not the schema owner).

############################################################################ runtime-base
# Everything of the runtime but the binary, shared by the two runtime targets below so they cannot
# drift. It comes first: building runtime-prebuilt never needs the Rust stage, even with Docker's
# legacy builder (which builds every stage before the target).
FROM debian:bookworm-slim AS runtime-base

# ca-certificates only: TLS to PostgreSQL (sslmode=verify-full) needs the system roots.
# Not version-pinned on purpose: Debian security updates replace the archived version, so a pin
# breaks the build as soon as a fix ships; rebuilding the image is how it picks up the update.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*

# A fixed non-root uid/gid (10001), so Kubernetes `runAsNonRoot` can verify it numerically.
RUN groupadd --system --gid 10001 dealergate \
    && useradd --system --uid 10001 --gid 10001 --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin dealergate

COPY policies/ /etc/dealergate/policies/

ENV DEALERGATE_PROFILE=prod \
    DEALERGATE_LISTEN=0.0.0.0:8000 \
    DEALERGATE_HTTP__OPS_LISTEN=0.0.0.0:9090 \
    DEALERGATE_POLICIES__DIR=/etc/dealergate/policies \
    DEALERGATE_LOG__FORMAT=json

WORKDIR /etc/dealergate
USER 10001:10001
# 8000: the API; 9090: the operators' listener (metrics, detailed readiness), keep it private
EXPOSE 8000 9090

# `dealergate healthcheck` GETs /healthz on the local listen port and exits 0 or 1.
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
    CMD ["dealergate", "healthcheck"]

ENTRYPOINT ["dealergate"]
CMD ["serve"]

############################################################################ runtime-prebuilt
# The runtime around a binary from the build context (.dockerignore lets target/*/dealergate in).
# It must be built for this image's Debian release (glibc) or an older one.
FROM runtime-base AS runtime-prebuilt
ARG DEALERGATE_BINARY=target/release/dealergate
COPY ${DEALERGATE_BINARY} /usr/local/bin/dealergate

############################################################################ builder
FROM rust:1.95-bookworm AS builder

WORKDIR /build

# 1. Dependencies only: the manifests and the lock file with stub sources for every target the
#    manifests declare (the root package's lib, bin and `api` test, the migration crate's lib and
#    bin). This layer is rebuilt only when Cargo.toml, migration/Cargo.toml or Cargo.lock change.
COPY Cargo.toml Cargo.lock ./
COPY migration/Cargo.toml migration/Cargo.toml
RUN mkdir -p src tests/api migration/src \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs tests/api/main.rs migration/src/lib.rs \
    && echo 'fn main() {}' > migration/src/main.rs \
    && cargo build --release --locked --bin dealergate \
    && rm -rf src tests migration/src

# 2. The real sources. COPY keeps the files' original modification times, which may be older
#    than the stub build above, so touch them: otherwise cargo could consider the stubs current.
COPY src/ src/
COPY migration/src/ migration/src/
# the built-in mail templates are compiled into the binary (include_str!)
COPY templates/ templates/
RUN mkdir -p tests/api \
    && touch tests/api/main.rs \
    && touch src/lib.rs src/main.rs migration/src/lib.rs migration/src/main.rs \
    && cargo build --release --locked --bin dealergate \
    && cp target/release/dealergate /usr/local/bin/dealergate

############################################################################ runtime
# The default target (`docker build .`): the runtime around the binary of the builder stage.
FROM runtime-base AS runtime
COPY --from=builder /usr/local/bin/dealergate /usr/local/bin/dealergate
