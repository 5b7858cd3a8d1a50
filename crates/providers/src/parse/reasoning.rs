//! Reasoning text that local servers leave inside the answer: `<think>…</think>` (DeepSeek R1,
//! Qwen3 and others behind llama.cpp, Ollama or vLLM without a reasoning parser).

const OPEN: &str = "<think>";
const CLOSE: &str = "</think>";

/// `(answer, reasoning)`: every `<think>…</think>` block moves to the reasoning. A block left
/// open (the output limit cut it) takes the rest of the text. A `</think>` without an opening
/// tag ends reasoning that began in the chat template (the model never printed `<think>`), so
/// the text before it is reasoning too.
pub fn split_think_tags(content: &str) -> (String, Option<String>) {
    if !content.contains(OPEN) && !content.contains(CLOSE) {
        return (content.to_owned(), None);
    }
    let mut answer = String::new();
    let mut thoughts: Vec<&str> = Vec::new();
    let mut rest = content;
    // Reasoning opened by the chat template: everything up to the first `</think>` that comes
    // before any `<think>`.
    if let Some(close) = rest.find(CLOSE) {
        let opened_first = matches!(rest.find(OPEN), Some(open) if open < close);
        if !opened_first {
            thoughts.push(&rest[..close]);
            rest = &rest[close + CLOSE.len()..];
        }
    }
    while let Some(open) = rest.find(OPEN) {
        answer.push_str(&rest[..open]);
        let after = &rest[open + OPEN.len()..];
        match after.find(CLOSE) {
            Some(close) => {
                thoughts.push(&after[..close]);
                rest = &after[close + CLOSE.len()..];
            }
            None => {
                thoughts.push(after);
                rest = "";
            }
        }
    }
    answer.push_str(rest);
    let reasoning = super::joined(thoughts.into_iter());
    (answer.trim().to_owned(), reasoning)
}

#[cfg(test)]
mod tests {
    use super::split_think_tags;

    #[test]
    fn think_blocks_leave_the_answer() {
        assert_eq!(split_think_tags("plain"), ("plain".into(), None));
        assert_eq!(
            split_think_tags("<think>\nhmm, brands\n</think>\n\nAcme is good."),
            ("Acme is good.".into(), Some("hmm, brands".into()))
        );
        assert_eq!(
            split_think_tags("started in the template</think>Answer"),
            ("Answer".into(), Some("started in the template".into()))
        );
        assert_eq!(
            split_think_tags("A <think>x</think> B <think>cut off"),
            ("A  B".into(), Some("x\n\ncut off".into()))
        );
        assert_eq!(
            split_think_tags("<think></think>Only answer"),
            ("Only answer".into(), None)
        );
    }
}
