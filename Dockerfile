# BN Lab for a classroom server: docker build -t bn-lab . and run it on a read-only root file
# system with the `docker run` line of docs/deploy.md (which explains every flag).
FROM python:3.11-slim

# TMPDIR: multiprocessing's pymp-* (the forkserver's socket) and torchinductor_* go to a tmpfs.
# BN_LAB_MNIST_DIR: the only directory the app writes to on its own, a volume of the user's.
# MALLOC_ARENA_MAX: two malloc heaps from the start (serve/memory.py says why).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MALLOC_ARENA_MAX=2 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    BN_LAB_NO_VENV=1 \
    TMPDIR=/tmp \
    BN_LAB_MNIST_DIR=/var/cache/bn-lab/mnist

WORKDIR /app

# The README's install step: CPU torch first, then the pinned requirements.
COPY requirements.txt ./
COPY scripts/install.sh scripts/
RUN bash scripts/install.sh

# The code stays root's: the runtime user reads it and cannot change it. Compiled here, since
# at run time nothing can write the .pyc files. The user owns only the MNIST directory (a named
# volume mounted there starts with its owner).
COPY . .
RUN python -m compileall -q /app \
    && chmod -R a+rX,go-w /app \
    && useradd --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin --uid 10001 bnlab \
    && mkdir -p /var/cache/bn-lab/mnist \
    && chown -R 10001 /var/cache/bn-lab
USER 10001

EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4).status != 200)"]

CMD ["streamlit", "run", "app.py", "--server.address=0.0.0.0", "--server.port=8501"]
