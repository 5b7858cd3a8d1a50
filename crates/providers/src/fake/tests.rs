use crate::CountryDelivery;
use serde_json::Map;

use super::content::BRANDS;
use super::*;
use crate::settings::ProviderSettings;

fn req(
    provider: Provider,
    model: &str,
    prompt: &str,
    grounding: bool,
    purpose: Purpose,
) -> CompletionRequest {
    CompletionRequest {
        provider,
        model_id: model.into(),
        system_instructions: None,
        prompt: prompt.into(),
        inference_params: Map::new(),
        use_grounding: grounding,
        purpose,
        max_retries: None,
        country: None,
    }
}

fn settings(build: Option<&str>) -> ProviderSettings {
    let mut s = ProviderSettings::fake_only();
    s.fake_build = build.map(str::to_string);
    s
}

const MODELS: [(Provider, &str); 5] = [
    (Provider::Openai, "gpt-4o"),
    (Provider::AzureOpenai, "azure/gpt-4o"),
    (Provider::Google, "gemini-2.0-flash"),
    (Provider::Anthropic, "claude-sonnet-4-5"),
    (Provider::OpenaiCompatible, "llama3"),
];

async fn run(r: &CompletionRequest, build: Option<&str>) -> Completion {
    complete(r, &settings(build)).await.unwrap()
}

#[tokio::test]
async fn deterministic_and_marked_fake() {
    for (p, m) in MODELS {
        let r = req(p, m, "Which brand of coffee is best?", false, Purpose::Run);
        let (a, b) = (run(&r, None).await, run(&r, None).await);
        assert_eq!(a.response_body, b.response_body, "{p}");
        assert_eq!(a.provider_version_key, b.provider_version_key);
        assert!(a.is_fake && a.http_status == 200 && a.attempts == 1);
        assert!(!a.used_grounding);
        assert_eq!(a.request_body, adapters::request_body(&r).unwrap());
        assert!(a.usage.is_some() && a.provider_response_id.is_some());
        let other = run(
            &req(p, m, "Something else entirely", false, Purpose::Run),
            None,
        )
        .await;
        assert_ne!(other.response_body, a.response_body);
    }
}

#[tokio::test]
async fn version_fields_look_like_the_real_ones() {
    let o = run(
        &req(Provider::Openai, "gpt-4o", "x", false, Purpose::Run),
        None,
    )
    .await;
    assert_eq!(o.response_model.as_deref(), Some("gpt-4o-2024-08-06"));
    let fp = o.system_fingerprint.unwrap();
    assert_eq!(
        fp,
        format!("fp_{}", &hex::encode(Sha256::digest("gpt-4o"))[..10])
    );
    assert_eq!(o.provider_version_key, fp);
    let g = run(
        &req(
            Provider::Google,
            "gemini-2.0-flash",
            "x",
            false,
            Purpose::Run,
        ),
        None,
    )
    .await;
    assert_eq!(g.provider_version_key, "gemini-2.0-flash-001");
    assert_eq!(g.system_fingerprint, None);
    let a = run(
        &req(
            Provider::Anthropic,
            "claude-sonnet-4-5",
            "x",
            false,
            Purpose::Run,
        ),
        None,
    )
    .await;
    assert_eq!(a.provider_version_key, "claude-sonnet-4-5");

    assert_eq!(
        openai_model(Provider::Openai, "gpt-4o-2024-05-13"),
        "gpt-4o-2024-05-13"
    );
    assert_eq!(
        openai_model(Provider::Openai, "chatgpt-4o-latest"),
        "chatgpt-4o-latest"
    );
    assert_eq!(
        openai_model(Provider::Openai, "gpt-3.5-turbo-0125"),
        "gpt-3.5-turbo-0125"
    );
    assert!(openai_model(Provider::Openai, "gpt-9").starts_with("gpt-9-2025-"));
    assert_eq!(openai_model(Provider::OpenaiCompatible, "llama3"), "llama3");
    assert_eq!(
        openai_model(Provider::AzureOpenai, "azure/my-deploy"),
        "my-deploy"
    );
    assert_eq!(
        gemini_version("gemini-1.5-pro-002", None),
        "gemini-1.5-pro-002"
    );
    assert_eq!(
        gemini_version("gemini-1.5-pro-002", Some("3")),
        "gemini-1.5-pro-003"
    );
    assert_eq!(
        gemini_version("gemini-2.0-flash", Some("exp 1")),
        "gemini-2.0-flash-exp-1"
    );
}

#[tokio::test]
async fn build_label_drifts_the_key_and_probe_matches_run() {
    for (p, m) in MODELS {
        let run_req = req(p, m, "Top brands of sneakers?", true, Purpose::Run);
        let probe_req = req(p, m, "Top brands of sneakers?", true, Purpose::Probe);
        let plain = run(&run_req, None).await.provider_version_key;
        let b1 = run(&run_req, Some("2")).await.provider_version_key;
        let b2 = run(&run_req, Some("3")).await.provider_version_key;
        assert_ne!(plain, b1, "{p}");
        assert_ne!(b1, b2, "{p}");
        for build in [None, Some("2"), Some("blue")] {
            assert_eq!(
                run(&run_req, build).await.provider_version_key,
                run(&probe_req, build).await.provider_version_key,
                "{p} {build:?}"
            );
        }
    }
}

#[tokio::test]
async fn grounding_markers_parse_as_grounded() {
    for (p, m) in MODELS {
        let c = run(&req(p, m, "Best brand of tea?", true, Purpose::Run), None).await;
        assert!(c.used_grounding, "{p}: {}", c.response_body);
        // A probe never asks for search, so it never reports one.
        let c = run(&req(p, m, "Best brand of tea?", true, Purpose::Probe), None).await;
        assert!(!c.used_grounding, "{p}");
    }
    let a = run(
        &req(
            Provider::Anthropic,
            "claude-3-haiku",
            "q",
            true,
            Purpose::Run,
        ),
        None,
    )
    .await;
    assert_eq!(
        a.response_body["usage"]["server_tool_use"]["web_search_requests"],
        json!(1)
    );
}

#[tokio::test]
async fn content_names_brands_and_probes_are_tiny() {
    let c = run(
        &req(
            Provider::Openai,
            "gpt-4o",
            "Compare the brand Zephyr with others",
            false,
            Purpose::Run,
        ),
        None,
    )
    .await;
    let named = BRANDS.iter().filter(|b| c.content.contains(*b)).count();
    assert!((2..=4).contains(&named), "{}", c.content);
    assert!(c.content.contains("Zephyr"), "{}", c.content);
    let q = run(
        &req(
            Provider::Google,
            "gemini-2.0-flash",
            "Is \"Moon Boots\" any good?",
            false,
            Purpose::Run,
        ),
        None,
    )
    .await;
    assert!(q.content.contains("Moon Boots"), "{}", q.content);
    let p = run(
        &req(
            Provider::Anthropic,
            "claude-3-haiku",
            "long prompt",
            false,
            Purpose::Probe,
        ),
        None,
    )
    .await;
    assert_eq!(p.content, "pong");
    assert_eq!(p.usage.unwrap().output_tokens, Some(1));
    assert_eq!(p.request_body["max_tokens"], json!(1));
}

#[tokio::test]
async fn latency_and_unknown() {
    let mut s = settings(None);
    s.fake_latency = std::time::Duration::from_millis(30);
    let c = complete(
        &req(Provider::Openai, "gpt-4o", "x", false, Purpose::Run),
        &s,
    )
    .await
    .unwrap();
    assert!(c.latency_ms >= 30, "{}", c.latency_ms);
    let err = complete(
        &req(Provider::Unknown, "llama3", "x", false, Purpose::Run),
        &s,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ProviderError::UnknownProvider { .. }));
}

#[tokio::test]
async fn grounded_fake_answers_carry_citations_and_echo_the_delivered_country() {
    for (provider, model, api_object, echoed) in [
        (Provider::Openai, "gpt-4o", "response", true),
        (Provider::AzureOpenai, "azure/gpt-4o", "response", true),
        (
            Provider::Openai,
            "gpt-4o-search-preview",
            "chat.completion",
            true,
        ),
        (Provider::Anthropic, "claude-sonnet-4-5", "message", true),
        (Provider::Google, "gemini-2.0-flash", "", false),
    ] {
        let mut r = req(provider, model, "Best running shoes?", true, Purpose::Run);
        r.country = Some("CH".into());
        let c = complete(&r, &settings(None)).await.unwrap();
        let kind = c.response_body["object"]
            .as_str()
            .or(c.response_body["type"].as_str())
            .unwrap_or("");
        assert_eq!(kind, api_object, "{model}");
        assert!(c.used_grounding, "{model}");
        assert_eq!(c.citations.len(), 1, "{model}");
        assert_eq!(c.citations[0].domain, "example.com", "{model}");
        assert_eq!(
            c.content.contains("localised to CH"),
            echoed,
            "{model}: {}",
            c.content
        );
        let delivery = if echoed {
            CountryDelivery::SearchUserLocation
        } else {
            CountryDelivery::None
        };
        assert_eq!(c.country_delivery, Some(delivery), "{model}");
    }
}

#[tokio::test]
async fn fake_responses_objects_show_a_build_label_in_the_model() {
    let r = req(Provider::Openai, "gpt-4o", "q", true, Purpose::Run);
    let plain = complete(&r, &settings(None)).await.unwrap();
    let built = complete(&r, &settings(Some("b2"))).await.unwrap();
    assert_eq!(plain.provider_version_key, "gpt-4o-2024-08-06");
    assert_eq!(built.provider_version_key, "gpt-4o-2024-08-06-b2");
    // The probe of a grounded template agrees with its runs.
    let probe = req(Provider::Openai, "gpt-4o", "q", true, Purpose::Probe);
    let p = complete(&probe, &settings(Some("b2"))).await.unwrap();
    assert_eq!(p.provider_version_key, built.provider_version_key);
}
