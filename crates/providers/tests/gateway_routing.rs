//! How the Gateway picks live or fake per provider and mode.

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use common::*;
use prompter_providers::{
    detect_provider, CompletionRequest, Gateway, LlmGateway, Provider, ProviderError,
    ProviderSettings, Purpose,
};

fn settings(pairs: &[(&str, &str)]) -> ProviderSettings {
    let env: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    ProviderSettings::from_lookup(|k| env.get(k).cloned()).unwrap()
}

fn req(model: &str) -> CompletionRequest {
    CompletionRequest {
        provider: detect_provider(None, model),
        model_id: model.into(),
        system_instructions: None,
        prompt: "Which brand of running shoes is best?".into(),
        inference_params: Default::default(),
        use_grounding: false,
        purpose: Purpose::Run,
        max_retries: None,
        country: None,
    }
}

fn explicit(provider: &str, model: &str) -> CompletionRequest {
    CompletionRequest {
        provider: detect_provider(Some(provider), model),
        ..req(model)
    }
}

fn all_requests() -> Vec<CompletionRequest> {
    vec![
        req("gpt-4o"),
        req("azure/my-deploy"),
        req("gemini-2.0-flash"),
        req("claude-sonnet-4-5"),
        explicit("openai-compatible", "llama3"),
    ]
}

#[tokio::test]
async fn auto_without_keys_fakes_everything() {
    let gw: Arc<dyn LlmGateway> = Arc::new(Gateway::new(settings(&[])).unwrap());
    for r in all_requests() {
        let p = r.provider;
        assert!(gw.is_fake(p), "{p}");
        let c = gw.complete(r).await.unwrap();
        assert!(c.is_fake && c.provider == p, "{p}");
    }
}

#[tokio::test]
async fn auto_with_an_openai_key_goes_live_for_openai_only() {
    let body = openai_success("gpt-4o-2024-08-06", Fp::Present("fp_fc9f1d7035"), false);
    let fx = Fixture::start(vec![Reply::json(200, openai_headers(), &body)]).await;
    let base = format!("{}/v1", fx.origin);
    let gw = Gateway::new(settings(&[
        ("OPENAI_API_KEY", "sk-route-KEY"),
        ("OPENAI_BASE_URL", &base),
    ]))
    .unwrap();

    assert!(!gw.is_fake(Provider::Openai));
    let live = gw.complete(req("gpt-4o")).await.unwrap();
    assert!(!live.is_fake);
    assert_eq!(live.provider_version_key, "fp_fc9f1d7035");
    assert_eq!(
        fx.only_request().header("authorization"),
        Some("Bearer sk-route-KEY")
    );

    for r in all_requests().into_iter().skip(1) {
        let p = r.provider;
        assert!(gw.is_fake(p), "{p}");
        assert!(gw.complete(r).await.unwrap().is_fake, "{p}");
    }
    assert_eq!(fx.requests().len(), 1, "fakes never call the server");
}

#[tokio::test]
async fn fake_mode_ignores_credentials() {
    let fx = Fixture::start(vec![Reply::raw(500, vec![], "")]).await;
    let base = format!("{}/v1", fx.origin);
    let gw = Gateway::new(settings(&[
        ("PROMPTER_LLM_MODE", "fake"),
        ("OPENAI_API_KEY", "sk-x-KEY"),
        ("OPENAI_BASE_URL", &base),
    ]))
    .unwrap();
    assert!(gw.complete(req("gpt-4o")).await.unwrap().is_fake);
    assert!(fx.requests().is_empty());
}

#[tokio::test]
async fn live_without_credentials_names_the_variable() {
    let gw = Gateway::new(settings(&[("PROMPTER_LLM_MODE", "live")])).unwrap();
    let expected = [
        "OPENAI_API_KEY",
        "AZURE_OPENAI_API_KEY",
        "GOOGLE_API_KEY",
        "ANTHROPIC_API_KEY",
        "PROMPTER_OPENAI_COMPATIBLE_BASE_URL",
    ];
    for (r, var) in all_requests().into_iter().zip(expected) {
        let p = r.provider;
        assert!(!gw.is_fake(p));
        let err = gw.complete(r).await.unwrap_err();
        assert!(
            matches!(err, ProviderError::NotConfigured { provider, .. } if provider == p),
            "{err:?}"
        );
        assert!(err.to_string().contains(var), "{err}");
    }
}

#[tokio::test]
async fn unknown_provider_is_refused_in_every_mode() {
    for mode in ["auto", "fake", "live"] {
        let gw = Gateway::new(settings(&[("PROMPTER_LLM_MODE", mode)])).unwrap();
        for r in [req("llama3"), explicit("bedrock", "gpt-4o")] {
            let err = gw.complete(r).await.unwrap_err();
            assert!(
                matches!(err, ProviderError::UnknownProvider { .. }),
                "{mode}: {err:?}"
            );
            assert!(err.to_string().contains("openai-compatible"));
        }
        assert!(!gw.is_fake(Provider::Unknown));
    }
}
