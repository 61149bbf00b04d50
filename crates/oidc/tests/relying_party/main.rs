//! regen-oidc against the real test provider (end2end/oidc/provider.mjs): one test binary,
//! one provider per test, so that its test modes never cross.

mod discovery;
mod helpers;
mod id_token;
mod login;
mod logout;
