"""Name and free-text validators: name_kanji, name_kana, nonempty, edge_chars, free text."""

from __future__ import annotations

import pytest
from validator_support import bad, ok

# --- names ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "normal"),
    [
        ("山田 太郎", "山田 太郎"),
        ("山田\u3000太郎", "山田 太郎"),
        ("山田\u3000\u3000 太郎", "山田 太郎"),
        ("山田太郎", "山田太郎"),
        ("「山田 太郎」", "山田 太郎"),
        ("山田太郎です", "山田太郎"),
        ("山田太郎と申します", "山田太郎"),
        ("王 小明", "王 小明"),
        ("髙橋 一郎", "髙橋 一郎"),
        ("山﨑 花子", "山﨑 花子"),
        ("\ufa10本 花子", "\ufa10本 花子"),  # a compatibility ideograph is kept, not NFKC-folded
        ("佐々木 のぞみ", "佐々木 のぞみ"),
    ],
)
def test_name_kanji(written: str, normal: str) -> None:
    assert ok("name_kanji", written).value == normal


def test_name_kanji_invalid() -> None:
    assert "数字" in bad("name_kanji", "山田1郎").reason_ja
    assert "digits" in bad("name_kanji", "山田 太郎 2").reason_en
    assert "漢字が含まれていません" in bad("name_kanji", "やまだ たろう").reason_ja
    bad("name_kanji", "Taro Yamada")


@pytest.mark.parametrize(
    ("written", "normal"),
    [
        ("ヤマダ タロウ", "ヤマダ タロウ"),
        ("やまだ たろう", "ヤマダ タロウ"),
        ("ﾔﾏﾀﾞ ﾀﾛｳ", "ヤマダ タロウ"),
        ("ﾊﾅﾁｬﾝ", "ハナチャン"),
        ("ヤマダ\u3000タロウ", "ヤマダ タロウ"),
        ("ワン シャオミン", "ワン シャオミン"),
        ("ヤマダ・タロー", "ヤマダ・タロー"),
        ("やまだ たろうです", "ヤマダ タロウ"),
        ("ヴァン", "ヴァン"),
        ("「ヤマダ タロウ」", "ヤマダ タロウ"),
    ],
)
def test_name_kana(written: str, normal: str) -> None:
    assert ok("name_kana", written).value == normal


def test_name_kana_invalid() -> None:
    assert "漢字" in bad("name_kana", "山田 タロウ").reason_ja
    assert "アルファベット" in bad("name_kana", "Yamada Taro").reason_ja
    assert "数字" in bad("name_kana", "ヤマダ2").reason_ja
    assert "記号" in bad("name_kana", "ヤマダ=タロウ").reason_ja


# --- as written -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "normal"),
    [
        ("たろう", "たろう"),
        (" ﾊﾅﾁｬﾝ ", "ハナチャン"),
        ("mingming", "mingming"),
        ("購入前", "購入前"),
        ("〒123-4567 北海道札幌市中央区見本町8−9−10", "〒123-4567 北海道札幌市中央区見本町8-9-10"),
        ("ログインIDまたはパスワードが違います。", "ログインIDまたはパスワードが違います"),
        ("「伊藤」", "伊藤"),
        ("ｔｋ０１０２ａｂｃ", "tk0102abc"),
    ],
)
def test_nonempty(written: str, normal: str) -> None:
    assert ok("nonempty", written).value == normal


def test_edge_chars_keep_every_character() -> None:
    assert ok("edge_chars", "s/9").value == "s/9"
    assert ok("edge_chars", "「!/?」").value == "「!/?」"
    assert ok("edge_chars", "a/。").value == "a/。"
    assert ok("edge_chars", "ｓ／９").value == "s/9"


@pytest.mark.parametrize(
    ("key", "written", "normal"),
    [
        ("nickname", "ゆうまです", "ゆうま"),
        ("plain_text", "酒井です", "酒井"),
        ("address", "埼玉県さいたま市浦和区見本町1-2-3", "埼玉県さいたま市浦和区見本町1-2-3"),
        ("login_id", "まだ購入前です", "購入前"),
        ("login_id", "I haven't bought anything yet", "購入前"),
        ("login_id", "guest_77", "guest_77"),
    ],
)
def test_free_text_fields(key: str, written: str, normal: str) -> None:
    assert ok(key, written).value == normal
