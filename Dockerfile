# Production image for the api and worker services of compose.yaml.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY alertsvc ./alertsvc
COPY channels ./channels
COPY standins ./standins
COPY templates ./templates
COPY config ./config
RUN pip install --no-cache-dir . && useradd --system --uid 10001 alertsvc
USER alertsvc
EXPOSE 8000
CMD ["alertsvc", "serve", "--host", "0.0.0.0", "--port", "8000"]
