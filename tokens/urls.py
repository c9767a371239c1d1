from django.urls import path

from tokens import views, views_gateway

urlpatterns = [
    path("refresh/", views.RefreshView.as_view(), name="refresh"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("forward-auth/", views_gateway.ForwardAuthView.as_view(), name="forward-auth"),
]
