"""The context window: asked of the server (/models, llama.cpp /props, Ollama), or learnt from a
refusal that re-fits the prompt from the paper and retries once; reported in `llm`."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from paperflow.llm.client import MAX_REFITS, LLMClient, LLMPermanentError
from paperflow.llm.enrich import enrich_paper
from paperflow.llm.groups import HEADER_PAGES, summary_citations, title_authors_abstract
from paperflow.llm.prompts import TASKS, messages
from paperflow.llm.tokens import ELISION, count_tokens
from paperflow.llm.window import Refusal, parse_refusal
from paperflow.pdf import ParsedDocument, parse_layout
from paperflow.pipeline import FieldGroup, PaperKey, assemble
from tests.llm_server import Recorded, Reply, ScriptedLLM, completion, error_body
from tests.paperflow.llm.conftest import scripted_settings
from tests.paperflow.llm.test_client import Answer
from tests.paperflow.llm.test_groups import TITLE, by_schema
from tests.pdfs import make_paper

LLAMA_CPP_PYTHON = ("This model's maximum context length is {window} tokens. However, you "
                    "requested {requested} tokens ({prompt} in the messages, {out} in the "
                    "completion). Please reduce the length of the messages or completion.")
"""What llama-cpp-python's server answers (HTTP 400, code context_length_exceeded)."""


def refusal_reply(window: int, prompt: int, out: int = 500) -> Reply:
    message = LLAMA_CPP_PYTHON.format(window=window, requested=prompt + out, prompt=prompt,
                                      out=out)
    body = error_body(message)
    body["error"]["code"] = "context_length_exceeded"
    return Reply(status=400, body=body)


def request_tokens(request: Recorded) -> int:
    """o200k tokens of a request's messages (what the client counts before its factor)."""
    return sum(count_tokens(m["content"]) + 8 for m in request.body["messages"])


def window_server(window: int, ratio: float = 1.0) -> Callable[[Recorded], Reply]:
    """A responder that refuses, like llama-cpp-python, prompts longer than `window`."""

    def answer(request: Recorded) -> Reply:
        prompt = int(request_tokens(request) * ratio)
        if prompt >= window:
            return refusal_reply(window, prompt, request.body.get("max_tokens", 0))
        return by_schema(request)

    return answer


def llama_cpp_server(window: int, ratio: float = 1.0) -> Callable[[Recorded], Reply]:
    """Like llama-cpp-python: refuses prompts of `window` tokens or more, and silently lowers
    max_tokens to what is left of the window, so a long answer is cut (finish_reason "length")."""

    def answer(request: Recorded) -> Reply:
        prompt = int(request_tokens(request) * ratio)
        limit = request.body.get("max_tokens") or window
        if prompt >= window:
            return refusal_reply(window, prompt, limit)
        content = by_schema(request).content or ""
        needed = int(count_tokens(content) * ratio) + 1
        room = min(limit, window - prompt)
        if needed <= room:
            return Reply(content, usage=(prompt, needed))
        body = completion(content[: len(content) * room // needed], (prompt, room))
        body["choices"][0]["finish_reason"] = "length"
        return Reply(body=body)

    return answer


def leaves_the_answer_room(request: Recorded, window: int, ratio: float) -> bool:
    """Whether the server's count of the prompt leaves max_tokens free in the window."""
    return int(request_tokens(request) * ratio) + request.body["max_tokens"] <= window


def title_prompt_tokens(doc: ParsedDocument) -> int:
    """The title group's first prompt (the header pages whole), counted like `request_tokens`."""
    head = "\n\n".join(page.text for page in doc.pages[:HEADER_PAGES])
    chat = messages(TASKS["title_authors_abstract"], head)
    return sum(count_tokens(m["content"]) + 8 for m in chat)


@pytest.fixture(scope="module")
def long_doc() -> ParsedDocument:
    doc = parse_layout(make_paper(pages=40))
    assert count_tokens(doc.text) > 10_000
    return doc


@pytest.mark.parametrize(("status", "message", "body", "expected"), [
    (400, LLAMA_CPP_PYTHON.format(window=2048, requested=3415, prompt=3031, out=384), None,
     Refusal(2048, 3415, 3031)),
    (400, "This model's maximum context length is 8192 tokens. However, you requested 12,934 "
          "tokens (11,910 in the messages, 1,024 in the completion).", None,
     Refusal(8192, 12934, 11910)),
    (400, "Requested tokens (3031) exceed context window of 2048", None,
     Refusal(2048, 3031, 3031)),
    (400, "the request exceeds the available context size, try increasing it",
     {"code": 400, "type": "exceed_context_size_error", "n_prompt_tokens": 9000, "n_ctx": 4096},
     Refusal(4096, None, 9000)),
    (400, "prompt is too long", None, Refusal(None, None, None)),
])
def test_refusals_are_recognised_and_parsed(status: int, message: str, body: object,
                                            expected: Refusal) -> None:
    assert parse_refusal(status, message, body) == expected


@pytest.mark.parametrize(("status", "message"), [
    (400, "Unsupported response_format type: json_schema"), (401, "maximum context length"),
    (500, "This model's maximum context length is 2048 tokens."), (400, "invalid model"),
])
def test_other_errors_are_not_context_refusals(status: int, message: str) -> None:
    assert parse_refusal(status, message, None) is None


async def test_models_metadata_sets_the_window_and_the_report(llm_server: ScriptedLLM,
                                                              long_doc: ParsedDocument) -> None:
    # vLLM lists max_model_len with each model; the default setting (128000) is not used.
    llm_server.models_body = {"object": "list", "data": [
        {"id": "other", "max_model_len": 32768},
        {"id": "scripted", "object": "model", "max_model_len": 4096}]}
    llm_server.responder = by_schema
    settings = scripted_settings(llm_server, max_output_tokens=500)
    assert "context_window_tokens" not in settings.model_fields_set
    heuristic = [FieldGroup("title_authors_abstract", {"title": None, "authors": []})]
    groups, report = await enrich_paper(long_doc, heuristic, settings=settings)
    assert report.errors == [] and len(report.calls) == 5
    assert (report.context_window_tokens, report.context_window_source) == (4096, "server")
    for request in llm_server.chat_requests():
        assert request_tokens(request) * settings.token_safety_factor <= 4096 - 500
    assert any(call.truncated_input for call in report.calls)
    # Asked once for all five groups, and the window is in the result's JSON.
    assert [r.path for r in llm_server.metadata_requests] == ["/v1/models"]
    result = assemble(PaperKey("0" * 64, 1), long_doc, groups)
    result.llm = report
    dumped = json.loads(result.model_dump_json())["llm"]
    assert dumped["context_window_tokens"] == 4096
    assert dumped["context_window_source"] == "server"


async def test_an_explicit_setting_caps_the_servers_window(llm_server: ScriptedLLM) -> None:
    llm_server.models_body = {"data": [{"id": "scripted", "context_length": 16384}]}
    async with LLMClient(scripted_settings(llm_server, context_window_tokens=3000)) as client:
        window = await client.ensure_window()
    assert (window.tokens, window.source) == (3000, "setting")
    # An explicit setting larger than the server's window does not win: the server's does.
    async with LLMClient(scripted_settings(llm_server, context_window_tokens=64000)) as client:
        window = await client.ensure_window()
    assert (window.tokens, window.source) == (16384, "server")
    assert len(llm_server.metadata_requests) == 1  # cached per endpoint and model


async def test_llama_cpp_props_beat_the_training_length(llm_server: ScriptedLLM) -> None:
    llm_server.models_body = {"object": "list", "data": [
        {"id": "model.gguf", "object": "model", "owned_by": "llamacpp",
         "meta": {"n_ctx_train": 131072, "n_vocab": 49152}}]}
    llm_server.props_body = {"default_generation_settings": {"n_ctx": 8192},
                             "total_slots": 1}
    async with LLMClient(scripted_settings(llm_server)) as client:
        window = await client.ensure_window()
    assert (window.tokens, window.source) == (8192, "server")
    assert [r.path for r in llm_server.metadata_requests] == ["/v1/models", "/props"]


@pytest.mark.parametrize(("parameters", "ps", "expected"), [
    ("stop \"<|eot_id|>\"\nnum_ctx 8192\ntemperature 0", None, 8192),
    ("stop \"<|eot_id|>\"", {"models": [{"name": "scripted", "model": "scripted",
                                         "context_length": 4096}]}, 4096),
    ("", None, 131072),
])
async def test_ollama_show_gives_num_ctx_first(llm_server: ScriptedLLM, parameters: str,
                                               ps: object, expected: int) -> None:
    llm_server.show_body = {"parameters": parameters, "model_info": {
        "general.architecture": "llama", "llama.context_length": 131072}}
    llm_server.ps_body = ps
    async with LLMClient(scripted_settings(llm_server)) as client:
        window = await client.ensure_window()
    assert (window.tokens, window.source) == (expected, "server")
    show = next(r for r in llm_server.metadata_requests if r.path == "/api/show")
    assert show.body["model"] == "scripted"


@pytest.mark.parametrize("models_body", [None, {"data": "nonsense"}, ["x"]])
async def test_discovery_failures_fall_back_to_the_setting(llm_server: ScriptedLLM,
                                                           models_body: object) -> None:
    llm_server.models_body = models_body
    llm_server.push(Reply(json.dumps({"title": "A", "count": 1})))
    async with LLMClient(scripted_settings(llm_server)) as client:
        window = await client.ensure_window()
    assert (window.tokens, window.source) == (128_000, "setting")


async def test_a_refusal_refits_from_the_paper_and_retries_once(
        llm_server: ScriptedLLM, long_doc: ParsedDocument) -> None:
    llm_server.responder = window_server(3000)
    settings = scripted_settings(llm_server, max_output_tokens=500)
    async with LLMClient(settings) as client:
        group = await summary_citations(client, long_doc)
    first, second = llm_server.chat_requests()
    assert first.status == 400 and second.status == 200
    # The retry was rebuilt from the document for the learnt window, not cut from the first.
    assert request_tokens(second) * settings.token_safety_factor <= 3000 - 500
    assert request_tokens(first) > 10_000
    inside = second.user_text.split("<paper>")[1].split("</paper>")[0]
    assert inside.strip().startswith(TITLE) and ELISION.strip() in inside
    assert "Results" in inside.split(ELISION.strip())[1]  # later sections' openings too
    call = client.calls[0]
    assert call.attempts == 2 and call.error is None and call.truncated_input
    assert group.fields["summary"] and any("context window" in w for w in group.warnings)
    window = client.context_window()
    assert (window.tokens, window.source) == (3000, "refusal")


async def test_waiting_calls_refit_with_the_window_learnt_meanwhile(
        llm_server: ScriptedLLM, long_doc: ParsedDocument) -> None:
    # The five groups build their prompts at 128000 tokens, one is sent and refused; the four
    # waiting for the single slot re-fit before sending: the server sees one refusal only.
    llm_server.responder = window_server(3000)
    settings = scripted_settings(llm_server, max_output_tokens=500, max_concurrency=1)
    _, report = await enrich_paper(long_doc, [], settings=settings)
    requests = llm_server.chat_requests()
    assert report.errors == [] and len(report.calls) == 5
    assert [r.status for r in requests].count(400) == 1 and len(requests) == 6
    assert (report.context_window_tokens, report.context_window_source) == (3000, "refusal")


async def test_a_tokenizer_counting_more_is_learnt_from_the_refusal(
        llm_server: ScriptedLLM, long_doc: ParsedDocument) -> None:
    # The server counts 1.5 tokens per o200k token, more than the 1.2 safety factor allows.
    llm_server.responder = window_server(3000, ratio=1.5)
    async with LLMClient(scripted_settings(llm_server, max_output_tokens=500)) as client:
        await summary_citations(client, long_doc)
        assert client.context_window().token_factor == pytest.approx(1.5 * 1.05, rel=0.02)
    assert [r.status for r in llm_server.chat_requests()] == [400, 200]


async def test_a_second_refusal_is_a_clear_error(llm_server: ScriptedLLM,
                                                 long_doc: ParsedDocument) -> None:
    llm_server.responder = lambda request: refusal_reply(3000, 3100)
    async with LLMClient(scripted_settings(llm_server, max_output_tokens=500)) as client:
        with pytest.raises(LLMPermanentError) as caught:
            await summary_citations(client, long_doc)
    message = str(caught.value)
    assert "again, after the prompt was re-fitted" in message
    assert "3000 tokens" in message and "PAPERFLOW_LLM_CONTEXT_WINDOW_TOKENS=2250" in message
    # The first request, its rebuild, and one more rebuild since each refusal of a rebuilt
    # prompt showed the server counting it longer than learnt; then it gives up.
    assert len(llm_server.chat_requests()) == 1 + MAX_REFITS
    assert client.calls[0].error == message


async def test_a_refusal_without_a_way_to_refit_is_not_retried(llm_server: ScriptedLLM) -> None:
    llm_server.push(refusal_reply(2048, 5000))
    messages = [{"role": "user", "content": "Go."}]
    async with LLMClient(scripted_settings(llm_server)) as client:
        with pytest.raises(LLMPermanentError, match="PAPERFLOW_LLM_CONTEXT_WINDOW_TOKENS"):
            await client.structured(Answer, messages, group="test", prompt_version="1")
        assert client.context_window().tokens == 2048
    assert len(llm_server.chat_requests()) == 1


async def test_a_refusal_naming_no_window_halves_the_request(
        llm_server: ScriptedLLM, long_doc: ParsedDocument) -> None:
    def answer(request: Recorded) -> Reply:
        if request_tokens(request) > 8000:
            return Reply(status=400, body=error_body("prompt is too long"))
        return by_schema(request)

    llm_server.responder = answer
    async with LLMClient(scripted_settings(llm_server, max_output_tokens=500)) as client:
        await summary_citations(client, long_doc)
        window = client.context_window()
    first, second = llm_server.chat_requests()
    assert window.source == "refusal"
    assert window.tokens == pytest.approx(request_tokens(first) * 1.2 / 2 + 250, rel=0.01)
    assert second.status == 200


@pytest.fixture(scope="module")
def long_header_doc() -> ParsedDocument:
    """A long paper whose header pages alone (title, authors, a long abstract) are long too."""
    doc = parse_layout(make_paper(pages=40, abstract="We study metadata extraction from "
                                  "scientific PDFs. " * 40))
    assert title_prompt_tokens(doc) > 1000
    return doc


@pytest.mark.parametrize("room", [-200, 16])
async def test_every_group_fits_a_small_window_counted_by_a_denser_tokenizer(
        llm_server: ScriptedLLM, long_header_doc: ParsedDocument, room: int) -> None:
    # The server counts 1.6 tokens per o200k token. The title group's first prompt (its header
    # pages whole) is refused (room -200), or accepted with only 16 tokens left for the answer,
    # which the server then cuts (room 16); either teaches the window and the ratio.
    ratio = 1.6
    window = int(title_prompt_tokens(long_header_doc) * ratio) + room
    llm_server.responder = llama_cpp_server(window, ratio)
    settings = scripted_settings(llm_server, max_output_tokens=150, max_concurrency=1)
    _, report = await enrich_paper(long_header_doc, [], settings=settings)
    assert report.errors == [] and len(report.calls) == 5
    assert (report.context_window_tokens, report.context_window_source) == (window, "refusal")
    assert all(c.attempts <= 1 + MAX_REFITS and not c.repaired for c in report.calls)
    assert all(c.truncated_input for c in report.calls)
    requests = llm_server.chat_requests()
    first = next(i for i, r in enumerate(requests)
                 if not leaves_the_answer_room(r, window, ratio))
    assert all(leaves_the_answer_room(r, window, ratio) for r in requests[first + 1:])
    # The title group saw the beginning of its header pages: title, authors and abstract.
    title = [r for r in requests if r.schema_name == "TitleAuthorsAbstract"][-1]
    inside = title.user_text.split("<paper>")[1].split("</paper>")[0].strip()
    assert inside.startswith(TITLE) and "Ada Lovelace" in inside and "Abstract" in inside


async def test_an_answer_cut_by_the_window_refits_instead_of_repairing(
        llm_server: ScriptedLLM, long_header_doc: ParsedDocument) -> None:
    # The header pages whole leave 16 tokens of the window: the server accepts them and cuts
    # the answer there. That teaches the window and the ratio; a repair would not fit.
    ratio = 1.6
    window = int(title_prompt_tokens(long_header_doc) * ratio) + 16
    llm_server.responder = llama_cpp_server(window, ratio)
    async with LLMClient(scripted_settings(llm_server, max_output_tokens=150)) as client:
        group = await title_authors_abstract(client, long_header_doc)
        learnt = client.context_window()
    cut, answered = llm_server.chat_requests()
    assert cut.status == answered.status == 200
    assert (learnt.tokens, learnt.source) == (window, "refusal")
    assert learnt.token_factor == pytest.approx(ratio * 1.05, rel=0.02)
    assert leaves_the_answer_room(answered, window, ratio)
    call = client.calls[0]
    assert call.attempts == 2 and not call.repaired and call.error is None
    assert call.truncated_input and group.fields["title"] == TITLE


async def test_a_refused_repair_refits_from_the_paper(llm_server: ScriptedLLM,
                                                      long_doc: ParsedDocument) -> None:
    llm_server.push(Reply("not json"), refusal_reply(3000, 20_000))
    llm_server.responder = by_schema
    settings = scripted_settings(llm_server, max_output_tokens=500)
    async with LLMClient(settings) as client:
        group = await summary_citations(client, long_doc)
        factor = client.safety_factor()
    first, repair, refitted = llm_server.chat_requests()
    assert [r.status for r in (first, repair, refitted)] == [200, 400, 200]
    assert repair.body["messages"][-2]["content"] == "not json"
    assert request_tokens(refitted) * factor <= 3000 - 500
    call = client.calls[0]
    assert call.repaired and call.attempts == 3 and call.error is None
    assert group.fields["summary"]


async def test_a_large_window_cuts_nothing(llm_server: ScriptedLLM) -> None:
    # The same denser tokenizer behind a window the server names: every group gets its text
    # whole, and nothing is refused.
    llm_server.models_body = {"data": [{"id": "scripted", "max_model_len": 32768}]}
    llm_server.responder = llama_cpp_server(32768, ratio=1.6)
    doc = parse_layout(make_paper())
    _, report = await enrich_paper(doc, [], settings=scripted_settings(llm_server))
    requests = llm_server.chat_requests()
    assert report.errors == [] and not any(c.truncated_input for c in report.calls)
    assert [r.status for r in requests] == [200] * 5
    title = next(r for r in requests if r.schema_name == "TitleAuthorsAbstract")
    head = "\n\n".join(page.text for page in doc.pages[:HEADER_PAGES])
    assert title.user_text.split("<paper>")[1].split("</paper>")[0].strip() == head.strip()
    summary = next(r for r in requests if r.schema_name == "SummaryAnswer")
    assert summary.user_text.split("<paper>")[1].split("</paper>")[0].strip() == doc.text.strip()
