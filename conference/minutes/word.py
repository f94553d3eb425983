"""The minutes as a Word document (python-docx), the same content and order as the PDF.

Blocking: call :func:`minutes_docx` in a thread. The text is Unicode in the
file; the reader's Word or LibreOffice picks the glyphs (the document asks
for Times New Roman, which every office suite has with Vietnamese).
"""

from __future__ import annotations

import io

from docx import Document as new_document
from docx.document import Document as WordDocument
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Mm, Pt
from docx.text.paragraph import Paragraph

from conference.minutes import text as tx
from conference.minutes.record import Minutes

FONT = "Times New Roman"


def _styled(document: WordDocument) -> None:
    style = document.styles["Normal"]
    style.font.name = FONT
    style.font.size = Pt(13)
    # East Asian and complex-script slots too, or Word substitutes for some letters.
    fonts = style.element.get_or_add_rPr().get_or_add_rFonts()
    for slot in ("w:eastAsia", "w:cs", "w:hAnsi", "w:ascii"):
        fonts.set(qn(slot), FONT)
    for section in document.sections:
        section.page_height, section.page_width = Mm(297), Mm(210)
        section.left_margin, section.right_margin = Mm(30), Mm(15)
        section.top_margin = section.bottom_margin = Mm(20)


def _line(
    document: WordDocument,
    text: str,
    bold: bool = False,
    centre: bool = False,
    size: float | None = None,
    label: str | None = None,
) -> Paragraph:
    paragraph = document.add_paragraph()
    if centre:
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    if label:
        paragraph.add_run(tx.nfc(label)).bold = True
    run = paragraph.add_run(tx.nfc(text))
    run.bold = bold
    if size:
        run.font.size = Pt(size)
    return paragraph


def _table(document: WordDocument, rows: list[list[str]]) -> None:
    table = document.add_table(rows=0, cols=len(rows[0]))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for index, row in enumerate(rows):
        cells = table.add_row().cells
        for cell, value in zip(cells, row, strict=True):
            cell.text = ""
            run = cell.paragraphs[0].add_run(tx.nfc(value))
            run.font.size = Pt(11)
            run.bold = index == 0


def _heading(document: WordDocument, minutes: Minutes) -> None:
    block = document.add_table(rows=1, cols=2)
    left, right = block.rows[0].cells
    for cell, lines in (
        (left, [(minutes.host_unit.upper(), 12.0)]),
        (right, [(tx.NATION, 12.0), (tx.MOTTO, 13.0)]),
    ):
        cell.text = ""
        for number, (text, size) in enumerate(lines):
            paragraph = cell.paragraphs[0] if number == 0 else cell.add_paragraph()
            paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
            run = paragraph.add_run(tx.nfc(text))
            run.bold = True
            run.font.size = Pt(size)
    day = tx.when(minutes.made_at, minutes.timezone)
    dated = _line(document, f"Ngày {day[0:2]} tháng {day[3:5]} năm {day[6:10]}")
    dated.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    dated.runs[0].italic = True
    _line(document, tx.TITLE, bold=True, centre=True, size=15)
    _line(document, minutes.title, bold=True, centre=True)


def _section(document: WordDocument, key: str) -> None:
    _line(document, tx.SECTIONS[key], bold=True)


def minutes_docx(minutes: Minutes) -> bytes:
    """The minutes as DOCX bytes (blocking)."""
    document = new_document()
    _styled(document)
    _heading(document, minutes)
    tz = minutes.timezone

    _section(document, "general")
    if minutes.cancelled:
        actual = "Cuộc họp đã bị hủy."
    elif minutes.actual_start is None:
        actual = "Chưa có điểm cầu nào tham gia."
    elif minutes.running:
        actual = f"Bắt đầu {tx.when(minutes.actual_start, tz)}, đang diễn ra."
    else:
        actual = tx.span(minutes.actual_start, minutes.actual_end, tz)
    _line(document, minutes.title, label="Tên cuộc họp: ")
    _line(
        document,
        tx.span(minutes.scheduled_start, minutes.scheduled_end, tz),
        label="Thời gian theo lịch: ",
    )
    _line(document, actual, label="Thời gian thực tế: ")
    _line(
        document,
        f"{minutes.host_name} (người lập lịch: {minutes.created_by})",
        label="Chủ trì: ",
    )
    if minutes.agenda.strip():
        _line(document, minutes.agenda, label="Nội dung: ")

    _section(document, "attendance")
    invited = [t for t in minutes.tiers if t.attendance]
    _table(
        document,
        [["Cấp", "Có mặt", "Được mời"]]
        + [[t.label, str(t.present), str(t.total) if t.attendance else "–"] for t in minutes.tiers]
        + [
            [
                "Tổng cộng",
                str(sum(t.present for t in invited)),
                str(sum(t.total for t in invited)),
            ]
        ],
    )
    came = [s for s in minutes.sites if s.came]
    if came:
        document.add_paragraph()
        _table(
            document,
            [["Điểm cầu", "Cấp", "Vào lúc", "Thời gian dự"]]
            + [
                [s.name, s.tier, tx.when(s.first_joined_at, tz), tx.duration(s.present_seconds)]
                for s in came
            ],
        )
    absent = [s.name for s in minutes.sites if s.invited and not s.came]
    if absent:
        _line(document, "; ".join(absent) + ".", label=f"Vắng mặt ({len(absent)}): ")

    _section(document, "speaking")
    if not minutes.speakers:
        _line(document, "Không ghi nhận lượt phát biểu nào.")
    else:
        _table(
            document,
            [["Điểm cầu", "Số lượt", "Tổng thời gian phát biểu"]]
            + [[s.name, str(s.turns), tx.duration(s.seconds)] for s in minutes.speakers],
        )
        _line(document, "", label="Trình tự phát biểu:")
        shown = minutes.speaking[: tx.MAX_TIMELINE_ROWS]
        _table(
            document,
            [["Thời gian", "Điểm cầu", "Thời lượng"]]
            + [
                [
                    f"{tx.clock(s.start, tz)} - {tx.clock(s.end, tz)}",
                    s.name,
                    tx.duration(s.end - s.start),
                ]
                for s in shown
            ],
        )
        if len(minutes.speaking) > len(shown):
            left = len(minutes.speaking) - len(shown)
            _line(document, f"(và {left} lượt khác, đã tính trong tổng thời gian ở trên)")

    _section(document, "documents")
    if minutes.documents:
        _table(
            document,
            [["Tên tài liệu", "Dung lượng", "Mã kiểm tra (SHA-256)"]]
            + [[d.name, tx.size(d.size), d.sha256] for d in minutes.documents],
        )
    else:
        _line(document, tx.NONE)

    _section(document, "votes")
    if not minutes.votes:
        _line(document, tx.NONE)
    for number, vote in enumerate(minutes.votes, start=1):
        kind = "bỏ phiếu kín" if vote.secret else "công khai"
        state = f"kết thúc {tx.when(vote.closed_at, tz)}" if vote.closed_at else "đang biểu quyết"
        _line(
            document,
            f" ({kind}; mở {tx.when(vote.opened_at, tz)}, {state}; "
            f"{vote.answered} điểm cầu trả lời)",
            label=f"{number}. {vote.question}",
        )
        _table(document, [["Phương án", "Số phiếu"]] + [[o, str(n)] for o, n in vote.options])
        if vote.voters:
            _line(
                document, "; ".join(f"{n}: {o}" for n, o in vote.voters) + ".", label="Chi tiết: "
            )

    _section(document, "chat")
    if minutes.chat:
        _table(
            document,
            [["Lúc", "Người gửi", "Gửi tới", "Nội dung"]]
            + [
                [
                    tx.clock(m.at, tz),
                    f"{m.name} (chủ trì)" if m.from_host else m.name,
                    "Chủ trì" if m.to_host else "Tất cả",
                    m.text,
                ]
                for m in minutes.chat
            ],
        )
    else:
        _line(document, tx.NONE)

    _section(document, "alerts")
    if minutes.alerts:
        _table(
            document,
            [["Lúc", "Trạm", "Biển số", "Lý do"]]
            + [[tx.when(a.at, tz), a.checkpoint, a.plate, a.reason] for a in minutes.alerts],
        )
    else:
        _line(document, tx.NONE)
    _line(document, minutes.alerts_note, size=10)

    _section(document, "recordings")
    if not minutes.recordings:
        _line(document, "Cuộc họp không được ghi hình.")
    for r in minutes.recordings:
        _line(document, f"{tx.span(r.started_at, r.ended_at, tz)}: {r.url}")

    document.add_paragraph()
    _line(document, tx.made_line(minutes.made_at, tz, minutes.running), size=10)
    signatures = document.add_table(rows=1, cols=2)
    for cell, role in zip(signatures.rows[0].cells, ("THƯ KÝ", "CHỦ TRÌ"), strict=True):
        cell.text = ""
        paragraph = cell.paragraphs[0]
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        paragraph.add_run(role).bold = True
        note = cell.add_paragraph()
        note.alignment = WD_ALIGN_PARAGRAPH.CENTER
        note.add_run("(Ký, ghi rõ họ tên)").italic = True
    document.core_properties.title = f"{tx.TITLE}: {minutes.title}"
    document.core_properties.author = minutes.host_name
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
