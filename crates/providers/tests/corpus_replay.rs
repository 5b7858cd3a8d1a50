//! Replays every body of the shared provider corpus (`../shared/provider_corpus/`: 84 real
//! responses recorded by others, sources in its INDEX.md) through the live adapters against a
//! local server, and checks answer, version key, grounding, citations, stop reasons and error
//! mapping against the facts INDEX.md lists for each file (its "Auto:" notes).
//!
//! The corpus is other people's recordings and is not copied into this repository: the test
//! reads it from `../shared/provider_corpus` next to the checkout (or `PROMPTER_PROVIDER_CORPUS`)
//! and says that it skipped when the folder is not there.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::*;
use prompter_providers::{
    Completion, CompletionRequest, Gateway, LlmGateway, LlmMode, Provider, ProviderError,
    ProviderSettings, Purpose,
};
use serde_json::{Map, Value};

fn corpus_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("PROMPTER_PROVIDER_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/provider_corpus")
        });
    dir.join("INDEX.md").is_file().then_some(dir)
}

/// One row of INDEX.md's file table.
#[derive(Debug)]
struct Entry {
    file: String,
    surface: String,
    success: bool,
    status: u16,
    auto: String,
}

fn entries(index: &str) -> Vec<Entry> {
    index
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let status = cells[4]
                .split(|c: char| !c.is_ascii_digit())
                .find(|s| !s.is_empty())
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("no HTTP status in {l}"));
            Entry {
                file: cells[1].trim_matches('`').to_owned(),
                surface: cells[2].to_owned(),
                success: cells[3] == "success",
                status,
                auto: cells[5]
                    .split("Auto:")
                    .nth(1)
                    .unwrap_or_default()
                    .to_owned(),
            }
        })
        .collect()
}

/// The value after `key` in an Auto note, up to `;`, a space or the end.
fn fact<'a>(auto: &'a str, key: &str) -> Option<&'a str> {
    let mut rest = auto;
    while let Some(at) = rest.find(key) {
        // `model=` must not match inside `modelVersion=`; a key starts a word.
        let before = rest[..at].chars().last();
        let value = &rest[at + key.len()..];
        if matches!(before, None | Some(' ' | ';')) {
            let end = value.find([';', ' ']).unwrap_or(value.len());
            return Some(value[..end].trim_matches(|c| c == '\'' || c == '"'));
        }
        rest = value;
    }
    None
}

/// How the adapter is asked, per surface: the provider, the requested model, whether it asks for
/// search, and the path the request must take.
fn request_for(surface: &str) -> (Provider, &'static str, bool, &'static str) {
    match surface {
        "OpenAI Chat Completions" => (Provider::Openai, "gpt-4o", false, "/v1/chat/completions"),
        "OpenAI Responses API" => (Provider::Openai, "gpt-5", true, "/v1/responses"),
        "Azure OpenAI chat completions" | "Azure AI Foundry model inference" => (
            Provider::AzureOpenai,
            "azure/corpus",
            false,
            "/openai/deployments/corpus/chat/completions",
        ),
        "Azure OpenAI Responses API" => (
            Provider::AzureOpenai,
            "azure/corpus",
            true,
            "/openai/v1/responses",
        ),
        "Gemini API generateContent" | "Vertex AI Gemini generateContent" => (
            Provider::Google,
            "gemini-2.5-flash",
            true,
            "/v1beta/models/gemini-2.5-flash:generateContent",
        ),
        "Anthropic Messages" => (
            Provider::Anthropic,
            "claude-sonnet-4-5",
            true,
            "/v1/messages",
        ),
        s if s.starts_with("OpenAI-compatible") || s == "Gemini OpenAI-compatible endpoint" => (
            Provider::OpenaiCompatible,
            "local-model",
            false,
            "/v1/chat/completions",
        ),
        other => panic!("surface {other:?} has no adapter mapping"),
    }
}

fn settings(origin: &str) -> ProviderSettings {
    let mut s = ProviderSettings::fake_only();
    s.mode = LlmMode::Live;
    s.timeout = Duration::from_secs(5);
    s.max_retries = 0;
    s.openai_api_key = Some("sk-corpus".into());
    s.openai_base_url = format!("{origin}/v1");
    s.azure_api_key = Some("azure-corpus".into());
    s.azure_endpoint = Some(origin.into());
    s.google_api_key = Some("google-corpus".into());
    s.google_base_url = format!("{origin}/v1beta");
    s.anthropic_api_key = Some("sk-ant-corpus".into());
    s.anthropic_base_url = format!("{origin}/v1");
    s.openai_compatible_base_url = Some(format!("{origin}/v1"));
    s
}

fn check_success(e: &Entry, model: &str, c: &Completion) {
    let a = e.auto.as_str();
    let name = &e.file;
    // Version key: a non-empty fingerprint, else the response's model, else the requested id.
    let expected_key = fact(a, "fp=")
        .or(fact(a, "model="))
        .or(fact(a, "modelVersion=").filter(|v| *v != "ABSENT"))
        .unwrap_or(model);
    assert_eq!(c.provider_version_key, expected_key, "{name}");

    let searched = a.contains("web_search_call")
        || a.contains("groundingMetadata(")
        || a.contains("url_citation x")
        || a.contains("'web_search_tool_result'")
        || a.contains("'server_tool_use'");
    assert_eq!(c.used_grounding, searched, "{name}: grounding");

    let cites = a.contains("url_citation x")
        || a.contains("groundingChunks")
        || a.contains("text blocks with citations=")
        || a.contains("'web_search_tool_result'")
        || fact(a, "annotations=").is_some_and(|n| n != "0");
    assert_eq!(
        !c.citations.is_empty(),
        cites,
        "{name}: citations {:?}",
        c.citations
    );
    for cite in &c.citations {
        assert!(!cite.domain.is_empty(), "{name}: {cite:?} has no domain");
        assert!(!cite.domain.starts_with("www."), "{name}: {cite:?}");
    }
    let mut urls: Vec<&str> = c.citations.iter().map(|x| x.url.as_str()).collect();
    urls.dedup();
    assert_eq!(urls.len(), c.citations.len(), "{name}: deduplicated by URL");

    let no_text = a.contains("content null")
        || a.contains("content has no parts")
        || a.contains("NO candidates")
        || a.contains("content \"\"");
    let refused = a.contains("refusal set");
    if refused {
        assert_eq!(c.finish_reason.as_deref(), Some("refusal"), "{name}");
        assert!(!c.content.is_empty(), "{name}: the refusal text is kept");
    } else if no_text {
        assert!(c.content.trim().is_empty(), "{name}: {:?}", c.content);
    } else {
        assert!(!c.content.trim().is_empty(), "{name}: no answer text");
    }
    assert!(
        !c.content.contains("<think>"),
        "{name}: reasoning left in the answer"
    );

    let cut = [
        "finish=length",
        "stop_reason=max_tokens",
        "finishReason=MAX_TOKENS",
    ]
    .iter()
    .any(|k| a.contains(k))
        || a.contains("stop_reason=pause_turn")
        || a.contains("status=incomplete");
    assert_eq!(c.truncated, cut, "{name}: truncated");
    if let Some(stop) = fact(a, "finish=")
        .or(fact(a, "stop_reason="))
        .or(fact(a, "finishReason=").filter(|f| f.parse::<u32>().is_err()))
    {
        if !refused {
            assert_eq!(c.finish_reason.as_deref(), Some(stop), "{name}");
        }
    }
    if let Some(reason) = fact(a, "promptFeedback.blockReason=") {
        assert_eq!(
            c.finish_reason.as_deref(),
            Some(format!("prompt_blocked:{reason}").as_str()),
            "{name}"
        );
    }
    let reasons = a.contains("reasoning_content present")
        || a.contains("reasoning present")
        || a.contains("<think> in content")
        || a.contains("'thinking'");
    if reasons {
        assert!(c.reasoning.is_some(), "{name}: reasoning not kept apart");
    }
    if let Some(n) = fact(a, "reasoning_tokens=").or(fact(a, "reasoning=")) {
        let usage = c.usage.as_ref().expect("usage");
        assert_eq!(usage.reasoning_tokens, n.parse().ok(), "{name}");
    }
}

fn check_error(e: &Entry, body: &Value, err: ProviderError) {
    let name = &e.file;
    match err {
        ProviderError::Http {
            status, message, ..
        } => {
            assert_eq!(status, e.status, "{name}");
            // The provider's own message, whichever of the shapes it used.
            let own = body
                .pointer("/error/message")
                .or(body.get("message"))
                .or(body.get("error").filter(|e| e.is_string()))
                .and_then(Value::as_str);
            if let Some(own) = own {
                assert!(message.contains(own.trim()), "{name}: {message:?}");
            }
        }
        other => panic!("{name}: expected HTTP {}, got {other:?}", e.status),
    }
}

#[tokio::test]
#[cfg_attr(
    not(prompter_corpus),
    ignore = "the shared provider corpus (../shared/provider_corpus) is not next to this checkout; set PROMPTER_PROVIDER_CORPUS to run it"
)]
async fn every_recorded_body_goes_through_the_live_adapters() {
    let Some(dir) = corpus_dir() else {
        println!(
            "skipped: the shared provider corpus (../shared/provider_corpus) is not next to this \
             checkout; set PROMPTER_PROVIDER_CORPUS to run it"
        );
        return;
    };
    let index = std::fs::read_to_string(dir.join("INDEX.md")).unwrap();
    let all = entries(&index);
    assert!(all.len() >= 80, "INDEX.md lists {} files", all.len());
    let (mut successes, mut errors) = (0, 0);
    for e in &all {
        let text = std::fs::read_to_string(dir.join(&e.file))
            .unwrap_or_else(|err| panic!("{}: {err}", e.file));
        let body: Value = serde_json::from_str(&text).unwrap();
        let (provider, model, grounded, path) = request_for(&e.surface);
        let fx = Fixture::start(vec![Reply::raw(
            e.status,
            vec![("content-type", "application/json".into())],
            &text,
        )])
        .await;
        let gw = Gateway::new(settings(&fx.origin)).unwrap();
        let outcome = gw
            .complete(CompletionRequest {
                provider,
                model_id: model.into(),
                system_instructions: None,
                prompt: "corpus replay".into(),
                inference_params: Map::new(),
                use_grounding: grounded,
                purpose: Purpose::Run,
                max_retries: Some(0),
                country: Some("CH".into()),
            })
            .await;
        let seen = fx.requests();
        assert_eq!(seen[0].path, path, "{}", e.file);
        match (e.success, outcome) {
            (true, Ok(c)) => {
                check_success(e, model, &c);
                // A paused Anthropic turn is continued (the server repeats itself here).
                let want = if c.finish_reason.as_deref() == Some("pause_turn") {
                    4
                } else {
                    1
                };
                assert_eq!(seen.len(), want, "{}", e.file);
                successes += 1;
            }
            (false, Err(err)) => {
                check_error(e, &body, err);
                errors += 1;
            }
            (_, other) => panic!("{} ({}): unexpected outcome {other:?}", e.file, e.status),
        }
    }
    println!("replayed {successes} success bodies and {errors} error bodies");
    assert_eq!(successes + errors, all.len());
}
