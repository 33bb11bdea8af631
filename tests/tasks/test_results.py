"""Task results are typed JSON; a record written with any other serializer is never loaded."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import pytest
from prefect import flow, task
from prefect._internal.result_records import ResultRecord, ResultRecordMetadata
from prefect.serializers import PickleSerializer, Serializer
from prefect.settings import get_current_settings
from prefect.transactions import AsyncTransaction, Transaction

from paperflow import codec
from paperflow.pdf import ParsedDocument
from paperflow.pipeline import PaperKey
from tasks.extraction import parse_pdf
from tasks.locks import locked_cache_policy
from tasks.policy import Timed
from tasks.results import (
    SERIALIZER_TYPE,
    ForeignResultError,
    ResultJSONSerializer,
    check_record,
    json_result_options,
    write_result_now,
)
from tests.pdfs import make_paper


def _record(serializer: Serializer, value: object) -> bytes:  # type: ignore[type-arg]
    return ResultRecord(metadata=ResultRecordMetadata(serializer=serializer),
                        result=value).serialize()


def test_prefect_finds_the_serializer_by_its_type_name() -> None:
    serializer = Serializer(type=SERIALIZER_TYPE)
    assert isinstance(serializer, ResultJSONSerializer)
    value = Timed(PaperKey.of(b"x"), 1.0, 2.0)
    record = ResultRecord.deserialize(_record(serializer, value))
    assert record.result == value


def test_records_from_other_serializers_are_refused_before_loading(tmp_path: Path) -> None:
    marker = tmp_path / "ran"

    class Planted:
        def __reduce__(self) -> tuple[object, tuple[str, str]]:
            return (open, (str(marker), "w"))

    ours = _record(ResultJSONSerializer(), {"a": 1})
    assert check_record("k", ours) == ours
    planted = _record(PickleSerializer(), Planted())
    with pytest.raises(ForeignResultError, match="'pickle'"):
        check_record("k", planted)
    for junk in (b"\x80\x04garbage", b"[1, 2]", b'{"metadata": {"serializer": "pickle"}}'):
        with pytest.raises(ForeignResultError):
            check_record("k", junk)
    assert not marker.exists()


def test_a_cached_tasks_persisted_result_is_typed_json() -> None:
    data = make_paper()
    key = PaperKey.of(data)

    @flow
    def parse_and_analyse() -> Timed[ParsedDocument]:
        return parse_pdf(key, data)

    analysed = parse_and_analyse()
    assert analysed.value.front is not None  # a born-digital paper comes back analysed
    folder = Path(get_current_settings().results.local_storage_path)
    records = [path for path in folder.iterdir()
               if key.sha256 in path.name and path.name.startswith("parse_pdf")]
    assert len(records) == 1
    stored = json.loads(records[0].read_bytes())
    assert stored["metadata"]["serializer"]["type"] == SERIALIZER_TYPE
    check_record(records[0].name, records[0].read_bytes())
    assert codec.loads(stored["result"]) == analysed


def test_a_result_written_from_inside_the_task_survives_a_kill_before_the_commit(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Prefect sets a task Completed before its transaction writes the result record. With the
    commit never happening (the process killed right after Completed), a task that wrote its
    record itself is a cache hit on the re-run; one that did not is computed again."""
    calls = {"early": 0, "late": 0}
    token = uuid.uuid4().hex

    def cache_key(context: object, parameters: dict[str, object]) -> str:
        return f"write-early-test-{parameters['name']}-{token}"

    @task(cache_policy=locked_cache_policy(cache_key), persist_result=True,
          **json_result_options())
    async def answer(name: str) -> dict[str, str]:
        calls[name] += 1
        value = {"answer": name}
        if name == "early":
            await write_result_now(value)
        return value

    @flow
    async def ask() -> list[dict[str, str]]:
        return [await answer("early"), await answer("late")]

    commit = Transaction.commit
    async_commit = AsyncTransaction.commit

    def killed(self: Transaction | AsyncTransaction) -> bool:
        # No record written; the lock freed as a dead holder's lock is taken over.
        if self.store is not None and self.key and self.store.is_lock_holder(
                self.key, self._holder):
            self.store.release_lock(self.key, holder=self._holder)
        return False

    async def killed_async(self: AsyncTransaction) -> bool:
        return killed(self)

    monkeypatch.setattr(Transaction, "commit", killed)
    monkeypatch.setattr(AsyncTransaction, "commit", killed_async)
    assert asyncio.run(ask()) == [{"answer": "early"}, {"answer": "late"}]
    monkeypatch.setattr(Transaction, "commit", commit)
    monkeypatch.setattr(AsyncTransaction, "commit", async_commit)

    assert asyncio.run(ask()) == [{"answer": "early"}, {"answer": "late"}]
    assert calls == {"early": 1, "late": 2}
