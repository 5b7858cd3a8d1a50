use super::*;
use crate::config_hash::config_hash;
use proptest::prelude::*;
use serde_json::json;

fn base() -> Value {
    json!({
        "workspace_id": "ws",
        "name": "Supplements CH",
        "system_instructions": "You are a shopping assistant.",
        "user_prompt_template": "What are the best vitamin brands in {{country}}?",
        "country_set": ["CH", "DE"],
        "model_id": "gpt-4o",
        "inference_params": {"temperature": 0.7, "top_p": 1.0},
        "tools_spec": [],
        "response_format": {"type": "text"},
        "grounding_profile_id": "gp-1",
        "grounding_snapshot_id": "snap-1",
        "retrieval_params": {"k": 5}
    })
}

/// The canonical configuration of a create request, as stored.
fn canonical(body: &Value) -> Value {
    serde_json::from_str(&config_hash(body).unwrap().canonical_json).unwrap()
}

fn with(path: &str, value: Value) -> Value {
    let mut body = base();
    match path.split_once('.') {
        Some((object, key)) => {
            body[object][key] = value;
        }
        None => body[path] = value,
    }
    body
}

fn difference(a: &Value, b: &Value) -> Option<Vec<String>> {
    near_difference(&canonical(a), &canonical(b))
}

#[test]
fn one_field_apart_is_named_by_its_canonical_path() {
    let cases = [
        (
            "inference_params.temperature",
            json!(0.71),
            "inference_params.temperature",
        ),
        (
            "inference_params.top_p",
            json!(0.9),
            "inference_params.top_p",
        ),
        ("inference_params.seed", json!(42), "inference_params.seed"),
        ("country_set", json!(["CH", "DE", "AT"]), "country_set"),
        (
            "system_instructions",
            json!("You are a critic."),
            "system_instructions",
        ),
        (
            "user_prompt_template",
            json!("what are the BEST vitamin brands in {{country}}"),
            "user_prompt_template",
        ),
        ("tools_spec", json!([{"type": "web_search"}]), "tools_spec"),
        (
            "response_format.type",
            json!("json_object"),
            "response_format.type",
        ),
        (
            "grounding_profile_id",
            json!("gp-2"),
            "grounding_profile_id",
        ),
        (
            "grounding_snapshot_id",
            json!("snap-2"),
            "grounding_snapshot_id",
        ),
        ("retrieval_params.k", json!(10), "retrieval_params.k"),
    ];
    for (path, value, field) in cases {
        let other = with(path, value);
        assert_eq!(
            difference(&base(), &other),
            Some(vec![field.to_owned()]),
            "changing {path}"
        );
        // The relation is symmetric.
        assert_eq!(difference(&other, &base()), Some(vec![field.to_owned()]));
    }
}

#[test]
fn two_fields_apart_is_near_three_is_not() {
    let mut two = with("inference_params.temperature", json!(0.2));
    two["country_set"] = json!(["CH"]);
    assert_eq!(
        difference(&base(), &two),
        Some(vec![
            "country_set".to_owned(),
            "inference_params.temperature".to_owned()
        ])
    );
    let mut three = two.clone();
    three["grounding_profile_id"] = json!("gp-9");
    assert_eq!(difference(&base(), &three), None);
}

#[test]
fn what_is_never_a_near_match() {
    // The exact twin, and what canonicalises equal (float noise, country order and case, UK/GB,
    // whitespace, key order, the name).
    assert_eq!(difference(&base(), &base()), None);
    let mut noisy = with("inference_params.temperature", json!(0.70000001));
    noisy["country_set"] = json!(["de", " ch "]);
    noisy["name"] = json!("Another name");
    noisy["system_instructions"] = json!("  You are a shopping   assistant.\r\n");
    assert_eq!(difference(&base(), &noisy), None);
    // A different model is a different template, whatever else agrees.
    assert_eq!(
        difference(&base(), &with("model_id", json!("gpt-4o-mini"))),
        None
    );
    // A prompt that asks something else is a different question.
    assert_eq!(
        difference(
            &base(),
            &with(
                "user_prompt_template",
                json!("Which vitamin brands do pharmacists in {{country}} recommend?")
            )
        ),
        None
    );
}

#[test]
fn the_prompt_folds_case_punctuation_spacing_and_width() {
    assert_eq!(
        fold_prompt("  Hello,   WORLD!\n\tHow's it?  "),
        "hello world hows it"
    );
    assert_eq!(fold_prompt("ＡＶＥＡ — best?"), "avea best");
    assert_eq!(fold_prompt("Crème brûlée"), "crème brûlée");
    assert_eq!(fold_prompt("{{brand}} in {{country}}"), "brand in country");
}

#[test]
fn near_key_is_shared_exactly_by_the_comparable_configurations() {
    let key = |b: &Value| near_key(&canonical(b)).unwrap();
    let k = key(&base());
    assert_eq!(k.len(), 32);
    assert_eq!(key(&with("inference_params.temperature", json!(0.1))), k);
    assert_eq!(
        key(&with(
            "user_prompt_template",
            json!("WHAT are the best vitamin brands in {{country}}")
        )),
        k
    );
    assert_ne!(key(&with("model_id", json!("gpt-4.1"))), k);
    assert_ne!(
        key(&with("user_prompt_template", json!("Other question"))),
        k
    );
    assert_eq!(
        near_key_of_json(&config_hash(&base()).unwrap().canonical_json),
        Some(k)
    );
    assert_eq!(near_key_of_json("not json"), None);
}

#[test]
fn matches_are_closest_first_and_at_most_five() {
    let request = canonical(&base());
    let mut candidates = Vec::new();
    let mut two = with("inference_params.temperature", json!(0.2));
    two["country_set"] = json!(["CH"]);
    candidates.push(("two", canonical(&two)));
    candidates.push(("twin", canonical(&base())));
    candidates.push(("other model", canonical(&with("model_id", json!("o3")))));
    for (i, t) in [0.1, 0.2, 0.3, 0.4, 0.5, 0.6].iter().enumerate() {
        let name = ["t1", "t2", "t3", "t4", "t5", "t6"][i];
        candidates.push((
            name,
            canonical(&with("inference_params.temperature", json!(t))),
        ));
    }
    let found = near_matches(&request, candidates);
    let names: Vec<_> = found.iter().map(|m| m.template).collect();
    assert_eq!(names, ["t1", "t2", "t3", "t4", "t5"]);
    let all_two = near_matches(&request, vec![("two", canonical(&two))]);
    assert_eq!(all_two[0].differing_fields.len(), 2);
}

#[test]
fn groups_are_connected_parts_with_their_pairs() {
    let a = canonical(&base());
    let b = canonical(&with("inference_params.temperature", json!(0.71)));
    let mut c_body = with("inference_params.temperature", json!(0.71));
    c_body["country_set"] = json!(["CH"]);
    c_body["grounding_profile_id"] = json!("gp-3");
    let c = canonical(&c_body); // three from a, two from b
    let lone = canonical(&with("model_id", json!("o3")));
    let groups = near_duplicate_groups(&[("a", a), ("lone", lone), ("b", b), ("c", c)]);
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].members, ["a", "b", "c"]);
    let pairs: Vec<_> = groups[0].pairs.iter().map(|p| (p.a, p.b)).collect();
    assert_eq!(pairs, [("a", "b"), ("b", "c")]);
}

proptest! {
    /// Case, punctuation and spacing never change the folded prompt, so never the near key.
    #[test]
    fn folding_ignores_case_punctuation_and_spacing(words in prop::collection::vec("[a-zA-Z0-9éß]{1,8}", 1..8), punct in "[ ,.!?;:\\-]{0,3}") {
        let plain = words.join(" ");
        let noisy = words.iter().map(|w| format!("{}{punct}", w.to_uppercase())).collect::<Vec<_>>().join("   ");
        prop_assert_eq!(fold_prompt(&plain), fold_prompt(&noisy));
    }

    /// A near match differs in 1..=2 fields, the relation is symmetric and a configuration is
    /// never its own near match.
    #[test]
    fn near_difference_is_symmetric_and_irreflexive(t1 in 0.0f64..2.0, t2 in 0.0f64..2.0, extra in any::<bool>()) {
        let a = canonical(&with("inference_params.temperature", json!(t1)));
        let mut b_body = with("inference_params.temperature", json!(t2));
        if extra { b_body["country_set"] = json!(["CH", "DE", "FR"]); }
        let b = canonical(&b_body);
        prop_assert_eq!(near_difference(&a, &a), None);
        let ab = near_difference(&a, &b);
        prop_assert_eq!(&ab, &near_difference(&b, &a));
        if let Some(fields) = ab {
            prop_assert!((1..=2).contains(&fields.len()));
        }
    }

    /// The key from the request as sent equals the key from its canonical configuration (the
    /// create path uses the first, the background fill the second).
    #[test]
    fn key_from_the_request_equals_key_from_the_canonical_form(
        prompt in "[ \t\r\na-zA-Z0-9éÉßＡ{}.,!?\u{a0}\u{1c}\u{2003}]{0,40}",
        model in "[ \t]{0,2}gpt-4o[ \t\u{1c}]{0,2}",
    ) {
        let body = json!({"workspace_id": "ws", "user_prompt_template": prompt, "model_id": model});
        let canonical = canonical(&body);
        prop_assert_eq!(Some(near_key_of(&model, &prompt)), near_key(&canonical));
    }
}
