"""Everything that reacts to another feature's events or runs on the job queue, imported once by
create_app (and so by the worker): the reactions subscribe, the jobs register with Huey."""
import certapp.bookkeeping.jobs  # noqa: F401
import certapp.bookkeeping.reactions  # noqa: F401
import certapp.certificates.reactions  # noqa: F401
import certapp.contracts.jobs  # noqa: F401
import certapp.contracts.reactions  # noqa: F401
import certapp.jobs.housekeeping  # noqa: F401
import certapp.mail.services  # noqa: F401
import certapp.notifications.reactions  # noqa: F401
import certapp.reminders  # noqa: F401
import certapp.reporting.jobs  # noqa: F401
