"""The client against a scripted server over real HTTP: formats, repair, retries, limits."""

from __future__ import annotations

import asyncio
import itertools
import json
import time

import pytest
from pydantic import BaseModel

from paperflow.llm.client import (
    Limits,
    LLMClient,
    LLMError,
    LLMOutputError,
    LLMPermanentError,
)
from paperflow.llm.settings import reload_llm_settings
from tests.llm_server import Reply, ScriptedLLM, error_body
from tests.paperflow.llm.conftest import scripted_settings


class Answer(BaseModel):
    title: str
    count: int


GOOD = json.dumps({"title": "A paper", "count": 3})
MESSAGES = [{"role": "system", "content": "Answer JSON."}, {"role": "user", "content": "Go."}]


async def _ask(client: LLMClient) -> Answer:
    return await client.structured(Answer, MESSAGES, group="test", prompt_version="1")


async def test_valid_json_records_usage_and_cost(llm_server: ScriptedLLM) -> None:
    llm_server.push(Reply(GOOD, usage=(1000, 200)))
    settings = scripted_settings(llm_server, price_input_per_million=2.0,
                                 price_output_per_million=10.0, max_output_tokens=300)
    async with LLMClient(settings) as client:
        answer = await _ask(client)
    assert answer == Answer(title="A paper", count=3)
    call = client.calls[0]
    assert (call.prompt_tokens, call.completion_tokens, call.attempts) == (1000, 200, 1)
    assert call.cost_usd == pytest.approx((1000 * 2 + 200 * 10) / 1e6)
    body = llm_server.chat_requests()[0].body
    assert body["model"] == "scripted" and body["max_tokens"] == 300
    fmt = body["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    schema = fmt["json_schema"]["schema"]
    assert schema["required"] == ["title", "count"] and schema["additionalProperties"] is False
    assert llm_server.chat_requests()[0].headers["authorization"] == "Bearer sk-test"


async def test_answer_in_a_code_fence_is_accepted(llm_server: ScriptedLLM) -> None:
    llm_server.push(Reply(f"```json\n{GOOD}\n```"))
    async with LLMClient(scripted_settings(llm_server)) as client:
        assert (await _ask(client)).count == 3


async def test_invalid_json_is_repaired_once_with_the_error(llm_server: ScriptedLLM) -> None:
    llm_server.push(Reply('{"title": "A paper", "count": '), Reply(GOOD))
    async with LLMClient(scripted_settings(llm_server)) as client:
        assert (await _ask(client)).title == "A paper"
    first, second = llm_server.chat_requests()
    repair = second.body["messages"]
    assert repair[:2] == first.body["messages"]
    assert repair[2] == {"role": "assistant", "content": '{"title": "A paper", "count": '}
    assert "not a valid JSON object" in repair[3]["content"] and "EOF" in repair[3]["content"]
    assert client.calls[0].repaired and client.calls[0].attempts == 2
    assert client.calls[0].prompt_tokens == 200


async def test_wrong_shape_twice_fails_clearly(llm_server: ScriptedLLM) -> None:
    llm_server.push(Reply('{"title": 1}'), Reply("not json at all"))
    async with LLMClient(scripted_settings(llm_server)) as client:
        with pytest.raises(LLMOutputError, match="even after one repair attempt"):
            await _ask(client)
    assert len(llm_server.chat_requests()) == 2
    assert client.calls[0].error


async def test_429_waits_for_retry_after(llm_server: ScriptedLLM) -> None:
    llm_server.push(Reply(status=429, body=error_body("slow down", "rate_limit_error"),
                          headers={"Retry-After": "1"}), Reply(GOOD))
    async with LLMClient(scripted_settings(llm_server)) as client:
        await _ask(client)
    first, second = llm_server.chat_requests()
    assert second.arrived - first.finished >= 1.0
    assert client.calls[0].attempts == 2


async def test_5xx_and_timeouts_are_retried_with_backoff(llm_server: ScriptedLLM) -> None:
    llm_server.push(Reply(status=500, body=error_body("boom", "server_error")),
                    Reply(status=503, body=error_body("busy", "server_error")),
                    Reply(GOOD, delay=1.5), Reply(GOOD))
    settings = scripted_settings(llm_server, timeout_seconds=0.5, backoff_base_seconds=0.1)
    async with LLMClient(settings) as client:
        assert (await _ask(client)).count == 3
    requests = llm_server.chat_requests()
    assert [r.status for r in requests[:2]] == [500, 503] and len(requests) == 4
    gaps = [b.arrived - a.arrived for a, b in itertools.pairwise(requests)]
    assert gaps[0] >= 0.05 and gaps[1] >= 0.1  # backoff doubles: 0.05-0.1 s, then 0.1-0.2 s


async def test_retries_run_out_with_a_clear_transient_error(llm_server: ScriptedLLM) -> None:
    llm_server.push(*[Reply(status=502, body=error_body("bad gateway"))] * 3)
    settings = scripted_settings(llm_server, max_retries=2)
    async with LLMClient(settings) as client:
        with pytest.raises(LLMError, match="kept failing after 3 attempts") as caught:
            await _ask(client)
    assert not isinstance(caught.value, LLMPermanentError)
    assert len(llm_server.chat_requests()) == 3


async def test_retry_after_beyond_the_maximum_is_not_waited(llm_server: ScriptedLLM) -> None:
    llm_server.push(Reply(status=429, body=error_body("quota"), headers={"Retry-After": "3600"}))
    async with LLMClient(scripted_settings(llm_server)) as client:
        start = time.monotonic()
        with pytest.raises(LLMError, match="asks to wait 3600 s"):
            await _ask(client)
    assert time.monotonic() - start < 2


@pytest.mark.parametrize(("status", "hint"), [(401, "API_KEY"), (403, "API_KEY"),
                                              (404, "PAPERFLOW_LLM_MODEL"),
                                              (422, "not retried"), (400, "not retried")])
async def test_auth_and_invalid_requests_are_not_retried(llm_server: ScriptedLLM, status: int,
                                                         hint: str) -> None:
    llm_server.push(Reply(status=status, body=error_body("nope")))
    async with LLMClient(scripted_settings(llm_server)) as client:
        with pytest.raises(LLMPermanentError, match=hint) as caught:
            await _ask(client)
    assert f"HTTP {status}" in str(caught.value)
    assert len(llm_server.chat_requests()) == 1


async def test_auto_falls_back_to_json_object_and_remembers(llm_server: ScriptedLLM) -> None:
    refusal = error_body("Unsupported response_format type: json_schema")
    llm_server.push(Reply(status=400, body=refusal), Reply(GOOD), Reply(GOOD))
    async with LLMClient(scripted_settings(llm_server)) as client:
        await _ask(client)
        await _ask(client)
    formats = [r.body["response_format"] for r in llm_server.chat_requests()]
    assert formats[0]["type"] == "json_schema"
    assert formats[1]["type"] == "json_object" and formats[1]["schema"]["title"] == "Answer"
    assert formats[2]["type"] == "json_object"
    assert [c.response_format for c in client.calls] == ["json_object", "json_object"]


async def test_waiting_calls_use_the_fallback_learnt_meanwhile(llm_server: ScriptedLLM) -> None:
    refusal = error_body("response_format json_schema is not supported")
    llm_server.push(Reply(status=400, body=refusal))
    llm_server.responder = lambda request: Reply(GOOD, delay=0.05)
    async with LLMClient(scripted_settings(llm_server, max_concurrency=1)) as client:
        await asyncio.gather(*(_ask(client) for _ in range(4)))
    formats = [r.body["response_format"]["type"] for r in llm_server.chat_requests()]
    assert formats == ["json_schema"] + ["json_object"] * 4
    assert sorted(c.attempts for c in client.calls) == [1, 1, 1, 2]


async def test_a_500_naming_response_format_is_a_refusal_too(llm_server: ScriptedLLM) -> None:
    # What llama-cpp-python's server answers to json_schema.
    body = error_body("1 validation error: ('body', 'response_format', 'type') Input should "
                      "be 'text' or 'json_object'", "server_error")
    llm_server.push(Reply(status=500, body=body), Reply(GOOD))
    async with LLMClient(scripted_settings(llm_server)) as client:
        await _ask(client)
    formats = [r.body["response_format"]["type"] for r in llm_server.chat_requests()]
    assert formats == ["json_schema", "json_object"]


async def test_json_object_mode_never_sends_json_schema(llm_server: ScriptedLLM) -> None:
    llm_server.push(Reply(GOOD))
    async with LLMClient(scripted_settings(llm_server, response_format="json_object")) as client:
        await _ask(client)
    assert llm_server.chat_requests()[0].body["response_format"]["type"] == "json_object"


async def test_json_schema_mode_does_not_fall_back(llm_server: ScriptedLLM) -> None:
    llm_server.push(Reply(status=400, body=error_body("response_format json_schema unsupported")))
    async with LLMClient(scripted_settings(llm_server, response_format="json_schema")) as client:
        with pytest.raises(LLMPermanentError, match="HTTP 400"):
            await _ask(client)


async def test_concurrency_cap_holds_across_clients(llm_server: ScriptedLLM) -> None:
    llm_server.responder = lambda request: Reply(GOOD, delay=0.3)
    settings = scripted_settings(llm_server, max_concurrency=2)
    limits = Limits(2, 0)
    clients = [LLMClient(settings, limits=limits) for _ in range(3)]
    await asyncio.gather(*(_ask(clients[i % 3]) for i in range(8)))
    for client in clients:
        await client.aclose()
    assert llm_server.peak_in_flight == 2 and limits.peak_in_flight == 2
    assert len(llm_server.chat_requests()) == 8


async def test_requests_per_minute_spaces_the_starts(llm_server: ScriptedLLM) -> None:
    llm_server.responder = lambda request: Reply(GOOD)
    settings = scripted_settings(llm_server, requests_per_minute=300)  # one every 0.2 s
    async with LLMClient(settings) as client:
        await asyncio.gather(*(_ask(client) for _ in range(4)))
    arrivals = sorted(r.arrived for r in llm_server.chat_requests())
    # Unlimited, the four arrive within milliseconds; spaced, three gaps of 0.2 s. A loaded
    # machine can delay the first send after its slot, so allow for most of one gap.
    assert arrivals[-1] - arrivals[0] >= 0.45


async def test_a_prompt_too_large_for_the_window_is_never_sent(llm_server: ScriptedLLM) -> None:
    settings = scripted_settings(llm_server, context_window_tokens=600, max_output_tokens=200)
    big = [{"role": "user", "content": "word " * 1000}]
    async with LLMClient(settings) as client:
        with pytest.raises(LLMPermanentError, match="not sent"):
            await client.structured(Answer, big, group="test", prompt_version="1")
    assert llm_server.chat_requests() == []


def test_enabled_by_key_or_base_url(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env file
    names = ("PAPERFLOW_LLM_BASE_URL", "PAPERFLOW_LLM_API_KEY", "OPENAI_API_KEY",
             "OPENAI_BASE_URL", "LLM_API_KEY", "LLM_BASE_URL")
    for name in names:
        monkeypatch.delenv(name, raising=False)
    from paperflow.llm.settings import llm_enabled

    assert not reload_llm_settings().enabled and not llm_enabled()
    # Set from lowest precedence to highest: each one set takes over.
    for name, value in (("LLM_API_KEY", "sk-b"), ("OPENAI_API_KEY", "sk-a"),
                        ("PAPERFLOW_LLM_API_KEY", "sk-c")):
        monkeypatch.setenv(name, value)
        assert reload_llm_settings().api_key == value
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:1/v1")
    assert reload_llm_settings().base_url == "http://127.0.0.1:1/v1"
    for name in names:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PAPERFLOW_LLM_BASE_URL", "http://127.0.0.1:2/v1")
    monkeypatch.setenv("PAPERFLOW_LLM_MODEL", "smollm2")
    settings = reload_llm_settings()
    assert settings.enabled and settings.effective_api_key == "sk-no-key-required"
    assert settings.model == "smollm2" and llm_enabled()
    monkeypatch.undo()
    reload_llm_settings()
