from django.conf import settings
from django.http import HttpRequest


def product(request: HttpRequest) -> dict[str, object]:
    return {
        "product_name": settings.TWOSTEP_PRODUCT_NAME,
        "support_email": settings.TWOSTEP_SUPPORT_EMAIL,
        "signup_enabled": settings.TWOSTEP_SIGNUP,
    }
