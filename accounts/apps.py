from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Citizens' sign-in by mobile number and one-time code, their properties, staff two-factor, the audit log."""

    name = "accounts"
    verbose_name = "Accounts"

    # portal/roles.py syncs the role groups after every migrate. Admins read the audit log and decide citizens'
    # claims on owner records, and make and revoke API tokens in the admin (everyone's; staff make their own on the
    # API tokens page).
    role_permissions = {
        "admin": ["view_auditevent", "view_citizen", "change_citizen", "view_propertylink", "change_propertylink",
                  "view_apitoken", "add_apitoken", "change_apitoken"],
    }

    def ready(self):
        from django.contrib import admin
        from django.contrib.auth.signals import user_logged_in, user_login_failed

        from accounts import audit, middleware, staff
        from notices.events import Event, register

        register(Event(code="accounts.signin_code", title_fa="کد ورود", title_en="Sign-in code", kind="security",
                       channels=("sms",), sample_context={"code": "123456", "minutes": 2}))
        register(Event(code="accounts.property_linked", title_fa="پیوند ملک به حساب",
                       title_en="Properties linked to your account", kind="transactional",
                       channels=("sms", "email", "inbox"),
                       sample_context={"renewal_code": "2-3-045-012-0-0-0", "address": "خیابان امام ۱۲"}))
        user_logged_in.connect(audit.on_user_logged_in, dispatch_uid="accounts.audit.logged_in")
        user_logged_in.connect(middleware.on_user_logged_in, dispatch_uid="accounts.middleware.logged_in")
        user_login_failed.connect(audit.on_user_login_failed, dispatch_uid="accounts.audit.login_failed")
        staff.install_admin_site(admin.site)
