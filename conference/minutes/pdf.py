"""The minutes as a PDF (reportlab), in a TrueType font that writes Vietnamese.

Blocking (a few hundred ms for a large meeting): call :func:`minutes_pdf` in a
thread. The layout follows the usual form of an administrative record: the
issuing body beside the national heading, the title, numbered sections, the
signatures at the end.
"""

from __future__ import annotations

import io
import threading
from functools import lru_cache
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from conference.fonts import FONT_ROOT, VIETNAMESE_PROBE, FontNotFoundError, search_font
from conference.minutes import text as tx
from conference.minutes.record import Minutes

REGULAR = "MinutesSans"
BOLD = "MinutesSans-Bold"
_FACES = {
    REGULAR: (
        (
            "truetype/dejavu/DejaVuSans.ttf",
            "truetype/liberation2/LiberationSans-Regular.ttf",
            "truetype/liberation/LiberationSans-Regular.ttf",
        ),
        ("DejaVuSans.ttf", "LiberationSans-Regular.ttf"),
    ),
    BOLD: (
        (
            "truetype/dejavu/DejaVuSans-Bold.ttf",
            "truetype/liberation2/LiberationSans-Bold.ttf",
            "truetype/liberation/LiberationSans-Bold.ttf",
        ),
        ("DejaVuSans-Bold.ttf", "LiberationSans-Bold.ttf"),
    ),
}
_register_lock = threading.Lock()


def _check(path: Path) -> Path:
    """``path`` if reportlab loads it and it has every Vietnamese letter."""
    try:
        face = TTFont("probe", str(path)).face
    except (TTFError, OSError) as error:
        raise FontNotFoundError(f"cannot load font {path}: {error}") from error
    missing = [c for c in VIETNAMESE_PROBE if ord(c) not in face.charToGlyph]
    if missing:
        raise FontNotFoundError(f"font {path} has no Vietnamese letters ({''.join(missing[:5])})")
    return path


@lru_cache(maxsize=1)
def register_fonts(root: Path = FONT_ROOT) -> tuple[Path, Path]:
    """Find and register the regular and bold faces (once per process); their files."""
    with _register_lock:
        paths = []
        for name, (candidates, patterns) in _FACES.items():
            path = search_font(root, candidates, patterns, _check, "the minutes' PDF")
            pdfmetrics.registerFont(TTFont(name, str(path)))
            paths.append(path)
        pdfmetrics.registerFontFamily(REGULAR, normal=REGULAR, bold=BOLD)
        return paths[0], paths[1]


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("body", fontName=REGULAR, fontSize=11, leading=15, alignment=TA_LEFT)
    return {
        "body": base,
        "small": ParagraphStyle("small", base, fontSize=9, leading=12),
        "cell": ParagraphStyle("cell", base, fontSize=9.5, leading=12),
        "head": ParagraphStyle("head", base, fontName=BOLD, fontSize=9.5, leading=12),
        "centre": ParagraphStyle("centre", base, alignment=TA_CENTER),
        "centre_bold": ParagraphStyle(
            "centre_bold", base, fontName=BOLD, alignment=TA_CENTER, fontSize=11.5
        ),
        "title": ParagraphStyle(
            "title", base, fontName=BOLD, fontSize=15, leading=20, alignment=TA_CENTER
        ),
        "subtitle": ParagraphStyle(
            "subtitle", base, fontName=BOLD, fontSize=12, leading=16, alignment=TA_CENTER
        ),
        "section": ParagraphStyle(
            "section", base, fontName=BOLD, fontSize=12, leading=16, spaceBefore=10, spaceAfter=4
        ),
    }


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    """A paragraph of plain text (escaped: names and chat are user input, not markup)."""
    return Paragraph(escape(tx.nfc(text)).replace("\n", "<br/>"), style)


class _Rule(Flowable):
    """The short line under the issuing body and the motto, centred under them."""

    def __init__(self, length: float) -> None:
        super().__init__()
        self.length = length
        self._available = length

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        self._available = available_width
        return available_width, 6

    def draw(self) -> None:
        start = max(0.0, (self._available - self.length) / 2)
        self.canv.setLineWidth(0.6)
        self.canv.line(start, 1, start + self.length, 1)


def _heading(minutes: Minutes, st: dict[str, ParagraphStyle], width: float) -> list[Flowable]:
    """The issuing body beside the national heading, the date, the title."""
    left = [_p(minutes.host_unit.upper(), st["centre_bold"]), _Rule(30 * mm)]
    right = [
        _p(tx.NATION, st["centre_bold"]),
        _p(tx.MOTTO, ParagraphStyle("motto", st["centre_bold"], fontSize=11.5)),
        _Rule(48 * mm),
    ]
    block = Table([[left, right]], colWidths=[width * 0.4, width * 0.6])
    block.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("ALIGN", (0, 0), (-1, -1), "CENTER"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    day = tx.when(minutes.made_at, minutes.timezone)
    dated = f"Ngày {day[0:2]} tháng {day[3:5]} năm {day[6:10]}"
    return [
        block,
        Spacer(0, 4 * mm),
        Paragraph(
            escape(dated),
            ParagraphStyle("dated", st["body"], alignment=2, fontSize=10.5),
        ),
        Spacer(0, 5 * mm),
        _p(tx.TITLE, st["title"]),
        _p(minutes.title, st["subtitle"]),
        Spacer(0, 4 * mm),
    ]


def _table(rows: list[list[str]], widths: list[float], st: dict[str, ParagraphStyle]) -> Table:
    """A ruled table; the first row is the header (repeated on each page)."""
    cells = [[_p(c, st["head"]) for c in rows[0]]]
    cells += [[_p(c, st["cell"]) for c in row] for row in rows[1:]]
    table = Table(cells, colWidths=widths, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#777777")),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef6")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    return table


def _general(minutes: Minutes, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    tz = minutes.timezone
    if minutes.cancelled:
        actual = "Cuộc họp đã bị hủy."
    elif minutes.actual_start is None:
        actual = "Chưa có điểm cầu nào tham gia."
    elif minutes.running:
        actual = f"Bắt đầu {tx.when(minutes.actual_start, tz)}, đang diễn ra."
    else:
        actual = tx.span(minutes.actual_start, minutes.actual_end, tz)
    lines = [
        f"<b>Tên cuộc họp:</b> {escape(minutes.title)}",
        f"<b>Thời gian theo lịch:</b> "
        f"{escape(tx.span(minutes.scheduled_start, minutes.scheduled_end, tz))}",
        f"<b>Thời gian thực tế:</b> {escape(actual)}",
        f"<b>Chủ trì:</b> {escape(minutes.host_name)}"
        f" (người lập lịch: {escape(minutes.created_by)})",
    ]
    out: list[Flowable] = [Paragraph(tx.nfc(line), st["body"]) for line in lines]
    if minutes.agenda.strip():
        out.append(Paragraph("<b>Nội dung:</b>", st["body"]))
        out.append(_p(minutes.agenda, st["body"]))
    return out


def _attendance(minutes: Minutes, st: dict[str, ParagraphStyle], w: float) -> list[Flowable]:
    out: list[Flowable] = []
    rows = [["Cấp", "Có mặt", "Được mời"]]
    for tier in minutes.tiers:
        rows.append([tier.label, str(tier.present), str(tier.total) if tier.attendance else "–"])
    invited = [t for t in minutes.tiers if t.attendance]
    rows.append(
        [
            "Tổng cộng",
            str(sum(t.present for t in invited)),
            str(sum(t.total for t in invited)),
        ]
    )
    out.append(_table(rows, [w * 0.5, w * 0.25, w * 0.25], st))
    out.append(Spacer(0, 3 * mm))
    came = [s for s in minutes.sites if s.came]
    if came:
        detail = [["Điểm cầu", "Cấp", "Vào lúc", "Thời gian dự"]]
        detail += [
            [
                s.name,
                s.tier,
                tx.when(s.first_joined_at, minutes.timezone),
                tx.duration(s.present_seconds),
            ]
            for s in came
        ]
        out.append(_table(detail, [w * 0.42, w * 0.16, w * 0.22, w * 0.2], st))
    absent = [s.name for s in minutes.sites if s.invited and not s.came]
    if absent:
        out.append(Spacer(0, 2 * mm))
        out.append(_p(f"Vắng mặt ({len(absent)}): " + "; ".join(absent) + ".", st["body"]))
    return out


def _speaking(minutes: Minutes, st: dict[str, ParagraphStyle], w: float) -> list[Flowable]:
    if not minutes.speakers:
        return [_p("Không ghi nhận lượt phát biểu nào.", st["body"])]
    tz = minutes.timezone
    totals = [["Điểm cầu", "Số lượt", "Tổng thời gian phát biểu"]]
    totals += [[s.name, str(s.turns), tx.duration(s.seconds)] for s in minutes.speakers]
    out: list[Flowable] = [_table(totals, [w * 0.55, w * 0.15, w * 0.3], st), Spacer(0, 3 * mm)]
    out.append(Paragraph("<b>Trình tự phát biểu:</b>", st["body"]))
    shown = minutes.speaking[: tx.MAX_TIMELINE_ROWS]
    lines = [["Thời gian", "Điểm cầu", "Thời lượng"]]
    lines += [
        [f"{tx.clock(s.start, tz)} - {tx.clock(s.end, tz)}", s.name, tx.duration(s.end - s.start)]
        for s in shown
    ]
    out.append(_table(lines, [w * 0.3, w * 0.5, w * 0.2], st))
    if len(minutes.speaking) > len(shown):
        left = len(minutes.speaking) - len(shown)
        out.append(_p(f"(và {left} lượt khác, đã tính trong tổng thời gian ở trên)", st["small"]))
    return out


def _documents(minutes: Minutes, st: dict[str, ParagraphStyle], w: float) -> list[Flowable]:
    if not minutes.documents:
        return [_p(tx.NONE, st["body"])]
    rows = [["Tên tài liệu", "Dung lượng", "Mã kiểm tra (SHA-256)"]]
    rows += [[d.name, tx.size(d.size), d.sha256] for d in minutes.documents]
    return [_table(rows, [w * 0.38, w * 0.14, w * 0.48], st)]


def _votes(minutes: Minutes, st: dict[str, ParagraphStyle], w: float) -> list[Flowable]:
    if not minutes.votes:
        return [_p(tx.NONE, st["body"])]
    out: list[Flowable] = []
    tz = minutes.timezone
    for number, vote in enumerate(minutes.votes, start=1):
        kind = "bỏ phiếu kín" if vote.secret else "công khai"
        state = f"kết thúc {tx.when(vote.closed_at, tz)}" if vote.closed_at else "đang biểu quyết"
        head = Paragraph(
            f"<b>{number}. {escape(vote.question)}</b> ({kind}; mở {tx.when(vote.opened_at, tz)}, "
            f"{escape(state)}; {vote.answered} điểm cầu trả lời)",
            st["body"],
        )
        rows = [["Phương án", "Số phiếu"]] + [[label, str(n)] for label, n in vote.options]
        block: list[Flowable] = [head, _table(rows, [w * 0.75, w * 0.25], st)]
        if vote.voters:
            who = "; ".join(f"{name}: {option}" for name, option in vote.voters)
            block.append(_p(f"Chi tiết: {who}.", st["small"]))
        block.append(Spacer(0, 2 * mm))
        out.append(KeepTogether(block))
    return out


def _chat(minutes: Minutes, st: dict[str, ParagraphStyle], w: float) -> list[Flowable]:
    if not minutes.chat:
        return [_p(tx.NONE, st["body"])]
    rows = [["Lúc", "Người gửi", "Gửi tới", "Nội dung"]]
    for m in minutes.chat:
        sender = f"{m.name} (chủ trì)" if m.from_host else m.name
        rows.append(
            [tx.clock(m.at, minutes.timezone), sender, "Chủ trì" if m.to_host else "Tất cả", m.text]
        )
    return [_table(rows, [w * 0.13, w * 0.25, w * 0.12, w * 0.5], st)]


def _alerts(minutes: Minutes, st: dict[str, ParagraphStyle], w: float) -> list[Flowable]:
    out: list[Flowable] = []
    if minutes.alerts:
        rows = [["Lúc", "Trạm", "Biển số", "Lý do"]]
        rows += [
            [tx.when(a.at, minutes.timezone), a.checkpoint, a.plate, a.reason]
            for a in minutes.alerts
        ]
        out.append(_table(rows, [w * 0.2, w * 0.28, w * 0.17, w * 0.35], st))
    else:
        out.append(_p(tx.NONE, st["body"]))
    out.append(_p(minutes.alerts_note, st["small"]))
    return out


def _recordings(minutes: Minutes, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    if not minutes.recordings:
        return [_p("Cuộc họp không được ghi hình.", st["body"])]
    out: list[Flowable] = []
    for r in minutes.recordings:
        period = tx.span(r.started_at, r.ended_at, minutes.timezone)
        url = escape(r.url)
        out.append(
            Paragraph(
                f'{escape(period)}: <link href="{url}" color="blue">{url}</link>',
                st["body"],
            )
        )
    return out


def _signatures(st: dict[str, ParagraphStyle], width: float) -> Table:
    sign = ParagraphStyle("sign", st["centre"], fontSize=10, textColor=colors.HexColor("#444444"))
    clerk = [_p("THƯ KÝ", st["centre_bold"]), _p("(Ký, ghi rõ họ tên)", sign)]
    host = [_p("CHỦ TRÌ", st["centre_bold"]), _p("(Ký, ghi rõ họ tên)", sign)]
    table = Table([[clerk, host]], colWidths=[width / 2, width / 2], rowHeights=[32 * mm])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return table


def minutes_pdf(minutes: Minutes) -> bytes:
    """The minutes as PDF bytes (blocking)."""
    register_fonts()
    st = _styles()
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=25 * mm,
        rightMargin=15 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        title=f"{tx.TITLE}: {minutes.title}",
        author=minutes.host_name,
        subject=tx.TITLE,
    )
    width = doc.width
    story: list[Flowable] = _heading(minutes, st, width)
    sections: list[tuple[str, list[Flowable]]] = [
        ("general", _general(minutes, st)),
        ("attendance", _attendance(minutes, st, width)),
        ("speaking", _speaking(minutes, st, width)),
        ("documents", _documents(minutes, st, width)),
        ("votes", _votes(minutes, st, width)),
        ("chat", _chat(minutes, st, width)),
        ("alerts", _alerts(minutes, st, width)),
        ("recordings", _recordings(minutes, st)),
    ]
    for key, body in sections:
        story.append(_p(tx.SECTIONS[key], st["section"]))
        story.extend(body)
    story.append(Spacer(0, 5 * mm))
    story.append(_p(tx.made_line(minutes.made_at, minutes.timezone, minutes.running), st["small"]))
    story.append(Spacer(0, 4 * mm))
    story.append(_signatures(st, width))

    def page_number(canvas: Canvas, document: SimpleDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont(REGULAR, 8.5)
        canvas.drawRightString(
            A4[0] - 15 * mm, 10 * mm, f"{tx.TITLE.capitalize()} - Trang {document.page}"
        )
        canvas.restoreState()

    doc.build(story, onFirstPage=page_number, onLaterPages=page_number)
    return buffer.getvalue()
