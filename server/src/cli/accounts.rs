//! `user`, `token` and `session`: who has access, and taking it back.
//! Lists print a header and one tab-separated line per item (columns never
//! move), or with `--json` one JSON array; changes print one line.

use regen_domain::{SessionSummary, Timestamp, TokenSummary, UserSummary};
use regen_service::{AccessTaken, AdminService, Operator, TokenRequest};
use serde::Serialize;

use super::{describe, SessionCommand, TokenCommand, UserCommand};

fn time(at: Option<Timestamp>) -> String {
    at.map_or_else(|| "-".to_owned(), |t| t.to_string())
}

/// Free text in a tab-separated line: no tabs or line breaks inside a cell.
fn cell(text: Option<&str>) -> String {
    match text {
        None | Some("") => "-".to_owned(),
        Some(text) => text
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect(),
    }
}

fn print_table(header: &[&str], rows: impl IntoIterator<Item = Vec<String>>) {
    println!("{}", header.join("\t"));
    for row in rows {
        println!("{}", row.join("\t"));
    }
}

fn print_json(value: &impl Serialize) -> Result<(), String> {
    let text = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
    println!("{text}");
    Ok(())
}

fn user_rows(users: &[UserSummary]) -> impl Iterator<Item = Vec<String>> + '_ {
    users.iter().map(|u| {
        vec![
            u.username.clone(),
            u.role.to_string(),
            u.state().to_owned(),
            u.origin(),
            u.created_at.to_string(),
            time(u.last_login_at),
        ]
    })
}

fn token_rows(tokens: &[TokenSummary]) -> impl Iterator<Item = Vec<String>> + '_ {
    tokens.iter().map(|t| {
        vec![
            t.id.clone(),
            t.username.clone(),
            cell(t.label.as_deref()),
            t.scope.to_string(),
            t.created_at.to_string(),
            time(t.last_used_at),
            time(t.expires_at),
            time(t.revoked_at),
        ]
    })
}

fn session_rows(sessions: &[SessionSummary]) -> impl Iterator<Item = Vec<String>> + '_ {
    sessions.iter().map(|s| {
        vec![
            s.id.clone(),
            s.username.clone(),
            s.created_at.to_string(),
            s.last_seen_at.to_string(),
            s.expires_at.to_string(),
            cell(s.client_address.as_deref()),
            cell(s.user_agent.as_deref()),
        ]
    })
}

/// "1 session ended", "2 tokens revoked".
fn count(n: u64, one: &str, many: &str, what: &str) -> String {
    match n {
        1 => format!("1 {one} {what}"),
        n => format!("{n} {many} {what}"),
    }
}

/// "2 sessions ended, 1 token revoked".
fn access_taken(taken: AccessTaken) -> String {
    format!(
        "{}, {}",
        count(taken.sessions_ended, "session", "sessions", "ended"),
        count(taken.tokens_revoked, "token", "tokens", "revoked")
    )
}

/// `user …`. `password` is the line read from stdin for `add` and
/// `password`, read before the database was opened.
pub async fn run_user(
    service: &AdminService,
    command: UserCommand,
    password: Option<String>,
) -> Result<(), String> {
    let operator = Operator::command_line();
    match command {
        UserCommand::Add { name, role } => {
            let password = password.unwrap_or_default();
            service
                .create_user(&operator, &name, role, &password)
                .await
                .map_err(describe)?;
            println!("user {name} added with role {role}");
        }
        UserCommand::List { json } => {
            let users = service.list_users(&operator).await.map_err(describe)?;
            if json {
                print_json(&users)?;
            } else {
                print_table(
                    &["name", "role", "state", "origin", "created", "last_login"],
                    user_rows(&users),
                );
            }
        }
        UserCommand::SetRole { name, role } => {
            let change = service
                .set_user_role(&operator, &name, role)
                .await
                .map_err(describe)?;
            if change.previous == role {
                println!("user {name} already has role {role}");
            } else {
                println!(
                    "user {name}: role {} -> {role}, {}",
                    change.previous,
                    access_taken(change.taken)
                );
            }
        }
        UserCommand::Disable { name } => {
            let taken = service
                .set_user_disabled(&operator, &name, true)
                .await
                .map_err(describe)?;
            println!("user {name} disabled: {}", access_taken(taken));
        }
        UserCommand::Enable { name } => {
            service
                .set_user_disabled(&operator, &name, false)
                .await
                .map_err(describe)?;
            println!("user {name} enabled");
        }
        UserCommand::Password {
            name,
            revoke_tokens,
        } => {
            let password = password.unwrap_or_default();
            let taken = service
                .set_user_password(&operator, &name, &password, revoke_tokens)
                .await
                .map_err(describe)?;
            println!("user {name}: password changed, {}", access_taken(taken));
        }
    }
    Ok(())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NewToken<'a> {
    token: &'a str,
    #[serde(flatten)]
    summary: &'a TokenSummary,
}

pub async fn run_token(service: &AdminService, command: TokenCommand) -> Result<(), String> {
    let operator = Operator::command_line();
    match command {
        TokenCommand::Create {
            name,
            scope,
            expires_in,
            label,
            json,
        } => {
            let request = TokenRequest {
                scope,
                expires_in,
                label,
            };
            let created = service
                .create_api_token(&operator, &name, request)
                .await
                .map_err(describe)?;
            let summary = &created.summary;
            if json {
                print_json(&NewToken {
                    token: &created.token,
                    summary,
                })?;
            } else {
                // stdout holds the token alone, for `TOKEN=$(…)`.
                println!("{}", created.token);
                let expiry = match summary.expires_at {
                    Some(at) => format!("expires {at}"),
                    None => "no expiry (set one with --expires-in)".to_owned(),
                };
                eprintln!(
                    "token {} for {name}: scope {}, {expiry}; it is shown only this once",
                    summary.id, summary.scope
                );
            }
        }
        TokenCommand::List { name, json } => {
            let tokens = service
                .list_api_tokens(&operator, name.as_deref())
                .await
                .map_err(describe)?;
            if json {
                print_json(&tokens)?;
            } else {
                print_table(
                    &[
                        "id",
                        "owner",
                        "label",
                        "scope",
                        "created",
                        "last_used",
                        "expires",
                        "revoked",
                    ],
                    token_rows(&tokens),
                );
            }
        }
        TokenCommand::Revoke { id } => {
            let revoked = service
                .revoke_api_token(&operator, &id)
                .await
                .map_err(describe)?;
            println!(
                "token {id} of {} revoked at {}",
                revoked.username,
                time(revoked.revoked_at)
            );
        }
    }
    Ok(())
}

pub async fn run_session(service: &AdminService, command: SessionCommand) -> Result<(), String> {
    let operator = Operator::command_line();
    match command {
        SessionCommand::List { name, json } => {
            let sessions = service
                .list_sessions(&operator, name.as_deref())
                .await
                .map_err(describe)?;
            if json {
                print_json(&sessions)?;
            } else {
                print_table(
                    &[
                        "id",
                        "user",
                        "created",
                        "last_seen",
                        "expires",
                        "client_address",
                        "user_agent",
                    ],
                    session_rows(&sessions),
                );
            }
        }
        SessionCommand::Revoke { id, user } => match (id, user) {
            (_, Some(name)) => {
                let ended = service
                    .revoke_user_sessions(&operator, &name)
                    .await
                    .map_err(describe)?;
                println!(
                    "user {name}: {}",
                    count(ended, "session", "sessions", "ended")
                );
            }
            (Some(id), None) => {
                let ended = service
                    .revoke_session(&operator, &id)
                    .await
                    .map_err(describe)?;
                println!("session {id} of {} ended", ended.username);
            }
            (None, None) => return Err("give a session id or --user NAME".into()),
        },
    }
    Ok(())
}
