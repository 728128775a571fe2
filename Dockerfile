# Fenghuo service image: slim Python, non-root, health-checked on /healthz.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY monitor ./monitor
COPY alembic ./alembic
COPY keywords ./keywords
COPY examples ./examples
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
# Weekly reports: a Chinese font for charts and pages, Pango for the PDF (WeasyPrint).
RUN apt-get update && apt-get install -y --no-install-recommends fonts-noto-cjk fontconfig \
      libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 10001 fenghuo
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER fenghuo
WORKDIR /home/fenghuo
ENV FENGHUO_API_HOST=0.0.0.0 \
    FENGHUO_DATABASE_URL=sqlite:////home/fenghuo/data/fenghuo.db \
    FENGHUO_OUTLETS_FILE=/home/fenghuo/config/outlets.yaml \
    FENGHUO_LOG_FORMAT=json \
    PYTHONUNBUFFERED=1
RUN mkdir -p data config
VOLUME ["/home/fenghuo/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"
ENTRYPOINT ["fenghuo"]
CMD ["run"]
