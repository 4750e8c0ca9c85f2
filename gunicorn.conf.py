"""gunicorn settings shared by scripts/run and the systemd unit (deploy/): the command line may
override bind and workers. The master checks that the keys belong to the database before any
worker starts (certapp.startup)."""
import os

bind = f"127.0.0.1:{os.environ.get('PORT', '5000')}"
# sync workers, twice the cores: the writes are bound by the CPU, so more workers add no throughput and
# threads lengthen the tail (README, «Region scale»: measured with scripts/bench_region.py). A login holds a
# worker for its Argon2id hash, about 40 ms of CPU at the parameters of config.py (issue 26; it was 240 ms):
# no longer than a catalog page, and gthread measured no better on enrollment day (README, «Benchmark:
# enrollment day»), so the login needs no workers of its own
workers = int(os.environ.get("WORKERS", 2 * (os.cpu_count() or 1)))
# certapp logs one structured line per request itself (certapp.observability): no access log
accesslog = None
forwarded_allow_ips = "127.0.0.1"
# the longest request line gunicorn accepts (its default, 4094, answered a 5 000-digit id or ?year= with
# its own English 414 before certapp could give its Russian 404/422)
limit_request_line = 8190


def on_starting(server):
    from certapp import create_app
    from certapp.startup import refuse_to_start_without_keys

    refuse_to_start_without_keys(create_app())
