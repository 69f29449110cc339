"""Imports every model module so that Base.metadata is complete (for migrations and tests)."""

import app.audit.models  # noqa: F401
import app.auth.models  # noqa: F401
import app.labels.models  # noqa: F401
import app.network.models  # noqa: F401
import app.plan.models  # noqa: F401
