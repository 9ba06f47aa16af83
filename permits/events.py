"""The notices events of permit cases (their default texts: data/notices/templates.toml)."""

from notices.events import Event, register

SAMPLE = {"tracking_code": "4012345678", "case_type": "پروانه ساختمانی", "case_type_en": "Building permit",
          "step": "بازدید از محل", "step_en": "Site visit", "status": "open", "status_fa": "در جریان",
          "status_en": "In progress", "note": "", "days": 3, "amount": 12500000, "bill": "",
          "number": "P-1405-00001", "verification_code": "401234567890", "code": "123456", "engineer": "مهندس نمونه",
          "licence": "1-234-5678", "parcel": "1-2-003-004-1-1-1"}

EVENTS = (
    ("permits.submitted", "ثبت درخواست پروانه", "Permit case submitted"),
    ("permits.step", "ورود پرونده به مرحله جدید", "Permit case entered a step"),
    ("permits.returned", "بازگشت پرونده برای اصلاح", "Permit case returned for correction"),
    ("permits.refused", "رد درخواست", "Permit case refused"),
    ("permits.payment_due", "صدور قبض عوارض پرونده", "Permit fees to pay"),
    ("permits.issued", "صدور پروانه یا گواهی", "Permit or certificate issued"),
    ("permits.consent", "کد رضایت مالک", "Owner's consent code"),
)


def register_events() -> None:
    for code, name_fa, name_en in EVENTS:
        register(Event(code, name_fa, name_en, "transactional", channels=("sms", "inbox"), sample_context=SAMPLE))
