"""dealsight: customer-centric deal and account intelligence for B2B sales and customer teams.

OpenMP threads (LightGBM's, scikit-learn's) wait passively for work unless the environment says
otherwise: their default spinning makes training 10-20x slower as soon as another process wants a core
(a web server, the database, a second job on a 2-core machine: measured 35-80 s against 3.8 s for the same
fit). It has to be set before the OpenMP runtime loads, hence here.
"""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
__all__ = ["__version__"]
