# The course's shared rate limits and training caps (compose.yaml, profile "course"):
# Debian's redis-server, in memory only (the state is worth nothing after a restart).
#
#   docker build -t gatescope-redis -f deploy/course/redis.Dockerfile deploy/course
ARG BASE=debian:bookworm-slim
FROM ${BASE}
SHELL ["/bin/sh", "-eu", "-c"]
# A fixed uid, so USER is numeric (Kubernetes' runAsNonRoot); the package keeps the user.
RUN groupadd --system --gid 10002 redis; \
    useradd --system --no-log-init --uid 10002 --gid redis --home-dir /var/lib/redis \
      --no-create-home --shell /usr/sbin/nologin redis; \
    apt-get update; \
    apt-get install -y --no-install-recommends redis-server; \
    apt-get clean; \
    rm -rf /var/lib/apt/lists/* /var/log/apt/* /var/log/dpkg.log
USER 10002:10002
ENV REDIS_PORT=6379 \
    REDIS_BIND=127.0.0.1 \
    REDIS_PROTECTED_MODE=yes
EXPOSE 6379
# No snapshots, no append-only file; bound to loopback (host network) unless REDIS_BIND says
# (beyond loopback, protected mode refuses clients until REDIS_PROTECTED_MODE=no).
CMD ["/bin/sh", "-c", "exec redis-server --port \"$REDIS_PORT\" --bind \"$REDIS_BIND\" --protected-mode \"$REDIS_PROTECTED_MODE\" --save '' --appendonly no --maxmemory 256mb --maxmemory-policy volatile-ttl"]
