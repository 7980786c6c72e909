"""Regression (issue 6 CLI check): a CSV saved in GBK (Excel's default on Chinese Windows) was refused with Python's
or pyarrow's English error text ("'utf-8' codec can't decode byte 0xb2 …", "CSV conversion error to string: invalid
UTF8 data"); it now says in Chinese that the file is not UTF-8 and how to save it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.scaling.test_cli import GOOD_ITEMS, _bad, _items


@pytest.mark.parametrize(("body", "where"), [
    ("人员,item,score\ns1,q1,1\n", "第1字节无法解码"),  # the header itself
    ("person,item,score\ns1,q1,1\n学生2,q1,0\n", "某数据行无法解码"),  # below the header
])
def test_a_gbk_file_is_named_as_not_utf8(tmp_path: Path, body: str, where: str) -> None:
    path = tmp_path / "resp_gbk.csv"
    path.write_bytes(body.encode("gbk"))
    out = _bad(tmp_path, "--responses", path, "--items", _items(tmp_path, GOOD_ITEMS))
    assert "resp_gbk.csv" in out and "不是UTF-8编码" in out and where in out, out
    assert "codec" not in out and "invalid UTF8" not in out
