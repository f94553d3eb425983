"""The minutes' Vietnamese wording and formats, shared by the PDF and the DOCX."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from zoneinfo import ZoneInfo

NATION = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"
TITLE = "BIÊN BẢN CUỘC HỌP"
SECTIONS = {
    "general": "I. THÔNG TIN CHUNG",
    "attendance": "II. THÀNH PHẦN THAM DỰ",
    "speaking": "III. DIỄN BIẾN PHÁT BIỂU",
    "documents": "IV. TÀI LIỆU CUỘC HỌP",
    "votes": "V. BIỂU QUYẾT",
    "chat": "VI. TRAO ĐỔI (TIN NHẮN)",
    "alerts": "VII. CẢNH BÁO BIỂN SỐ XE",
    "recordings": "VIII. GHI HÌNH",
}
TIERS = {0: "Cấp tỉnh", 1: "Cấp huyện", 2: "Cấp xã"}
MAX_TIMELINE_ROWS = 500  # the per-site totals always count every turn
NONE = "Không có."


def tier_name(depth: int, kind: str) -> str:
    """A roll-call tier's name in the minutes."""
    if kind == "guest":
        return "Khách mời"
    if kind == "camera":
        return "Camera"
    return TIERS.get(depth, f"Cấp {depth + 1}")


def nfc(text: str) -> str:
    """``text`` precomposed: a name typed with combining accents prints like any other."""
    return unicodedata.normalize("NFC", text)


def when(at: float | None, tz: str) -> str:
    """dd/mm/yyyy HH:MM in ``tz`` ("–" for none)."""
    if at is None:
        return "–"
    return datetime.fromtimestamp(at, ZoneInfo(tz)).strftime("%d/%m/%Y %H:%M")


def clock(at: float, tz: str) -> str:
    """HH:MM:SS in ``tz`` (a turn's start)."""
    return datetime.fromtimestamp(at, ZoneInfo(tz)).strftime("%H:%M:%S")


def span(start: float | None, end: float | None, tz: str) -> str:
    """A time range; the end's date only when it is another day."""
    if start is None:
        return "–"
    if end is None:
        return f"từ {when(start, tz)}"
    same_day = when(start, tz)[:10] == when(end, tz)[:10]
    return f"{when(start, tz)} - {when(end, tz)[11:] if same_day else when(end, tz)}"


def duration(seconds: float) -> str:
    """ "1 giờ 05 phút", "12 phút 30 giây", "45 giây"."""
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} giờ {minutes:02d} phút"
    if minutes:
        return f"{minutes} phút {secs:02d} giây"
    return f"{secs} giây"


def size(count: int) -> str:
    """A file size with a Vietnamese decimal comma: "1,5 MB"."""
    value = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            shown = f"{value:.0f}" if unit == "B" else f"{value:.1f}".replace(".", ",")
            return f"{shown} {unit}"
        value /= 1024
    return f"{count} B"  # not reached


def made_line(minutes_made_at: float, tz: str, running: bool) -> str:
    """The line saying when (and at which point of the meeting) the minutes were made."""
    state = " (cuộc họp đang diễn ra)" if running else ""
    return f"Biên bản được lập tự động lúc {when(minutes_made_at, tz)}{state}."


def file_name(title: str, start: float, tz: str, extension: str) -> str:
    """A safe ASCII download name: ``bien-ban-<title>-<yyyy-mm-dd>.<ext>``."""
    folded = unicodedata.normalize("NFKD", title.replace("đ", "d").replace("Đ", "D"))
    ascii_only = folded.encode("ascii", "ignore").decode("ascii").lower()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_only).strip("-")[:60].strip("-") or "cuoc-hop"
    day = datetime.fromtimestamp(start, ZoneInfo(tz)).strftime("%Y-%m-%d")
    return f"bien-ban-{slug}-{day}.{extension}"
