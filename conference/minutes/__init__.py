"""The minutes of a meeting ("Biên bản cuộc họp"): what is collected, and its PDF and DOCX.

:mod:`~conference.minutes.record` holds the minutes as plain data;
:mod:`~conference.minutes.collect` gathers them from the store and the live
room; :mod:`~conference.minutes.pdf` and :mod:`~conference.minutes.word`
write them (blocking: call them in a thread); :mod:`~conference.minutes.text`
has the Vietnamese wording and formats both share.
"""
