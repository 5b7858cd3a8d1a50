//! A scripted local HTTP server (axum on 127.0.0.1:0) that records every request and answers
//! from a queue of canned responses in each provider's documented wire format
//! (providers.md). Requests are asserted in the tests after the call, not inside the handler:
//! a panic in a handler would only surface as a 500, which the client then retries.
#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{to_bytes, Body};
use axum::http::{Request, Response};
use axum::Router;
use serde_json::{json, Value};

/// One canned answer.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub delay: Duration,
}

impl Reply {
    pub fn json(status: u16, headers: Vec<(&str, String)>, body: &Value) -> Self {
        Reply {
            status,
            headers: headers
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            body: body.to_string(),
            delay: Duration::ZERO,
        }
    }
    pub fn raw(status: u16, headers: Vec<(&str, String)>, body: &str) -> Self {
        Reply {
            status,
            headers: headers
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            body: body.to_string(),
            delay: Duration::ZERO,
        }
    }
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
    pub fn delayed(mut self, d: Duration) -> Self {
        self.delay = d;
        self
    }
}

/// What the server received.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// Lower-case names.
    pub headers: HashMap<String, String>,
    pub body: Value,
    pub at: Instant,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

#[derive(Default)]
struct State {
    script: Mutex<VecDeque<Reply>>,
    last: Mutex<Option<Reply>>,
    seen: Mutex<Vec<Recorded>>,
}

pub struct Fixture {
    /// `http://127.0.0.1:<port>`, no trailing slash.
    pub origin: String,
    state: Arc<State>,
}

impl Fixture {
    /// Serves `replies` in order; once they run out, the last one is repeated.
    pub async fn start(replies: Vec<Reply>) -> Fixture {
        let state = Arc::new(State {
            script: Mutex::new(replies.into()),
            ..State::default()
        });
        let handler_state = state.clone();
        let app = Router::new().fallback(move |req: Request<Body>| {
            let state = handler_state.clone();
            async move { answer(state, req).await }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Fixture { origin, state }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.seen.lock().unwrap().clone()
    }

    pub fn only_request(&self) -> Recorded {
        let seen = self.requests();
        assert_eq!(seen.len(), 1, "expected exactly one request, got {seen:#?}");
        seen.into_iter().next().unwrap()
    }
}

async fn answer(state: Arc<State>, req: Request<Body>) -> Response<Body> {
    let at = Instant::now();
    let (parts, body) = req.into_parts();
    let bytes = to_bytes(body, 1 << 20).await.unwrap_or_default();
    let headers = parts
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                v.to_str().unwrap_or("<binary>").to_string(),
            )
        })
        .collect();
    state.seen.lock().unwrap().push(Recorded {
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().map(str::to_string),
        headers,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        at,
    });
    let reply = {
        let next = state.script.lock().unwrap().pop_front();
        let mut last = state.last.lock().unwrap();
        if let Some(r) = next {
            *last = Some(r);
        }
        last.clone().expect("the fixture has no reply scripted")
    };
    tokio::time::sleep(reply.delay).await;
    let mut resp = Response::builder().status(reply.status);
    for (k, v) in &reply.headers {
        resp = resp.header(k, v);
    }
    resp.body(Body::from(reply.body)).unwrap()
}

// ---- Wire shapes (providers.md) -------------------------------------------------------------

/// `system_fingerprint` as it may appear: a string, `null`, or no key at all.
#[derive(Clone, Copy, Debug)]
pub enum Fp {
    Present(&'static str),
    Null,
    Absent,
}

/// OAPI chat-completion object (§1), with `url_citation` annotations when grounded (§2).
pub fn openai_success(model: &str, fp: Fp, grounded: bool) -> Value {
    let annotations = if grounded {
        json!([{"type":"url_citation","url_citation":{"url":"https://www.uefa.com/euro2024/","title":"UEFA","start_index":0,"end_index":20}}])
    } else {
        json!([])
    };
    let mut body = json!({"id":"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG","object":"chat.completion","created":1741570283,
        "model":model,
        "choices":[{"index":0,"message":{"role":"assistant","content":"Spain won Euro 2024.","refusal":null,"annotations":annotations},"logprobs":null,"finish_reason":"stop"}],
        "usage":{"prompt_tokens":19,"completion_tokens":6,"total_tokens":25,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},
            "completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},
        "service_tier":"default"});
    match fp {
        Fp::Present(s) => body["system_fingerprint"] = json!(s),
        Fp::Null => body["system_fingerprint"] = Value::Null,
        Fp::Absent => {}
    }
    body
}

/// OAPI `ErrorResponse`: all four keys present.
pub fn openai_error(kind: &str, code: Option<&str>, message: &str) -> Value {
    json!({"error":{"message":message,"type":kind,"param":null,"code":code}})
}

/// Headers of an OpenAI answer (§1 rate-limit headers).
pub fn openai_headers() -> Vec<(&'static str, String)> {
    vec![
        ("content-type", "application/json".into()),
        ("x-request-id", "req_7f3c2a9e0b1d4e5f8a6b".into()),
        ("openai-processing-ms", "312".into()),
        ("openai-version", "2020-10-01".into()),
        ("x-ratelimit-limit-requests", "10000".into()),
        ("x-ratelimit-limit-tokens", "30000000".into()),
        ("x-ratelimit-remaining-requests", "9999".into()),
        ("x-ratelimit-remaining-tokens", "29999975".into()),
        ("x-ratelimit-reset-requests", "6ms".into()),
        ("x-ratelimit-reset-tokens", "0s".into()),
    ]
}

/// Azure adds `apim-request-id` and content-filter results (§3).
pub fn azure_headers() -> Vec<(&'static str, String)> {
    vec![
        ("content-type", "application/json".into()),
        (
            "apim-request-id",
            "3f1c8a52-6b0e-4d7a-9c2f-1e5b7d9a0c44".into(),
        ),
        ("x-ms-region", "Sweden Central".into()),
        ("x-ratelimit-remaining-requests", "79".into()),
        ("x-ratelimit-remaining-tokens", "79000".into()),
    ]
}

pub fn azure_success(fp: Fp, grounded: bool) -> Value {
    let mut body = openai_success("gpt-4o-2024-08-06", fp, grounded);
    body["prompt_filter_results"] = json!([{"prompt_index":0,"content_filter_results":{"hate":{"filtered":false,"severity":"safe"}}}]);
    body["choices"][0]["content_filter_results"] =
        json!({"hate":{"filtered":false,"severity":"safe"}});
    body
}

/// §4 response example.
pub fn gemini_success(model_version: &str, grounded: bool) -> Value {
    let mut candidate = json!({"content":{"role":"model","parts":[{"text":"Spain won Euro 2024."}]},"finishReason":"STOP","index":0});
    if grounded {
        candidate["groundingMetadata"] = json!({"webSearchQueries":["euro 2024 winner"],
            "groundingChunks":[{"web":{"uri":"https://vertexaisearch.cloud.google.com/grounding-api-redirect/abc","title":"uefa.com"}}],
            "groundingSupports":[{"segment":{"startIndex":0,"endIndex":20,"text":"Spain won Euro 2024."},"groundingChunkIndices":[0],"confidenceScores":[0.9]}],
            "searchEntryPoint":{"renderedContent":"<style></style>"}});
    }
    json!({"candidates":[candidate],"usageMetadata":{"promptTokenCount":8,"candidatesTokenCount":6,"totalTokenCount":14},
        "modelVersion":model_version,"responseId":"mAitaLmkHPPlz7IPvtfUqQ4"})
}

/// Google API error (`google.rpc.Status` as JSON).
pub fn gemini_error(code: u16, status: &str, message: &str) -> Value {
    json!({"error":{"code":code,"message":message,"status":status}})
}

pub fn gemini_headers() -> Vec<(&'static str, String)> {
    vec![
        ("content-type", "application/json; charset=UTF-8".into()),
        ("vary", "Origin, X-Origin, Referer".into()),
        ("server-timing", "gfet4t7; dur=412".into()),
    ]
}

/// §5 response example.
pub fn anthropic_success(model: &str, grounded: bool) -> Value {
    let (content, server_tool_use) = if grounded {
        (
            json!([{"type":"server_tool_use","id":"srvtoolu_01WYG3ziw53XMcoyKL4XcZmE","name":"web_search","input":{"query":"Euro 2024 winner"}},
                {"type":"web_search_tool_result","tool_use_id":"srvtoolu_01WYG3ziw53XMcoyKL4XcZmE","content":[{"type":"web_search_result","url":"https://www.uefa.com/","title":"UEFA","encrypted_content":"EqgfCioI","page_age":null}]},
                {"type":"text","text":"Spain won.","citations":[{"type":"web_search_result_location","url":"https://www.uefa.com/","title":"UEFA","cited_text":"Spain beat England 2-1","encrypted_index":"Eo8BCioI"}]}]),
            json!({"web_search_requests":1,"web_fetch_requests":0}),
        )
    } else {
        (
            json!([{"type":"text","text":"Spain won."}]),
            json!({"web_search_requests":0,"web_fetch_requests":0}),
        )
    };
    json!({"id":"msg_013Zva2CMHLNnXjNJJKqJ2EF","type":"message","role":"assistant","model":model,"content":content,
        "stop_reason":"end_turn","stop_sequence":null,
        "usage":{"input_tokens":2100,"output_tokens":40,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"server_tool_use":server_tool_use}})
}

pub fn anthropic_error(kind: &str, message: &str) -> Value {
    json!({"type":"error","error":{"type":kind,"message":message},"request_id":"req_011CSHoEeqs5C35K2UUqR7Fy"})
}

pub fn anthropic_headers() -> Vec<(&'static str, String)> {
    vec![
        ("content-type", "application/json".into()),
        ("request-id", "req_011CSHoEeqs5C35K2UUqR7Fy".into()),
        (
            "anthropic-organization-id",
            "0b5a8c1e-2d3f-4a6b-9c7d-8e9f0a1b2c3d".into(),
        ),
        ("anthropic-ratelimit-requests-limit", "4000".into()),
        ("anthropic-ratelimit-requests-remaining", "3999".into()),
        (
            "anthropic-ratelimit-requests-reset",
            "2026-08-21T10:00:01Z".into(),
        ),
    ]
}

/// A Responses API object (providers.md §2): reasoning, `web_search_call` items of each action
/// type (one without `action`, as gpt-5.1 sends them), a message with flat `url_citation`
/// annotations, usage with reasoning tokens, no fingerprint.
pub fn responses_success(model: &str) -> Value {
    json!({"id":"resp_68c1f0a2b3c4d5e6f708192a3b4c5d6e","object":"response","created_at":1757540000,
        "status":"completed","error":null,"incomplete_details":null,"instructions":null,
        "max_output_tokens":null,"model":model,
        "output":[
            {"id":"rs_01","type":"reasoning","summary":[{"type":"summary_text","text":"Looking up the final."}]},
            {"id":"ws_01","type":"web_search_call","status":"completed",
                "action":{"type":"search","query":"euro 2024 winner","queries":["euro 2024 winner"],
                    "sources":[{"type":"url","url":"https://www.uefa.com/euro2024/"}]}},
            {"id":"ws_02","type":"web_search_call","status":"completed",
                "action":{"type":"open_page","url":"https://www.uefa.com/euro2024/news/final/"}},
            {"id":"ws_03","type":"web_search_call","status":"completed",
                "action":{"type":"find_in_page","pattern":"final","url":"https://www.uefa.com/euro2024/news/final/"}},
            {"id":"ws_04","type":"web_search_call","status":"completed"},
            {"id":"msg_01","type":"message","status":"completed","role":"assistant","content":[
                {"type":"output_text","text":"Spain won Euro 2024, beating England 2-1 ([uefa.com](https://www.uefa.com/euro2024/)).",
                 "logprobs":[],"annotations":[
                    {"type":"url_citation","url":"https://www.uefa.com/euro2024/","title":"UEFA EURO 2024","start_index":42,"end_index":83},
                    {"type":"url_citation","url":"https://en.wikipedia.org/wiki/UEFA_Euro_2024_final","title":"UEFA Euro 2024 final","start_index":0,"end_index":20},
                    {"type":"url_citation","url":"https://www.uefa.com/euro2024/","title":"UEFA EURO 2024","start_index":0,"end_index":5}]}]}],
        "parallel_tool_calls":true,"store":false,"temperature":1.0,
        "tools":[{"type":"web_search","search_context_size":"medium","user_location":{"type":"approximate","country":"CH"}}],
        "usage":{"input_tokens":9299,"input_tokens_details":{"cached_tokens":0},"output_tokens":577,
            "output_tokens_details":{"reasoning_tokens":512},"total_tokens":9876}})
}
