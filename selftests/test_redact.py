"""The one scrubbing of every copy of the config: URLs lose credentials and query strings, credential keys `***`."""

from __future__ import annotations

import yaml

from nejumi_plugin.redact import HIDDEN, public_url, redact_data, redact_text, redact_yaml


def test_urls_lose_user_info_query_and_fragment() -> None:
    assert public_url("https://user:pw@host:8443/v1?api-key=k#frag") == "https://host:8443/v1"
    assert public_url("http://localhost/v1") == "http://localhost/v1" and public_url(None) is None
    text = "connect to http://u:pw@10.0.0.1:8000/v1?sig=abc failed; see https://docs.example/x"
    assert redact_text(text) == "connect to http://10.0.0.1:8000/v1 failed; see https://docs.example/x"


def test_credential_keys_are_hidden_but_not_counts_or_variable_names() -> None:
    data = {
        "api_key": "sk-1",
        "token": "t",
        "client_secret": "c",
        "password": "p",
        "max_tokens": 2048,
        "max_new_token": 1024,
        "api_key_env": "MY_KEY",
        "stop_token_ids": "[2]",
        "add_special_tokens": False,
        "nested": [{"auth_token": "a", "base_url": "https://u:p@h/v1"}],
        "empty_key": "",
    }
    assert redact_data(data) == {
        "api_key": HIDDEN,
        "token": HIDDEN,
        "client_secret": HIDDEN,
        "password": HIDDEN,
        "max_tokens": 2048,
        "max_new_token": 1024,
        "api_key_env": "MY_KEY",
        "stop_token_ids": "[2]",
        "add_special_tokens": False,
        "nested": [{"auth_token": HIDDEN, "base_url": "https://h/v1"}],
        "empty_key": "",
    }


def test_a_config_file_is_scrubbed_line_by_line_keeping_its_comments() -> None:
    text = (
        'model:  # the served model\n  base_url: "https://me:hunter2@vllm.internal/v1?sig=xyz"  # our server\n'
        "  api_key_env: VLLM_KEY\n  api_key: sk-live-123  # must never be written\nmtbench:\n"
        "  max_new_token: 1024\n"
    )
    scrubbed = redact_yaml(text)
    assert "hunter2" not in scrubbed and "xyz" not in scrubbed and "sk-live-123" not in scrubbed
    assert "# our server" in scrubbed and "# the served model" in scrubbed and "max_new_token: 1024" in scrubbed
    assert yaml.safe_load(scrubbed) == redact_data(yaml.safe_load(text))


def test_unusual_yaml_falls_back_to_the_scrubbed_data() -> None:
    text = "model: {api_key: sk-inline, base_url: 'https://a:b@h/v1'}\nsecret: |\n  line one\n  line two\n"
    scrubbed = redact_yaml(text)
    assert "sk-inline" not in scrubbed and "line one" not in scrubbed and ":b@" not in scrubbed
    assert yaml.safe_load(scrubbed) == redact_data(yaml.safe_load(text))
