"""dealsight: customer-centric deal and account intelligence for B2B sales and customer teams."""

__version__ = "0.1.0"
__all__ = ["__version__"]
