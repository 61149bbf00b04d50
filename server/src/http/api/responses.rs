//! The answers every operation shares, as the document describes them.

use crate::http::problem::Problem;

pub const PROBLEM: &str = "application/problem+json";

/// What every operation on the data can answer besides its own outcomes.
/// Only described: the values are built by [`Problem`]'s constructors.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum ServiceErrors {
    #[response(status = 401, description = "No or invalid credentials",
        content_type = "application/problem+json", headers(("WWW-Authenticate" = String)))]
    Unauthenticated(#[to_schema] Problem),
    #[response(
        status = 403,
        description = "Authenticated, but not an admin",
        content_type = "application/problem+json"
    )]
    Forbidden(#[to_schema] Problem),
    #[response(
        status = 500,
        description = "Internal error (logged with the request id)",
        content_type = "application/problem+json"
    )]
    Internal(#[to_schema] Problem),
    #[response(status = 503, description = "Database unavailable; nothing changed; retry after `Retry-After` seconds",
        content_type = "application/problem+json", headers(("Retry-After" = u32)))]
    Unavailable(#[to_schema] Problem),
}
