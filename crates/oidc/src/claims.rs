//! Reading a claim out of a verified claim set, and the admin rule's match: the only place that
//! decides whether a claim value grants something, so its default (deny) is written once.

use serde_json::Value;

/// The claim at a dotted path (`realm_access.roles`), if any.
///
/// A top-level claim whose name is the whole path wins over the nested reading, because some
/// providers name their custom claims as URLs (`https://example.com/groups`), dots included.
pub fn claim<'a>(claims: &'a Value, dotted_path: &str) -> Option<&'a Value> {
    claims.get(dotted_path).or_else(|| {
        dotted_path
            .split('.')
            .try_fold(claims, |value, key| value.as_object()?.get(key))
    })
}

/// Whether the claim at `path` (a string, or an array of strings) holds any of `values` (exact
/// match). Absent, null, numbers, booleans, objects → false (default deny); so are the non-string
/// items of an array, and an empty configured value, which could only come from a stray comma.
pub fn claim_matches(claims: &Value, path: &str, values: &[String]) -> bool {
    let granted = |held: &str| {
        values
            .iter()
            .any(|value| !value.is_empty() && value == held)
    };
    match claim(claims, path) {
        Some(Value::String(held)) => granted(held),
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).any(granted),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn admins() -> Vec<String> {
        vec!["regen-admins".to_owned()]
    }

    fn alice() -> Value {
        json!({
            "sub": "sub-alice-0001",
            "groups": ["regen-admins", "staff"],
            "realm_access": {"roles": ["regen-admins"], "level": {"deep": "x"}},
            "role": "regen-admins",
            "https://example.test/groups": ["regen-admins"],
            "count": 3,
            "flag": true,
            "nothing": null,
            "object": {"regen-admins": true},
            "mixed": [1, {"a": "regen-admins"}, null, "regen-admins"],
            "numbers": [1, 2]
        })
    }

    #[test]
    fn a_top_level_claim_is_found_by_its_name() {
        assert_eq!(claim(&alice(), "sub"), Some(&json!("sub-alice-0001")));
    }

    #[test]
    fn a_nested_claim_is_found_by_its_dotted_path() {
        assert_eq!(
            claim(&alice(), "realm_access.roles"),
            Some(&json!(["regen-admins"]))
        );
        assert_eq!(
            claim(&alice(), "realm_access.level.deep"),
            Some(&json!("x"))
        );
    }

    #[test]
    fn a_claim_named_with_dots_is_found_by_its_whole_name() {
        assert_eq!(
            claim(&alice(), "https://example.test/groups"),
            Some(&json!(["regen-admins"]))
        );
    }

    #[test]
    fn a_path_through_a_missing_or_non_object_claim_finds_nothing() {
        assert_eq!(claim(&alice(), "realm_access.missing"), None);
        assert_eq!(claim(&alice(), "groups.0"), None);
        assert_eq!(claim(&alice(), "sub.anything"), None);
        assert_eq!(claim(&alice(), "absent"), None);
        assert_eq!(claim(&alice(), ""), None);
    }

    #[test]
    fn an_array_of_strings_matches_when_it_holds_an_admin_value() {
        assert!(claim_matches(&alice(), "groups", &admins()));
        assert!(claim_matches(&alice(), "realm_access.roles", &admins()));
    }

    #[test]
    fn a_string_claim_matches_when_it_equals_an_admin_value() {
        assert!(claim_matches(&alice(), "role", &admins()));
    }

    #[test]
    fn any_of_several_admin_values_is_enough() {
        let values = vec!["ops".to_owned(), "staff".to_owned()];
        assert!(claim_matches(&alice(), "groups", &values));
    }

    #[test]
    fn an_array_without_an_admin_value_does_not_match() {
        let bob = json!({"groups": ["staff"], "realm_access": {"roles": []}});
        assert!(!claim_matches(&bob, "groups", &admins()));
        assert!(!claim_matches(&bob, "realm_access.roles", &admins()));
    }

    #[test]
    fn matching_is_exact_neither_case_folded_nor_by_substring() {
        let claims = json!({"groups": ["Regen-Admins", "regen-admins-old"], "role": "regen-admin"});
        assert!(!claim_matches(&claims, "groups", &admins()));
        assert!(!claim_matches(&claims, "role", &admins()));
    }

    #[test]
    fn an_absent_claim_does_not_match() {
        assert!(!claim_matches(&alice(), "absent", &admins()));
        assert!(!claim_matches(&alice(), "realm_access.absent", &admins()));
    }

    #[test]
    fn non_string_claims_do_not_match() {
        for path in [
            "count",
            "flag",
            "nothing",
            "object",
            "numbers",
            "realm_access",
        ] {
            assert!(!claim_matches(&alice(), path, &admins()), "{path} matched");
        }
    }

    #[test]
    fn only_the_string_items_of_a_mixed_array_are_compared() {
        assert!(claim_matches(&alice(), "mixed", &admins()));
        let claims = json!({"mixed": [1, {"a": "regen-admins"}, null, ["regen-admins"]]});
        assert!(!claim_matches(&claims, "mixed", &admins()));
    }

    #[test]
    fn no_admin_values_means_nobody_matches() {
        assert!(!claim_matches(&alice(), "groups", &[]));
    }

    #[test]
    fn an_empty_admin_value_never_matches_an_empty_claim() {
        let claims = json!({"groups": [""], "role": ""});
        let values = vec![String::new()];
        assert!(!claim_matches(&claims, "groups", &values));
        assert!(!claim_matches(&claims, "role", &values));
    }
}
