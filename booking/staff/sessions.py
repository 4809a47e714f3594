"""Server-side staff sessions: the cookie holds a random token, the server holds the rest.

Two stores with one interface: `SqlSessionStore` (the `staff_session` table, the default)
and `RedisSessionStore` (STAFF_SESSION_REDIS_URL). Both keep only the token's SHA-256 hash.
Free of Flask: callers pass the database session, the clock (`now`) and the request details.
Database writes are left for the caller to commit, like every other rule module.
"""

import json
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta

import sqlalchemy as sa

from booking.models import StaffSession, StaffUser
from booking.routing import parse_record_id
from booking.tokens import new_token, plausible_token, token_hash


@dataclass(frozen=True)
class SessionPolicy:
    """How long a session lives: idle, in all, and between password and second factor."""

    idle: timedelta = timedelta(minutes=15)
    lifetime: timedelta = timedelta(hours=12)
    pending: timedelta = timedelta(minutes=10)
    # last_seen is written at most this often, so a busy page costs one read, not a write.
    touch_every: timedelta = timedelta(minutes=1)

    @classmethod
    def from_config(cls, config):
        """The policy an app's settings describe."""
        return cls(idle=config["STAFF_IDLE_TIMEOUT"], lifetime=config["STAFF_SESSION_LIFETIME"])


@dataclass(frozen=True)
class SessionRecord:
    """What the server knows about one signed-in browser. `handle` names it on the sessions page."""

    handle: str
    token_hash: str
    user_id: int
    session_version: int
    verified: bool
    created_at: datetime
    last_seen_at: datetime
    ip: str | None
    user_agent: str | None


def end_reason(record, user, now, policy):
    """Why `record` can no longer be used ("idle", "expired", "revoked"), or None if it can."""
    if user is None or not user.active or record.session_version != user.session_version:
        return "revoked"
    if now - record.created_at > (policy.lifetime if record.verified else policy.pending):
        return "expired"
    if now - record.last_seen_at > policy.idle:
        return "idle"
    return None


def due_for_touch(record, now, policy):
    """True if last_seen is older than `policy.touch_every` (so it is worth a write)."""
    return now - record.last_seen_at >= policy.touch_every


class SqlSessionStore:
    """Sessions in the `staff_session` table: one indexed read per request."""

    def __init__(self, session):
        self.session = session

    def create(self, user, *, verified, now, ip, user_agent):
        """Open a session for `user`; returns the token for the cookie (shown once)."""
        token = new_token()
        self.session.add(StaffSession(token_hash=token_hash(token), user_id=user.id, verified=verified,
                                      session_version=user.session_version, created_at=now, last_seen_at=now,
                                      ip=ip, user_agent=(user_agent or "")[:255] or None))
        return token

    def find(self, token):
        """(SessionRecord, StaffUser) for a cookie's token, or None: one query by the hash."""
        if not plausible_token(token):
            return None
        row = self.session.execute(sa.select(StaffSession, StaffUser).join(StaffUser)
                                   .where(StaffSession.token_hash == token_hash(token))).first()
        return None if row is None else (_record(row[0]), row[1])

    def touch(self, record, now):
        """Record activity now."""
        self._update(record, last_seen_at=now)

    def mark_verified(self, record, now):
        """The second factor was given: the session opens the staff pages."""
        self._update(record, verified=True, last_seen_at=now)

    def end(self, record):
        """End one session."""
        self.session.execute(sa.delete(StaffSession).where(StaffSession.token_hash == record.token_hash))

    def end_all(self, user_id, keep=None):
        """End every session of `user_id` except `keep` (a SessionRecord), if given."""
        query = sa.delete(StaffSession).where(StaffSession.user_id == user_id)
        if keep is not None:
            query = query.where(StaffSession.token_hash != keep.token_hash)
        self.session.execute(query)

    def for_user(self, user_id):
        """Every session of `user_id`, most recently seen first."""
        rows = self.session.scalars(sa.select(StaffSession).where(StaffSession.user_id == user_id)
                                    .order_by(StaffSession.last_seen_at.desc()))
        return [_record(row) for row in rows]

    def by_handle(self, handle):
        """The session a sessions page names, or None."""
        row_id = parse_record_id(handle)
        row = None if row_id is None else self.session.get(StaffSession, row_id)
        return None if row is None else _record(row)

    def purge(self, now, policy):
        """Delete sessions past their lifetime or idle timeout (called at sign-in)."""
        self.session.execute(sa.delete(StaffSession).where(sa.or_(
            StaffSession.created_at < now - policy.lifetime, StaffSession.last_seen_at < now - policy.idle)))

    def _update(self, record, **values):
        self.session.execute(sa.update(StaffSession).where(StaffSession.token_hash == record.token_hash)
                             .values(**values))


def _record(row):
    return SessionRecord(handle=str(row.id), token_hash=row.token_hash, user_id=row.user_id,
                         session_version=row.session_version, verified=row.verified, created_at=row.created_at,
                         last_seen_at=row.last_seen_at, ip=row.ip, user_agent=row.user_agent)


class RedisSessionStore:
    """Sessions in Redis: a JSON record per token hash (expiring with the lifetime), a set per user.

    The user row still comes from the database (by primary key), so a password reset or
    deactivation, which bumps the user's session version, ends Redis sessions too.
    """

    def __init__(self, redis, session, policy, prefix="booking:staff-session:"):
        self.redis, self.session, self.policy, self.prefix = redis, session, policy, prefix

    def create(self, user, *, verified, now, ip, user_agent):
        """Open a session for `user`; returns the token for the cookie."""
        token = new_token()
        digest = token_hash(token)
        self._save(SessionRecord(handle=digest[:16], token_hash=digest, user_id=user.id,
                                 session_version=user.session_version, verified=verified, created_at=now,
                                 last_seen_at=now, ip=ip, user_agent=(user_agent or "")[:255] or None))
        return token

    def find(self, token):
        """(SessionRecord, StaffUser) for a cookie's token, or None."""
        if not plausible_token(token):
            return None
        record = self._load(token_hash(token))
        if record is None:
            return None
        return record, self.session.get(StaffUser, record.user_id)

    def touch(self, record, now):
        """Record activity now."""
        self._save(replace(record, last_seen_at=now))

    def mark_verified(self, record, now):
        """The second factor was given."""
        self._save(replace(record, verified=True, last_seen_at=now))

    def end(self, record):
        """End one session."""
        self.redis.delete(self._key(record.token_hash), self._key("h", record.handle))
        self.redis.srem(self._key("u", record.user_id), record.token_hash)

    def end_all(self, user_id, keep=None):
        """End every session of `user_id` except `keep`."""
        for record in self.for_user(user_id):
            if keep is None or record.token_hash != keep.token_hash:
                self.end(record)

    def for_user(self, user_id):
        """Every live session of `user_id`, most recently seen first."""
        records = []
        for digest in self.redis.smembers(self._key("u", user_id)):
            record = self._load(digest.decode() if isinstance(digest, bytes) else digest)
            if record is None:
                self.redis.srem(self._key("u", user_id), digest)
            else:
                records.append(record)
        return sorted(records, key=lambda record: record.last_seen_at, reverse=True)

    def by_handle(self, handle):
        """The session a sessions page names, or None."""
        digest = self.redis.get(self._key("h", str(handle)[:16]))
        return None if digest is None else self._load(digest.decode() if isinstance(digest, bytes) else digest)

    def purge(self, now, policy):
        """Nothing to do: Redis expires records by itself."""

    def _key(self, *parts):
        return self.prefix + ":".join(str(part) for part in parts)

    def _save(self, record):
        ttl = int(self.policy.lifetime.total_seconds()) + 60
        data = asdict(record)
        data["created_at"], data["last_seen_at"] = record.created_at.isoformat(), record.last_seen_at.isoformat()
        pipe = self.redis.pipeline()
        pipe.set(self._key(record.token_hash), json.dumps(data), ex=ttl)
        pipe.set(self._key("h", record.handle), record.token_hash, ex=ttl)
        pipe.sadd(self._key("u", record.user_id), record.token_hash)
        pipe.expire(self._key("u", record.user_id), ttl)
        pipe.execute()

    def _load(self, digest):
        raw = self.redis.get(self._key(digest))
        if raw is None:
            return None
        data = json.loads(raw)
        data["created_at"] = datetime.fromisoformat(data["created_at"])
        data["last_seen_at"] = datetime.fromisoformat(data["last_seen_at"])
        return SessionRecord(**data)
