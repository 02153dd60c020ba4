from streams.display import pad, width


def test_chinese_names_take_two_cells_per_character_and_columns_line_up():
    assert width("鲸探") == 4 and width("abc") == 3 and width("ＡＢ") == 4
    rows = [pad("鲸探数字藏品", 16) + "|", pad("news daily", 16) + "|", pad("幻核 NFT", 16) + "|"]
    assert {width(row) for row in rows} == {17}
