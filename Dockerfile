FROM python:3.11-slim
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY cogs ./cogs
COPY content ./content
COPY dashboard ./dashboard
COPY domain ./domain
COPY services ./services
COPY storage ./storage
RUN pip install --no-cache-dir . && useradd --create-home steady && mkdir -p /data && chown steady /data
USER steady
ENV DATABASE_URL=sqlite:////data/steady.sqlite3
# SIGTERM (docker stop) lets in-flight sends finish and closes the database.
STOPSIGNAL SIGTERM
CMD ["python", "-m", "bot"]
