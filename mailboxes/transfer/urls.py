"""Mounted by the webmail (mailboxes/webmail/urls.py) under settings/transfer/."""

from django.urls import path

from . import views

app_name = "transfer"
urlpatterns = [
    path("mail.zip", views.download, name="download"),
    path("imports/", views.imports, name="imports"),
    path("imports/<int:job_id>/", views.import_status, name="import-status"),
]
