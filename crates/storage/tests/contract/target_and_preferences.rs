//! Issue 34's storage contract, on SQLite and PostgreSQL: a target's other jobs
//! (one statement over the target index) and each admin's display
//! preferences (stored, read back with the credential, checked by the
//! database).

use regen_domain::{JobStatus, NewJob, Preferences, Role, TimeDisplay, Timestamp};
use regen_storage::Backend;
use sqlx::Executor;

use super::{admin_token, new_job, store};

fn job(target_type: &str, target_id: &str) -> NewJob {
    new_job(JobStatus::Pending, target_type, target_id)
}

contract_tests!(
    a_targets_other_jobs_are_its_newest_same_type_and_id_jobs_without_this_one,
    a_target_id_is_matched_exactly_whatever_it_holds,
    preferences_default_to_utc_with_shortcuts_and_round_trip,
    preferences_come_with_the_credential,
    the_database_refuses_a_preference_it_does_not_know,
);

fn at(minutes: i64) -> Timestamp {
    Timestamp::from_millis(1_800_000_000_000 + minutes * 60_000).unwrap()
}

async fn a_targets_other_jobs_are_its_newest_same_type_and_id_jobs_without_this_one(
    backend: Backend,
) {
    let (_db, store) = store(backend).await;
    // 13 jobs of article a-1, one a minute; the same id under another type
    // and another id of the same type, both newer than all of them.
    let mut jobs: Vec<(NewJob, Timestamp)> =
        (0..13).map(|m| (job("article", "a-1"), at(m))).collect();
    jobs.push((job("video", "a-1"), at(100)));
    jobs.push((job("article", "a-10"), at(101)));
    jobs.push((job("article", "A-1"), at(102)));
    let ids = store.insert_jobs(jobs).await.unwrap();
    let this = ids[5];

    let shown = store
        .other_jobs_of_target("article", "a-1", this, 11)
        .await
        .unwrap();

    let expected: Vec<_> = ids[..13]
        .iter()
        .rev()
        .filter(|id| **id != this)
        .take(11)
        .copied()
        .collect();
    assert_eq!(shown.iter().map(|j| j.id).collect::<Vec<_>>(), expected);
    assert!(shown
        .iter()
        .all(|j| j.target_type == "article" && j.target_id == "a-1"));

    let all = store
        .other_jobs_of_target("article", "a-1", this, 50)
        .await
        .unwrap();
    assert_eq!(all.len(), 12, "every other job of the target, and no more");

    let alone = store
        .other_jobs_of_target("video", "a-1", ids[13], 11)
        .await
        .unwrap();
    assert!(alone.is_empty(), "{alone:?}");
}

async fn a_target_id_is_matched_exactly_whatever_it_holds(backend: Backend) {
    let (_db, store) = store(backend).await;
    let hostile = [
        "../x?y#z",
        "a%",
        "a_",
        "a b",
        "日本/ü",
        "'; DROP TABLE users; --",
    ];
    let mut jobs: Vec<(NewJob, Timestamp)> = Vec::new();
    for (i, id) in hostile.iter().enumerate() {
        jobs.push((job("article", id), at(i as i64 * 2)));
        jobs.push((job("article", id), at(i as i64 * 2 + 1)));
    }
    jobs.push((job("article", "ab"), at(50)));
    let ids = store.insert_jobs(jobs).await.unwrap();

    for (i, id) in hostile.iter().enumerate() {
        let others = store
            .other_jobs_of_target("article", id, ids[i * 2], 11)
            .await
            .unwrap();
        assert_eq!(
            others.iter().map(|j| j.id).collect::<Vec<_>>(),
            vec![ids[i * 2 + 1]],
            "{id}"
        );
    }
}

async fn preferences_default_to_utc_with_shortcuts_and_round_trip(backend: Backend) {
    let (_db, store) = store(backend).await;
    let user = store.create_user("ada", Role::Admin, "hash").await.unwrap();
    let other = store.create_user("bob", Role::Admin, "hash").await.unwrap();
    let stored = store.find_user_by_id(&user.id).await.unwrap().unwrap();
    assert_eq!(stored.preferences, Preferences::default());
    assert_eq!(stored.preferences.time_display, TimeDisplay::Utc);
    assert!(stored.preferences.keyboard_shortcuts);

    for time_display in TimeDisplay::ALL {
        for keyboard_shortcuts in [false, true] {
            let chosen = Preferences {
                time_display,
                keyboard_shortcuts,
            };
            assert!(store.set_preferences(&user.id, chosen).await.unwrap());
            let read = store.find_user_by_name("ada").await.unwrap().unwrap();
            assert_eq!(read.preferences, chosen);
        }
    }
    let untouched = store.find_user_by_id(&other.id).await.unwrap().unwrap();
    assert_eq!(
        untouched.preferences,
        Preferences::default(),
        "only ada's changed"
    );
    assert!(!store
        .set_preferences("no-such-user", Preferences::default())
        .await
        .unwrap());
}

async fn preferences_come_with_the_credential(backend: Backend) {
    let (_db, store) = store(backend).await;
    let user = store.create_user("ada", Role::Admin, "hash").await.unwrap();
    let chosen = Preferences {
        time_display: TimeDisplay::Relative,
        keyboard_shortcuts: false,
    };
    store.set_preferences(&user.id, chosen).await.unwrap();
    admin_token(&store, &user.id, "tokenhash").await;

    let (owner, _) = store.use_api_token("tokenhash").await.unwrap().unwrap();

    assert_eq!(owner.preferences, chosen);
}

async fn the_database_refuses_a_preference_it_does_not_know(backend: Backend) {
    let (_db, store) = store(backend).await;
    store.create_user("ada", Role::Admin, "hash").await.unwrap();
    for sql in [
        "UPDATE users SET time_display = 'UTC'",
        "UPDATE users SET time_display = NULL",
        "UPDATE users SET keyboard_shortcuts = 'yes'",
    ] {
        assert!(
            store.pool().execute(sql).await.is_err(),
            "{sql} was allowed"
        );
    }
}

/// SQLite plans do not depend on the data: the other-jobs statement walks
/// the target-id index in listing order and stops at its LIMIT, with no
/// table scan and no sort, however many jobs there are.
#[tokio::test]
async fn sqlite_reads_a_targets_other_jobs_from_the_target_index_in_order() {
    let (_db, store) = store(Backend::Sqlite).await;
    let plan = store.explain_other_jobs_of_target().await.unwrap();
    let reads: Vec<&String> = plan
        .iter()
        .filter(|line| line.contains("regeneration_jobs"))
        .collect();
    assert_eq!(reads.len(), 1, "{plan:?}");
    assert!(
        reads[0].contains("USING INDEX regeneration_jobs_by_target_id (target_id=?)"),
        "{plan:?}"
    );
    assert!(
        !plan.iter().any(|line| line.contains("TEMP B-TREE")),
        "{plan:?}"
    );
}
