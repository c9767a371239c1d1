from django.urls import path

from tokens import views

urlpatterns = [
    path("refresh/", views.RefreshView.as_view(), name="refresh"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
]
