import hashlib
from pathlib import Path

import pytest

from paperflow.errors import PermanentError
from paperflow.storage import LocalStorage, content_type_for, paper_key

SHA = hashlib.sha256(b"paper").hexdigest()


def test_paper_keys_cannot_escape_the_prefix() -> None:
    assert paper_key(SHA, "images", "1.png") == f"papers/{SHA}/images/1.png"
    for bad in ("..", "../x", "a/b", "", ".hidden", "x" * 200):
        with pytest.raises(PermanentError):
            paper_key(SHA, bad)
    with pytest.raises(PermanentError, match="sha256"):
        paper_key("../../etc", "a")


def test_put_is_idempotent_and_atomic(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    key = paper_key(SHA, "metadata.json")
    asset = storage.put(key, b'{"a": 1}')
    assert asset.content_type == "application/json" and asset.size == 8
    assert asset.uri.startswith("file://") and storage.get(key) == b'{"a": 1}'
    mtime = (tmp_path / key).stat().st_mtime_ns
    storage.put(key, b'{"a": 1}')
    assert (storage.stats.written, storage.stats.skipped) == (1, 1)
    assert (tmp_path / key).stat().st_mtime_ns == mtime
    storage.put(key, b'{"a": 2}')
    assert storage.get(key) == b'{"a": 2}' and storage.stats.written == 2
    assert not list(tmp_path.rglob(".tmp-*"))


def test_storage_refuses_keys_outside_its_root(tmp_path: Path) -> None:
    with pytest.raises(PermanentError, match="escapes"):
        LocalStorage(tmp_path / "root").put("../outside.txt", b"x")


def test_describe_and_content_types(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    assert storage.describe("papers/x.webp") is None
    storage.put("papers/x.webp", b"RIFF")
    described = storage.describe("papers/x.webp")
    assert described is not None and described.content_type == "image/webp"
    assert content_type_for("a.pdf") == "application/pdf"
    assert content_type_for("a.unknown") == "application/octet-stream"
