"""Token buckets in Redis, shared by every replica of a course (GATESCOPE_REDIS_URL).

The same buckets as app/http/ratelimit.py's TokenBuckets, one Redis hash per (client, kind),
updated by one Lua script so concurrent takes from several replicas cannot both spend the last
token. The clock is Redis's own (TIME), so the replicas' clocks need not agree. A bucket left
alone refills to full after burst / per_s seconds, when it is the same as no bucket: it then
expires, so Redis holds only the clients of the last minutes. While Redis cannot be reached
(app/http/redis_link.py) each take goes to this replica's own buckets instead.
"""

from typing import TYPE_CHECKING, Any

from app.http.redis_link import PREFIX, RedisLink

if TYPE_CHECKING:
    from app.http.ratelimit import Buckets, Rate

# KEYS[1] the bucket; ARGV per_s, burst. Returns the wait in seconds (0: allowed), as a string
# (Lua numbers become integers on the way out).
TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local per_s, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local v = redis.call('HMGET', KEYS[1], 'tokens', 'stamp')
local tokens = burst
if v[1] then
  tokens = math.min(burst, tonumber(v[1]) + math.max(0, now - tonumber(v[2])) * per_s)
end
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / per_s end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens),
           'stamp', string.format('%.17g', now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / per_s * 1000) + 1000)
return string.format('%.17g', wait)
"""


class RedisTokenBuckets:
    """Buckets in Redis; `fallback` (this replica's own) while Redis is away."""

    def __init__(self, rates: "dict[str, Rate]", link: RedisLink, fallback: "Buckets") -> None:
        self.rates, self.link, self.fallback = rates, link, fallback
        self._take = link.client.register_script(TAKE)

    @staticmethod
    def key(client: str, kind: str) -> str:
        return f"{PREFIX}bucket:{kind}:{client}"

    def take(self, client: str, kind: str) -> float:
        """Takes a token; returns 0.0 when allowed, else the seconds until one is available."""
        rate = self.rates[kind]
        key = self.key(client, kind)

        def run(redis: Any) -> float:
            return float(self._take(keys=[key], args=[rate.per_s, rate.burst], client=redis))

        wait = self.link.call(run)
        return self.fallback.take(client, kind) if wait is None else wait

    def known(self, client: str, kind: str) -> bool:
        """Whether the client has a bucket of this kind (took a token in the last minutes)."""
        key = self.key(client, kind)
        found = self.link.call(lambda redis: bool(redis.exists(key)))
        return self.fallback.known(client, kind) if found is None else found
