"""Long tables spread over files: which files are read, partition columns, one-line errors."""

import numpy as np
import pandas as pd
import pytest

from astromer import records
from astromer.records.table_parts import partition_values, table_files
from astromer.records.tables import SourceError


def _rows(ids, band, t0=0.0):
    return pd.DataFrame({"object_id": np.repeat(ids, 3), "band": band,
                         "time": t0 + np.tile([1.0, 2.0, 3.0], len(ids)),
                         "mag": 15.0, "mag_err": 0.1})


def test_files_of_a_folder_pattern_and_list(tmp_path):
    for band in "gr":
        (tmp_path / "ds" / f"band={band}").mkdir(parents=True)
        _rows(["a", "b"], band).drop(columns="band").to_parquet(
            tmp_path / "ds" / f"band={band}" / "part-0.parquet")
    (tmp_path / "ds" / "_SUCCESS").write_text("")
    (tmp_path / "ds" / "band=g" / ".part-0.parquet.crc").write_text("x")
    (tmp_path / "ds" / "_temporary").mkdir()
    (tmp_path / "ds" / "_temporary" / "part-9.parquet").write_text("half written")
    files, root = table_files(tmp_path / "ds")
    assert [f.split("ds/")[1] for f in files] == ["band=g/part-0.parquet", "band=r/part-0.parquet"]
    assert partition_values(files[1], root) == {"band": "r"}
    assert table_files(str(tmp_path / "ds" / "*" / "*.parquet"))[0] == files
    assert table_files([files[1], files[0]]) == ([files[1], files[0]], None)
    with pytest.raises(SourceError, match="name a file twice"):
        table_files([files[0], files[0]])
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceError, match=r"folder '.*empty' holds no table file"):
        table_files(tmp_path / "empty")
    src = records.long_table_source(tmp_path / "ds")
    assert src.bands == ["g", "r"] and sorted(src.items) == ["a", "b"]
    assert src.items["a"].bands["r"][0].tolist() == [1.0, 2.0, 3.0]


def test_an_objects_rows_in_several_files_are_joined_in_file_order(tmp_path):
    _rows(["a"], "g", t0=0.0).to_csv(tmp_path / "p0.csv", index=False)
    _rows(["a", "b"], "g", t0=10.0).to_parquet(tmp_path / "p1.parquet")
    src = records.long_table_source(str(tmp_path / "p*"))
    assert src.items["a"].bands["g"][0].tolist() == [1.0, 2.0, 3.0, 11.0, 12.0, 13.0]
    assert src.items["b"].bands["g"][0].tolist() == [11.0, 12.0, 13.0]
    assert src.description["files"][0]["path"].endswith("p0.csv")


def test_a_damaged_file_among_many_is_named(tmp_path):
    _rows(["a"], "g").to_parquet(tmp_path / "p0.parquet")
    (tmp_path / "p1.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(SourceError, match=r"could not read light-curve table '.*p1\.parquet'"):
        records.long_table_source(tmp_path)
    (tmp_path / "p1.parquet").unlink()
    _rows(["a"], "g").drop(columns="mag").to_parquet(tmp_path / "p1.parquet")
    with pytest.raises(SourceError, match=r"p1\.parquet.*missing column\(s\) \['mag'\]"):
        records.long_table_source(tmp_path)
