"""The several-node engine: every record in one Redis database, under a key prefix.

One module per aggregate (``rooms``, ``units``, ``accounts``, ``attempts``,
``meetings``, ``grants``, ``attendance``, ``feeds``, ``meta``), each a half of
:class:`RedisStore` over the one connection pool of :mod:`.engine`. It keeps
the semantics of :mod:`conference.store.sqlite` (the contract tests run on
both). Records are JSON documents (UTF-8, not ASCII-escaped, so that
``redis-cli`` shows Vietnamese names as they are); indexes are sorted sets.

Key layout, ``P`` being the prefix (``conference:`` unless told otherwise)::

    P rooms                           hash   room id -> room JSON
    P units                           hash   unit code -> unit JSON
    P unit_roots                      zset   codes of units without a parent, score = position
    P unit_children:<code>            zset   codes of the unit's children, score = position
    P sites                           hash   site id -> site JSON
    P unit_sites:<code>               zset   ids of the unit's sites, all scores 0 (so: by id)
    P users                           hash   username -> user JSON
    P session:<sha256 of login id>    string login JSON without the id, with a TTL at its expiry
    P attempt:<throttle key>          hash   count, next_at, expires_at (Store.take_attempt)
    P meeting:<id>                    string meeting JSON
    P invitations:<meeting id>        list   invited site ids, in the order given
    P meetings_by_start               zset   every meeting id, score = start
    P meetings_by_end                 zset   every meeting id, score = end
    P site_meetings_by_start:<site>   zset   meetings the site hosts or is invited to, by start
    P site_meetings_by_end:<site>     zset   the same, by end
    P host_active_by_end:<site>       zset   meetings the site hosts, not cancelled, by end
    P grants_to:<grantee unit>        hash   granting unit code -> grant JSON
    P grants_from:<unit>              hash   grantee unit code -> grant JSON
    P feeds                           hash   feed id -> feed JSON
    P attendance                      hash   meeting id -> saved roll call JSON (see attendance.py)
    P meta                            hash   key -> value (and schema markers)

Fixed names have no ``:`` and every family ends with exactly one variable
part after a ``:``, so no id, whatever characters it has, can make the keys
of two records or families meet. Sorted sets whose scores tie list members
by their bytes, which is SQLite's ``ORDER BY position, code`` (and ``id``).

Several-key changes either run in one Lua script (small, conditional
writes) or as WATCH / read / MULTI ... EXEC, retried when a watched key
changed in between (imports and meetings, see :meth:`.engine.RedisEngine.transaction`).

Plate events, the watch list and outbreak provinces live in the same
database under the same prefix; their keys are described with their store,
in :mod:`anpr_feed.events_store.redis`.
"""

from __future__ import annotations

from conference.store.redis.engine import RedisAggregate, RedisEngine
from conference.store.redis.store import RedisStore

__all__ = ["RedisAggregate", "RedisEngine", "RedisStore"]
