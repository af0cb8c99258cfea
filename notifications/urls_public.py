"""Public-host URLs of the notifications app (the demo's mailbox)."""

from django.urls import path

from notifications.views import demo

urlpatterns = [
    path("demo/mail/", demo.demo_mailbox, name="demo_mailbox"),
]
