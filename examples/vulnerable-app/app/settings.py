"""Django-style settings with every classic mistake (deliberately insecure; all values are fake)."""

DEBUG = True

SECRET_KEY = "django-insecure-3x@mpl3-n0t-a-r3al-k3y-f0r-d3m0-0nly-qw8e7r6t5y4u"

ALLOWED_HOSTS = ["*"]

CORS_ALLOW_ALL_ORIGINS = True
CORS_ALLOW_CREDENTIALS = True

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "shop",
        "USER": "shop",
        "PASSWORD": "changeme",
        "HOST": "db",
    }
}

# Fake credentials in the shape of real ones (AWS's documented example key pair).
AWS_ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
AWS_SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

GITHUB_TOKEN = "ghp_FAKEfakeFAKEfakeFAKEfakeFAKEfake0000"

DATABASE_URL = "postgres://admin:fake-password-123@db.internal:5432/shop"
