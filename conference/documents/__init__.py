"""A meeting's paperless documents: what may be uploaded, where the bytes live, who may do what.

- :mod:`~conference.documents.names`: an uploaded file's name made safe to show.
- :mod:`~conference.documents.types`: the type a file's bytes prove (PDF, DOCX,
  XLSX, PNG, JPEG), and PDFs that carry scripts refused.
- :mod:`~conference.documents.files`: the bytes under the data directory,
  received a chunk at a time, by document id.
- :mod:`~conference.documents.service`: upload, list, read, delete and show,
  scoped like the meeting.
"""
