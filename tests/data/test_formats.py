"""Split-file parsers against fixture lists written in the exact public formats."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from components.data.formats import (
    FORMATS,
    VIDEO_EXTENSIONS,
    DatasetSplit,
    is_safe_relative,
    parse_dataset,
)
from components.data.formats.arid import parse_arid
from components.data.formats.folder import assign_splits
from components.errors import ConfigError, InputError


def write(path: Path, lines: list[str], *, crlf: bool = False, bom: bool = False) -> Path:
    """Write ``lines`` as a list file, byte for byte (newline after every line)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    newline = "\r\n" if crlf else "\n"
    data = "".join(line + newline for line in lines).encode("utf-8")
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


def rows(split: DatasetSplit) -> list[tuple[str, str, int, str]]:
    return [(e.path, e.label, e.label_index, e.split) for e in split.entries]


def raises_input(call, path: Path, line: int | None, *fragments: str) -> InputError:
    with pytest.raises(InputError) as info:
        call()
    err = info.value
    assert err.path == path, str(err)
    assert err.line == line, str(err)
    for fragment in fragments:
        assert fragment in str(err), str(err)
    return err


# --- is_safe_relative ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "safe"),
    [
        ("ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi", True),
        ("./Run/x.mp4", True),
        ("a..b/c.avi", True),
        ("../x.avi", False),
        ("Run/../../x.avi", False),
        ("Run\\..\\x.avi", False),
        ("/abs.avi", False),
        ("\\\\server\\share\\x.avi", False),
        ("C:/x.avi", False),
        ("c:x.avi", False),
        ("", False),
        (".", False),
        ("a\x00b.avi", False),
    ],
)
def test_is_safe_relative(path: str, safe: bool) -> None:
    assert is_safe_relative(path) is safe


# --- UCF101 -------------------------------------------------------------------------

CLASS_IND = ["1 ApplyEyeMakeup", "2 ApplyLipstick", "3 HandstandPushups"]
TRAIN01 = [
    "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1",
    "HandstandPushups/v_HandStandPushups_g08_c01.avi 3",
    "ApplyLipstick/v_ApplyLipstick_g08_c01.avi 2",
]
TEST01 = [
    "ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi",
    "HandstandPushups/v_HandStandPushups_g01_c01.avi",
]


@pytest.fixture
def ucf(tmp_path: Path) -> Path:
    lists = tmp_path / "ucfTrainTestlist"
    write(lists / "classInd.txt", CLASS_IND, crlf=True)
    write(lists / "trainlist01.txt", TRAIN01, crlf=True)
    write(lists / "testlist01.txt", TEST01, crlf=True)
    write(lists / "trainlist02.txt", ["ApplyLipstick/v_ApplyLipstick_g01_c01.avi 2"], crlf=True)
    write(lists / "testlist02.txt", ["ApplyLipstick/v_ApplyLipstick_g08_c01.avi"], crlf=True)
    return tmp_path


def test_ucf101_official_layout(ucf: Path) -> None:
    result = parse_dataset(ucf, "ucf101")
    lists = ucf / "ucfTrainTestlist"
    assert result.format == "ucf101" and result.split_id == 1
    assert result.classes == ("ApplyEyeMakeup", "ApplyLipstick", "HandstandPushups")
    assert rows(result) == [
        ("ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi", "ApplyEyeMakeup", 0, "train"),
        ("HandstandPushups/v_HandStandPushups_g08_c01.avi", "HandstandPushups", 2, "train"),
        ("ApplyLipstick/v_ApplyLipstick_g08_c01.avi", "ApplyLipstick", 1, "train"),
        ("ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi", "ApplyEyeMakeup", 0, "test"),
        ("HandstandPushups/v_HandStandPushups_g01_c01.avi", "HandstandPushups", 2, "test"),
    ]
    assert result.entries[1].source == f"{lists / 'trainlist01.txt'}:2"
    assert result.entries[4].source == f"{lists / 'testlist01.txt'}:2"
    assert result.list_files == (
        lists / "classInd.txt",
        lists / "trainlist01.txt",
        lists / "testlist01.txt",
    )
    assert all(result.classes[e.label_index] == e.label for e in result.entries)


def test_ucf101_other_split_and_lists_dir(ucf: Path, tmp_path: Path) -> None:
    result = parse_dataset(ucf, "UCF101", 2, lists_dir=ucf / "ucfTrainTestlist")
    assert rows(result) == [
        ("ApplyLipstick/v_ApplyLipstick_g01_c01.avi", "ApplyLipstick", 1, "train"),
        ("ApplyLipstick/v_ApplyLipstick_g08_c01.avi", "ApplyLipstick", 1, "test"),
    ]
    with pytest.raises(ConfigError, match="--split 4"):
        parse_dataset(ucf, "ucf101", 4)


def test_ucf101_defensive_lines_at_root(tmp_path: Path) -> None:
    write(tmp_path / "classInd.txt", ["", "1\tApplyEyeMakeup  ", "2 ApplyLipstick", ""], bom=True)
    write(
        tmp_path / "trainlist01.txt",
        ["ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi\t1 ", "", "  ", "ApplyLipstick\\v_x.avi 2"],
        crlf=True,
        bom=True,
    )
    write(tmp_path / "testlist01.txt", ["", "ApplyLipstick/v_y.avi  \t"], crlf=True, bom=True)
    result = parse_dataset(tmp_path, "ucf101")
    assert rows(result) == [
        ("ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi", "ApplyEyeMakeup", 0, "train"),
        ("ApplyLipstick/v_x.avi", "ApplyLipstick", 1, "train"),
        ("ApplyLipstick/v_y.avi", "ApplyLipstick", 1, "test"),
    ]
    assert result.entries[1].source.endswith("trainlist01.txt:4")
    assert result.entries[2].source.endswith("testlist01.txt:2")


@pytest.mark.parametrize(
    ("name", "lines", "line", "fragment"),
    [
        ("trainlist01.txt", ["ApplyEyeMakeup/a.avi 1", "ApplyEyeMakeup/b.avi"], 2, "expected"),
        ("trainlist01.txt", ["ApplyEyeMakeup/a.avi 1 x"], 1, "3 columns"),
        ("trainlist01.txt", ["ApplyEyeMakeup/a.avi one"], 1, "not an integer"),
        ("trainlist01.txt", ["", "ApplyEyeMakeup/a.avi 9"], 2, "unknown class id 9"),
        ("trainlist01.txt", ["Juggling/v_Juggling_g01_c01.avi 1"], 1, "'Juggling' is not in"),
        ("trainlist01.txt", ["v_ApplyEyeMakeup_g01_c01.avi 1"], 1, "no class folder"),
        ("trainlist01.txt", ["ApplyEyeMakeup/v_ApplyLipstick_g01_c01.avi 2"], 1, "disagrees"),
        ("testlist01.txt", ["ApplyEyeMakeup/a.avi 1"], 1, "no class id column"),
        ("testlist01.txt", ["handstandpushups/a.avi"], 1, "'HandstandPushups'"),
        ("testlist01.txt", ["Nope/a.avi"], 1, "'Nope' is not in classInd.txt"),
        ("classInd.txt", ["1 A", "1 B"], 2, "listed twice (first at line 1)"),
        ("classInd.txt", ["1 A", "2 A"], 2, "listed twice (first at line 1)"),
        ("classInd.txt", ["0 A", "1 B"], 1, "start at 1"),
        ("classInd.txt", ["1 A", "3 B"], 2, "contiguous"),
        ("classInd.txt", ["1 A extra"], 1, "2 columns"),
        ("classInd.txt", ["1 .."], 1, "folder name"),
    ],
)
def test_ucf101_malformed_lines(
    ucf: Path, name: str, lines: list[str], line: int, fragment: str
) -> None:
    path = write(ucf / "ucfTrainTestlist" / name, lines, crlf=True)
    err = raises_input(lambda: parse_dataset(ucf, "ucf101"), path, line, fragment)
    assert str(err).startswith(f"{path}:{line}: ")
    assert repr(lines[line - 1])[1:-1] in str(err)  # quotes the line


def test_ucf101_duplicate_names_both_lines(ucf: Path) -> None:
    lists = ucf / "ucfTrainTestlist"
    test = write(lists / "testlist01.txt", ["ApplyLipstick/a.avi", TRAIN01[1].split()[0]])
    err = raises_input(lambda: parse_dataset(ucf, "ucf101"), test, 2, "duplicate entry")
    assert f"{lists / 'trainlist01.txt'}:2" in str(err)


def test_ucf101_missing_list_names_paths(tmp_path: Path) -> None:
    write(tmp_path / "ucfTrainTestlist" / "classInd.txt", CLASS_IND)
    err = raises_input(
        lambda: parse_dataset(tmp_path, "ucf101", 3),
        tmp_path / "trainlist03.txt",
        None,
        "not found",
        str(tmp_path / "ucfTrainTestlist" / "trainlist03.txt"),
    )
    assert str(tmp_path / "splits" / "trainlist03.txt") in str(err)


def test_ucf101_unsafe_entries_survive(ucf: Path) -> None:
    lists = ucf / "ucfTrainTestlist"
    write(lists / "trainlist01.txt", ["../x.avi 1", "/data/ApplyLipstick/v.avi 2", "C:\\y.avi 3"])
    write(lists / "testlist01.txt", ["../ApplyEyeMakeup/v.avi", "/abs/HandstandPushups/w.avi"])
    result = parse_dataset(ucf, "ucf101")
    assert rows(result) == [
        ("../x.avi", "ApplyEyeMakeup", 0, "train"),
        ("/data/ApplyLipstick/v.avi", "ApplyLipstick", 1, "train"),
        ("C:/y.avi", "HandstandPushups", 2, "train"),
        ("../ApplyEyeMakeup/v.avi", "ApplyEyeMakeup", 0, "test"),
        ("/abs/HandstandPushups/w.avi", "HandstandPushups", 2, "test"),
    ]
    assert not any(is_safe_relative(e.path) for e in result.entries)
    # Without an id column the class of '../x.avi' is unknowable: an error, not a guess.
    test = write(lists / "testlist01.txt", ["../y.avi"])
    raises_input(lambda: parse_dataset(ucf, "ucf101"), test, 1, "'..' is not in classInd.txt")


def test_ucf101_not_utf8(ucf: Path) -> None:
    path = ucf / "ucfTrainTestlist" / "testlist01.txt"
    path.write_bytes(b"ApplyEyeMakeup/a.avi\nApplyEyeMakeup/\xff.avi\n")
    raises_input(lambda: parse_dataset(ucf, "ucf101"), path, 2, "not UTF-8")


# --- HMDB51 -------------------------------------------------------------------------


@pytest.fixture
def hmdb(tmp_path: Path) -> Path:
    lists = tmp_path / "testTrainMulti_7030_splits"
    # The official files end every line with a space.
    write(
        lists / "brush_hair_test_split1.txt",
        [
            "April_09_brush_hair_u_nm_np1_ba_goo_0.avi 1 ",
            "April_09_brush_hair_u_nm_np1_ba_goo_1.avi 2 ",
            "Blonde_being_brushed_brush_hair_f_nm_np2_ri_med_0.avi 0 ",
        ],
    )
    write(
        lists / "climb_stairs_test_split1.txt",
        ["", "Climbing_stairs_climb_stairs_f_cm_np1_ba_bad_0.avi 2 ", "Stairs_0.avi\t1"],
        crlf=True,
        bom=True,
    )
    write(lists / "brush_hair_test_split2.txt", ["April_09_brush_hair_u_nm_np1_ba_goo_0.avi 2 "])
    write(lists / "climb_stairs_test_split2.txt", ["Stairs_0.avi 1 "])
    (lists / "._brush_hair_test_split1.txt").write_bytes(b"\x00\x05\x16\x07 resource fork")
    return tmp_path


def test_hmdb51_official_layout(hmdb: Path) -> None:
    result = parse_dataset(hmdb, "hmdb51")
    lists = hmdb / "testTrainMulti_7030_splits"
    assert result.classes == ("brush_hair", "climb_stairs")
    assert rows(result) == [
        ("brush_hair/April_09_brush_hair_u_nm_np1_ba_goo_0.avi", "brush_hair", 0, "train"),
        ("climb_stairs/Stairs_0.avi", "climb_stairs", 1, "train"),
        ("brush_hair/April_09_brush_hair_u_nm_np1_ba_goo_1.avi", "brush_hair", 0, "test"),
        (
            "climb_stairs/Climbing_stairs_climb_stairs_f_cm_np1_ba_bad_0.avi",
            "climb_stairs",
            1,
            "test",
        ),
    ]
    assert result.entries[1].source == f"{lists / 'climb_stairs_test_split1.txt'}:3"
    assert result.list_files == (
        lists / "brush_hair_test_split1.txt",
        lists / "climb_stairs_test_split1.txt",
    )
    assert [e.split for e in parse_dataset(hmdb, "hmdb51", 2).entries] == ["train", "test"]


@pytest.mark.parametrize(
    ("lines", "line", "fragment"),
    [
        (["a.avi 1", "b.avi 3"], 2, "not 0 (unused), 1 (train) or 2 (test)"),
        (["a.avi train"], 1, "not an integer"),
        (["a.avi"], 1, "1 columns"),
        (["a b.avi 1"], 1, "3 columns"),
        (["a.avi 1", "a.avi 0"], 2, "duplicate entry 'brush_hair/a.avi'"),
    ],
)
def test_hmdb51_malformed_lines(hmdb: Path, lines: list[str], line: int, fragment: str) -> None:
    path = write(hmdb / "testTrainMulti_7030_splits" / "brush_hair_test_split1.txt", lines)
    raises_input(lambda: parse_dataset(hmdb, "hmdb51"), path, line, fragment)


def test_hmdb51_missing_files(hmdb: Path, tmp_path: Path) -> None:
    lists = hmdb / "testTrainMulti_7030_splits"
    (lists / "climb_stairs_test_split2.txt").unlink()
    raises_input(
        lambda: parse_dataset(hmdb, "hmdb51", 2),
        lists / "climb_stairs_test_split2.txt",
        None,
        "not for split 2",
    )
    empty = tmp_path / "empty"
    empty.mkdir()
    raises_input(
        lambda: parse_dataset(empty, "hmdb51"),
        empty / "<class>_test_split1.txt",
        None,
        str(empty / "testTrainMulti_7030_splits"),
    )


def test_hmdb51_unsafe_entries_survive(hmdb: Path) -> None:
    write(
        hmdb / "testTrainMulti_7030_splits" / "brush_hair_test_split1.txt",
        ["../x.avi 1", "/abs.avi 2"],
    )
    entries = parse_dataset(hmdb, "hmdb51").entries
    unsafe = [(e.path, e.label) for e in entries if not is_safe_relative(e.path)]
    assert unsafe == [("../x.avi", "brush_hair"), ("/abs.avi", "brush_hair")]


# --- ARID v1.0 ----------------------------------------------------------------------


@pytest.fixture
def arid10(tmp_path: Path) -> Path:
    lists = tmp_path / "list_cvt"
    write(
        lists / "ARID_split1_train.txt",
        ["0\t0\tDrink/Drink_10_1.avi", "1\t2\tPick/Pick_3_5.avi", "2\t1\tJump/Jump_1_1.avi"],
    )
    write(lists / "ARID_split1_test.txt", ["0\t1\tJump/Jump_2_1.avi", "1 0 Drink/Drink_1_1.avi"])
    return tmp_path


def test_arid_v10(arid10: Path) -> None:
    result = parse_dataset(arid10, "arid")
    assert result.classes == ("Drink", "Jump", "Pick")
    assert rows(result) == [
        ("Drink/Drink_10_1.avi", "Drink", 0, "train"),
        ("Pick/Pick_3_5.avi", "Pick", 2, "train"),
        ("Jump/Jump_1_1.avi", "Jump", 1, "train"),
        ("Jump/Jump_2_1.avi", "Jump", 1, "test"),
        ("Drink/Drink_1_1.avi", "Drink", 0, "test"),
    ]
    lists = arid10 / "list_cvt"
    assert result.list_files == (lists / "ARID_split1_train.txt", lists / "ARID_split1_test.txt")
    with pytest.raises(ConfigError):
        parse_dataset(arid10, "arid", 4)


@pytest.mark.parametrize(
    ("lines", "line", "fragment"),
    [
        (["0\t0\tDrink/a.avi", "1\t1"], 2, "3 columns"),
        (["0\tx\tDrink/a.avi"], 1, "class id 'x' is not an integer"),
        (["r\t0\tDrink/a.avi"], 1, "row number"),
        (["0\t0\tDrink/a.avi", "1\t0\tJump/b.avi"], 2, "class id 0 is 'Drink' at "),
        (["0\t2\tPick/a.avi", "1\t0\tPick/b.avi"], 2, "class folder 'Pick' has id 2"),
        (["0\t0\tDrink/a.avi", "1\t0\tDrink/a.avi"], 2, "duplicate entry"),
        (["0\t0\ta.avi"], 1, "no class folder"),
    ],
)
def test_arid_v10_malformed(arid10: Path, lines: list[str], line: int, fragment: str) -> None:
    path = write(arid10 / "list_cvt" / "ARID_split1_train.txt", lines)
    raises_input(lambda: parse_dataset(arid10, "arid"), path, line, fragment)


def test_arid_v10_id_gap_and_unsafe(arid10: Path) -> None:
    lists = arid10 / "list_cvt"
    train = write(lists / "ARID_split1_train.txt", ["0\t0\tDrink/a.avi", "1\t2\tPick/b.avi"])
    write(lists / "ARID_split1_test.txt", ["0\t0\tDrink/c.avi"])
    raises_input(lambda: parse_dataset(arid10, "arid"), train, None, "[1] never appear")
    write(lists / "ARID_split1_train.txt", ["0\t0\tDrink/a.avi", "1\t1\t../x.avi"])
    write(lists / "ARID_split1_test.txt", ["0\t1\tJump/c.avi", "1\t0\t/abs/d.avi"])
    result = parse_dataset(arid10, "arid")
    assert [(e.path, e.label) for e in result.entries if not is_safe_relative(e.path)] == [
        ("../x.avi", "Jump"),
        ("/abs/d.avi", "Drink"),
    ]


# --- ARID 1.1 -----------------------------------------------------------------------

MAPPING_T1 = ["5\tRun", "6\tSit", "7\tStand", "8\tTurn", "9\tWalk", "10\tWave"]


@pytest.fixture
def arid11(tmp_path: Path) -> Path:
    lists = tmp_path / "list_cvt"
    write(lists / "mapping_table_t1.txt", MAPPING_T1, crlf=True)
    write(
        lists / "ARID1.1_t1_train_pub.csv",
        [
            "VideoID,Video,ClassID",
            "0,Run/Run_10_1.mp4,5",
            "1,Wave/Wave_3_2.mp4,10",
            "2,Sit/S.mp4,6",
        ],
        crlf=True,
        bom=True,
    )
    write(lists / "ARID1.1_t1_validation_gt_pub.csv", ["VideoID,Video,ClassID", "0,0.mp4,7", ""])
    write(lists / "ARID1.1_t1_test_pub.csv", ["VideoID,Video", "0,0.mp4"])  # unlabelled
    return tmp_path


def test_arid_11_non_contiguous_ids(arid11: Path) -> None:
    result = parse_dataset(arid11, "arid")
    lists = arid11 / "list_cvt"
    assert result.classes == ("Run", "Sit", "Stand", "Turn", "Walk", "Wave")
    assert rows(result) == [
        ("Run/Run_10_1.mp4", "Run", 0, "train"),
        ("Wave/Wave_3_2.mp4", "Wave", 5, "train"),
        ("Sit/S.mp4", "Sit", 1, "train"),
        ("Stand/0.mp4", "Stand", 2, "test"),
    ]
    assert result.entries[3].source == f"{lists / 'ARID1.1_t1_validation_gt_pub.csv'}:2"
    assert result.list_files == (
        lists / "mapping_table_t1.txt",
        lists / "ARID1.1_t1_train_pub.csv",
        lists / "ARID1.1_t1_validation_gt_pub.csv",
    )
    with pytest.raises(ConfigError):
        parse_dataset(arid11, "arid", 2)


def test_arid_11_explicit_names(arid11: Path, tmp_path: Path) -> None:
    other = write(tmp_path / "elsewhere" / "classes.tsv", ["7\tStand", "3\tDrink"])
    result = parse_arid(
        arid11,
        train_list=write(tmp_path / "t.csv", ["VideoID,Video,ClassID", "9,a.mp4,3"]),
        test_list="ARID1.1_t1_validation_gt_pub.csv",  # looked up like the defaults
        class_map=other,
    )
    assert result.classes == ("Drink", "Stand")
    assert rows(result) == [
        ("Drink/a.mp4", "Drink", 0, "train"),
        ("Stand/0.mp4", "Stand", 1, "test"),
    ]


@pytest.mark.parametrize(
    ("lines", "line", "fragment"),
    [
        (["VideoID,Video,ClassID", "0,Run/a.mp4,4"], 2, "unknown ClassID 4"),
        (["VideoID,Video,ClassID", "0,Sit/a.mp4,5"], 2, "disagrees with the class folder 'Sit'"),
        (["VideoID,Video,ClassID", "0,a.mp4"], 2, "got 2"),
        (["VideoID,Video,ClassID", "0,a.mp4,five"], 2, "not an integer"),
        (["VideoID,Video,Label", "0,a.mp4,5"], 1, "lacks column(s) ['ClassID']"),
        (["VideoID,Video,ClassID", "0,a.mp4,5", "1,Run/a.mp4,5"], 3, "duplicate entry"),
        (["VideoID,Video,ClassID", ",a.mp4,5"], 2, "empty VideoID"),
    ],
)
def test_arid_11_malformed(arid11: Path, lines: list[str], line: int, fragment: str) -> None:
    path = write(arid11 / "list_cvt" / "ARID1.1_t1_train_pub.csv", lines)
    raises_input(lambda: parse_dataset(arid11, "arid"), path, line, fragment)


def test_arid_11_unsafe_and_missing(arid11: Path) -> None:
    lists = arid11 / "list_cvt"
    write(lists / "ARID1.1_t1_train_pub.csv", ["VideoID,Video,ClassID", "0,../x.mp4,5"])
    write(lists / "ARID1.1_t1_validation_gt_pub.csv", ["VideoID,Video,ClassID", "0,/a/0.mp4,9"])
    result = parse_dataset(arid11, "arid")
    assert rows(result) == [("../x.mp4", "Run", 0, "train"), ("/a/0.mp4", "Walk", 4, "test")]
    mapping = write(lists / "mapping_table_t1.txt", ["5\tRun", "5\tSit"])
    raises_input(lambda: parse_dataset(arid11, "arid"), mapping, 2, "listed twice")
    mapping.unlink()
    raises_input(
        lambda: parse_dataset(arid11, "arid"), lists / "mapping_table.txt", None, "classInd.txt"
    )
    for path in lists.iterdir():
        path.unlink()
    raises_input(
        lambda: parse_dataset(arid11, "arid"),
        arid11 / "ARID_split1_train.txt",
        None,
        str(arid11 / "list_cvt"),
    )


# --- SEAGS_V1 -----------------------------------------------------------------------


def test_seags_with_and_without_label_column(tmp_path: Path) -> None:
    write(tmp_path / "classInd.txt", ["1 Falling", "2 Walking"], crlf=True)
    write(tmp_path / "trainlist.txt", ["Falling/v_Falling_001.mp4 1", "Walking/v_Walking_002.mp4"])
    write(tmp_path / "testlist.txt", ["Walking/v_Walking_003.mp4 2", "Falling/v_Falling_004.mp4"])
    result = parse_dataset(tmp_path, "seags")
    assert result.classes == ("Falling", "Walking")
    assert rows(result) == [
        ("Falling/v_Falling_001.mp4", "Falling", 0, "train"),
        ("Walking/v_Walking_002.mp4", "Walking", 1, "train"),
        ("Walking/v_Walking_003.mp4", "Walking", 1, "test"),
        ("Falling/v_Falling_004.mp4", "Falling", 0, "test"),
    ]
    with pytest.raises(ConfigError, match="ships split"):
        parse_dataset(tmp_path, "seags", 2)
    # 0-based class ids are accepted too.
    write(tmp_path / "classInd.txt", ["0 Falling", "1 Walking"])
    write(tmp_path / "trainlist.txt", ["Falling/v_Falling_001.mp4 0"])
    write(tmp_path / "testlist.txt", ["Walking/v_Walking_003.mp4 1"])
    assert [e.label_index for e in parse_dataset(tmp_path, "seags").entries] == [0, 1]
    bad = write(tmp_path / "testlist.txt", ["Walking/v_Walking_003.mp4 0"])
    raises_input(lambda: parse_dataset(tmp_path, "seags"), bad, 1, "disagrees")


# --- folder -------------------------------------------------------------------------


def touch(root: Path, *paths: str) -> None:
    for rel in paths:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")


def test_folder_scan_rules(tmp_path: Path) -> None:
    touch(
        tmp_path,
        "walk/a.avi",
        "walk/b.MP4",
        "walk/sub/c.mkv",
        "walk/.hidden.avi",
        "walk/.cache/d.avi",
        "walk/notes.txt",
        "run/x.webm",
        "empty/readme.md",
        ".git/e.avi",
        "top.avi",
    )
    result = parse_dataset(tmp_path, "folder", seed=3)
    assert result.classes == ("run", "walk")
    assert sorted(e.path for e in result.entries) == [
        "run/x.webm",
        "walk/a.avi",
        "walk/b.MP4",
        "walk/sub/c.mkv",
    ]
    assert result.list_files == ()
    assert all(result.classes[e.label_index] == e.label for e in result.entries)
    assert result.entries[0].source == str(tmp_path / result.entries[0].path)
    assert len(VIDEO_EXTENSIONS) == 8
    with pytest.raises(ConfigError):
        parse_dataset(tmp_path, "folder", 2)
    with pytest.raises(ConfigError):
        parse_dataset(tmp_path, "folder", lists_dir=tmp_path)
    empty = tmp_path / "empty"
    raises_input(lambda: parse_dataset(empty, "folder"), empty, None, "no <class>/<video>")


def test_folder_split_deterministic_stable_and_about_70_30(tmp_path: Path) -> None:
    classes = ("jump", "run_fast")
    touch(tmp_path, *(f"{c}/clip_{i:03d}.avi" for c in classes for i in range(200)))
    first = parse_dataset(tmp_path, "folder", seed=7)
    assert parse_dataset(tmp_path, "folder", seed=7) == first
    before = {e.path: e.split for e in first.entries}
    counts = Counter((e.label, e.split) for e in first.entries)
    for label in classes:
        share = counts[label, "test"] / 200
        assert 0.2 < share < 0.4, (label, share)
    # Train entries come first.
    splits = [e.split for e in first.entries]
    assert splits == sorted(splits, key=("train", "test").index)

    touch(tmp_path, *(f"{c}/new_{i:03d}.avi" for c in classes for i in range(60)))
    after = {e.path: e.split for e in parse_dataset(tmp_path, "folder", seed=7).entries}
    assert len(after) == 520
    assert {p: after[p] for p in before} == before

    other = {e.path: e.split for e in parse_dataset(tmp_path, "folder", seed=8).entries}
    assert other != after


def test_folder_small_classes_get_both_splits(tmp_path: Path) -> None:
    for seed in range(40):
        for n in (2, 3, 5):
            paths = [f"c/v{i}.avi" for i in range(n)]
            assert set(assign_splits(seed, "c", paths)) == {"train", "test"}, (seed, n)
    lone = {assign_splits(seed, "c", ["c/only.avi"])[0] for seed in range(40)}
    assert lone == {"train", "test"}  # a single video keeps its hashed split


# --- dispatch -----------------------------------------------------------------------


def test_formats_and_dispatch_errors(tmp_path: Path) -> None:
    assert set(FORMATS) == {"ucf101", "hmdb51", "arid", "seags", "folder"}
    with pytest.raises(ConfigError, match="unknown dataset format 'kinetics'"):
        parse_dataset(tmp_path, "kinetics")
    raises_input(
        lambda: parse_dataset(tmp_path / "nope", "ucf101"), tmp_path / "nope", None, "not a dir"
    )
