//! The OpenAPI 3.1 description of the REST API, written out by hand from
//! the same route table the router uses; a test checks they agree.

use axum::Json;
use serde_json::{json, Value};

fn problem(description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } }
    })
}

fn job_id_parameter() -> Value {
    json!({ "name": "jobId", "in": "path", "required": true, "schema": { "type": "string", "format": "uuid" } })
}

pub fn openapi() -> Value {
    let auth_errors = json!({
        "401": problem("No or invalid credentials (WWW-Authenticate: Bearer)"),
        "403": problem("Authenticated, but not an admin"),
        "503": problem("Database unavailable; retry after Retry-After seconds")
    });
    let with = |mut responses: Value| {
        if let (Some(map), Some(extra)) = (responses.as_object_mut(), auth_errors.as_object()) {
            for (k, v) in extra {
                map.insert(k.clone(), v.clone());
            }
        }
        responses
    };
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "regen-admin",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Admin control plane for content regeneration jobs: list, inspect, trigger a PENDING job."
        },
        "servers": [{ "url": "/api" }],
        "security": [{ "bearer": [] }, { "session": [] }],
        "paths": {
            "/admin/regeneration-jobs": {
                "get": {
                    "operationId": "listJobs",
                    "summary": "List jobs, newest first (createdAt DESC, id DESC), without payloads",
                    "parameters": [
                        { "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": 500, "default": 50 } },
                        { "name": "cursor", "in": "query", "schema": { "type": "string" }, "description": "Opaque; from a Link header" },
                        { "name": "status", "in": "query", "style": "form", "explode": true,
                          "schema": { "type": "array", "items": { "$ref": "#/components/schemas/JobStatus" } } },
                        { "name": "targetType", "in": "query", "schema": { "type": "string", "maxLength": 200 } },
                        { "name": "targetId", "in": "query", "schema": { "type": "string", "maxLength": 200 } }
                    ],
                    "responses": with(json!({
                        "200": {
                            "description": "A page of jobs; `Link: <…>; rel=\"next\"` announces the next page",
                            "headers": { "Link": { "schema": { "type": "string" } } },
                            "content": { "application/json": { "schema": { "type": "array", "items": { "$ref": "#/components/schemas/JobSummary" } } } }
                        },
                        "400": problem("Invalid query parameter")
                    }))
                }
            },
            "/admin/regeneration-jobs/{jobId}": {
                "get": {
                    "operationId": "getJob",
                    "summary": "One job with its JSON payloads (verbatim) and audit trail",
                    "parameters": [job_id_parameter()],
                    "responses": with(json!({
                        "200": { "description": "The job", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/JobDetail" } } } },
                        "404": problem("Unknown or malformed id")
                    }))
                }
            },
            "/admin/regeneration-jobs/{jobId}/trigger": {
                "post": {
                    "operationId": "triggerJob",
                    "summary": "PENDING → RUNNING, audited; nothing else changes and nothing runs",
                    "parameters": [job_id_parameter()],
                    "responses": with(json!({
                        "200": { "description": "Triggered", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/JobSummary" } } } },
                        "404": problem("Unknown or malformed id"),
                        "409": problem("The job is not PENDING; `currentStatus` names its status"),
                        "413": problem("Request body over 16 KiB")
                    }))
                }
            },
            "/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This document",
                    "responses": with(json!({ "200": { "description": "OpenAPI 3.1 document", "content": { "application/json": {} } } }))
                }
            }
        },
        "components": {
            "securitySchemes": {
                "bearer": { "type": "http", "scheme": "bearer", "description": "Token from `regen-admin token create NAME`" },
                "session": { "type": "apiKey", "in": "cookie", "name": "regen_session" }
            },
            "schemas": {
                "JobStatus": { "type": "string", "enum": ["PENDING", "RUNNING", "COMPLETED", "FAILED"] },
                "JobSummary": {
                    "type": "object",
                    "required": ["id", "status", "targetType", "targetId", "createdAt", "createdBy"],
                    "properties": {
                        "id": { "type": "string", "format": "uuid" },
                        "status": { "$ref": "#/components/schemas/JobStatus" },
                        "targetType": { "type": "string" },
                        "targetId": { "type": "string" },
                        "createdAt": { "type": "string", "format": "date-time" },
                        "createdBy": { "type": "string" }
                    }
                },
                "JobDetail": {
                    "allOf": [
                        { "$ref": "#/components/schemas/JobSummary" },
                        {
                            "type": "object",
                            "required": ["instructionJson", "outputRef", "errorJson", "auditEvents"],
                            "properties": {
                                "instructionJson": { "description": "Stored JSON, verbatim" },
                                "outputRef": { "description": "Stored JSON, verbatim, or null" },
                                "errorJson": { "description": "Stored JSON, verbatim, or null" },
                                "auditEvents": { "type": "array", "items": { "$ref": "#/components/schemas/AuditEvent" } }
                            }
                        }
                    ]
                },
                "AuditEvent": {
                    "type": "object",
                    "required": ["id", "eventType", "actor", "occurredAt", "requestId"],
                    "properties": {
                        "id": { "type": "string", "format": "uuid" },
                        "eventType": { "type": "string", "enum": ["REGEN_JOB_CREATED", "REGEN_JOB_TRIGGERED", "REGEN_JOB_COMPLETED", "REGEN_JOB_FAILED"] },
                        "actor": { "type": "string" },
                        "occurredAt": { "type": "string", "format": "date-time" },
                        "requestId": { "type": ["string", "null"] }
                    }
                },
                "Problem": {
                    "type": "object",
                    "required": ["type", "title", "status", "detail"],
                    "properties": {
                        "type": { "type": "string" },
                        "title": { "type": "string" },
                        "status": { "type": "integer" },
                        "detail": { "type": "string" },
                        "currentStatus": { "$ref": "#/components/schemas/JobStatus" }
                    }
                }
            }
        }
    })
}

pub async fn document() -> Json<Value> {
    Json(openapi())
}
