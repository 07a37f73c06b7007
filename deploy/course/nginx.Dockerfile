# The course's front (compose.yaml, profile "course"): Debian's nginx, spreading requests over
# the Gatescope replicas (nginx-start.sh writes its configuration from the environment).
#
#   docker build -t gatescope-nginx -f deploy/course/nginx.Dockerfile deploy/course
#
# BASE is any Debian-based image (the smoke test uses its debootstrap base, scripts/docker).
ARG BASE=debian:bookworm-slim
FROM ${BASE}
SHELL ["/bin/sh", "-eu", "-c"]
RUN apt-get update; \
    apt-get install -y --no-install-recommends nginx-light; \
    apt-get clean; \
    rm -rf /var/lib/apt/lists/* /var/log/apt/* /var/log/dpkg.log /etc/nginx/sites-enabled/*
COPY nginx-start.sh /usr/local/bin/nginx-start
# nginx-start writes the configuration, then nginx runs as PID 1 (workers as www-data).
ENV GATESCOPE_PORT=8080 \
    GATESCOPE_UPSTREAMS="127.0.0.1:8081 127.0.0.1:8082 127.0.0.1:8083"
EXPOSE 8080
CMD ["/bin/sh", "/usr/local/bin/nginx-start"]
