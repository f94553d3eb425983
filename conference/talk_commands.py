"""The host console's chat and vote commands: ``chat``, ``vote-open``, ``vote-close``.

They read their arguments from :attr:`CommandContext.args` (validated by the
console socket) and run only at the meeting's home (registered ``home_only``).
"""

from __future__ import annotations

from conference.chat import MeetingChat
from conference.console_commands import CommandContext, CommandHandler, CommandResult
from conference.rooms.console_events import VoteCommanded
from conference.votes import MeetingVotes


def talk_commands(chat: MeetingChat, votes: MeetingVotes) -> dict[str, CommandHandler]:
    """The handlers by command name."""

    async def send_chat(c: CommandContext) -> CommandResult:
        await chat.from_host(c.principal, c.meeting, c.room, str(c.args.get("text") or ""))
        return None

    async def open_vote(c: CommandContext) -> CommandResult:
        options = c.args.get("options") or []
        vote = await votes.open(
            c.principal,
            c.meeting,
            c.room,
            str(c.args.get("question") or ""),
            [str(o) for o in options],
            bool(c.args.get("secret")),
        )
        return VoteCommanded(vote=vote.id)

    async def close_vote(c: CommandContext) -> CommandResult:
        await votes.close(c.meeting, c.room, str(c.args.get("vote") or ""))
        return None

    return {"chat": send_chat, "vote-open": open_vote, "vote-close": close_vote}
