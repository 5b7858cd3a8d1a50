//! Every live adapter against a local fixture server that speaks the provider's documented
//! wire format (providers.md): request shape, auth, version fields, grounding, retries,
//! errors, malformed bodies and timeouts. Nothing leaves 127.0.0.1.

mod common;

use std::time::Duration;

use common::*;
use prompter_providers::{
    Completion, CompletionRequest, Gateway, LlmGateway, LlmMode, Provider, ProviderError,
    ProviderSettings, Purpose,
};
use serde_json::{json, Map, Value};

#[derive(Clone, Copy, Debug)]
struct Case {
    provider: Provider,
    model: &'static str,
    key: &'static str,
}

const OPENAI: Case = Case {
    provider: Provider::Openai,
    model: "gpt-4o",
    key: "sk-fixture-OPENAI-KEY-123",
};
const AZURE: Case = Case {
    provider: Provider::AzureOpenai,
    model: "azure/my-gpt4o",
    key: "azure-fixture-KEY-456",
};
const GEMINI: Case = Case {
    provider: Provider::Google,
    model: "gemini-2.5-flash",
    key: "AIzaFixture-GOOGLE-KEY-789",
};
const ANTHROPIC: Case = Case {
    provider: Provider::Anthropic,
    model: "claude-sonnet-4-5",
    key: "sk-ant-fixture-KEY-000",
};
const COMPATIBLE: Case = Case {
    provider: Provider::OpenaiCompatible,
    model: "llama3.1-8b-instruct",
    key: "local-fixture-KEY-111",
};
const CASES: [Case; 5] = [OPENAI, AZURE, GEMINI, ANTHROPIC, COMPATIBLE];

impl Case {
    fn settings(&self, origin: &str) -> ProviderSettings {
        let mut s = ProviderSettings::fake_only();
        s.mode = LlmMode::Live;
        s.timeout = Duration::from_secs(5);
        s.max_retries = 2;
        s.retry_base_delay = Duration::from_millis(1);
        let key = Some(self.key.to_string());
        match self.provider {
            Provider::Openai => {
                (s.openai_api_key, s.openai_base_url) = (key, format!("{origin}/v1"))
            }
            Provider::AzureOpenai => {
                (s.azure_api_key, s.azure_endpoint) = (key, Some(origin.into()))
            }
            Provider::Google => {
                (s.google_api_key, s.google_base_url) = (key, format!("{origin}/v1beta"))
            }
            Provider::Anthropic => {
                (s.anthropic_api_key, s.anthropic_base_url) = (key, format!("{origin}/v1"))
            }
            Provider::OpenaiCompatible => {
                (s.openai_compatible_api_key, s.openai_compatible_base_url) =
                    (key, Some(format!("{origin}/v1")))
            }
            Provider::Unknown => unreachable!(),
        }
        s
    }

    fn headers(&self) -> Vec<(&'static str, String)> {
        match self.provider {
            Provider::AzureOpenai => azure_headers(),
            Provider::Google => gemini_headers(),
            Provider::Anthropic => anthropic_headers(),
            _ => openai_headers(),
        }
    }

    /// The version the server reports: a fingerprint for the OpenAI family.
    fn success(&self, grounded: bool) -> Value {
        match self.provider {
            Provider::Openai => {
                openai_success("gpt-4o-2024-08-06", Fp::Present("fp_fc9f1d7035"), grounded)
            }
            Provider::AzureOpenai => azure_success(Fp::Present("fp_b705f0c291"), grounded),
            Provider::OpenaiCompatible => {
                openai_success(self.model, Fp::Present("b4567-0123497e"), grounded)
            }
            Provider::Google => gemini_success("gemini-2.5-flash-001", grounded),
            Provider::Anthropic => anthropic_success("claude-sonnet-4-5-20250929", grounded),
            Provider::Unknown => unreachable!(),
        }
    }

    fn expected_key(&self) -> &'static str {
        match self.provider {
            Provider::Openai => "fp_fc9f1d7035",
            Provider::AzureOpenai => "fp_b705f0c291",
            Provider::OpenaiCompatible => "b4567-0123497e",
            Provider::Google => "gemini-2.5-flash-001",
            _ => "claude-sonnet-4-5-20250929",
        }
    }

    /// The provider's error body for `status`.
    fn error(&self, status: u16, message: &str) -> Value {
        match self.provider {
            Provider::Google => {
                let s = match status {
                    400 => "INVALID_ARGUMENT",
                    429 => "RESOURCE_EXHAUSTED",
                    503 => "UNAVAILABLE",
                    _ => "INTERNAL",
                };
                gemini_error(status, s, message)
            }
            Provider::Anthropic => {
                let t = match status {
                    401 => "authentication_error",
                    429 => "rate_limit_error",
                    529 => "overloaded_error",
                    _ => "api_error",
                };
                anthropic_error(t, message)
            }
            _ => match status {
                401 => openai_error("invalid_request_error", Some("invalid_api_key"), message),
                429 => openai_error("requests", Some("rate_limit_exceeded"), message),
                _ => openai_error("server_error", None, message),
            },
        }
    }

    fn ok_reply(&self, body: &Value) -> Reply {
        Reply::json(200, self.headers(), body)
    }

    fn err_reply(&self, status: u16, message: &str) -> Reply {
        Reply::json(status, self.headers(), &self.error(status, message))
    }

    fn request(&self, grounded: bool) -> CompletionRequest {
        let params: Map<String, Value> = serde_json::from_value(json!({
            "temperature": 0.2, "top_p": 0.9, "max_tokens": 300, "seed": 7, "stop": ["END"]
        }))
        .unwrap();
        CompletionRequest {
            provider: self.provider,
            model_id: self.model.into(),
            system_instructions: Some("Be brief.".into()),
            prompt: "Who won Euro 2024?".into(),
            inference_params: params,
            use_grounding: grounded,
            purpose: Purpose::Run,
            max_retries: None,
            country: None,
        }
    }

    /// Path, query and auth headers of the documented endpoint (providers.md §1, §3–§6).
    fn check_wire(&self, r: &Recorded) {
        assert_eq!(r.method, "POST", "{self:?}");
        assert!(
            r.header("content-type")
                .unwrap()
                .starts_with("application/json"),
            "{self:?}"
        );
        let bearer = format!("Bearer {}", self.key);
        match self.provider {
            Provider::Openai | Provider::OpenaiCompatible => {
                assert_eq!(r.path, "/v1/chat/completions");
                assert_eq!(r.query, None);
                assert_eq!(r.header("authorization"), Some(bearer.as_str()));
                assert_eq!(r.body["model"], json!(self.model));
            }
            Provider::AzureOpenai => {
                assert_eq!(r.path, "/openai/deployments/my-gpt4o/chat/completions");
                assert_eq!(r.query.as_deref(), Some("api-version=2024-10-21"));
                assert_eq!(r.header("api-key"), Some(self.key));
                assert_eq!(r.header("authorization"), None);
            }
            Provider::Google => {
                assert_eq!(r.path, "/v1beta/models/gemini-2.5-flash:generateContent");
                assert_eq!(r.query, None, "the key must not travel as ?key=");
                assert_eq!(r.header("x-goog-api-key"), Some(self.key));
                assert_eq!(r.header("authorization"), None);
            }
            Provider::Anthropic => {
                assert_eq!(r.path, "/v1/messages");
                assert_eq!(r.header("x-api-key"), Some(self.key));
                assert_eq!(r.header("anthropic-version"), Some("2023-06-01"));
                assert_eq!(r.header("authorization"), None);
            }
            Provider::Unknown => unreachable!(),
        }
    }

    /// Whether the body asks for search in this provider's way.
    fn asks_for_search(&self, body: &Value) -> bool {
        match self.provider {
            Provider::Google => body["tools"] == json!([{"google_search": {}}]),
            Provider::Anthropic => body["tools"][0]["type"] == json!("web_search_20250305"),
            _ => body.get("web_search_options") == Some(&json!({})),
        }
    }
}

async fn call(case: Case, fx: &Fixture, grounded: bool) -> Result<Completion, ProviderError> {
    call_with(case, fx, grounded, |_| {}).await
}

async fn call_with(
    case: Case,
    fx: &Fixture,
    grounded: bool,
    tweak: impl FnOnce(&mut ProviderSettings),
) -> Result<Completion, ProviderError> {
    let mut s = case.settings(&fx.origin);
    tweak(&mut s);
    let gw = Gateway::new(s).unwrap();
    assert!(!gw.is_fake(case.provider));
    gw.complete(case.request(grounded)).await
}

fn assert_no_key(case: Case, err: &ProviderError) {
    let (text, dbg) = (err.to_string(), format!("{err:?}"));
    assert!(
        !text.contains(case.key) && !dbg.contains(case.key),
        "{case:?}: {dbg}"
    );
}

#[tokio::test]
async fn success_records_version_content_usage_and_bodies() {
    for case in CASES {
        let body = case.success(false);
        let fx = Fixture::start(vec![case.ok_reply(&body)]).await;
        let c = call(case, &fx, false).await.unwrap();
        case.check_wire(&fx.only_request());
        assert_eq!(c.provider_version_key, case.expected_key(), "{case:?}");
        assert_eq!(c.response_body, body);
        assert_eq!(
            c.request_body,
            fx.only_request().body,
            "request_body is what was sent"
        );
        assert!(c.content.starts_with("Spain won"), "{case:?}");
        assert!(c.usage.as_ref().unwrap().total_tokens.is_some());
        assert!(c.provider_response_id.is_some());
        assert_eq!(
            (c.http_status, c.attempts, c.is_fake, c.used_grounding),
            (200, 1, false, false)
        );
        assert!(!c.request_body.to_string().contains(case.key));
    }
}

#[tokio::test]
async fn openai_family_fingerprint_null_and_absent() {
    for case in [OPENAI, AZURE, COMPATIBLE] {
        for fp in [Fp::Null, Fp::Absent] {
            let body = openai_success("gpt-4o-2024-08-06", fp, false);
            let fx = Fixture::start(vec![case.ok_reply(&body)]).await;
            let c = call(case, &fx, false).await.unwrap();
            assert_eq!(c.system_fingerprint, None, "{case:?} {fp:?}");
            assert_eq!(c.response_model.as_deref(), Some("gpt-4o-2024-08-06"));
            assert_eq!(c.provider_version_key, "gpt-4o-2024-08-06");
        }
    }
    // Gemini and Anthropic have no fingerprint field at all (§4, §5).
    for case in [GEMINI, ANTHROPIC] {
        let fx = Fixture::start(vec![case.ok_reply(&case.success(false))]).await;
        assert_eq!(
            call(case, &fx, false).await.unwrap().system_fingerprint,
            None
        );
    }
}

#[tokio::test]
async fn grounding_on_and_off() {
    for case in CASES {
        // Grounded OpenAI and Azure calls on ordinary models go to the Responses API
        // (tests/responses_api.rs).
        let search_on_chat = !matches!(case.provider, Provider::Openai | Provider::AzureOpenai);
        for grounded in [search_on_chat, false] {
            let fx = Fixture::start(vec![case.ok_reply(&case.success(grounded))]).await;
            let c = call(case, &fx, grounded).await.unwrap();
            assert_eq!(
                case.asks_for_search(&fx.only_request().body),
                grounded,
                "{case:?}"
            );
            assert_eq!(c.used_grounding, grounded, "{case:?}");
        }
    }
    // Asked for, but the model did not search: the response decides.
    let fx = Fixture::start(vec![GEMINI.ok_reply(&GEMINI.success(false))]).await;
    assert!(!call(GEMINI, &fx, true).await.unwrap().used_grounding);
}

#[tokio::test]
async fn request_bodies_follow_each_wire_format() {
    let mut seen = vec![];
    for case in CASES {
        let fx = Fixture::start(vec![case.ok_reply(&case.success(false))]).await;
        call(case, &fx, false).await.unwrap();
        seen.push(fx.only_request().body);
    }
    let chat = |model: Option<&str>| {
        let mut b = json!({"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Who won Euro 2024?"}],
            "temperature":0.2,"top_p":0.9,"max_tokens":300,"seed":7,"stop":["END"]});
        if let Some(m) = model {
            b["model"] = json!(m);
        }
        b
    };
    assert_eq!(seen[0], chat(Some("gpt-4o")));
    assert_eq!(seen[1], chat(None), "Azure names the model by deployment");
    assert_eq!(
        seen[2],
        json!({"systemInstruction":{"parts":[{"text":"Be brief."}]},
            "contents":[{"role":"user","parts":[{"text":"Who won Euro 2024?"}]}],
            "generationConfig":{"temperature":0.2,"topP":0.9,"maxOutputTokens":300,"seed":7,"stopSequences":["END"]}})
    );
    assert_eq!(
        seen[3],
        json!({"model":"claude-sonnet-4-5","max_tokens":300,"system":"Be brief.",
            "messages":[{"role":"user","content":"Who won Euro 2024?"}],
            "temperature":0.2,"top_p":0.9,"stop_sequences":["END"]})
    );
    assert_eq!(seen[4], chat(Some("llama3.1-8b-instruct")));
}

#[tokio::test]
async fn probes_send_minimal_requests() {
    for case in CASES {
        let fx = Fixture::start(vec![case.ok_reply(&case.success(false))]).await;
        let gw = Gateway::new(case.settings(&fx.origin)).unwrap();
        // (A grounded OpenAI or Azure template is probed on the Responses API:
        // tests/responses_api.rs.)
        let mut req = case.request(!matches!(
            case.provider,
            Provider::Openai | Provider::AzureOpenai
        ));
        req.purpose = Purpose::Probe;
        let c = gw.complete(req).await.unwrap();
        let body = fx.only_request().body;
        let limit = match case.provider {
            Provider::Google => &body["generationConfig"]["maxOutputTokens"],
            _ => &body["max_tokens"],
        };
        assert_eq!(limit, &json!(1), "{case:?}: {body}");
        assert!(!case.asks_for_search(&body));
        assert!(!body.to_string().contains("Euro"), "probe prompt is fixed");
        assert_eq!(c.provider_version_key, case.expected_key());
    }
    // Anthropic without a max_tokens parameter gets the required default.
    let fx = Fixture::start(vec![ANTHROPIC.ok_reply(&ANTHROPIC.success(false))]).await;
    let gw = Gateway::new(ANTHROPIC.settings(&fx.origin)).unwrap();
    let mut req = ANTHROPIC.request(false);
    req.inference_params.clear();
    gw.complete(req).await.unwrap();
    assert_eq!(fx.only_request().body["max_tokens"], json!(1024));
}

#[tokio::test]
async fn openai_reasoning_model_sends_max_completion_tokens() {
    let fx = Fixture::start(vec![OPENAI.ok_reply(&openai_success(
        "o3-2025-04-16",
        Fp::Null,
        false,
    ))])
    .await;
    let gw = Gateway::new(OPENAI.settings(&fx.origin)).unwrap();
    let mut req = OPENAI.request(false);
    req.model_id = "o3".into();
    let c = gw.complete(req).await.unwrap();
    let body = fx.only_request().body;
    assert_eq!(body["max_completion_tokens"], json!(300));
    assert!(body.get("max_tokens").is_none() && body.get("temperature").is_none());
    assert_eq!(c.provider_version_key, "o3-2025-04-16");
}

#[tokio::test]
async fn rate_limit_honours_retry_after_ms() {
    for case in CASES {
        let fx = Fixture::start(vec![
            case.err_reply(429, "Rate limit reached")
                .header("retry-after-ms", "50")
                .header("retry-after", "1"),
            case.ok_reply(&case.success(false)),
        ])
        .await;
        // A long base delay proves the wait came from the header, not from back-off.
        let c = call_with(case, &fx, false, |s| {
            s.retry_base_delay = Duration::from_secs(3)
        })
        .await
        .unwrap();
        assert_eq!(c.attempts, 2, "{case:?}");
        let seen = fx.requests();
        let gap = seen[1].at - seen[0].at;
        assert!(
            gap >= Duration::from_millis(50) && gap < Duration::from_millis(900),
            "{case:?}: {gap:?}"
        );
        assert!(c.latency_ms >= 50);
    }
}

#[tokio::test]
async fn retry_after_in_seconds() {
    let fx = Fixture::start(vec![
        ANTHROPIC
            .err_reply(429, "Number of requests has exceeded your rate limit")
            .header("retry-after", "1"),
        ANTHROPIC.ok_reply(&ANTHROPIC.success(false)),
    ])
    .await;
    let c = call_with(ANTHROPIC, &fx, false, |s| {
        s.retry_base_delay = Duration::from_millis(1)
    })
    .await
    .unwrap();
    let seen = fx.requests();
    assert_eq!(c.attempts, 2);
    assert!(seen[1].at - seen[0].at >= Duration::from_millis(950));
}

#[tokio::test]
async fn server_error_then_success() {
    for case in CASES {
        // Anthropic's "overloaded" is 529 (§5).
        let status = if case.provider == Provider::Anthropic {
            529
        } else {
            500
        };
        let fx = Fixture::start(vec![
            case.err_reply(
                status,
                "The server had an error while processing your request.",
            ),
            case.ok_reply(&case.success(false)),
        ])
        .await;
        let c = call(case, &fx, false).await.unwrap();
        assert_eq!(c.attempts, 2, "{case:?}");
        assert_eq!(c.provider_version_key, case.expected_key());
    }
}

#[tokio::test]
async fn retries_run_out() {
    let fx = Fixture::start(vec![OPENAI.err_reply(503, "Service unavailable")]).await;
    let err = call(OPENAI, &fx, false).await.unwrap_err();
    match &err {
        ProviderError::Http {
            status: 503,
            attempts: 3,
            retryable: true,
            message,
            ..
        } => {
            assert_eq!(message, "Service unavailable")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(fx.requests().len(), 3);
}

#[tokio::test]
async fn auth_failure_is_final_and_never_leaks_the_key() {
    for case in CASES {
        // Gemini answers a bad key with 400 INVALID_ARGUMENT, not 401.
        let status = if case.provider == Provider::Google {
            400
        } else {
            401
        };
        // A hostile server echoing the whole key: it must still not reach the error.
        let message = format!("Incorrect API key provided: {}.", case.key);
        let fx = Fixture::start(vec![case.err_reply(status, &message)]).await;
        let err = call(case, &fx, false).await.unwrap_err();
        match &err {
            ProviderError::Http {
                status: s,
                attempts: 1,
                retryable: false,
                message,
                body,
                ..
            } => {
                assert_eq!(*s, status);
                assert_eq!(message, "Incorrect API key provided: ***.", "{case:?}");
                assert!(body.is_some());
            }
            other => panic!("{case:?}: {other:?}"),
        }
        assert_eq!(fx.requests().len(), 1);
        assert_no_key(case, &err);
    }
}

#[tokio::test]
async fn anthropic_spend_limit_is_not_retried() {
    let mut body = anthropic_error(
        "rate_limit_error",
        "You have reached your specified API usage limits.",
    );
    body["error"]["details"] = json!({"error_code": "enforced_spend_limit_reached"});
    let fx = Fixture::start(vec![
        Reply::json(429, anthropic_headers(), &body).header("retry-after", "0"),
        ANTHROPIC.ok_reply(&ANTHROPIC.success(false)),
    ])
    .await;
    let err = call(ANTHROPIC, &fx, false).await.unwrap_err();
    assert!(
        matches!(
            err,
            ProviderError::Http {
                status: 429,
                attempts: 1,
                retryable: false,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(fx.requests().len(), 1);
}

#[tokio::test]
async fn x_should_retry_false_stops_retries() {
    for case in CASES {
        let fx = Fixture::start(vec![
            case.err_reply(500, "internal error")
                .header("x-should-retry", "false"),
            case.ok_reply(&case.success(false)),
        ])
        .await;
        let err = call(case, &fx, false).await.unwrap_err();
        assert!(
            matches!(
                err,
                ProviderError::Http {
                    status: 500,
                    attempts: 1,
                    retryable: false,
                    ..
                }
            ),
            "{case:?}: {err:?}"
        );
    }
}

#[tokio::test]
async fn malformed_success_bodies_are_not_retried() {
    for case in CASES {
        let fx = Fixture::start(vec![
            Reply::raw(200, case.headers(), r#"{"id":"chatcmpl-1","choices":["#),
            case.ok_reply(&case.success(false)),
        ])
        .await;
        let err = call(case, &fx, false).await.unwrap_err();
        assert!(
            matches!(
                err,
                ProviderError::MalformedResponse {
                    http_status: 200,
                    attempts: 1,
                    ..
                }
            ),
            "{case:?}: {err:?}"
        );
        assert_eq!(fx.requests().len(), 1);
    }
    // Valid JSON, wrong shape (a list endpoint's answer).
    let wrong = json!({"object":"list","data":[]});
    let fx = Fixture::start(vec![OPENAI.ok_reply(&wrong)]).await;
    match call(OPENAI, &fx, false).await.unwrap_err() {
        ProviderError::MalformedResponse { body, message, .. } => {
            assert_eq!(body, Some(wrong));
            assert!(message.contains("choices"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn slow_server_times_out_after_retries() {
    for case in CASES {
        let fx = Fixture::start(vec![case
            .ok_reply(&case.success(false))
            .delayed(Duration::from_millis(600))])
        .await;
        let err = call_with(case, &fx, false, |s| {
            s.timeout = Duration::from_millis(100);
            s.max_retries = 1;
        })
        .await
        .unwrap_err();
        assert!(
            matches!(
                err,
                ProviderError::Timeout {
                    timeout_ms: 100,
                    attempts: 2
                }
            ),
            "{case:?}: {err:?}"
        );
        assert_eq!(fx.requests().len(), 2);
    }
}

#[tokio::test]
async fn unreachable_server_is_a_transport_error() {
    // Bind and drop a listener to get a port nobody serves.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut s = OPENAI.settings(&format!("http://127.0.0.1:{port}"));
    s.max_retries = 1;
    let err = Gateway::new(s)
        .unwrap()
        .complete(OPENAI.request(false))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ProviderError::Transport { attempts: 2, .. }),
        "{err:?}"
    );
    assert_no_key(OPENAI, &err);
}

#[tokio::test]
async fn compatible_server_without_a_key_gets_no_authorization() {
    let fx = Fixture::start(vec![COMPATIBLE.ok_reply(&openai_success(
        "llama3",
        Fp::Present("fp_ollama"),
        false,
    ))])
    .await;
    let c = call_with(COMPATIBLE, &fx, false, |s| {
        s.openai_compatible_api_key = None
    })
    .await
    .unwrap();
    assert_eq!(fx.only_request().header("authorization"), None);
    assert_eq!(c.provider_version_key, "fp_ollama");
}
