//! Query strings: one type per set of parameters, which both parses a
//! request (serde, through `serde_html_form`, so a repeated key fills a
//! `Vec`) and describes it in the document (utoipa's `IntoParams`). What a
//! type refuses is a 400 problem naming the parameter.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::HeaderValue;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use utoipa::openapi::path::ParameterIn;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, OneOfBuilder, SchemaFormat, Type};
use utoipa::IntoParams;

use crate::http::problem::Problem;

/// The query string read as one parameter type `T`.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Problem> {
        parse(parts.uri.query().unwrap_or(""))
            .map(Query)
            .map_err(Problem::invalid_request)
    }
}

/// The query string read as two parameter types: `A` takes the parameters
/// its own description names, `B` every other (a page and its filters, an
/// export's format and its filters), so each set is declared once.
pub struct QueryParts<A, B>(pub A, pub B);

impl<A, B, S> FromRequestParts<S> for QueryParts<A, B>
where
    A: DeserializeOwned + IntoParams,
    B: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Problem> {
        let names: Vec<String> = A::into_params(|| Some(ParameterIn::Query))
            .into_iter()
            .map(|parameter| parameter.name)
            .collect();
        let (mut first, mut rest) = (
            form_urlencoded::Serializer::new(String::new()),
            form_urlencoded::Serializer::new(String::new()),
        );
        for (key, value) in form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes()) {
            let part = if names.iter().any(|name| *name == key) {
                &mut first
            } else {
                &mut rest
            };
            part.append_pair(&key, &value);
        }
        Ok(QueryParts(
            parse(&first.finish()).map_err(Problem::invalid_request)?,
            parse(&rest.finish()).map_err(Problem::invalid_request)?,
        ))
    }
}

/// `T` from a query string, or what is wrong with it, naming the parameter.
fn parse<T: DeserializeOwned>(query: &str) -> Result<T, String> {
    let deserializer = serde_html_form::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let name = error.path().to_string();
        let repeated = form_urlencoded::parse(query.as_bytes())
            .filter(|(key, _)| *key == name)
            .count()
            > 1;
        if repeated {
            format!("query parameter {name:?} given twice")
        } else if name == "." {
            // Not about one parameter: an unknown or a missing one.
            format!("invalid query: {}", error.inner())
        } else {
            format!("query parameter {name:?}: {}", error.inner())
        }
    })
}

/// A page of a listing: its size and where it starts.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageParameters {
    /// Page size.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 500, default = 50)]
    pub limit: Option<String>,
    /// Opaque; taken from a `Link` header.
    #[param(pattern = r"^[on][0-9a-f]{1,11}\.[0-9a-f]{32}$")]
    pub cursor: Option<String>,
}

/// `Link` header value for a page's neighbours.
pub fn page_links(
    path: &str,
    next: &Option<String>,
    prev: &Option<String>,
    query: impl Fn(&str) -> String,
) -> Option<HeaderValue> {
    let links: Vec<String> = [(next, "next"), (prev, "prev")]
        .into_iter()
        .filter_map(|(cursor, rel)| {
            cursor
                .as_deref()
                .map(|c| format!("<{path}?{}>; rel=\"{rel}\"", query(c)))
        })
        .collect();
    if links.is_empty() {
        return None;
    }
    HeaderValue::from_str(&links.join(", ")).ok()
}

/// An RFC 3339 instant, or empty: a filter form sends unused fields empty,
/// and an empty field is no filter.
pub fn instant_or_empty() -> utoipa::openapi::schema::Schema {
    format_or_empty(KnownFormat::DateTime)
}

/// An RFC 3339 instant, empty or null: an optional field of a JSON body
/// (where null, like empty, is no filter).
pub fn instant_empty_or_null() -> utoipa::openapi::schema::Schema {
    let mut schema = format_or_empty(KnownFormat::DateTime);
    if let utoipa::openapi::schema::Schema::OneOf(one_of) = &mut schema {
        one_of
            .items
            .push(ObjectBuilder::new().schema_type(Type::Null).into());
    }
    schema
}

/// A UUID, or empty (an unused form field).
pub fn uuid_or_empty() -> utoipa::openapi::schema::Schema {
    format_or_empty(KnownFormat::Uuid)
}

fn format_or_empty(format: KnownFormat) -> utoipa::openapi::schema::Schema {
    OneOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(format))),
        )
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .max_length(Some(0)),
        )
        .build()
        .into()
}
