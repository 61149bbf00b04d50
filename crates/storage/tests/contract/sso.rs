//! Issue 35's storage contract, on SQLite and PostgreSQL: accounts keyed by
//! their provider's (issuer, subject), sign-ins taken once, a demotion that
//! leaves no credential behind, and sessions that keep their ID token for
//! logout; the database's own guards proven with raw SQL.

use regen_domain::{Role, Scope, Timestamp};
use regen_storage::{Backend, NewApiToken, NewSession, NewSignIn, StorageError};
use sqlx::{Executor, Row};

use super::{assert_guard, refused, store};

contract_tests!(
    an_sso_account_is_found_by_issuer_and_subject_and_never_by_name_alone,
    an_sso_account_whose_name_is_taken_gets_a_suffix_and_stays_apart,
    first_sign_ins_of_one_subject_at_once_make_one_account,
    a_sign_in_is_taken_once_and_never_after_it_expires,
    sign_ins_beyond_the_limit_are_refused_and_expired_ones_forgotten,
    demoting_an_sso_account_ends_its_sessions_and_revokes_every_token,
    a_session_hands_back_its_id_token_when_it_ends,
    the_database_refuses_half_an_sso_identity_and_a_changed_one,
);

const ISSUER: &str = "https://idp.example.com";

fn in_minutes(minutes: i64) -> Timestamp {
    Timestamp::from_millis(regen_storage::now().millis() + minutes * 60_000).unwrap()
}

fn sign_in(state: &str, expires_at: Timestamp) -> NewSignIn {
    NewSignIn {
        state_hash: format!("state-{state}"),
        browser_hash: format!("browser-{state}"),
        nonce: format!("nonce-{state}"),
        pkce_verifier: format!("verifier-{state}"),
        next_path: "/admin/regeneration-jobs?status=PENDING".into(),
        expires_at,
    }
}

async fn an_sso_account_is_found_by_issuer_and_subject_and_never_by_name_alone(backend: Backend) {
    let (_db, store) = store(backend).await;
    let alice = store
        .provision_sso_user(ISSUER, "sub-1", "alice", Role::Admin)
        .await
        .unwrap();
    assert_eq!(alice.username, "alice");
    assert_eq!(alice.oidc_issuer.as_deref(), Some(ISSUER));
    assert_eq!(alice.password_hash, "", "an SSO account has no password");

    let found = store.find_sso_user(ISSUER, "sub-1").await.unwrap().unwrap();
    assert_eq!(found, alice);
    assert!(store
        .find_sso_user(ISSUER, "sub-2")
        .await
        .unwrap()
        .is_none());
    assert!(store
        .find_sso_user("https://other.example.com", "sub-1")
        .await
        .unwrap()
        .is_none());
    // A second sign-in of the same subject under another name is the same account.
    let again = store
        .provision_sso_user(ISSUER, "sub-1", "alice.renamed", Role::Admin)
        .await
        .unwrap();
    assert_eq!(again.id, alice.id);
    assert_eq!(again.username, "alice");

    let listed = store.list_users().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].origin(), format!("oidc:{ISSUER}"));
}

async fn an_sso_account_whose_name_is_taken_gets_a_suffix_and_stays_apart(backend: Backend) {
    let (_db, store) = store(backend).await;
    let local = store
        .create_user("admin", Role::Admin, "argon-hash")
        .await
        .unwrap();
    let sso = store
        .provision_sso_user(ISSUER, "sub-admin", "admin", Role::Admin)
        .await
        .unwrap();
    assert_eq!(sso.username, "admin-sso");
    assert_ne!(sso.id, local.id);
    // The same subject at another provider is another account again.
    let other = store
        .provision_sso_user(
            "https://other.example.com",
            "sub-admin",
            "admin",
            Role::Member,
        )
        .await
        .unwrap();
    assert_eq!(other.username, "admin-sso-2");

    let by_name = store.find_user_by_name("admin").await.unwrap().unwrap();
    assert_eq!(by_name.id, local.id, "the local account keeps its name");
    assert_eq!(by_name.oidc_issuer, None);
    let origins: Vec<(String, String)> = store
        .list_users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| (u.username.clone(), u.origin()))
        .collect();
    assert_eq!(
        origins,
        vec![
            ("admin".to_owned(), "local".to_owned()),
            ("admin-sso".to_owned(), format!("oidc:{ISSUER}")),
            (
                "admin-sso-2".to_owned(),
                "oidc:https://other.example.com".to_owned()
            ),
        ]
    );
}

async fn first_sign_ins_of_one_subject_at_once_make_one_account(backend: Backend) {
    let (_db, store) = store(backend).await;
    let attempts = (0..8).map(|_| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .provision_sso_user(ISSUER, "sub-race", "racer", Role::Admin)
                .await
                .unwrap()
        })
    });
    let users: Vec<_> = futures_join_all(attempts).await;
    assert!(users.iter().all(|u| u.id == users[0].id), "{users:?}");
    let count: i64 = rows_in(&store, "users").await;
    assert_eq!(count, 1);
}

/// How many rows `table` holds, counted with raw SQL.
async fn rows_in(store: &regen_storage::Store, table: &str) -> i64 {
    store
        .pool()
        .fetch_one(format!("SELECT COUNT(*) AS n FROM {table}").as_str())
        .await
        .unwrap()
        .try_get("n")
        .unwrap()
}

async fn futures_join_all<T>(handles: impl Iterator<Item = tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::new();
    for handle in handles.collect::<Vec<_>>() {
        out.push(handle.await.unwrap());
    }
    out
}

async fn a_sign_in_is_taken_once_and_never_after_it_expires(backend: Backend) {
    let (_db, store) = store(backend).await;
    assert!(store
        .begin_sign_in(&sign_in("a", in_minutes(10)), 100)
        .await
        .unwrap());
    let taken = store.take_sign_in("state-a").await.unwrap().unwrap();
    assert_eq!(taken.browser_hash, "browser-a");
    assert_eq!(taken.nonce, "nonce-a");
    assert_eq!(taken.pkce_verifier, "verifier-a");
    assert_eq!(taken.next_path, "/admin/regeneration-jobs?status=PENDING");
    assert!(
        store.take_sign_in("state-a").await.unwrap().is_none(),
        "a state is single use"
    );
    assert!(store.take_sign_in("state-unknown").await.unwrap().is_none());

    // Expired: not handed out, and gone.
    store
        .pool()
        .execute(
            "INSERT INTO oidc_sign_ins (state_hash, browser_hash, nonce, pkce_verifier, next_path, \
             created_at, expires_at) VALUES ('state-old', 'b', 'n', 'v', '/', \
             '2020-01-01T00:00:00.000Z', '2020-01-01T00:10:00.000Z')",
        )
        .await
        .unwrap();
    assert!(store.take_sign_in("state-old").await.unwrap().is_none());
    let left: i64 = rows_in(&store, "oidc_sign_ins").await;
    assert_eq!(left, 0);
}

async fn sign_ins_beyond_the_limit_are_refused_and_expired_ones_forgotten(backend: Backend) {
    let (_db, store) = store(backend).await;
    for n in 0..3 {
        assert!(store
            .begin_sign_in(&sign_in(&format!("live-{n}"), in_minutes(10)), 3)
            .await
            .unwrap());
    }
    assert!(!store
        .begin_sign_in(&sign_in("one-too-many", in_minutes(10)), 3)
        .await
        .unwrap());
    assert!(store
        .take_sign_in("state-one-too-many")
        .await
        .unwrap()
        .is_none());
    // Once they expire, they no longer count.
    store
        .pool()
        .execute("UPDATE oidc_sign_ins SET expires_at = '2020-01-01T00:00:00.000Z'")
        .await
        .unwrap();
    assert!(store
        .begin_sign_in(&sign_in("after", in_minutes(10)), 3)
        .await
        .unwrap());
    let left: i64 = rows_in(&store, "oidc_sign_ins").await;
    assert_eq!(left, 1, "the expired sign-ins were deleted");
}

async fn demoting_an_sso_account_ends_its_sessions_and_revokes_every_token(backend: Backend) {
    let (_db, store) = store(backend).await;
    let user = store
        .provision_sso_user(ISSUER, "sub-1", "alice", Role::Admin)
        .await
        .unwrap();
    for (hash, scope) in [("admin-token", Scope::Admin), ("read-token", Scope::Read)] {
        store
            .create_api_token(&NewApiToken {
                user_id: user.id.clone(),
                token_hash: hash.into(),
                scope,
                label: None,
                expires_at: None,
            })
            .await
            .unwrap();
    }
    store
        .create_session(&NewSession {
            id: "s1".into(),
            id_hash: "hash-s1".into(),
            user_id: user.id.clone(),
            expires_at: in_minutes(60),
            client_address: None,
            user_agent: None,
            id_token: Some("header.payload.signature".into()),
        })
        .await
        .unwrap();

    let taken = store.demote_sso_user(&user.id).await.unwrap();
    assert_eq!((taken.sessions_ended, taken.tokens_revoked), (1, 2));
    let long_ago = Timestamp::from_millis(0).unwrap();
    assert!(store
        .touch_session("hash-s1", long_ago)
        .await
        .unwrap()
        .is_none());
    assert_eq!(store.use_api_token("admin-token").await.unwrap(), None);
    assert_eq!(store.use_api_token("read-token").await.unwrap(), None);
    let user = store.find_sso_user(ISSUER, "sub-1").await.unwrap().unwrap();
    assert_eq!(user.role, Role::Member);
}

async fn a_session_hands_back_its_id_token_when_it_ends(backend: Backend) {
    let (_db, store) = store(backend).await;
    let user = store
        .provision_sso_user(ISSUER, "sub-1", "alice", Role::Admin)
        .await
        .unwrap();
    let session = |id: &str, id_token: Option<&str>| NewSession {
        id: id.into(),
        id_hash: format!("hash-{id}"),
        user_id: user.id.clone(),
        expires_at: in_minutes(60),
        client_address: None,
        user_agent: None,
        id_token: id_token.map(str::to_owned),
    };
    store
        .create_session(&session("sso", Some("eyJ.the.token")))
        .await
        .unwrap();
    store.create_session(&session("plain", None)).await.unwrap();
    assert_eq!(
        store.delete_session("hash-sso").await.unwrap().as_deref(),
        Some("eyJ.the.token")
    );
    assert_eq!(store.delete_session("hash-sso").await.unwrap(), None);
    assert_eq!(store.delete_session("hash-plain").await.unwrap(), None);
}

async fn the_database_refuses_half_an_sso_identity_and_a_changed_one(backend: Backend) {
    let (_db, store) = store(backend).await;
    let half = refused(
        &store,
        "INSERT INTO users (id, username, role, password_hash, created_at, oidc_issuer) \
         VALUES ('u-half', 'half', 'admin', '', '2026-01-01T00:00:00.000Z', 'https://idp')",
    )
    .await;
    assert!(
        matches!(half, StorageError::Guard(_) | StorageError::Rejected(_)),
        "{half:?}"
    );
    let user = store
        .provision_sso_user(ISSUER, "sub-1", "alice", Role::Admin)
        .await
        .unwrap();
    assert_guard(
        refused(
            &store,
            &format!(
                "UPDATE users SET oidc_subject = 'sub-stolen' WHERE id = '{}'",
                user.id
            ),
        )
        .await,
    );
    assert_guard(
        refused(
            &store,
            &format!(
                "UPDATE users SET oidc_issuer = NULL, oidc_subject = NULL WHERE id = '{}'",
                user.id
            ),
        )
        .await,
    );
    let duplicate = refused(
        &store,
        "INSERT INTO users (id, username, role, password_hash, created_at, oidc_issuer, oidc_subject) \
         VALUES ('u-dup', 'someone', 'admin', '', '2026-01-01T00:00:00.000Z', 'https://idp.example.com', 'sub-1')",
    )
    .await;
    assert!(
        matches!(duplicate, StorageError::Duplicate(_)),
        "{duplicate:?}"
    );
}
