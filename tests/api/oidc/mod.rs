//! dealergate as an OpenID Connect provider (issue 25): the code flow through the console's
//! pages, the token endpoint's grants and refusals, userinfo, revocation, introspection and
//! logout — over real HTTP against the real server.

mod authlib;
mod conformance;
mod consents;
mod flow;
mod library;
mod memberships;
mod prompts;
mod refusals;
pub mod rp;
mod sessions;
mod steps;
mod token_refusals;
