use serde_json::{json, Map, Value};

use super::*;

fn req(provider: Provider, model: &str, params: Value) -> CompletionRequest {
    let inference_params: Map<String, Value> = serde_json::from_value(params).unwrap();
    CompletionRequest {
        provider,
        model_id: model.into(),
        system_instructions: Some("Be brief.".into()),
        prompt: "Best running shoes?".into(),
        inference_params,
        use_grounding: false,
        purpose: Purpose::Run,
        max_retries: None,
        country: None,
    }
}

fn grounded(mut r: CompletionRequest, country: Option<&str>) -> CompletionRequest {
    r.use_grounding = true;
    r.country = country.map(str::to_owned);
    r
}

fn probe(mut r: CompletionRequest) -> CompletionRequest {
    r.purpose = Purpose::Probe;
    r
}

fn settings() -> ProviderSettings {
    let mut s = ProviderSettings::fake_only();
    s.openai_api_key = Some("sk-openai-SECRET".into());
    s.azure_api_key = Some("azure-SECRET".into());
    s.azure_endpoint = Some("https://res.openai.azure.com".into());
    s.google_api_key = Some("google-SECRET".into());
    s.anthropic_api_key = Some("sk-ant-SECRET".into());
    s
}

const ALL: &str = r#"{"temperature":0.2,"top_p":0.9,"top_k":40,"max_tokens":256,"seed":42,
    "stop":"END","presence_penalty":0.1,"frequency_penalty":0.3,"logit_bias":{}}"#;

fn all() -> Value {
    serde_json::from_str(ALL).unwrap()
}

#[test]
fn openai_body_maps_params() {
    let b = request_body(&req(Provider::Openai, "gpt-4o", all())).unwrap();
    assert_eq!(
        b,
        json!({"model":"gpt-4o","messages":[{"role":"system","content":"Be brief."},
            {"role":"user","content":"Best running shoes?"}],
            "temperature":0.2,"top_p":0.9,"max_tokens":256,"seed":42,"stop":"END",
            "presence_penalty":0.1,"frequency_penalty":0.3})
    );
}

#[test]
fn search_models_search_on_chat_completions_with_the_country() {
    let r = grounded(
        req(Provider::Openai, "gpt-4o-mini-search-preview", json!({})),
        Some("CH"),
    );
    let call = prepare(&r, &settings()).unwrap();
    assert_eq!(call.url, "https://api.openai.com/v1/chat/completions");
    assert_eq!(
        call.body["web_search_options"],
        json!({"user_location": {"type": "approximate", "approximate": {"country": "CH"}}})
    );
    assert_eq!(country_delivery(&r), CountryDelivery::SearchUserLocation);
    let no_country = grounded(
        req(Provider::Openai, "gpt-4o-search-preview", json!({})),
        None,
    );
    assert_eq!(
        request_body(&no_country).unwrap()["web_search_options"],
        json!({})
    );
}

#[test]
fn grounded_openai_runs_use_the_responses_api_with_the_country() {
    for model in ["gpt-4o", "gpt-4.1", "gpt-5"] {
        let r = grounded(req(Provider::Openai, model, all()), Some("CH"));
        let call = prepare(&r, &settings()).unwrap();
        assert_eq!(call.url, "https://api.openai.com/v1/responses", "{model}");
        assert!(call
            .headers
            .contains(&("authorization", "Bearer sk-openai-SECRET".into())));
        let mut want = json!({"model": model,
            "input": [{"role": "user", "content": "Best running shoes?"}],
            "instructions": "Be brief.", "store": false, "max_output_tokens": 256,
            "tools": [{"type": "web_search",
                "user_location": {"type": "approximate", "country": "CH"}}]});
        if model != "gpt-5" {
            want["temperature"] = json!(0.2);
            want["top_p"] = json!(0.9);
        }
        assert_eq!(call.body, want, "{model}");
        assert_eq!(country_delivery(&r), CountryDelivery::SearchUserLocation);
    }
    // Ungrounded runs stay on Chat Completions (which reports system_fingerprint).
    let plain = prepare(&req(Provider::Openai, "gpt-4o", all()), &settings()).unwrap();
    assert_eq!(plain.url, "https://api.openai.com/v1/chat/completions");
    // A probe of a grounded template asks the same API, without the tool, for 16 tokens.
    let p = request_body(&probe(grounded(
        req(Provider::Openai, "gpt-4o", all()),
        Some("CH"),
    )))
    .unwrap();
    assert_eq!(
        p,
        json!({"model": "gpt-4o", "input": [{"role": "user", "content": "ping"}],
            "store": false, "max_output_tokens": 16})
    );
}

#[test]
fn azure_grounded_runs_use_the_v1_responses_api() {
    let r = grounded(
        req(Provider::AzureOpenai, "azure/my-gpt4o", all()),
        Some("DE"),
    );
    let call = prepare(&r, &settings()).unwrap();
    assert_eq!(call.url, "https://res.openai.azure.com/openai/v1/responses");
    assert!(call.headers.contains(&("api-key", "azure-SECRET".into())));
    assert_eq!(call.body["model"], json!("my-gpt4o"));
    assert_eq!(
        call.body["tools"][0]["user_location"],
        json!({"type": "approximate", "country": "DE"})
    );
}

#[test]
fn anthropic_search_gets_the_country_and_gemini_cannot() {
    let a = grounded(
        req(Provider::Anthropic, "claude-sonnet-4-5", json!({})),
        Some("FR"),
    );
    assert_eq!(
        request_body(&a).unwrap()["tools"],
        json!([{"type": "web_search_20250305", "name": "web_search",
            "user_location": {"type": "approximate", "country": "FR"}}])
    );
    assert_eq!(country_delivery(&a), CountryDelivery::SearchUserLocation);
    let g = grounded(
        req(Provider::Google, "gemini-2.5-flash", json!({})),
        Some("FR"),
    );
    assert_eq!(
        request_body(&g).unwrap()["tools"],
        json!([{"google_search": {}}])
    );
    assert_eq!(country_delivery(&g), CountryDelivery::None);
    // No search, no delivery, whatever the provider.
    let plain = CompletionRequest {
        country: Some("FR".into()),
        ..req(Provider::Anthropic, "claude-sonnet-4-5", json!({}))
    };
    assert_eq!(country_delivery(&plain), CountryDelivery::None);
    assert!(request_body(&plain).unwrap().get("tools").is_none());
}

#[test]
fn openai_reasoning_models_use_max_completion_tokens() {
    for model in ["o1-mini", "o3", "O4-mini", "gpt-5"] {
        let b = request_body(&req(Provider::Openai, model, all())).unwrap();
        assert_eq!(b["max_completion_tokens"], json!(256), "{model}");
        assert!(
            b.get("max_tokens").is_none() && b.get("temperature").is_none(),
            "{model}"
        );
        let p = request_body(&probe(req(Provider::Openai, model, all()))).unwrap();
        assert_eq!(p["max_completion_tokens"], json!(1));
    }
    // Compatible servers take max_tokens whatever the model is called.
    let b = request_body(&req(Provider::OpenaiCompatible, "o3-local", all())).unwrap();
    assert_eq!(b["max_tokens"], json!(256));
    assert_eq!(b["temperature"], json!(0.2));
}

#[test]
fn probes_are_minimal() {
    let b = request_body(&probe(req(Provider::Openai, "gpt-4o", all()))).unwrap();
    assert_eq!(
        b,
        json!({"model":"gpt-4o","messages":[{"role":"user","content":"ping"}],"max_tokens":1})
    );
    let g = request_body(&probe(req(Provider::Google, "gemini-2.0-flash", all()))).unwrap();
    assert_eq!(
        g,
        json!({"contents":[{"role":"user","parts":[{"text":"ping"}]}],"generationConfig":{"maxOutputTokens":1}})
    );
    let a = request_body(&probe(req(Provider::Anthropic, "claude-sonnet-4-5", all()))).unwrap();
    assert_eq!(
        a,
        json!({"model":"claude-sonnet-4-5","max_tokens":1,"messages":[{"role":"user","content":"ping"}]})
    );
}

#[test]
fn max_tokens_aliases() {
    let b = request_body(&req(
        Provider::Google,
        "gemini-2.0-flash",
        json!({"max_output_tokens": 9}),
    ))
    .unwrap();
    assert_eq!(b["generationConfig"], json!({"maxOutputTokens": 9}));
    let b = request_body(&req(
        Provider::Openai,
        "gpt-4o",
        json!({"max_completion_tokens": 7}),
    ))
    .unwrap();
    assert_eq!(b["max_tokens"], json!(7));
}

#[test]
fn azure_call() {
    let call = prepare(
        &req(Provider::AzureOpenai, "azure/my-deploy", all()),
        &settings(),
    )
    .unwrap();
    assert_eq!(
        call.url,
        "https://res.openai.azure.com/openai/deployments/my-deploy/chat/completions?api-version=2024-10-21"
    );
    assert!(call.headers.contains(&("api-key", "azure-SECRET".into())));
    assert!(
        call.body.get("model").is_none(),
        "the deployment names the model"
    );
    assert_eq!(call.body["max_tokens"], json!(256));
    assert_eq!(azure::deployment("AZURE/x"), "x");
    assert_eq!(azure::deployment("plain"), "plain");
    let o = request_body(&req(Provider::AzureOpenai, "azure/o3-mini", all())).unwrap();
    assert_eq!(o["max_completion_tokens"], json!(256));
}

#[test]
fn gemini_call() {
    let call = prepare(
        &grounded(
            req(Provider::Google, "models/gemini-2.5-flash", all()),
            None,
        ),
        &settings(),
    )
    .unwrap();
    assert_eq!(
        call.url,
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent"
    );
    assert!(!call.url.contains("key="));
    assert!(call
        .headers
        .contains(&("x-goog-api-key", "google-SECRET".into())));
    assert_eq!(
        call.body,
        json!({"systemInstruction":{"parts":[{"text":"Be brief."}]},
            "contents":[{"role":"user","parts":[{"text":"Best running shoes?"}]}],
            "generationConfig":{"temperature":0.2,"topP":0.9,"topK":40,"maxOutputTokens":256,"seed":42,
                "stopSequences":["END"],"presencePenalty":0.1,"frequencyPenalty":0.3},
            "tools":[{"google_search":{}}]})
    );
}

#[test]
fn anthropic_call() {
    let call = prepare(
        &grounded(req(Provider::Anthropic, "claude-sonnet-4-5", all()), None),
        &settings(),
    )
    .unwrap();
    assert_eq!(call.url, "https://api.anthropic.com/v1/messages");
    assert!(call
        .headers
        .contains(&("x-api-key", "sk-ant-SECRET".into())));
    assert!(call
        .headers
        .contains(&("anthropic-version", "2023-06-01".into())));
    assert_eq!(
        call.body,
        json!({"model":"claude-sonnet-4-5","max_tokens":256,"system":"Be brief.",
            "messages":[{"role":"user","content":"Best running shoes?"}],
            "temperature":0.2,"top_p":0.9,"top_k":40,"stop_sequences":["END"],
            "tools":[{"type":"web_search_20250305","name":"web_search"}]})
    );
    let mut r = req(Provider::Anthropic, "claude-3-haiku", json!({}));
    r.use_grounding = false;
    r.system_instructions = None;
    let b = request_body(&r).unwrap();
    assert_eq!(
        b,
        json!({"model":"claude-3-haiku","max_tokens":1024,"messages":[{"role":"user","content":"Best running shoes?"}]})
    );
}

#[test]
fn missing_credentials() {
    let s = ProviderSettings::fake_only();
    for p in Provider::KNOWN {
        let err = prepare(&req(p, "m", json!({})), &s).unwrap_err();
        assert!(matches!(err, ProviderError::NotConfigured { .. }), "{p}");
    }
    let err = prepare(&req(Provider::Openai, "gpt-4o", json!({})), &s).unwrap_err();
    assert!(err.to_string().contains("OPENAI_API_KEY"), "{err}");
    let err = prepare(&req(Provider::Unknown, "llama3", json!({})), &s).unwrap_err();
    assert!(matches!(err, ProviderError::UnknownProvider { .. }));
}

#[test]
fn compatible_sends_bearer_only_with_a_key() {
    let mut s = ProviderSettings::fake_only();
    s.openai_compatible_base_url = Some("http://127.0.0.1:8080/v1".into());
    let r = req(Provider::OpenaiCompatible, "llama3", json!({}));
    let call = prepare(&r, &s).unwrap();
    assert_eq!(call.url, "http://127.0.0.1:8080/v1/chat/completions");
    assert!(call.headers.iter().all(|(n, _)| *n != "authorization"));
    s.openai_compatible_api_key = Some("local-key".into());
    let call = prepare(&r, &s).unwrap();
    assert!(call
        .headers
        .contains(&("authorization", "Bearer local-key".into())));
}

#[test]
fn call_debug_hides_header_values() {
    let call = prepare(&req(Provider::Openai, "gpt-4o", json!({})), &settings()).unwrap();
    let dbg = format!("{call:?}");
    assert!(!dbg.contains("SECRET"), "{dbg}");
    assert!(dbg.contains("authorization"));
}
