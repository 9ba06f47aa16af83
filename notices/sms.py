"""SMS length, pure: how many parts a text takes (GSM 03.38: 160 characters, 153 per part when split; UCS-2 for
anything else, Persian included: 70, 67 per part when split)."""

# The GSM 7-bit default alphabet; the extension table's characters count twice (escape + character).
GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENDED = set("^{}\\[~]|€\f")


def is_gsm(text: str) -> bool:
    return all(ch in GSM_BASIC or ch in GSM_EXTENDED for ch in text)


def units(text: str) -> tuple[str, int]:
    """("gsm", septets) or ("ucs2", UTF-16 code units) the text takes."""
    if is_gsm(text):
        return "gsm", sum(2 if ch in GSM_EXTENDED else 1 for ch in text)
    return "ucs2", len(text.encode("utf-16-le")) // 2


def parts(text: str) -> int:
    """The number of SMS parts the text is sent in (0 for an empty text)."""
    encoding, n = units(text)
    single, split = (160, 153) if encoding == "gsm" else (70, 67)
    if n == 0:
        return 0
    if n <= single:
        return 1
    return -(-n // split)
