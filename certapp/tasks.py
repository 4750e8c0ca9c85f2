"""Everything that reacts to another feature's events or runs on the job queue, imported once by
create_app (and so by the worker): the reactions subscribe, the jobs register with Huey."""
import certapp.audit.reactions  # first: the audit record of a transition precedes its other reactions
import certapp.bookkeeping.jobs
import certapp.bookkeeping.reactions
import certapp.certificates.reactions
import certapp.contracts.jobs
import certapp.contracts.reactions
import certapp.deadlines.reactions
import certapp.imports.services  # the check-and-load job
import certapp.jobs.housekeeping
import certapp.mail.services
import certapp.notifications.reactions
import certapp.reminders
import certapp.reporting.jobs  # noqa: F401
