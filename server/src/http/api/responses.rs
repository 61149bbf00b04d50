//! The answers every operation shares, as the document describes them.

use std::collections::BTreeMap;

use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{ContentBuilder, HeaderBuilder, Ref, RefOr, Response, ResponseBuilder};

pub const PROBLEM: &str = "application/problem+json";

/// What every operation on the data can answer besides its own outcomes,
/// each a problem+json body (`Problem`, whose constructors build them).
/// Described by hand: a derived description needs an enum whose variants
/// nothing ever constructs.
pub struct ServiceErrors;

impl utoipa::IntoResponses for ServiceErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        [
            (
                "401",
                "No or invalid credentials",
                Some(("WWW-Authenticate", Type::String)),
            ),
            ("403", "Authenticated, but not an admin", None),
            ("500", "Internal error (logged with the request id)", None),
            (
                "503",
                "Database unavailable; nothing changed; retry after `Retry-After` seconds",
                Some(("Retry-After", Type::Integer)),
            ),
        ]
        .into_iter()
        .map(|(status, description, header)| {
            let body = ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build();
            let mut response = ResponseBuilder::new()
                .description(description)
                .content(PROBLEM, body);
            if let Some((name, kind)) = header {
                let schema = ObjectBuilder::new().schema_type(kind);
                response = response.header(name, HeaderBuilder::new().schema(schema).build());
            }
            (status.to_owned(), response.build().into())
        })
        .collect()
    }
}
