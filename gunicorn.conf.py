"""gunicorn settings shared by scripts/run and the systemd unit (deploy/): the command line may
override bind and workers. The master checks that the keys belong to the database before any
worker starts (certapp.startup)."""
import os

bind = f"127.0.0.1:{os.environ.get('PORT', '5000')}"
workers = int(os.environ.get("WORKERS", "2"))
# certapp logs one structured line per request itself (certapp.observability): no access log
accesslog = None
forwarded_allow_ips = "127.0.0.1"


def on_starting(server):
    from certapp import create_app
    from certapp.startup import refuse_to_start_without_keys

    refuse_to_start_without_keys(create_app())
