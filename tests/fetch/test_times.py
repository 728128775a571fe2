"""Times as Chinese pages write them: a zone is Beijing unless the page says which clock it means."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from monitor.fetch.times import find_time, find_time_of_day

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2019-09-24 09:10", datetime(2019, 9, 24, 1, 10, tzinfo=UTC)),
        ("发布时间：2019年09月09日 18:13:22 来源：新华网", datetime(2019, 9, 9, 10, 13, 22, tzinfo=UTC)),
        ("2019年06月15日08:18  来源：人民网", datetime(2019, 6, 15, 0, 18, tzinfo=UTC)),
        # BBC Chinese states its clock: Greenwich time, not Beijing time.
        ("更新时间 2012年12月10日, 格林尼治标准时间10:41", datetime(2012, 12, 10, 10, 41, tzinfo=UTC)),
        ("2020年1月2日 星期四 北京时间 17:11", datetime(2020, 1, 2, 9, 11, tzinfo=UTC)),
    ],
)
def test_bylines(text, expected):
    assert find_time(text, SHANGHAI) == expected


def test_a_date_without_a_time_of_day_says_so():
    assert find_time_of_day("发布日期：2016-11-22", SHANGHAI) == (datetime(2016, 11, 21, 16, 0, tzinfo=UTC), False)
    assert find_time_of_day("2016-11-22 09:53", SHANGHAI)[1] is True
    assert find_time_of_day("没有日期", SHANGHAI) == (None, False)
