//! The OpenAI Responses API and the country in grounded runs, against local fixture servers
//! speaking the documented wire format (providers.md §2, §3, §5): which endpoint a call goes to,
//! what it sends, and everything read back (answer, version key, search, citations, reasoning,
//! stop reasons). Also Anthropic's `pause_turn` continuation. Nothing leaves 127.0.0.1.

mod common;

use std::time::Duration;

use common::*;
use prompter_providers::{
    Completion, CompletionRequest, CountryDelivery, Gateway, LlmGateway, LlmMode, Provider,
    ProviderError, ProviderSettings, Purpose,
};
use serde_json::{json, Map, Value};

const OPENAI_KEY: &str = "sk-fixture-OPENAI-KEY-123";
const AZURE_KEY: &str = "azure-fixture-KEY-456";
const ANTHROPIC_KEY: &str = "sk-ant-fixture-KEY-000";

fn settings(origin: &str) -> ProviderSettings {
    let mut s = ProviderSettings::fake_only();
    s.mode = LlmMode::Live;
    s.timeout = Duration::from_secs(5);
    s.max_retries = 0;
    s.openai_api_key = Some(OPENAI_KEY.into());
    s.openai_base_url = format!("{origin}/v1");
    s.azure_api_key = Some(AZURE_KEY.into());
    s.azure_endpoint = Some(origin.into());
    s.anthropic_api_key = Some(ANTHROPIC_KEY.into());
    s.anthropic_base_url = format!("{origin}/v1");
    s
}

fn grounded(provider: Provider, model: &str, country: Option<&str>) -> CompletionRequest {
    let params: Map<String, Value> =
        serde_json::from_value(json!({"temperature": 0.2, "max_tokens": 300, "seed": 7})).unwrap();
    CompletionRequest {
        provider,
        model_id: model.into(),
        system_instructions: Some("Be brief.".into()),
        prompt: "Who won Euro 2024?".into(),
        inference_params: params,
        use_grounding: true,
        purpose: Purpose::Run,
        max_retries: None,
        country: country.map(str::to_owned),
    }
}

async fn complete(fx: &Fixture, req: CompletionRequest) -> Result<Completion, ProviderError> {
    Gateway::new(settings(&fx.origin))
        .unwrap()
        .complete(req)
        .await
}

fn assert_reads_the_responses_object(c: &Completion, model: &str) {
    assert_eq!(
        c.content,
        "Spain won Euro 2024, beating England 2-1 ([uefa.com](https://www.uefa.com/euro2024/))."
    );
    // No fingerprint on this API: the resolved model is the version key.
    assert_eq!(c.system_fingerprint, None);
    assert_eq!(c.provider_version_key, model);
    assert_eq!(c.response_model.as_deref(), Some(model));
    assert_eq!(
        c.provider_response_id.as_deref(),
        Some("resp_68c1f0a2b3c4d5e6f708192a3b4c5d6e")
    );
    assert!(c.used_grounding);
    assert_eq!(c.finish_reason.as_deref(), Some("completed"));
    assert!(!c.truncated);
    assert_eq!(c.reasoning.as_deref(), Some("Looking up the final."));
    let usage = c.usage.as_ref().unwrap();
    assert_eq!(
        (
            usage.input_tokens,
            usage.output_tokens,
            usage.total_tokens,
            usage.reasoning_tokens
        ),
        (Some(9299), Some(577), Some(9876), Some(512))
    );
    // Flat annotations, deduplicated by URL in order of first appearance.
    let cited: Vec<(&str, &str)> = c
        .citations
        .iter()
        .map(|x| (x.url.as_str(), x.domain.as_str()))
        .collect();
    assert_eq!(
        cited,
        [
            ("https://www.uefa.com/euro2024/", "uefa.com"),
            (
                "https://en.wikipedia.org/wiki/UEFA_Euro_2024_final",
                "en.wikipedia.org"
            ),
        ]
    );
    assert_eq!(c.citations[0].title.as_deref(), Some("UEFA EURO 2024"));
}

#[tokio::test]
async fn grounded_gpt_4o_and_gpt_5_search_through_the_responses_api_from_the_runs_country() {
    for (model, resolved, reasoning) in [
        ("gpt-4o", "gpt-4o-2024-08-06", false),
        ("gpt-5", "gpt-5-2025-08-07", true),
    ] {
        let fx = Fixture::start(vec![Reply::json(
            200,
            openai_headers(),
            &responses_success(resolved),
        )])
        .await;
        let c = complete(&fx, grounded(Provider::Openai, model, Some("CH")))
            .await
            .unwrap();
        let r = fx.only_request();
        assert_eq!(r.path, "/v1/responses", "{model}");
        assert_eq!(r.query, None);
        assert_eq!(
            r.header("authorization"),
            Some(format!("Bearer {OPENAI_KEY}").as_str())
        );
        let mut want = json!({"model": model,
            "input": [{"role": "user", "content": "Who won Euro 2024?"}],
            "instructions": "Be brief.", "store": false, "max_output_tokens": 300,
            "tools": [{"type": "web_search",
                "user_location": {"type": "approximate", "country": "CH"}}]});
        if !reasoning {
            want["temperature"] = json!(0.2);
        }
        assert_eq!(
            r.body, want,
            "{model}: no seed (the Responses API has none)"
        );
        assert_eq!(
            c.request_body, r.body,
            "the stored request is what was sent"
        );
        assert_eq!(
            c.country_delivery,
            Some(CountryDelivery::SearchUserLocation)
        );
        assert_reads_the_responses_object(&c, resolved);
    }
}

#[tokio::test]
async fn search_models_stay_on_chat_completions_with_the_location_in_web_search_options() {
    let fx = Fixture::start(vec![Reply::json(
        200,
        openai_headers(),
        &openai_success(
            "gpt-4o-mini-search-preview-2025-03-11",
            Fp::Present(""),
            true,
        ),
    )])
    .await;
    let c = complete(
        &fx,
        grounded(Provider::Openai, "gpt-4o-mini-search-preview", Some("DE")),
    )
    .await
    .unwrap();
    let r = fx.only_request();
    assert_eq!(r.path, "/v1/chat/completions");
    assert_eq!(
        r.body["web_search_options"],
        json!({"user_location": {"type": "approximate", "approximate": {"country": "DE"}}})
    );
    assert_eq!(
        c.country_delivery,
        Some(CountryDelivery::SearchUserLocation)
    );
    assert!(c.used_grounding);
    // Nested Chat Completions annotation.
    assert_eq!(c.citations.len(), 1);
    assert_eq!(c.citations[0].url, "https://www.uefa.com/euro2024/");
    assert_eq!(c.citations[0].domain, "uefa.com");
    assert_eq!(c.finish_reason.as_deref(), Some("stop"));
}

#[tokio::test]
async fn azure_grounded_runs_use_the_v1_responses_api() {
    let fx = Fixture::start(vec![Reply::json(
        200,
        azure_headers(),
        &responses_success("gpt-4o-2024-11-20"),
    )])
    .await;
    let c = complete(
        &fx,
        grounded(Provider::AzureOpenai, "azure/my-gpt4o", Some("SE")),
    )
    .await
    .unwrap();
    let r = fx.only_request();
    assert_eq!(r.path, "/openai/v1/responses");
    assert_eq!(r.query, None, "the v1 API takes no api-version");
    assert_eq!(r.header("api-key"), Some(AZURE_KEY));
    assert_eq!(r.header("authorization"), None);
    assert_eq!(
        r.body["model"],
        json!("my-gpt4o"),
        "the deployment is the model"
    );
    assert_eq!(
        r.body["tools"][0]["user_location"],
        json!({"type": "approximate", "country": "SE"})
    );
    assert_reads_the_responses_object(&c, "gpt-4o-2024-11-20");
}

#[tokio::test]
async fn a_probe_of_a_grounded_template_reports_the_runs_version_key() {
    let fx = Fixture::start(vec![Reply::json(
        200,
        openai_headers(),
        &responses_success("gpt-4o-2024-08-06"),
    )])
    .await;
    let mut probe = grounded(Provider::Openai, "gpt-4o", Some("CH"));
    probe.purpose = Purpose::Probe;
    let c = complete(&fx, probe).await.unwrap();
    let r = fx.only_request();
    assert_eq!(r.path, "/v1/responses");
    assert_eq!(
        r.body,
        json!({"model": "gpt-4o", "input": [{"role": "user", "content": "ping"}],
            "store": false, "max_output_tokens": 16}),
        "minimal: no tool, no system text, the API's smallest output limit"
    );
    assert_eq!(c.provider_version_key, "gpt-4o-2024-08-06");
    assert_eq!(c.country_delivery, Some(CountryDelivery::None));
}

#[tokio::test]
async fn incomplete_refused_and_failed_responses() {
    let mut cut = responses_success("gpt-5-2025-08-07");
    cut["status"] = json!("incomplete");
    cut["incomplete_details"] = json!({"reason": "max_output_tokens"});
    let mut refused = responses_success("gpt-5-2025-08-07");
    refused["output"] = json!([{"id": "msg_02", "type": "message", "status": "completed",
        "role": "assistant", "content": [{"type": "refusal", "refusal": "I can't help with that."}]}]);
    let mut failed = responses_success("gpt-5-2025-08-07");
    failed["status"] = json!("failed");
    failed["error"] = json!({"code": "server_error", "message": "The model failed."});
    let fx = Fixture::start(vec![
        Reply::json(200, openai_headers(), &cut),
        Reply::json(200, openai_headers(), &refused),
        Reply::json(200, openai_headers(), &failed),
    ])
    .await;
    let req = || grounded(Provider::Openai, "gpt-5", Some("CH"));

    let c = complete(&fx, req()).await.unwrap();
    assert!(c.truncated);
    assert_eq!(c.finish_reason.as_deref(), Some("max_output_tokens"));
    assert!(!c.content.is_empty(), "the partial answer is kept");

    let c = complete(&fx, req()).await.unwrap();
    assert_eq!(c.content, "I can't help with that.");
    assert_eq!(c.finish_reason.as_deref(), Some("refusal"));
    assert!(!c.used_grounding && c.citations.is_empty());

    match complete(&fx, req()).await {
        Err(ProviderError::MalformedResponse { message, .. }) => {
            assert!(message.contains("The model failed."), "{message}")
        }
        other => panic!("expected a failed call, got {other:?}"),
    }
}

#[tokio::test]
async fn responses_api_errors_map_like_chat_errors() {
    let fx = Fixture::start(vec![Reply::json(
        400,
        openai_headers(),
        &json!({"error": {"message": "Your input exceeds the context window of this model.",
            "type": "invalid_request_error", "param": "input", "code": "context_length_exceeded"}}),
    )])
    .await;
    match complete(&fx, grounded(Provider::Openai, "gpt-4.1", None)).await {
        Err(ProviderError::Http {
            status, message, ..
        }) => {
            assert_eq!(status, 400);
            assert!(message.contains("context window"), "{message}");
        }
        other => panic!("expected a 400, got {other:?}"),
    }
}

fn anthropic_paused(n: usize) -> Value {
    json!({"id": format!("msg_paused_{n}"), "type": "message", "role": "assistant",
        "model": "claude-sonnet-4-5-20250929",
        "content": [
            {"type": "server_tool_use", "id": format!("srvtoolu_{n}"), "name": "web_search",
                "input": {"query": "euro 2024"}},
            {"type": "web_search_tool_result", "tool_use_id": format!("srvtoolu_{n}"), "content": [
                {"type": "web_search_result", "url": format!("https://example.org/{n}"),
                    "title": format!("Result {n}"), "encrypted_content": "x", "page_age": null}]},
            {"type": "text", "text": format!("Part {n}. ")}],
        "stop_reason": "pause_turn", "stop_sequence": null,
        "usage": {"input_tokens": 100, "output_tokens": 10,
            "server_tool_use": {"web_search_requests": 1}}})
}

#[tokio::test]
async fn anthropic_pause_turn_is_continued_then_recorded_once() {
    let fx = Fixture::start(vec![
        Reply::json(200, anthropic_headers(), &anthropic_paused(1)),
        Reply::json(
            200,
            anthropic_headers(),
            &anthropic_success("claude-sonnet-4-5-20250929", true),
        ),
    ])
    .await;
    let c = complete(
        &fx,
        grounded(Provider::Anthropic, "claude-sonnet-4-5", Some("CH")),
    )
    .await
    .unwrap();
    let seen = fx.requests();
    assert_eq!(seen.len(), 2, "one continuation");
    assert_eq!(
        seen[0].body["tools"][0]["user_location"],
        json!({"type": "approximate", "country": "CH"})
    );
    let messages = seen[1].body["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[1]["role"], json!("assistant"));
    assert_eq!(messages[1]["content"], anthropic_paused(1)["content"]);
    assert_eq!(c.content, "Part 1. Spain won.");
    assert_eq!(c.finish_reason.as_deref(), Some("end_turn"));
    assert!(!c.truncated);
    let urls: Vec<&str> = c.citations.iter().map(|x| x.url.as_str()).collect();
    assert_eq!(urls, ["https://example.org/1", "https://www.uefa.com/"]);
    assert_eq!(
        c.citations[1].cited_text.as_deref(),
        Some("Spain beat England 2-1")
    );
    let usage = c.usage.unwrap();
    assert_eq!(
        (usage.input_tokens, usage.output_tokens),
        (Some(2200), Some(50))
    );
    assert_eq!(
        c.request_body, seen[1].body,
        "the last request holds every turn"
    );
    assert_eq!(
        c.country_delivery,
        Some(CountryDelivery::SearchUserLocation)
    );
}

#[tokio::test]
async fn a_turn_that_keeps_pausing_is_recorded_truncated_after_three_continuations() {
    let fx = Fixture::start(
        (1..=6)
            .map(|n| Reply::json(200, anthropic_headers(), &anthropic_paused(n)))
            .collect(),
    )
    .await;
    let c = complete(
        &fx,
        grounded(Provider::Anthropic, "claude-sonnet-4-5", None),
    )
    .await
    .unwrap();
    assert_eq!(
        fx.requests().len(),
        4,
        "the first call and three continuations"
    );
    assert!(c.truncated);
    assert_eq!(c.finish_reason.as_deref(), Some("pause_turn"));
    assert_eq!(c.content, "Part 1. Part 2. Part 3. Part 4. ");
    assert_eq!(c.citations.len(), 4);
    assert_eq!(c.country_delivery, None, "no country, nothing to deliver");
}
