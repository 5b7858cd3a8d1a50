#!/usr/bin/env python3
"""Reference implementation for tests/python_differential.rs.

PromptConfigHasher below is the original Python hasher, verbatim: the normative
spec the Rust port in src/config_hash.rs must match byte for byte.

Protocol: each stdin line is one JSON request object (keys that are absent mean
None). For each line, one stdout line: {"config_hash": ..., "canonical_json": ...}
or {"error": ...} when Python raises.
"""
import hashlib, json, re, sys

# Python 3.11's default, pinned in case PYTHONINTMAXSTRDIGITS is set.
if hasattr(sys, "set_int_max_str_digits"):
    sys.set_int_max_str_digits(4300)


class PromptConfigHasher:
    @staticmethod
    def normalize_text(text):
        if not text: return ""
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        text = re.sub(r"[ \t]+", " ", text)
        return text.strip()
    @staticmethod
    def normalize_countries(countries):
        if not countries: return []
        normalized = []
        for country in countries:
            country = country.upper().strip()
            if country == 'UK': country = 'GB'
            normalized.append(country)
        return sorted(normalized)
    @staticmethod
    def _round_floats(obj, decimals=4):
        if isinstance(obj, float): return round(obj, decimals)
        elif isinstance(obj, list): return [PromptConfigHasher._round_floats(x, decimals) for x in obj]
        elif isinstance(obj, dict): return {k: PromptConfigHasher._round_floats(v, decimals) for k, v in obj.items()}
        return obj
    @staticmethod
    def _deep_sort(obj):
        if isinstance(obj, dict): return {k: PromptConfigHasher._deep_sort(obj[k]) for k in sorted(obj.keys())}
        elif isinstance(obj, list): return [PromptConfigHasher._deep_sort(x) for x in obj]
        return obj
    @classmethod
    def calculate_config_hash(cls, system_instructions, user_prompt_template, country_set, model_id, inference_params,
                              tools_spec=None, response_format=None, grounding_profile_id=None,
                              grounding_snapshot_id=None, retrieval_params=None):
        canonical = {
            "system_instructions": cls.normalize_text(system_instructions or ""),
            "user_prompt_template": cls.normalize_text(user_prompt_template),
            "country_set": cls.normalize_countries(country_set),
            "model_id": model_id.strip() if model_id else "",
            "inference_params": cls._deep_sort(cls._round_floats(inference_params or {})),
            "tools_spec": cls._deep_sort(tools_spec or []),
            "response_format": cls._deep_sort(response_format or {}),
            "grounding_profile_id": grounding_profile_id or "",
            "grounding_snapshot_id": grounding_snapshot_id or "",
            "retrieval_params": cls._deep_sort(cls._round_floats(retrieval_params or {})),
        }
        canonical_json = json.dumps(canonical, sort_keys=True, separators=(',', ':'))
        return hashlib.sha256(canonical_json.encode('utf-8')).hexdigest(), canonical


FIELDS = (
    "system_instructions", "user_prompt_template", "country_set", "model_id",
    "inference_params", "tools_spec", "response_format", "grounding_profile_id",
    "grounding_snapshot_id", "retrieval_params",
)


def run_one(line):
    try:
        data = json.loads(line)
        if not isinstance(data, dict):
            raise TypeError("input is not an object")
        config_hash, canonical = PromptConfigHasher.calculate_config_hash(
            **{name: data.get(name) for name in FIELDS})
        canonical_json = json.dumps(canonical, sort_keys=True, separators=(',', ':'))
        return {"config_hash": config_hash, "canonical_json": canonical_json}
    except Exception as e:  # the test only needs to know that Python raised
        return {"error": f"{type(e).__name__}: {e}"}


def main():
    # Split on b"\n" only: text-mode iteration would be fine, but str.splitlines
    # would also break on U+2028 and friends inside strings.
    out = sys.stdout
    for raw in sys.stdin.buffer.read().split(b"\n"):
        if not raw.strip():
            continue
        out.write(json.dumps(run_one(raw.decode("utf-8"))) + "\n")
    out.flush()


if __name__ == "__main__":
    main()
