"""The transfer pages on their own, for tests that do not need the whole site."""

from django.urls import include, path

urlpatterns = [path("transfer/", include("mailboxes.transfer.urls"))]
