"""The live-training caps of a course, in Redis: runs of every replica together and the work
each client has spent on any of them (GATESCOPE_REDIS_URL; app/api/train_runs.py's Registry
is the same for one process).

Runs: each process keeps the count of runs it holds (its own, always exact) and writes it to
one Redis hash, field = the process, with the time it last did so in a sorted set; a start is
allowed while the hash's total plus the new runs stays within train_max_runs. A replica that
dies without giving its runs back cannot hold them for ever: a process not heard from for
train_idle_s + 60 s (every playing run reports at each chunk, a connection's messages report
at most every 10 s, and a paused race is let go after train_idle_s without one) is dropped
from the total. Spending: one counter per client, checked and added
in one script, kept a day after the client last trained. While Redis cannot be reached, this
process counts on its own (runs and spending of its own connections) and says so in the log
(app/http/redis_link.py); when Redis answers again its run count is written back at once.
"""

import os
import secrets
import time
from typing import Any

from app.api.train_runs import Registry, server_full
from app.config import Settings
from app.http.redis_link import PREFIX, RedisLink, link_for

RUNS, SEEN = f"{PREFIX}train:runs", f"{PREFIX}train:seen"
SPENT_TTL_S = 24 * 3600

# KEYS runs hash, seen zset; ARGV me, my runs now, change n, cap, stale seconds.
# Returns {1 allowed / 0 refused, runs of the course before the change}.
RUNS_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
for _, p in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[5]))) do
  redis.call('HDEL', KEYS[1], p)
  redis.call('ZREM', KEYS[2], p)
end
local mine, n, cap = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local others = 0
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  if all[i] ~= ARGV[1] then others = others + tonumber(all[i + 1]) end
end
if n > 0 and others + mine + n > cap then return {0, others + mine} end
if mine + n > 0 then
  redis.call('HSET', KEYS[1], ARGV[1], mine + n)
  redis.call('ZADD', KEYS[2], now, ARGV[1])
else
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
end
return {1, others + mine}
"""

# KEYS the client's counter, runs hash, seen zset; ARGV cost, limit, ttl, me, my runs now.
# Returns 1 spent, 0 over the limit. Each chunk of a playing run spends: it also reports this
# process's runs (the heartbeat that keeps them counted, and writes them back after an outage).
SPEND_SCRIPT = """
if tonumber(ARGV[5]) > 0 then
  local t = redis.call('TIME')
  redis.call('HSET', KEYS[2], ARGV[4], ARGV[5])
  redis.call('ZADD', KEYS[3], tonumber(t[1]) + tonumber(t[2]) / 1e6, ARGV[4])
end
local spent = tonumber(redis.call('GET', KEYS[1]) or '0')
if spent + tonumber(ARGV[1]) > tonumber(ARGV[2]) then return 0 end
redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
"""


class RedisRegistry(Registry):
    """Registry's runs and spending for the whole course; its own fields while Redis is away."""

    def __init__(self, link: RedisLink, settings: Settings) -> None:
        super().__init__()
        self.link = link
        self.me = f"{os.uname().nodename}:{os.getpid()}:{secrets.token_hex(4)}"
        self.stale_s = settings.train_idle_s + 60.0
        self._runs = link.client.register_script(RUNS_SCRIPT)
        self._spend = link.client.register_script(SPEND_SCRIPT)
        self._beat = 0.0

    def _change(self, n: int, cap: int) -> tuple[bool, int] | None:
        args: list[str | float] = [self.me, self.runs, n, cap, self.stale_s]
        got = self.link.call(lambda r: self._runs(keys=[RUNS, SEEN], args=args, client=r))
        return None if got is None else (bool(int(got[0])), int(got[1]))

    def take(self, n: int, settings: Settings) -> None:
        with self.lock:
            answer = self._change(n, settings.train_max_runs)
            if answer is None:  # Redis away: this process's own count, as one server
                if self.runs + n > settings.train_max_runs:
                    raise server_full(self.runs, settings)
            elif not answer[0]:
                raise server_full(answer[1], settings, "the course trains")
            self.runs += n

    def heartbeat(self) -> None:
        """Reports this process's runs at most every 10 s (each take, give back and playing
        chunk reports them too)."""
        now = time.monotonic()
        if self.runs > 0 and now - self._beat > 10.0:
            self._beat = now
            with self.lock:
                self._change(0, 0)

    def give_back(self, n: int) -> None:
        with self.lock:
            self._change(-n, 0)
            self.runs -= n

    def spend(self, client: str, cost: int, limit: int) -> bool:
        keys = [f"{PREFIX}train:spent:{client}", RUNS, SEEN]
        args: list[str | float] = [cost, limit, SPENT_TTL_S, self.me, self.runs]

        def run(r: Any) -> int:
            return int(self._spend(keys=keys, args=args, client=r))

        got = self.link.call(run)
        if got is None:
            return super().spend(client, cost, limit)
        return bool(got)

    def spent_by(self, client: str) -> int:
        got = self.link.call(lambda r: r.get(f"{PREFIX}train:spent:{client}") or "0")
        return super().spent_by(client) if got is None else int(got)


def make_registry(settings: Settings) -> Registry:
    link = link_for(settings)
    return Registry() if link is None else RedisRegistry(link, settings)
