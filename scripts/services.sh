#!/usr/bin/env bash
# Start this machine's PostgreSQL and Redis when they are down, and make the test database;
# pg_repack beside PostgreSQL.
set -euo pipefail
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  echo "services: starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start || true
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi
pg_isready -h 127.0.0.1 -p 5432 -q || { echo "services: PostgreSQL is not reachable on 127.0.0.1:5432" >&2; exit 1; }
# pg_repack (Debian's build for this server): the daily job rewrites settled months of events in
# session order with it (storage/compaction.py)
pg_version="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1)"
if [ -n "$pg_version" ] && { ! command -v pg_repack >/dev/null \
    || [ ! -f "/usr/share/postgresql/$pg_version/extension/pg_repack.control" ]; }; then
  echo "services: installing postgresql-$pg_version-repack"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "postgresql-$pg_version-repack" >/dev/null
fi
for db in proctor_test proctor_bench; do
  psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='$db'" | grep -q 1 \
    || psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $db"
done
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "services: starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && break; sleep 0.5; done
fi
redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null || { echo "services: Redis is not reachable on 127.0.0.1:6379" >&2; exit 1; }
if ! (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; then
  echo "services: starting RabbitMQ"
  rabbitmq-server -detached >/dev/null 2>&1 || true
  for _ in $(seq 1 60); do (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null && break; sleep 1; done
fi
(exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null || { echo "services: RabbitMQ is not reachable on 127.0.0.1:5672" >&2; exit 1; }
echo "services: PostgreSQL, Redis and RabbitMQ are up"
