# Gatescope: the web service in a small image.
#
#   docker build -t gatescope .
#   docker run -d --name gatescope -p 8000:8000 -v gatescope-data:/data gatescope
#
# BASE is any Debian-based image: python:3.12-slim by default; the smoke test builds on a bare
# Debian made with debootstrap (scripts/docker/base.sh), and python3 is installed when missing.
# PIP_CERT, when given, is the CA bundle pip trusts (networks with an intercepting proxy);
# unset, pip behaves as usual. EXTRAS are pyproject's optional dependencies to install: "fast"
# (numba, the engine's compiled LSTM kernel) and "course" (the Redis client of a course's
# replicas, under 1 MB) by default; numba's LLVM is about 210 MB of the image's 500, so
# `--build-arg EXTRAS=course` gives a 285 MB image that runs the NumPy loop.
ARG BASE=python:3.12-slim

# ---- base: the BASE image with python3 and venv (a bare Debian gets them from apt) -----------
FROM ${BASE} AS base
SHELL ["/bin/sh", "-eu", "-c"]
RUN if ! python3 -c "import ensurepip, venv" 2>/dev/null; then \
      apt-get update; \
      apt-get install -y --no-install-recommends python3 python3-venv; \
      apt-get clean; \
      rm -rf /var/lib/apt/lists/* /var/log/apt/* /var/log/dpkg.log; \
    fi

# ---- builder: a virtual environment with gatescope and its dependencies ----------------------
FROM base AS builder
ARG PIP_CERT
ARG EXTRAS=fast,course
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# Dependencies first, from pyproject.toml alone, so a code change does not download them again.
COPY pyproject.toml ./
# /opt/build holds the build backend (hatchling), so the wheel builds without a download.
RUN if [ -z "${PIP_CERT:-}" ]; then unset PIP_CERT; fi; \
    python3 -m venv /opt/venv; \
    python3 -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; extras = [d for e in '${EXTRAS}'.split(',') if e for d in p['optional-dependencies'][e]]; print(*p['dependencies'], *extras, sep='\n')" >requirements.txt; \
    /opt/venv/bin/pip install -r requirements.txt; \
    python3 -m venv /opt/build; \
    python3 -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['build-system']['requires'], sep='\n')" >build-requirements.txt; \
    /opt/build/bin/pip install -r build-requirements.txt
COPY README.md ./
COPY app ./app
COPY gatescope ./gatescope
COPY static ./static
COPY templates ./templates
RUN /opt/build/bin/pip wheel --no-deps --no-build-isolation --wheel-dir /tmp/wheel /src; \
    /opt/venv/bin/pip install --no-deps --no-index /tmp/wheel/gatescope-*.whl; \
    /opt/venv/bin/pip uninstall -y pip setuptools

# ---- runtime: python3, the venv, a non-root user, nothing else ------------------------------
FROM base AS runtime
LABEL org.opencontainers.image.title="gatescope" \
      org.opencontainers.image.description="Every gate of an LSTM, GRU or RNN, step by step" \
      org.opencontainers.image.licenses="MIT"
RUN groupadd --system --gid 10001 gatescope; \
    useradd --system --no-log-init --uid 10001 --gid gatescope --home-dir /data --no-create-home \
      --shell /usr/sbin/nologin gatescope; \
    mkdir -p /data; \
    chown gatescope:gatescope /data
COPY --from=builder /opt/venv /opt/venv

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    GATESCOPE_HOST=0.0.0.0 \
    GATESCOPE_PORT=8000 \
    GATESCOPE_WORKERS=2 \
    GATESCOPE_DATA_DIR=/data \
    GATESCOPE_LOG_FORMAT=json \
    GATESCOPE_RATE_LIMIT_ENABLED=true \
    NUMBA_CACHE_DIR=/tmp/numba-cache

# Numeric, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
WORKDIR /data
VOLUME /data
EXPOSE 8000
# The probe reads the same port variable the server binds; urllib, so no curl in the image.
HEALTHCHECK --interval=5s --timeout=3s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request as u; u.urlopen('http://127.0.0.1:%s/readyz' % os.environ.get('GATESCOPE_PORT', '8000'), timeout=2)"]
# Exec form: the server is PID 1 and receives docker stop's SIGTERM itself (graceful shutdown).
CMD ["gatescope", "serve"]
