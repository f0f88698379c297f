"""Every table Marketline has: imports each package's models so `metadata` knows them all
(Alembic's autogenerate and the migrations test compare it with the database).

core.db keeps Base and the column types and imports no domain package; this registry is
the one place that lists them, and only migrations/env.py and tests import it.
"""
from __future__ import annotations

from core import audit, numbering, ratelimit  # noqa: F401 (their tables)
from core.agents import models as _agents  # noqa: F401
from core.auth import models as _auth  # noqa: F401
from core.billing import models as _billing  # noqa: F401
from core.catalog import models as _catalog  # noqa: F401
from core.credit import models as _credit  # noqa: F401
from core.customers import models as _customers  # noqa: F401
from core.db import Base
from core.fulfilment import models as _fulfilment  # noqa: F401
from core.inventory import models as _inventory  # noqa: F401
from core.orders import models as _orders  # noqa: F401
from core.orders import shipping as _shipping  # noqa: F401 (shipping methods)
from core.payments import models as _payments  # noqa: F401
from core.pricing import models as _pricing  # noqa: F401
from core.purchasing import models as _purchasing  # noqa: F401
from core.quotes import models as _quotes  # noqa: F401
from core.reporting import models as _reporting  # noqa: F401
from core.returns import models as _returns  # noqa: F401

metadata = Base.metadata
