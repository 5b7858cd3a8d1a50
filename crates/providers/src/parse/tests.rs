use serde_json::{json, Value};

use super::*;

/// The OAPI chat-completion-object example from providers.md, trimmed.
fn openai_body() -> Value {
    json!({"id":"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG","object":"chat.completion","created":1741570283,
      "model":"gpt-4o-2024-08-06",
      "choices":[{"index":0,"message":{"role":"assistant","content":"Hello there.","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],
      "usage":{"prompt_tokens":1117,"completion_tokens":46,"total_tokens":1163},
      "service_tier":"default","system_fingerprint":"fp_fc9f1d7035"})
}

#[test]
fn openai_fingerprint_present_null_absent_empty() {
    let p = parse_response(Provider::Openai, "gpt-4o", &openai_body()).unwrap();
    assert_eq!(p.system_fingerprint.as_deref(), Some("fp_fc9f1d7035"));
    assert_eq!(p.provider_version_key, "fp_fc9f1d7035");
    assert_eq!(p.response_model.as_deref(), Some("gpt-4o-2024-08-06"));
    assert_eq!(
        p.provider_response_id.as_deref(),
        Some("chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG")
    );
    assert_eq!(p.content, "Hello there.");
    assert!(!p.used_grounding);
    assert_eq!(
        p.usage,
        Some(Usage {
            input_tokens: Some(1117),
            output_tokens: Some(46),
            total_tokens: Some(1163),
            reasoning_tokens: None,
        })
    );

    for fp in [Some(Value::Null), None, Some(json!(""))] {
        let mut b = openai_body();
        match fp {
            Some(v) => b["system_fingerprint"] = v,
            None => {
                b.as_object_mut().unwrap().remove("system_fingerprint");
            }
        }
        let p = parse_response(Provider::Openai, "gpt-4o", &b).unwrap();
        assert_eq!(p.system_fingerprint, None);
        assert_eq!(p.provider_version_key, "gpt-4o-2024-08-06");
    }
}

#[test]
fn openai_family_shares_the_shape() {
    // llama.cpp stamps build_info as the fingerprint (providers.md §6).
    let mut b = openai_body();
    b["system_fingerprint"] = json!("b4567-abc1234");
    b["model"] = json!("gpt-3.5-turbo");
    for p in [Provider::AzureOpenai, Provider::OpenaiCompatible] {
        let r = parse_response(p, "local", &b).unwrap();
        assert_eq!(r.provider_version_key, "b4567-abc1234");
    }
    // No model, no fingerprint (fakellm): fall back to the requested id.
    let b = json!({"id":"x","choices":[{"message":{"content":"hi"}}]});
    let r = parse_response(Provider::OpenaiCompatible, "llama3", &b).unwrap();
    assert_eq!(r.provider_version_key, "llama3");
    assert_eq!(r.usage, None);
}

#[test]
fn openai_grounding() {
    let mut b = openai_body();
    b["choices"][0]["message"]["annotations"] = json!([{"type":"url_citation",
        "url_citation":{"url":"https://example.com","title":"Ex","start_index":0,"end_index":5}}]);
    assert!(
        parse_response(Provider::Openai, "gpt-4o-search-preview", &b)
            .unwrap()
            .used_grounding
    );

    // Responses API shape, as some compatible servers answer.
    let r = json!({"id":"resp_1","object":"response","model":"gpt-4.1-2025-04-14","output":[
        {"type":"web_search_call","id":"ws_1","status":"completed","action":{"type":"search","query":"q"}},
        {"type":"message","role":"assistant","content":[{"type":"output_text","text":"Answer","annotations":[]}]}]});
    let p = parse_response(Provider::OpenaiCompatible, "gpt-4.1", &r).unwrap();
    assert!(p.used_grounding);
    assert_eq!(p.content, "Answer");
}

#[test]
fn openai_null_content_is_empty_not_malformed() {
    let mut b = openai_body();
    b["choices"][0]["message"]["content"] = Value::Null;
    assert_eq!(
        parse_response(Provider::Openai, "gpt-4o", &b)
            .unwrap()
            .content,
        ""
    );
}

fn gemini_body() -> Value {
    json!({"candidates":[{"content":{"role":"model","parts":[{"text":"Spain won "},{"text":"Euro 2024."}]},"finishReason":"STOP","index":0}],
      "usageMetadata":{"promptTokenCount":8,"candidatesTokenCount":6,"totalTokenCount":14},
      "modelVersion":"gemini-2.5-flash","responseId":"mAitaLmkHPPlz7IPvtfUqQ4"})
}

#[test]
fn gemini_model_version_fallbacks() {
    let p = parse_response(Provider::Google, "gemini-2.5-flash", &gemini_body()).unwrap();
    assert_eq!(p.response_model.as_deref(), Some("gemini-2.5-flash"));
    assert_eq!(
        p.provider_response_id.as_deref(),
        Some("mAitaLmkHPPlz7IPvtfUqQ4")
    );
    assert_eq!(p.system_fingerprint, None);
    assert_eq!(p.content, "Spain won Euro 2024.");
    assert_eq!(p.usage.unwrap().total_tokens, Some(14));

    let mut b = gemini_body();
    let o = b.as_object_mut().unwrap();
    o.remove("modelVersion");
    o.insert("model".into(), json!("gemini-2.5-flash-002"));
    o.insert("model_name".into(), json!("ignored"));
    let p = parse_response(Provider::Google, "gemini-2.5-flash", &b).unwrap();
    assert_eq!(p.provider_version_key, "gemini-2.5-flash-002");

    let o = b.as_object_mut().unwrap();
    o.remove("model");
    assert_eq!(
        parse_response(Provider::Google, "g", &b)
            .unwrap()
            .response_model
            .as_deref(),
        Some("ignored")
    );
    b.as_object_mut().unwrap().remove("model_name");
    assert_eq!(
        parse_response(Provider::Google, "g", &b)
            .unwrap()
            .provider_version_key,
        "g"
    );
}

#[test]
fn gemini_grounding() {
    let mut b = gemini_body();
    b["candidates"][0]["groundingMetadata"] = json!({"webSearchQueries":["euro 2024 winner"],"groundingChunks":[{"web":{"uri":"https://x","title":"uefa.com"}}]});
    assert!(
        parse_response(Provider::Google, "g", &b)
            .unwrap()
            .used_grounding
    );
    b["candidates"][0]["groundingMetadata"] =
        json!({"webSearchQueries":[],"groundingChunks":[{"web":{}}]});
    assert!(
        parse_response(Provider::Google, "g", &b)
            .unwrap()
            .used_grounding
    );
    // Present but empty metadata (the forum report in §4) does not count.
    b["candidates"][0]["groundingMetadata"] = json!({"webSearchQueries":[],"groundingChunks":[]});
    assert!(
        !parse_response(Provider::Google, "g", &b)
            .unwrap()
            .used_grounding
    );
    assert!(
        !parse_response(Provider::Google, "g", &gemini_body())
            .unwrap()
            .used_grounding
    );
}

#[test]
fn gemini_thoughts_and_blocked_prompts() {
    let mut b = gemini_body();
    b["candidates"][0]["content"]["parts"] =
        json!([{"text":"thinking…","thought":true},{"text":"Yes."}]);
    assert_eq!(
        parse_response(Provider::Google, "g", &b).unwrap().content,
        "Yes."
    );
    // maxOutputTokens 1 on a thinking model: no parts at all.
    b["candidates"][0]["content"] = json!({"role":"model"});
    assert_eq!(
        parse_response(Provider::Google, "g", &b).unwrap().content,
        ""
    );
    let blocked =
        json!({"promptFeedback":{"blockReason":"SAFETY"},"modelVersion":"gemini-2.0-flash-001"});
    let p = parse_response(Provider::Google, "g", &blocked).unwrap();
    assert_eq!(p.content, "");
    assert_eq!(p.provider_version_key, "gemini-2.0-flash-001");
}

fn anthropic_body() -> Value {
    json!({"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929",
      "content":[{"type":"text","text":"Spain won."}],"stop_reason":"end_turn","stop_sequence":null,
      "usage":{"input_tokens":21,"output_tokens":4,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}})
}

#[test]
fn anthropic_basics_and_grounding() {
    let p = parse_response(Provider::Anthropic, "claude-sonnet-4-5", &anthropic_body()).unwrap();
    assert_eq!(p.provider_version_key, "claude-sonnet-4-5-20250929");
    assert_eq!(
        p.provider_response_id.as_deref(),
        Some("msg_01XFDUDYJgAACzvnptvVoYEL")
    );
    assert_eq!(p.content, "Spain won.");
    assert_eq!(p.usage.unwrap().total_tokens, Some(25));
    assert!(!p.used_grounding);

    let mut b = anthropic_body();
    b["content"] = json!([{"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{"query":"q"}},
        {"type":"web_search_tool_result","tool_use_id":"srvtoolu_1","content":[{"type":"web_search_result","url":"https://x","title":"t","encrypted_content":"e","page_age":null}]},
        {"type":"text","text":"Spain ","citations":null},{"type":"text","text":"won.","citations":[{"type":"web_search_result_location","url":"https://x","title":"t","cited_text":"c","encrypted_index":"i"}]}]);
    let p = parse_response(Provider::Anthropic, "c", &b).unwrap();
    assert!(p.used_grounding);
    assert_eq!(p.content, "Spain won.");

    let mut b = anthropic_body();
    b["usage"]["server_tool_use"] = json!({"web_search_requests":1,"web_fetch_requests":0});
    assert!(
        parse_response(Provider::Anthropic, "c", &b)
            .unwrap()
            .used_grounding
    );
    b["usage"]["server_tool_use"] = json!({"web_search_requests":0,"web_fetch_requests":0});
    assert!(
        !parse_response(Provider::Anthropic, "c", &b)
            .unwrap()
            .used_grounding
    );
    b["content"] = json!([{"type":"server_tool_use","id":"s","name":"code_execution","input":{}}]);
    assert!(
        !parse_response(Provider::Anthropic, "c", &b)
            .unwrap()
            .used_grounding
    );
}

#[test]
fn malformed_bodies() {
    let cases = [
        (Provider::Openai, json!([])),
        (Provider::Openai, json!("ok")),
        (Provider::Openai, json!({"id":"x","model":"gpt-4o"})),
        (Provider::Google, json!({"modelVersion":"x"})),
        (Provider::Google, json!({"candidates":{}})),
        (Provider::Anthropic, json!({"type":"message","model":"c"})),
        (
            Provider::Anthropic,
            json!({"type":"error","error":{"type":"api_error","message":"m"}}),
        ),
        (Provider::Unknown, json!({})),
    ];
    for (p, b) in cases {
        assert!(parse_response(p, "m", &b).is_err(), "{p} {b}");
    }
}

#[test]
fn error_messages() {
    let openai = json!({"error":{"message":"Incorrect API key provided","type":"invalid_request_error","param":null,"code":"invalid_api_key"}});
    assert_eq!(
        provider_error_message(&openai).as_deref(),
        Some("Incorrect API key provided")
    );
    let anthropic = json!({"type":"error","error":{"type":"rate_limit_error","message":"slow down"},"request_id":"req_1"});
    assert_eq!(
        provider_error_message(&anthropic).as_deref(),
        Some("slow down")
    );
    let gemini =
        json!({"error":{"code":400,"message":"API key not valid.","status":"INVALID_ARGUMENT"}});
    assert_eq!(
        provider_error_message(&gemini).as_deref(),
        Some("API key not valid.")
    );
    assert_eq!(
        provider_error_message(&json!({"error":"boom"})).as_deref(),
        Some("boom")
    );
    assert_eq!(provider_error_message(&json!({"detail":"x"})), None);
}

// Answer shapes the corpus replay also covers, written here from the documented formats so that
// they are tested without `../shared` too.

#[test]
fn openai_refusal_tool_calls_and_reasoning_fields() {
    let mut b = openai_body();
    b["choices"][0]["message"]["content"] = Value::Null;
    b["choices"][0]["message"]["refusal"] = json!("I can't help with that.");
    let p = parse_response(Provider::Openai, "gpt-4o", &b).unwrap();
    assert_eq!(p.finish_reason.as_deref(), Some("refusal"));
    assert_eq!(p.content, "I can't help with that.");
    assert!(!p.truncated);

    let mut b = openai_body();
    b["choices"][0]["message"]["content"] = Value::Null;
    b["choices"][0]["message"]["tool_calls"] = json!([{"id":"call_1","type":"function",
        "function":{"name":"lookup","arguments":"{\"q\":\"x\"}"}}]);
    b["choices"][0]["finish_reason"] = json!("tool_calls");
    let p = parse_response(Provider::Openai, "gpt-4o", &b).unwrap();
    assert_eq!(p.content, "");
    assert_eq!(p.finish_reason.as_deref(), Some("tool_calls"));

    // DeepSeek's `reasoning_content`, OpenRouter's `reasoning`: kept apart from the answer.
    for field in ["reasoning_content", "reasoning"] {
        let mut b = openai_body();
        b["choices"][0]["message"][field] = json!("First, consider Spain.");
        let p = parse_response(Provider::OpenaiCompatible, "m", &b).unwrap();
        assert_eq!(p.content, "Hello there.", "{field}");
        assert_eq!(
            p.reasoning.as_deref(),
            Some("First, consider Spain."),
            "{field}"
        );
    }

    let mut b = openai_body();
    b["choices"][0]["finish_reason"] = json!("length");
    let p = parse_response(Provider::Openai, "gpt-4o", &b).unwrap();
    assert!(p.truncated);
    assert_eq!(p.finish_reason.as_deref(), Some("length"));
}

#[test]
fn gemini_stop_reasons_without_parts() {
    let mut b = gemini_body();
    b["candidates"][0]["content"] = json!({"role":"model"});
    b["candidates"][0]["finishReason"] = json!("MAX_TOKENS");
    let p = parse_response(Provider::Google, "g", &b).unwrap();
    assert_eq!(p.content, "");
    assert!(p.truncated);
    assert_eq!(p.finish_reason.as_deref(), Some("MAX_TOKENS"));

    b["candidates"][0]["finishReason"] = json!("SAFETY");
    let p = parse_response(Provider::Google, "g", &b).unwrap();
    assert_eq!(p.content, "");
    assert!(!p.truncated);
    assert_eq!(p.finish_reason.as_deref(), Some("SAFETY"));

    let blocked = json!({"promptFeedback":{"blockReason":"PROHIBITED_CONTENT"},
        "modelVersion":"gemini-2.0-flash-001"});
    let p = parse_response(Provider::Google, "g", &blocked).unwrap();
    assert_eq!(
        p.finish_reason.as_deref(),
        Some("prompt_blocked:PROHIBITED_CONTENT")
    );
}

#[test]
fn anthropic_thinking_blocks_and_max_tokens() {
    let mut b = anthropic_body();
    b["content"] = json!([
        {"type":"thinking","thinking":"Spain beat England 2-1.","signature":"sig"},
        {"type":"redacted_thinking","data":"opaque"},
        {"type":"text","text":"Spain won."}
    ]);
    let p = parse_response(Provider::Anthropic, "c", &b).unwrap();
    assert_eq!(p.content, "Spain won.");
    assert_eq!(p.reasoning.as_deref(), Some("Spain beat England 2-1."));

    b["stop_reason"] = json!("max_tokens");
    let p = parse_response(Provider::Anthropic, "c", &b).unwrap();
    assert!(p.truncated);
    assert_eq!(p.finish_reason.as_deref(), Some("max_tokens"));
}
