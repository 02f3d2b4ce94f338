from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render


@login_required
def auth_page(request):
    """Needs the session, the user and the 2FA state (django_otp's OTPMiddleware)."""
    return render(request, "peersite/auth_page.html", {"verified": request.user.is_verified()})


def bare(request):
    return HttpResponse(b"bare\n", content_type="text/plain")
