"""Django settings. Everything that varies goes through datalux.core.config (env vars)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from datalux.core import config as _config
from datalux.core.env import Env

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent.parent  # the checkout (src/datalux -> repo root)

# Fails loudly at start-up with a SettingsError naming the variable and the fix.
CONFIG = _config.load(Env(), PROJECT_DIR)

DATALUX_MODE = CONFIG.mode
DEBUG = CONFIG.debug
SECRET_KEY = CONFIG.secret_key
ALLOWED_HOSTS = CONFIG.allowed_hosts
DATALUX_STORAGE = CONFIG.storage_root
DATALUX_VAR = CONFIG.var_dir
DATALUX_BASE_URI = CONFIG.base_uri
# Unset DATALUX_BASE_URI: absolute URLs follow the request (datalux.core.absolute).
DATALUX_BASE_URI_CONFIGURED = CONFIG.base_uri_configured
DATALUX_MAX_UPLOAD_MB = CONFIG.max_upload_mb
# Caps on what an uploaded file holds once read (decompression bombs): rows, and bytes expanded.
DATALUX_UPLOAD_MAX_ROWS = CONFIG.upload_max_rows
DATALUX_UPLOAD_MAX_EXPANDED_MB = CONFIG.upload_max_expanded_mb
DATALUX_HARVEST_ALLOWED_HOSTS = CONFIG.harvest_allowed_hosts
DATALUX_HARVEST_FILE_DIR = CONFIG.harvest_file_dir
DATALUX_HARVEST_WITHDRAW_LIMIT_PERCENT = CONFIG.harvest_withdraw_limit_percent
DATALUX_HARVEST_GRACE_DAYS = CONFIG.harvest_grace_days
DATALUX_DCAT_CACHE_SECONDS = CONFIG.dcat_cache_seconds
DATALUX_TTP_KEY_FILE = CONFIG.ttp_key_file
DATALUX_SPE_RETENTION_DAYS = CONFIG.spe_retention_days
DATALUX_SPE_RUNTIMES_FILE = CONFIG.spe_runtimes_file
DATALUX_SPE_LINKAGE_SPINE = CONFIG.spe_linkage_spine
DATALUX_SPE_AGGREGATE_QUERIES_PER_DAY = CONFIG.spe_aggregate_queries_per_day
DATALUX_AUDIT_SIGNING_KEY = CONFIG.audit_signing_key
DATALUX_AUDIT_CHECKPOINT_DIR = CONFIG.audit_checkpoint_dir
DATALUX_ONCEONLY_SIGNING_KEY = CONFIG.onceonly_signing_key
DATALUX_ONCEONLY_PSEUDONYM_KEY = CONFIG.onceonly_pseudonym_key

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_tasks",
    "django_tasks_db",
    "django_htmx",
    # Serves Swagger UI at /api/v1/docs from the package's own static files (no CDN: offline).
    "ninja",
    # sign-in throttling and the second factor (issue 10, item 7; datalux.accounts.throttling,
    # datalux.accounts.second_factor)
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "datalux.core",
    "datalux.accounts",
    "datalux.audit",
    "datalux.holdings",
    "datalux.catalogue",
    "datalux.access",
    "datalux.spe",
    "datalux.onceonly",
    "datalux.citizens",
    "datalux.accountability",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy on every response, in every mode (CONTENT_SECURITY_POLICY below).
    "csp.middleware.CSPMiddleware",
    # Static files straight from the web server process (compressed, cached), no proxy rule needed.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before anything reads a request body: an upload over DATALUX_MAX_UPLOAD_MB is cut off
    # while it arrives (pages and API alike).
    "datalux.core.uploads.UploadLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "datalux.accounts.idle.IdleSessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "datalux.core.absolute.RequestBaseMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "datalux.accounts.language.RememberLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "datalux.accounts.second_factor.SecondFactorMiddleware",
    "datalux.core.post_stash.PostStashMiddleware",
    "datalux.core.not_allowed.FormActionGetMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # last: turns a sign-in that reached a lockout limit into the lockout page
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "datalux.urls"
WSGI_APPLICATION = "datalux.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "datalux.accounts.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {"default": CONFIG.database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = [
    # argon2id at 19 MiB, t=2, p=1 (OWASP); older argon2 hashes verify and are upgraded
    "datalux.accounts.hashers.DataluxArgon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    # Django's 20,000 most common passwords of breach corpora (offline; no larger list packaged)
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

# Sign-in hardening (issue 10, item 7). The axes backend refuses locked accounts and addresses
# before the password is checked; force_login (tests) skips it, as it has no get_user.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Citizen sign-in through the state's identity provider (issue 16, datalux.citizens.oidc): on
# only when DATALUX_OIDC_CLIENT_ID is set. Its backend comes after the axes one, so a locked
# address is refused there too. RS256 id tokens checked against the provider's JWKS (issuer,
# audience, expiry, nonce), PKCE (S256) and the state of mozilla-django-oidc.
DATALUX_OIDC_ENABLED = CONFIG.oidc is not None
OIDC_AUTHENTICATE_CLASS = "datalux.citizens.oidc.SignInRequestView"
OIDC_CALLBACK_CLASS = "datalux.citizens.oidc.SignInCallbackView"
OIDC_RP_SIGN_ALGO = "RS256"
OIDC_USE_NONCE = True
OIDC_USE_PKCE = True
OIDC_ALLOW_UNSECURED_JWT = False
DATALUX_OIDC_NATIONAL_NUMBER_CLAIM = "national_number"
if CONFIG.oidc is not None:
    AUTHENTICATION_BACKENDS.append("datalux.citizens.oidc.CitizenOIDCBackend")
    OIDC_RP_CLIENT_ID = CONFIG.oidc.client_id
    OIDC_RP_CLIENT_SECRET = CONFIG.oidc.client_secret
    OIDC_OP_AUTHORIZATION_ENDPOINT = CONFIG.oidc.authorization_endpoint
    OIDC_OP_TOKEN_ENDPOINT = CONFIG.oidc.token_endpoint
    OIDC_OP_USER_ENDPOINT = CONFIG.oidc.userinfo_endpoint
    OIDC_OP_JWKS_ENDPOINT = CONFIG.oidc.jwks_endpoint
    OIDC_RP_SCOPES = CONFIG.oidc.scopes
    OIDC_TIMEOUT = CONFIG.oidc.timeout_seconds
    DATALUX_OIDC_ISSUER = CONFIG.oidc.issuer
    DATALUX_OIDC_NATIONAL_NUMBER_CLAIM = CONFIG.oidc.national_number_claim
DATALUX_BEHIND_PROXY = CONFIG.behind_proxy
AXES_HANDLER = "datalux.accounts.throttling.SignInAttempts"
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # each counted on its own
AXES_FAILURE_LIMIT = CONFIG.login_failure_limit  # per account, from any address
DATALUX_LOGIN_ADDRESS_FAILURE_LIMIT = CONFIG.login_address_failure_limit  # per address
AXES_COOLOFF_TIME = timedelta(minutes=CONFIG.login_lockout_minutes)
# A fixed lock: attempts during it are refused (and audited) without extending it.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = False  # a sign-in to one's own account must not clear an address
AXES_CLIENT_IP_CALLABLE = "datalux.accounts.throttling.client_ip"
AXES_LOCKOUT_CALLABLE = "datalux.accounts.throttling.lockout_response"
AXES_DISABLE_ACCESS_LOG = True  # successful sign-ins are in the audit chain
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "code"]
OTP_TOTP_ISSUER = "datalux"
OTP_ADMIN_HIDE_SENSITIVE_DATA = True  # the admin never shows a user's TOTP secret
DATALUX_REQUIRE_2FA = CONFIG.require_2fa
# A session ends after this much inactivity (datalux.accounts.idle refreshes it on activity).
DATALUX_SESSION_IDLE_MINUTES = CONFIG.session_idle_minutes
SESSION_COOKIE_AGE = CONFIG.session_idle_minutes * 60

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("fr", "Français"), ("de", "Deutsch")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "Europe/Luxembourg"
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATALUX_VAR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Production serves hashed, compressed copies made by collectstatic (`datalux serve` runs
    # it at start); development serves the app folders as they are.
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if CONFIG.production
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = not CONFIG.production
if not CONFIG.production:
    # WhiteNoise reads STATIC_ROOT at start and warns when it is missing; development serves
    # from the app folders (finders), so an empty folder is all it needs.
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)

TASKS = {
    "default": {
        "BACKEND": (
            "django_tasks_db.DatabaseBackend"
            if CONFIG.tasks_backend == "database"
            else "django_tasks.backends.immediate.ImmediateBackend"
        ),
        "QUEUES": ["default"],
    }
}

EMAIL_BACKEND = CONFIG.email_backend
DEFAULT_FROM_EMAIL = "datalux <no-reply@datalux.invalid>"

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Strict in every mode, so that tests and development meet what production sends: no inline
# script or style anywhere (htmx's own indicator style is turned off in core/base.html).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}
# Django's debug page lists the settings: CONFIG (secret key, database) and credentials in
# URLs are hidden there as well (datalux.core.debug).
DEFAULT_EXCEPTION_REPORTER_FILTER = "datalux.core.debug.SafeReporterFilter"
DEFAULT_EXCEPTION_REPORTER = "datalux.core.debug.SafeExceptionReporter"
CSRF_TRUSTED_ORIGINS = list(CONFIG.csrf_trusted_origins)
if CONFIG.behind_proxy:
    # Only behind a proxy that overwrites this header on every request (docs/deploy.md).
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
if CONFIG.production:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    if not CSRF_TRUSTED_ORIGINS:
        CSRF_TRUSTED_ORIGINS = [CONFIG.base_uri]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {"datalux": {"handlers": ["console"], "level": CONFIG.log_level}},
}
