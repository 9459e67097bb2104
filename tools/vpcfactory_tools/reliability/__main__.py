"""``python -m vpcfactory_tools.reliability`` (``make reliability``): runs :func:`main`."""

import sys

from vpcfactory_tools.reliability.runner import main

if __name__ == "__main__":
    sys.exit(main())
