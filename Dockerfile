# BN Lab for a classroom server: docker build -t bn-lab . && docker run -p 8501:8501 bn-lab
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    BN_LAB_NO_VENV=1

WORKDIR /app

# The README's install step: CPU torch first, then the pinned requirements.
COPY requirements.txt ./
COPY scripts/install.sh scripts/
RUN bash scripts/install.sh

COPY . .
RUN useradd --create-home --uid 10001 bnlab && chown -R bnlab /app
USER 10001

EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4).status != 200)"]

CMD ["streamlit", "run", "app.py", "--server.address=0.0.0.0", "--server.port=8501"]
